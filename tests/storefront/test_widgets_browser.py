"""Headless Chromium on the demo storefront: the widgets show real demo-shop products, clicks are recorded.

Shoppers' sessions go in through the collector of a real `clickstream serve`; the writer's hook
feeds the recommenders; the home page's widgets load when scrolled near and show those products;
a click on one lands as a `widget_click` event carrying the widget, the visitor's arm and the
experiment, after a `widget_impression` for what was shown.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from analytics.experiments import HOLDOUT, arm_for, default_arms
from analytics.models import Event
from shopify_app.core.extensions import db
from shopify_app.core.models import Product
from shopify_app.demo import DEMO_SHOP_DOMAIN
from tests.pipeline.test_counts import BROWSER
from tests.support.processes import wait_until

pytestmark = [pytest.mark.committed, pytest.mark.browser]


@pytest.fixture
def viewed(storefront: str, db: Any) -> list[Product]:
    """Four demo products, each viewed by five shoppers through the server's collector."""
    products = list(db.session.execute(select(Product).order_by(Product.id).limit(4)).scalars())
    _shoppers_view(storefront, products)
    return products


def _shoppers_view(base: str, products: list[Product]) -> None:
    now = int(time.time() * 1000)
    for shopper in range(5):
        events = [
            {"id": str(uuid.uuid4()), "type": "product_view", "ts": now - 60_000 + i, "visitor_id": f"v-s{shopper}",
             "product_id": str(p.shopify_id), "url": f"https://{DEMO_SHOP_DOMAIN}/products/{p.handle}"}
            for i, p in enumerate(products)
        ]  # fmt: skip
        answer = requests.post(
            f"{base}/events/",
            json={"shop": DEMO_SHOP_DOMAIN, "sent_at": now, "events": events},
            headers={"User-Agent": BROWSER},
            timeout=10,
        )
        assert answer.status_code == 202


def _clicks() -> list[Event]:
    db.session.remove()
    return list(
        db.session.execute(
            select(Event).where(Event.type.in_(["widget_click", "widget_impression"]))
        ).scalars()
    )


def test_widgets_show_demo_products_and_a_click_is_recorded_with_widget_and_arm(
    storefront: str, viewed: list[Product]
) -> None:
    base = storefront
    arms = default_arms()
    visitor = next(
        f"v-browser-{n}" for n in range(100) if arm_for("recommendations", f"v-browser-{n}", arms) != HOLDOUT
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        context = browser.new_context(user_agent=BROWSER)
        context.add_init_script(f"localStorage.setItem('cs_vid', {visitor!r})")
        page = context.new_page()
        page.goto(f"{base}/demo/store/")
        favourites = page.locator("[data-clickstream-widget='crowd_favorites'] section.cs-recs")
        favourites.scroll_into_view_if_needed()
        favourites.wait_for()
        assert favourites.get_attribute("aria-labelledby")
        titles = favourites.locator("li a div:first-of-type").all_inner_texts()
        assert set(titles[:4]) == {p.title for p in viewed}, titles
        first = favourites.locator("li a").first
        product_id = first.get_attribute("data-product-id")
        first.click()
        page.wait_for_url("**/demo/store/products/**")
        assert page.locator("h1").first.inner_text() in titles
        page.evaluate("window.Clickstream.flush()")
        wait_until(
            lambda: any(e.type == "widget_click" for e in _clicks()), message="the widget click is stored"
        )
        browser.close()

    events = {e.type: e for e in _clicks()}
    click = events["widget_click"]
    assert str(click.product_id) == product_id
    assert click.props is not None
    assert (
        click.props["widget"],
        click.props["arm"],
        click.props["experiment"],
        click.props["position"],
    ) == (
        "crowd_favorites",
        "treatment",
        "recommendations",
        1,
    )
    shown = [e.props for e in _clicks() if e.type == "widget_impression" and e.props]
    favourites_shown = [props for props in shown if props["widget"] == "crowd_favorites"]
    assert len(favourites_shown) == 1, "one impression of the crowd favourites, when it came into view"
    assert product_id in favourites_shown[0]["products"]


def test_a_holdout_shopper_sees_no_widget_and_is_counted_as_exposed_from_the_stream(
    storefront: str, viewed: list[Product]
) -> None:
    """The widget request writes nothing; the tracker's empty impression becomes the exposure."""
    from analytics.models import ExperimentAssignment, Visitor

    arms = default_arms()
    visitor = next(
        f"v-held-{n}" for n in range(100) if arm_for("recommendations", f"v-held-{n}", arms) == HOLDOUT
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        context = browser.new_context(user_agent=BROWSER)
        context.add_init_script(f"localStorage.setItem('cs_vid', {visitor!r})")
        page = context.new_page()
        page.goto(f"{storefront}/demo/store/")
        mount = page.locator("[data-clickstream-widget='crowd_favorites']")
        mount.scroll_into_view_if_needed()

        def exposed() -> list[str]:
            page.evaluate("window.Clickstream.flush()")
            db.session.remove()
            return list(
                db.session.execute(
                    select(ExperimentAssignment.arm)
                    .join(Visitor, Visitor.id == ExperimentAssignment.visitor_id)
                    .where(Visitor.visitor_key == visitor)
                ).scalars()
            )

        wait_until(lambda: exposed() == [HOLDOUT], message="the holdout shopper's exposure")
        assert page.locator("section.cs-recs").count() == 0, "no widget for the holdout"
        browser.close()
    impressions = [e.props for e in _clicks() if e.type == "widget_impression" and e.props]
    assert {(p["arm"], tuple(p["products"])) for p in impressions} == {(HOLDOUT, ())}
