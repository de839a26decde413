"""The collector: `POST /events/` (and the seed's single-event routes) answering 202 fast.

The storefront tracker sends through Shopify's app proxy (`/apps/clickstream/events/`, same-origin,
nothing to configure), which forwards to `POST /proxy/events/` with the shop signed in the query.

With Redis the checked batch goes onto the ingest stream and the writers store it, in one
round trip that also checks the rate limits and says whether a reply (a notification) waits
for one of the batch's visitors; without Redis (the embedded default) the same writer code
stores it in process before answering.
Nothing here touches MySQL on the Redis path except the shop lookup, which is cached.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, g, request

from analytics.identity_tokens import settle_claims
from analytics.ingest import limits
from analytics.ingest.validation import parse_batch
from analytics.useragents import device_class, is_bot
from analytics.writer.consumer import announce, store_in_process
from shopify_app.core.app_proxy import InvalidProxySignature, signed_proxy_request
from shopify_app.core.errors import BadRequest, PayloadTooLarge
from shopify_app.core.extensions import get_redis
from shopify_app.core.hooks import run_hooks

bp = Blueprint("ingest", __name__)
MAX_BODY = 256 * 1024
REPLY_VISITORS = 5  # a batch's visitors asked about waiting replies (a browser's batch has one)


def _body() -> Any:
    """The JSON body, sent as application/json or text/plain (no CORS preflight)."""
    if (request.content_length or 0) > MAX_BODY:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY} bytes", field="body")
    raw = request.get_data(cache=False, as_text=False)
    if len(raw) > MAX_BODY:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY} bytes", field="body")
    try:
        return orjson.loads(raw or b"null")
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not valid JSON", field="body") from None


def _reply(shop: limits.ShopRef, visitors: list[str], answer: dict[str, Any]) -> dict[str, Any]:
    for visitor in visitors:
        for extra in run_hooks("ingest_reply", shop, visitor):
            if extra:
                answer.update(extra)
    return answer


@functools.lru_cache(maxsize=4096)
def _agent(user_agent: str | None) -> tuple[bool, str]:
    """Whether the user agent is a bot, and its device class (browsers repeat a few strings)."""
    return is_bot(user_agent), device_class(user_agent)


def _accepted(answer: dict[str, Any]) -> tuple[Response, int]:
    """202 with the answer as JSON (orjson: the collector answers thousands of these a second)."""
    return current_app.response_class(orjson.dumps(answer), mimetype="application/json"), 202


def collect(body: Any, *, signed_shop: str | None = None) -> tuple[Response, int]:
    """Check, filter and hand over one batch (`signed_shop`: the shop Shopify's app proxy signed)."""
    received_ms = int(time.time() * 1000)
    domain, events = parse_batch(body, received_ms=received_ms)
    shop = limits.active_shop(domain)
    if signed_shop is None:
        limits.check_origin(shop)
    elif shop.domain != signed_shop:
        # Shopify vouches for the storefront it forwarded from, not for the shop a body names.
        raise InvalidProxySignature("the app proxy signed another shop", field="shop")
    settle_claims(shop.domain, events)
    agent = request.headers.get("User-Agent")
    bot, device = _agent(agent)
    if bot:
        return _accepted({"accepted": 0, "ignored": "bot"})
    batch = {"shop_id": shop.id, "shop_domain": shop.domain, "received_at": received_ms,
             "device": device, "events": events}  # fmt: skip
    visitors = sorted({e["visitor_id"] for e in events})[:REPLY_VISITORS]
    client = get_redis()
    if client is None:
        result = store_in_process(batch)
        announce(result)
        answer = {"accepted": result.accepted, "duplicates": result.duplicates, "received_at": received_ms}
    else:
        # The admitting round trip also says which visitors have a reply waiting: the reply
        # hooks (a Redis call each) run only for them, not for every batch.
        visitors = limits.admit_batch(client, shop, batch, visitors)
        answer = {"accepted": len(events), "received_at": received_ms}
    return _accepted(_reply(shop, visitors, answer))


@bp.post("/events/")
def events() -> tuple[Response, int]:
    """A batch of tracker events."""
    return collect(_body())


@bp.post("/proxy/events/")
def proxy_events() -> tuple[Response, int]:
    """A batch of tracker events through Shopify's app proxy (signature in the query string)."""
    signed = signed_proxy_request()
    g.signed_by_app_proxy = True  # rate limits count the shopper's address Shopify forwarded
    return collect(_body(), signed_shop=signed.shop_domain)


def _single(kind: str) -> tuple[Response, int]:
    body = _body()
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", field="body")
    listed = body.get("events")
    if not isinstance(listed, list) or len(listed) != 1:
        raise BadRequest("send exactly one event in events", field="events")
    event = listed[0]
    if isinstance(event, dict) and event.get("type", kind) != kind:
        raise BadRequest(f"this route takes {kind} events", field="events[0].type")
    if isinstance(event, dict):
        event = {**event, "type": kind}
    return collect({**body, "events": [event]})


@bp.post("/events/add_cart/")
def add_cart() -> tuple[Response, int]:
    """One add-to-cart event (the seed's route)."""
    return _single("add_to_cart")


@bp.post("/events/purchase/")
def purchase() -> tuple[Response, int]:
    """One purchase event (the seed's route)."""
    return _single("purchase")


@bp.route("/events/", methods=["OPTIONS"])
@bp.route("/events/add_cart/", methods=["OPTIONS"])
@bp.route("/events/purchase/", methods=["OPTIONS"])
def preflight() -> Response:
    """CORS preflight for trackers that send application/json."""
    response = current_app.response_class(status=204)
    response.headers["Access-Control-Allow-Methods"] = "POST"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = "86400"
    return response


@bp.after_request
def allow_origin(response: Response) -> Response:
    """Echo an allowed storefront origin so the browser lets the tracker read the answer."""
    origin = request.headers.get("Origin")
    if origin and limits.origin_allowed_for_request(origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response
