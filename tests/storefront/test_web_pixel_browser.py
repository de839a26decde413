"""Headless Chromium: the web pixel, as built for the extension, in a Web Worker as Shopify runs it.

Shopify runs an app pixel in a Web Worker (the strict sandbox) and hands its `register` callback
the standard API. Here the pixel's source is bundled with esbuild and its real
`@shopify/web-pixels-extension` (whose `register` calls `shopify.extend`), and a stand-in of
Shopify's runtime gives it, as documented: `analytics.subscribe`, `browser.cookie.get`,
`browser.sendBeacon` (done by the page, as the top frame does it), `init` (`customerPrivacy`,
`context`, `data.customer`, `data.shop`) and the `customerPrivacy` events. The events are Shopify's
documented standard-event payloads (tests/fixtures/shopify_pixel_events), sent to a live
`clickstream serve`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Route, sync_playwright
from sqlalchemy import select

from analytics.models import Event, Visitor
from shopify_app.core.extensions import db
from shopify_app.demo import DEMO_SHOP_DOMAIN
from tests.pipeline.test_counts import BROWSER
from tests.storefront.test_consent_browser import PRIVACY_STUB

pytestmark = [pytest.mark.committed, pytest.mark.browser]

REPO = Path(__file__).resolve().parents[2]
PIXEL = REPO / "extensions" / "clickstream-pixel"
ESBUILD = REPO / "storefront_script" / "node_modules" / ".bin" / "esbuild"
FIXTURES = REPO / "tests" / "fixtures" / "shopify_pixel_events"
VISITOR = "v-3f1c2b9a-7d44-4e0a-9c1e-5b2a8d6f0e11"  # the embed's id, in its first-party cookie
EXPECTED_TYPES = {
    "page_viewed": "page_view",
    "collection_viewed": "collection_view",
    "search_submitted": "search",
    "product_viewed": "product_view",
    "product_added_to_cart": "add_to_cart",
    "cart_viewed": "cart_view",
    "product_removed_from_cart": "remove_from_cart",
    "checkout_started": "checkout_started",
    "checkout_contact_info_submitted": "checkout_contact",
    "checkout_address_info_submitted": "checkout_address",
    "checkout_shipping_info_submitted": "checkout_shipping",
    "payment_info_submitted": "checkout_payment",
    "checkout_completed": "purchase",
    "alert_displayed": "alert_displayed",
    "ui_extension_errored": "ui_extension_errored",
}

# Shopify's side, in the worker before the pixel: `shopify.extend` keeps the pixel's callback, the
# page's messages start it and publish events and consent decisions.
RUNTIME = """
const subscribers = [], consentSubscribers = [];
let extension = null, cookies = '';
self.shopify = {extend(point, callback) { if (point === 'WebPixel::Render') extension = callback; }};
self.onmessage = ({data}) => {
  if (data.start) {
    cookies = data.start.cookies;
    if (data.start.withoutFetch) self.fetch = undefined;
    extension({
      settings: data.start.settings,
      init: data.start.init,
      _pixelInfo: {id: '1', type: 'APP', runtimeContext: 'STRICT'},
      analytics: {subscribe(name, callback) { subscribers.push([name, callback]); return () => true; }},
      customerPrivacy: {subscribe(name, callback) { consentSubscribers.push([name, callback]); return Promise.resolve(); }},
      browser: {
        cookie: {
          async get(name) {
            if (!name) return cookies;
            const found = cookies.split('; ').find((pair) => pair.startsWith(name + '='));
            return found ? decodeURIComponent(found.slice(name.length + 1)) : '';
          },
          async set(value) { return value; },
        },
        async sendBeacon(url, body) { self.postMessage({beacon: {url, body}}); return true; },
      },
    });
  } else if (data.event) {
    // Shopify stamps the moment it publishes (the collector refuses week-old events).
    const event = {...data.event, timestamp: new Date().toISOString()};
    for (const [name, callback] of subscribers) {
      if (name === event.name || name === 'all_events' || (name === 'all_standard_events' && event.type === 'standard')) callback(event);
    }
  } else if (data.consent) {
    for (const [name, callback] of consentSubscribers) if (name === 'visitorConsentCollected') callback({customerPrivacy: data.consent});
  }
};
"""

PAGE = """
([source, start]) => {
  document.cookie = '_cs_vid=' + start.visitor + '; path=/';
  start.cookies = document.cookie;
  window.beacons = 0;
  const worker = new Worker(URL.createObjectURL(new Blob([source], {type: 'text/javascript'})));
  worker.onmessage = ({data}) => {
    if (data.beacon) { window.beacons++; navigator.sendBeacon(data.beacon.url, data.beacon.body); }
  };
  worker.postMessage({start});
  window.pixel = worker;
}
"""


def _consent(allowed: bool) -> dict[str, bool]:
    return {"analyticsProcessingAllowed": allowed, "marketingAllowed": False,
            "preferencesProcessingAllowed": False, "saleOfDataAllowed": False}  # fmt: skip


def _fixtures() -> list[dict[str, Any]]:
    return [json.loads(path.read_text())["event"] for path in sorted(FIXTURES.glob("*.json"))]


@pytest.fixture(scope="module")
def pixel_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The stand-in runtime followed by the pixel as built for the extension (esbuild, one file)."""
    assert ESBUILD.exists(), "run `make storefront` (installs esbuild)"
    assert (PIXEL / "node_modules" / "@shopify" / "web-pixels-extension").is_dir(), "run `make shopify-tools`"
    built = tmp_path_factory.mktemp("pixel") / "pixel.js"
    subprocess.run(
        [str(ESBUILD), "src/index.js", "--bundle", "--minify", "--format=iife", "--target=es2020", f"--outfile={built}"],
        cwd=PIXEL, check=True, capture_output=True,
    )  # fmt: skip
    return RUNTIME + "\n" + built.read_text()


