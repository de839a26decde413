"""Headless Chromium on the demo storefront: browse, add to cart, go offline and back online.

Every event the tracker creates must land exactly once: none lost while offline, none doubled
by retries, beacons or the outbox shared between page loads.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import func, select

from analytics.models import Event, Visitor
from shopify_app.core.extensions import db
from tests.pipeline.test_counts import BROWSER
from tests.support.processes import wait_until

pytestmark = [pytest.mark.committed, pytest.mark.browser]


def _sent_ids(page: Page, sent: list[str], urls: list[str] | None = None) -> None:
    def record(request: Any) -> None:
        if request.url.endswith("/events/") and request.method == "POST":
            import json

            if urls is not None:
                urls.append(request.url)

            sent.extend(e["id"] for e in json.loads(request.post_data or "{}").get("events", []))

    page.on("request", record)


def _stored() -> dict[str, int]:
    db.session.remove()
    rows = db.session.execute(select(Event.type, func.count()).group_by(Event.type)).all()
    return {kind: int(count) for kind, count in rows}


def test_every_event_lands_exactly_once_through_an_offline_spell(storefront: str) -> None:
    sent: list[str] = []
    urls: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        # Headless Chromium says so in its user agent, and the collector drops bots: look like a shopper.
        context = browser.new_context(user_agent=BROWSER)
        page = context.new_page()
        _sent_ids(page, sent, urls)
        page.goto(f"{storefront}/demo/store/")
        page.wait_for_function("window.Clickstream && window.Clickstream.visitorId()")
        visitor = page.evaluate("window.Clickstream.visitorId()")
        first_product = page.locator("a[href*='/demo/store/products/']").first
        first_product.click()
        page.wait_for_url("**/products/**")
        page.click("#add-to-cart")
        page.wait_for_selector("#added:not([hidden])")
        page.evaluate("window.Clickstream.flush()")
        wait_until(lambda: _stored().get("add_to_cart") == 1, message="the add to cart is stored")

        context.set_offline(True)
        page.click("#add-to-cart")
        for number in range(5):
            page.evaluate(f"window.Clickstream.track('offline_click', {{n: {number}}})")
        page.evaluate("window.Clickstream.flush()")
        page.wait_for_timeout(1500)
        pending = page.evaluate("JSON.parse(localStorage.getItem('cs_outbox') || '[]').length")
        assert pending >= 1, "unsent batches wait in the outbox"
        assert "offline_click" not in _stored()

        context.set_offline(False)
        wait_until(lambda: _stored().get("offline_click") == 5, timeout=30, message="the outbox delivered")
        page.goto(f"{storefront}/demo/store/cart")
        page.evaluate("window.Clickstream.flush()")
        wait_until(lambda: "page_view" in _stored(), message="the cart page view")
        page.wait_for_timeout(500)
        assert page.evaluate("JSON.parse(localStorage.getItem('cs_outbox') || '[]').length") == 0
        browser.close()

    stored = _stored()
    assert stored["product_view"] == 1
    assert stored["add_to_cart"] == 2, "the offline add to cart was kept and sent once"
    assert stored["offline_click"] == 5
    db.session.remove()
    ids = set(db.session.execute(select(Event.event_id)).scalars())
    assert ids == set(sent), "everything sent was stored, nothing else"
    # through the (demo's) app proxy, same-origin: the embed has no app address to type
    assert set(urls) == {f"{storefront}/demo/store/apps/clickstream/events/"}
    assert sum(stored.values()) == len(ids), "each event once"
    assert db.session.execute(select(func.count()).select_from(Visitor)).scalar() == 1
    assert db.session.execute(select(Visitor.visitor_key)).scalar() == visitor
