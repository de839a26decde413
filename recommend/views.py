"""The storefront recommendation routes: `GET /api/<widget>/`, and `GET /proxy/api/<widget>/`
where Shopify's app proxy forwards `/apps/clickstream/api/<widget>/`.

A request is accepted when Shopify's app proxy signed it (`signature`, checked with the current
or previous app secret, fresh `timestamp`; required under `/proxy/`), or when a browser sends it
from the shop's own storefront origin (CORS, answered with that origin) or from a page of this
app (the demo store). `Origin` and `Sec-Fetch-Site` only decide CORS, never who the shopper is: a
widget answers from the history of the visitor it names, and from the shopper's other devices
only when the app proxy signs a `logged_in_customer_id`. Anything else is refused with 401/403;
bad parameters get a 400 naming the parameter. Shops are looked up through the collector's
per-process cache (a minute), not once per request.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, jsonify, request

from analytics.ingest.limits import ShopRef, active_shop, check_widget_rate, origin_allowed
from analytics.ingest.validation import parse_shopify_id, visitor_key
from recommend.service import recommend
from recommend.widgets import WIDGETS, Placement
from shopify_app.core.app_proxy import InvalidProxySignature, signed_proxy_request
from shopify_app.core.errors import BadRequest, Forbidden

bp = Blueprint("recommendations", __name__)
MAX_LIMIT = 24


@dataclass(frozen=True)
class Caller:
    """Who asks for a widget: the origin to echo (CORS) and the customer Shopify signed in, if any."""

    origin: str | None = None
    signed_in_customer: int | None = None


def authorize(shop: ShopRef, *, through_proxy: bool = False) -> Caller:
    """Refuse unless signed by the app proxy or sent from an allowed origin (401/403)."""
    if through_proxy or "signature" in request.args:
        signed = signed_proxy_request()
        if signed.shop_domain != shop.domain:
            raise InvalidProxySignature("the app proxy signed another shop", field="shop")
        return Caller(signed_in_customer=signed.logged_in_customer_id)
    origin = (request.headers.get("Origin") or "").rstrip("/")
    if origin:
        if not origin_allowed(origin, shop.origins):
            raise Forbidden(f"recommendations for {shop.domain} are not served to {origin}", field="shop")
        return Caller(origin=origin)
    if request.headers.get("Sec-Fetch-Site") == "same-origin":
        return Caller()
    raise Forbidden("call through the app proxy or from the shop's storefront", field="signature")


def _numeric(name: str) -> int | None:
    value = request.args.get(name)
    if value in (None, "", "null"):
        return None
    return parse_shopify_id(value, name)


def placement_from_query(widget: str) -> Placement:
    """The checked query parameters of a widget request."""
    raw_limit = request.args.get("limit", "8")
    if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}", field="limit")
    placement = Placement(widget, int(raw_limit), _numeric("product_id"), _numeric("collection_id"))
    if widget in ("also_viewed", "also_bought") and placement.product_id is None:
        raise BadRequest(f"{widget} needs the product_id of the product page", field="product_id")
    if widget == "featured_collection" and placement.collection_id is None:
        raise BadRequest("featured_collection needs a collection_id", field="collection_id")
    return placement


def _visitor_key() -> str | None:
    visitor = request.args.get("visitor_id") or None
    return None if visitor is None else visitor_key(visitor, "visitor_id")


def widget_answer(widget: str, *, through_proxy: bool = False) -> Response:
    """Answer one widget request."""
    shop = active_shop(request.args.get("shop") or "")
    check_widget_rate(shop)
    caller = authorize(shop, through_proxy=through_proxy)
    answer = jsonify(
        recommend(
            shop.id,
            placement_from_query(widget),
            _visitor_key(),
            signed_in_customer=caller.signed_in_customer,
        )
    )
    answer.headers["Cache-Control"] = "private, max-age=60"
    if caller.origin:
        answer.headers["Access-Control-Allow-Origin"] = caller.origin
        answer.headers["Vary"] = "Origin"
    return answer


def _route(widget: str) -> None:
    bp.add_url_rule(f"/api/{widget}/", f"{widget}", lambda: widget_answer(widget), methods=["GET"])
    bp.add_url_rule(
        f"/proxy/api/{widget}/",
        f"proxy_{widget}",
        lambda: widget_answer(widget, through_proxy=True),
        methods=["GET"],
    )


for _widget in WIDGETS:
    _route(_widget)