def _start(browser: Any, storefront: str, source: str, *, allowed: bool, without_fetch: bool = False) -> Any:
    context = browser.new_context(user_agent=BROWSER)
    page = context.new_page()
    page.goto(f"{storefront}/healthz")  # any page of the server: the worker's origin is the storefront's
    start = {
        "visitor": VISITOR,
        "withoutFetch": without_fetch,
        "settings": {"appUrl": storefront + "/"},
        "init": {
            "context": _fixtures()[0]["context"],
            "customerPrivacy": _consent(allowed),
            "data": {"customer": {"id": "9001", "email": "ada.buyer@example.com", "firstName": "Ada"},
                     "cart": None, "shop": {"myshopifyDomain": DEMO_SHOP_DOMAIN, "name": "Demo",
                     "paymentSettings": {"currencyCode": "USD"}, "storefrontUrl": f"https://{DEMO_SHOP_DOMAIN}"},
                     "purchasingCompany": None},
        },
    }  # fmt: skip
    page.evaluate(PAGE, [source, start])
    return page


def _publish(page: Any, events: list[dict[str, Any]]) -> None:
    for event in events:
        page.evaluate("(event) => window.pixel.postMessage({event})", event)


def _wait(page: Any, predicate: Any, message: str) -> None:
    """Poll `predicate()` while Playwright keeps serving the page (its routes answer only then)."""
    for _ in range(300):
        if predicate():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {message}")


def _stored() -> dict[str, Event]:
    db.session.remove()
    return {event.event_id: event for event in db.session.execute(select(Event)).scalars()}


def _visitor_key(event: Event) -> str:
    return str(db.session.get(Visitor, event.visitor_id).visitor_key)  # type: ignore[union-attr]


