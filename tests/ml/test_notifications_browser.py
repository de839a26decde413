"""Headless Chromium on the demo storefront: a hesitating cart gets the notification, the holdout does not.

The shop's serving model is a constant one that calls every session a likely buyer, so the
rule that fires is known (cart reminder); which visitor sees it is decided by the experiment.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import select

from analytics.experiments import arm_for, default_arms
from analytics.models import Event, ExperimentAssignment, Visitor
from ml.live import EXPERIMENT_KEY
from ml.models import ModelVersion
from ml.training import KIND
from shopify_app.core.extensions import db
from shopify_app.demo import seed_demo_shop
from tests.conftest import SHARED
from tests.ml.conftest import write_constant_model
from tests.pipeline.test_counts import BROWSER
from tests.support.processes import clickstream, free_port, process_env, wait_until

pytestmark = [pytest.mark.committed, pytest.mark.browser]


def _visitor_in(arm: str) -> str:
    arms = default_arms()
    return next(
        key for key in (f"v-browser-{i}" for i in range(1000)) if arm_for(EXPERIMENT_KEY, key, arms) == arm
    )


@pytest.fixture
def storefront(test_database: Any, db: Any, tmp_path: Path) -> Iterator[str]:
    result = seed_demo_shop(Path(SHARED / "data"))
    write_constant_model(tmp_path / "model", 4.0)
    db.session.add(
        ModelVersion(
            shop_id=result.shop_id,
            kind=KIND,
            version=1,
            path=str(tmp_path / "model"),
            status="active",
            metrics={},
        )
    )
    db.session.commit()
    port = free_port()
    env = process_env(DATABASE_URL=test_database.url, REDIS_URL="", PORT=str(port))
    with clickstream("serve", "--workers", "1", env=env, ready="serving on"):
        yield f"http://127.0.0.1:{port}"


def _shop_and_add_to_cart(browser: Browser, storefront: str, visitor: str) -> Any:
    context = browser.new_context(user_agent=BROWSER)
    context.add_init_script(f"localStorage.setItem('cs_vid', '{visitor}')")
    page = context.new_page()
    page.goto(f"{storefront}/demo/store/")
    page.locator("a[href*='/demo/store/products/']").first.click()
    page.wait_for_url("**/products/**")
    page.wait_for_function("window.ClickstreamNotifications === true")
    page.click("#add-to-cart")
    page.wait_for_selector("#added:not([hidden])")
    page.evaluate("window.Clickstream.flush()")
    return page


def _events(visitor: str, kind: str) -> list[Event]:
    db.session.remove()
    return list(
        db.session.execute(
            select(Event)
            .join(Visitor, Visitor.id == Event.visitor_id)
            .where(Visitor.visitor_key == visitor, Event.type == kind)
        ).scalars()
    )


def test_the_treatment_sees_a_cart_reminder_and_the_holdout_sees_nothing(storefront: str) -> None:
    treated, held = _visitor_in("treatment"), _visitor_in("holdout")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")

        page = _shop_and_add_to_cart(browser, storefront, treated)
        note = page.wait_for_selector(".cs-note[data-notification='cart_reminder']", timeout=15_000)
        assert note is not None
        assert "Your cart is waiting" in note.inner_text()
        assert note.get_attribute("role") == "status"
        page.click(".cs-note button[aria-label='Dismiss']")
        page.evaluate("window.Clickstream.flush()")
        wait_until(
            lambda: len(_events(treated, "notification_dismissed")) == 1, message="the dismissal is recorded"
        )
        shown = _events(treated, "notification_shown")
        assert len(shown) == 1
        assert (shown[0].props or {})["arm"] == "treatment"
        assert (shown[0].props or {})["notification"] == "cart_reminder"

        page = _shop_and_add_to_cart(browser, storefront, held)
        wait_until(
            lambda: len(_events(held, "add_to_cart")) == 1, message="the holdout's add to cart is stored"
        )
        page.wait_for_timeout(1500)
        assert page.query_selector(".cs-note") is None
        browser.close()

    db.session.remove()
    arms = dict(
        db.session.execute(
            select(Visitor.visitor_key, ExperimentAssignment.arm)
            .join(Visitor, Visitor.id == ExperimentAssignment.visitor_id)
            .where(Visitor.visitor_key.in_([treated, held]))
        ).all()
    )
    assert arms == {treated: "treatment", held: "holdout"}, "both exposures are recorded"
