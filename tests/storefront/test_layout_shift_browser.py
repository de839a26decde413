"""Headless Chromium: the recommendation widgets fill in without moving anything on the page.

The theme's Recommendations block renders each widget's frame at its final size; when the
products arrive (held back 400 ms here, as on a slow connection) they fill it in place. The
browser's own Layout Instability API (`layout-shift` entries, summed as CLS sums them) must stay
at or under 0.01 on the home page, a collection and a product page, phone- and desktop-sized,
scrolled to the bottom so every widget loads, including one with nothing to show.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import select

from analytics.experiments import HOLDOUT, arm_for, default_arms
from shopify_app.core.models import Collection, CollectionProduct, Product
from tests.pipeline.test_counts import BROWSER
from tests.storefront.test_widgets_browser import _shoppers_view

pytestmark = [pytest.mark.committed, pytest.mark.browser]

CLS_BUDGET = 0.01


@pytest.fixture
def viewed(storefront: str, db: Any) -> list[Product]:
    """Four demo products, each viewed by five shoppers, so every widget has products to show."""
    products = list(db.session.execute(select(Product).order_by(Product.id).limit(4)).scalars())
    _shoppers_view(storefront, products)
    return products


# Every layout shift the browser reports that no click or key press caused, and widget answers
# held back so they arrive well after the first paint.
PAGE_SCRIPT = """
window.__shifts = [];
new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (e) { if (!e.hadRecentInput) window.__shifts.push(e.value); });
}).observe({type: "layout-shift", buffered: true});
var pageFetch = window.fetch;
window.fetch = function (input, init) {
  if (String(input).indexOf("/api/") < 0) return pageFetch(input, init);
  return new Promise(function (done) { setTimeout(done, 400); }).then(function () { return pageFetch(input, init); });
};
"""

# Every widget near the viewport (where the page loads them), or with `everywhere` every widget
# on the page, shows its products.
FILLED = """(everywhere) => [...document.querySelectorAll("[data-clickstream-widget]")].filter((m) => {
    const box = m.getBoundingClientRect();
    return everywhere || (box.top < innerHeight + 300 && box.bottom > -300);
  }).every((m) => m.querySelector("section.cs-recs:not(.cs-recs-frame) li"))"""


# The "pick up where you left off" widget answered with nothing: its frame is emptied.
GIVEN_UP = """() => {
  const m = document.querySelector("[data-clickstream-widget='pick_up']");
  return m.dataset.csLoaded && !m.querySelector(".cs-recs-frame") && !m.querySelector("section");
}"""


def _treated_shopper() -> str:
    """One of the shoppers who viewed products (so even "pick up where you left off" has some), not held out."""
    arms = default_arms()
    return next(f"v-s{n}" for n in range(5) if arm_for("recommendations", f"v-s{n}", arms) != HOLDOUT)


def _pages(db: Any, products: list[Product]) -> list[str]:
    first = products[0]
    collection = db.session.execute(
        select(Collection)
        .join(CollectionProduct, CollectionProduct.collection_id == Collection.id)
        .where(CollectionProduct.product_id == first.id)
    ).scalar()
    assert collection is not None
    return [
        "/demo/store/",
        f"/demo/store/collections/{collection.handle}",
        f"/demo/store/products/{first.handle}",
    ]


def _scroll_to_the_bottom(page: Page) -> None:
    """A screen at a time, each time once the widgets in view have filled in (where a shopper sees
    them do it); a script's scroll, not an input that would excuse a shift."""
    for _ in range(40):
        page.wait_for_function(FILLED, arg=False, timeout=15_000)
        page.wait_for_timeout(200)
        at_bottom = page.evaluate(
            "() => { window.scrollBy(0, window.innerHeight * 0.8);"
            " return window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2; }"
        )
        if at_bottom:
            break
    page.wait_for_function(FILLED, arg=True, timeout=15_000)


@pytest.mark.parametrize(("width", "height"), [(412, 823), (1280, 800)], ids=["phone", "desktop"])
def test_widgets_loading_products_shift_the_page_by_at_most_a_hundredth(
    storefront: str, db: Any, viewed: list[Product], width: int, height: int
) -> None:
    visitor = _treated_shopper()
    shifts: dict[str, float] = {}
    filled: dict[str, int] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        context = browser.new_context(user_agent=BROWSER, viewport={"width": width, "height": height})
        context.add_init_script(f"localStorage.setItem('cs_vid', {visitor!r})")
        context.add_init_script(PAGE_SCRIPT)
        for path in _pages(db, viewed):
            page = context.new_page()
            page.goto(storefront + path)
            page.wait_for_function("window.ClickstreamWidgets === true")
            _scroll_to_the_bottom(page)
            page.wait_for_timeout(300)
            shifts[path] = float(page.evaluate("window.__shifts.reduce((a, b) => a + b, 0)"))
            filled[path] = int(
                page.evaluate("document.querySelectorAll('section.cs-recs:not(.cs-recs-frame) li').length")
            )
            page.close()
        browser.close()

    assert all(count > 0 for count in filled.values()), f"every page shows recommended products: {filled}"
    assert all(value <= CLS_BUDGET for value in shifts.values()), f"layout shift per page: {shifts}"


def test_a_widget_with_nothing_to_show_gives_its_space_back_only_below_the_viewport(
    storefront: str, viewed: list[Any]
) -> None:
    """A new visitor has nothing to pick up: that frame stays while on screen, then leaves unseen."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        context = browser.new_context(user_agent=BROWSER, viewport={"width": 1280, "height": 2400})
        context.add_init_script(PAGE_SCRIPT)
        page = context.new_page()
        page.goto(f"{storefront}/demo/store/")
        pick_up = page.locator("[data-clickstream-widget='pick_up']")
        page.wait_for_function(GIVEN_UP, timeout=15_000)
        on_screen = pick_up.bounding_box()
        assert on_screen is not None
        assert on_screen["height"] > 100, "the empty frame keeps its space on screen"
        assert pick_up.locator("li").count() == 0
        page.set_viewport_size({"width": 1280, "height": 400})
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_function("document.querySelector(\"[data-clickstream-widget='pick_up']\").hidden")
        shifts = float(page.evaluate("window.__shifts.reduce((a, b) => a + b, 0)"))
        browser.close()
    assert shifts <= CLS_BUDGET
