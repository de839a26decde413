"""Headless Chromium: the tracker follows the visitor's consent and the shop's consent mode.

Shopify's Customer Privacy API is stubbed in the page the way a consent banner leaves it: not
decided yet (processing not allowed where consent is required), or declined. With the merchant's
consent mode `required` nothing is stored or sent before consent; with `not_required` tracking
starts at once, and a visitor who declined is never tracked in either mode.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import func, select

from analytics.models import Event
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop
from shopify_app.demo import DEMO_SHOP_DOMAIN
from tests.pipeline.test_counts import BROWSER
from tests.support.processes import wait_until

pytestmark = [pytest.mark.committed, pytest.mark.browser]

PRIVACY_STUB = """
window.Shopify = {customerPrivacy: {
  analyticsProcessingAllowed: function () { return false; },
  currentVisitorConsent: function () { return {analytics: %r}; }
}};
"""


def _set_consent_mode(mode: str) -> None:
    db.session.remove()
    shop = db.session.execute(select(Shop).where(Shop.domain == DEMO_SHOP_DOMAIN)).scalar_one()
    shop.settings = {**(shop.settings or {}), "consent_mode": mode}
    db.session.commit()


def _events() -> int:
    db.session.remove()
    return int(db.session.execute(select(func.count()).select_from(Event)).scalar() or 0)


def _visit(browser: Any, storefront: str, decision: str) -> bool:
    """Open the home page as a visitor with this consent decision; True if anything was stored locally."""
    context = browser.new_context(user_agent=BROWSER)
    context.add_init_script(PRIVACY_STUB % decision)
    page = context.new_page()
    page.goto(f"{storefront}/demo/store/")
    page.wait_for_function("window.Clickstream !== undefined")
    page.evaluate("window.Clickstream.flush()")
    page.wait_for_timeout(800)
    stored = page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('cs_')).length") > 0
    context.close()
    return bool(stored)


def test_tracking_waits_for_consent_unless_the_merchant_says_it_is_not_required(storefront: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        _set_consent_mode("required")
        assert not _visit(browser, storefront, ""), "nothing stored before consent"
        assert _events() == 0, "nothing sent before consent"

        _set_consent_mode("not_required")
        assert not _visit(browser, storefront, "no"), "a visitor who declined is not tracked"
        assert _events() == 0
        assert _visit(browser, storefront, "")
        wait_until(
            lambda: _events() >= 1,
            message="the page view of an undecided visitor where consent is not required",
        )
        browser.close()
