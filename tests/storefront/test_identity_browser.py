"""Headless Chromium on the demo storefront: a signed-in customer's history follows them to another
device, and a stranger who claims to be that customer sees none of it.

The demo store simulates Shopify's app proxy (it signs the signed-in customer into the query), so
the tracker's identity handshake and the widgets run as they do on a Shopify theme.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import select

from analytics.experiments import HOLDOUT, arm_for, default_arms
from analytics.models import Event, Visitor
from shopify_app.core.extensions import db
from shopify_app.core.models import Customer, Product
from tests.pipeline.test_counts import BROWSER
from tests.support.processes import wait_until

pytestmark = [pytest.mark.committed, pytest.mark.browser]
CUSTOMER = 4242
PICK_UP = "/apps/clickstream/api/pick_up_where_you_left_off/"


def _treated(prefix: str) -> str:
    """A visitor id the recommendations experiment shows widgets to."""
    arms = default_arms()
    return next(
        f"{prefix}-{n}" for n in range(100) if arm_for("recommendations", f"{prefix}-{n}", arms) != HOLDOUT
    )


def _device(browser: Browser, visitor: str) -> Page:
    context = browser.new_context(user_agent=BROWSER)
    context.add_init_script(f"localStorage.setItem('cs_vid', {visitor!r})")
    return context.new_page()


def _owner(visitor: str) -> int | None:
    db.session.remove()
    return db.session.execute(
        select(Customer.shopify_id)
        .join(Visitor, Visitor.customer_id == Customer.id)
        .where(Visitor.visitor_key == visitor)
    ).scalar_one_or_none()


def _pick_up(page: Page, base: str) -> list[str]:
    """The product ids the home page's pick-up widget is given (the page must not be the home page
    already: its own widget request could be the one caught)."""
    with page.expect_response(lambda r: PICK_UP in r.url) as answer:
        page.goto(f"{base}/demo/store/")
        page.locator("[data-clickstream-widget='pick_up']").scroll_into_view_if_needed()
    body: Any = answer.value.json()
    return [card["product_id"] for card in body["products"]]


def test_a_signed_in_customers_history_follows_them_and_a_forged_login_sees_nothing(
    storefront: str, db: Any
) -> None:
    products = list(db.session.execute(select(Product).order_by(Product.id).limit(2)).scalars())
    phone_id, laptop_id, stranger_id = "v-phone", _treated("v-laptop"), _treated("v-stranger")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        phone = _device(browser, phone_id)
        phone.goto(f"{storefront}/demo/store/cart?customer={CUSTOMER}")
        for product in products:
            phone.goto(f"{storefront}/demo/store/products/{product.handle}")
            phone.wait_for_function("window.Clickstream && window.Clickstream.visitorId()")
            phone.evaluate("window.Clickstream.flush()")
        wait_until(lambda: _owner(phone_id) == CUSTOMER, message="the phone's login is linked")

        stranger = _device(browser, stranger_id)
        stranger.goto(f"{storefront}/demo/store/cart")
        stranger.wait_for_function("window.Clickstream && window.Clickstream.visitorId()")
        stranger.evaluate(f"window.Clickstream.track('identify', {{}}, {{customer_id: {CUSTOMER}}})")
        stranger.evaluate("window.Clickstream.flush()")
        wait_until(lambda: _stored_claim(stranger_id) == CUSTOMER, message="the stranger's claim is stored")
        assert _owner(stranger_id) is None, "a claimed customer id links nothing"
        assert _pick_up(stranger, storefront) == [], "the stranger sees none of the customer's products"

        laptop = _device(browser, laptop_id)
        laptop.goto(f"{storefront}/demo/store/cart?customer={CUSTOMER}")
        shown = _pick_up(laptop, storefront)
        assert set(shown) == {str(p.shopify_id) for p in products}, "the phone's products on the laptop"
        wait_until(lambda: _owner(laptop_id) == CUSTOMER, message="the laptop's login is linked")
        browser.close()


def _stored_claim(visitor: str) -> int | None:
    db.session.remove()
    props = db.session.execute(
        select(Event.props)
        .join(Visitor, Visitor.id == Event.visitor_id)
        .where(Visitor.visitor_key == visitor, Event.type == "identify")
    ).scalar_one_or_none()
    return None if props is None else props.get("claimed_customer_id")