def test_every_standard_event_lands_once_as_its_type_even_when_the_first_batch_fails(
    storefront: str, pixel_source: str
) -> None:
    events = _fixtures()
    assert sorted(event["name"] for event in events) == sorted(EXPECTED_TYPES)
    posts: list[int] = []

    def first_fails(route: Route) -> None:
        posts.append(1)
        if len(posts) == 1:
            route.fulfill(status=503, body="down for a moment")
        else:
            route.continue_()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        page = _start(browser, storefront, pixel_source, allowed=True)
        page.context.route(f"{storefront}/events/", first_fails)
        _publish(page, events)
        _wait(page, lambda: len(_stored()) >= len(events), "every event stored")
        page.wait_for_timeout(1500)  # room for a duplicate to arrive, if the pixel sent one
        browser.close()

    assert len(posts) >= 2, "the failed batch was sent again"
    stored = _stored()
    assert len(stored) == len(events), "each event once"
    by_name = {event["name"]: stored[event["id"].lower()] for event in events}
    for name, event in by_name.items():
        assert event.type == EXPECTED_TYPES[name], name
        assert _visitor_key(event) == VISITOR, "the embed's visitor id, from its cookie"
        assert event.props is not None
        assert event.props["source"] == "web_pixel"
        # Shopify's word for the signed-in customer reaches us unsigned: a claim, never a link.
        assert (event.customer_id, event.props.get("claimed_customer_id")) == (None, 9001), name
    assert by_name["product_viewed"].product_id == 7001
    assert by_name["product_added_to_cart"].product_id == 7001
    assert by_name["product_added_to_cart"].props["quantity"] == 1  # type: ignore[index]
    assert by_name["product_removed_from_cart"].product_id == 7002
    assert by_name["collection_viewed"].props["collection_id"] == "3001"  # type: ignore[index]
    assert by_name["search_submitted"].props["query"] == "sneaker"  # type: ignore[index]
    assert by_name["page_viewed"].url == f"https://{DEMO_SHOP_DOMAIN}/"
    purchase = by_name["checkout_completed"].props
    assert purchase is not None
    assert (purchase["order_id"], purchase["value"], purchase["currency"]) == ("5001", 81.0, "USD")
    lines = [(item["product_id"], item["quantity"]) for item in purchase["items"]]
    assert lines == [("7001", 1), ("7002", 2)]
    for step in ("checkout_started", "checkout_contact_info_submitted", "checkout_address_info_submitted",
                 "checkout_shipping_info_submitted", "payment_info_submitted"):  # fmt: skip
        assert by_name[step].props["checkout_token"] == "c1-9f8e7d6c5b4a3f2e1d0c", step  # type: ignore[index]
    # What the buyer typed at checkout is not the collector's: no email, phone, address or alert value.
    everything = json.dumps([event.props for event in stored.values()])
    for personal in ("ada.buyer@example", "+16135550101", "1 Main Street", "K1A 0B1"):
        assert personal not in everything


def test_nothing_is_sent_without_analytics_consent_and_sending_starts_once_given(
    storefront: str, pixel_source: str
) -> None:
    events = _fixtures()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        # fetch missing in this sandbox: the pixel falls back to browser.sendBeacon
        page = _start(browser, storefront, pixel_source, allowed=False, without_fetch=True)
        _publish(page, events[:-1])
        page.wait_for_timeout(2500)  # beyond the pixel's batching wait
        assert page.evaluate("window.beacons") == 0
        assert _stored() == {}, "declined: nothing sent"
        page.evaluate("(consent) => window.pixel.postMessage({consent})", _consent(True))
        _publish(page, events[-1:])
        _wait(page, lambda: len(_stored()) == 1, "the event after consent, by beacon")
        assert page.evaluate("window.beacons") == 1
        page.evaluate("(consent) => window.pixel.postMessage({consent})", _consent(False))
        _publish(page, events[:1])
        page.wait_for_timeout(2500)
        browser.close()
    assert list(_stored()) == [events[-1]["id"].lower()], "withdrawn: nothing more"


def test_the_embeds_tracker_writes_the_visitor_id_the_pixel_reads_only_with_consent(storefront: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        cookies = {}
        for decision in ("yes", "no"):
            context = browser.new_context(user_agent=BROWSER)
            if decision == "no":
                context.add_init_script(PRIVACY_STUB % decision)
            page = context.new_page()
            page.goto(f"{storefront}/demo/store/")
            page.wait_for_function("window.Clickstream !== undefined")
            page.evaluate("window.Clickstream.flush()")
            page.wait_for_timeout(300)
            cookies[decision] = page.evaluate(
                "[document.cookie.split('; ').find((c) => c.startsWith('_cs_vid=')) || '',"
                " localStorage.getItem('cs_vid') || '']"
            )
            context.close()
        browser.close()
    cookie, stored = cookies["yes"]
    assert stored.startswith("v-")
    assert cookie == f"_cs_vid={stored}", "the tracker's own id, for the pixel"
    assert cookies["no"] == ["", ""], "declined: no cookie, nothing stored"
