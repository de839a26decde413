"""App proxy requests (storefront -> Shopify -> us), verified by their `signature`.

Shopify forwards `https://{shop}/apps/clickstream/X` to `{app}/proxy/X` with `shop`,
`logged_in_customer_id`, `path_prefix`, `timestamp` and `signature` added to the query. Served
here: `/proxy/session` and the identity handshake `/proxy/identity`; the widgets answer under
`/proxy/api/<widget>/` (`recommend.views`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, Response, g, jsonify, request

from analytics.identity_tokens import issue_identity_token
from shopify_app.core.app_proxy import InvalidProxySignature, signed_proxy_request
from shopify_app.core.errors import BadRequest
from shopify_app.core.openapi import error_response, json_response
from shopify_app.core.shops import active_shop

__all__ = ["InvalidProxySignature", "app_proxy", "bp", "verify_app_proxy_request"]
F = TypeVar("F", bound=Callable[..., Any])
MAX_VISITOR_ID = 64


def verify_app_proxy_request() -> None:
    """Refuse the current request unless Shopify signed it recently; sets `g.shop`."""
    signed = signed_proxy_request()
    g.shop = active_shop(signed.shop_domain)
    g.logged_in_customer_id = request.args.get("logged_in_customer_id") or None
    g.signed_customer_id = signed.logged_in_customer_id


def app_proxy(view: F) -> F:
    """Decorator for app proxy views: the view runs only for a valid signature."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verify_app_proxy_request()
        return view(*args, **kwargs)

    return cast(F, wrapper)


bp = Blueprint("app_proxy", __name__)


@bp.get("/proxy/session")
@app_proxy
def proxy_session() -> Any:
    """Who the storefront visitor is, as Shopify vouches: the shop and the logged-in customer id."""
    return jsonify({"shop": g.shop.domain, "customer_id": g.logged_in_customer_id})


@bp.get("/proxy/identity")
@app_proxy
def proxy_identity() -> Response:
    """The identity handshake: a short-lived token saying this visitor is the logged-in customer.

    The tracker asks once per tab session when the theme says a customer is logged in, and sends
    the token with its `identify` event; only then does the writer link the visitor (and its
    history on other devices) to the customer. No logged-in customer, no token."""
    visitor = request.args.get("visitor_id", "")
    if not visitor or len(visitor) > MAX_VISITOR_ID:
        raise BadRequest(f"visitor_id is required, at most {MAX_VISITOR_ID} characters", field="visitor_id")
    customer: int | None = g.signed_customer_id
    token, expires = issue_identity_token(g.shop.domain, visitor, customer) if customer else (None, None)
    answer = jsonify(
        {"customer_id": str(customer) if customer else None, "token": token, "expires_at": expires}
    )
    answer.headers["Cache-Control"] = "no-store"
    return answer


def _proxy_parameters(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "query", "required": True, "schema": {"type": "string"}}
        for name in ("shop", "path_prefix", "timestamp", "signature")
    ] + [
        {"name": "logged_in_customer_id", "in": "query", "required": False, "schema": {"type": "string"}},
        *extra,
    ]


SIGNED_ERRORS = {
    "400": error_response("Malformed shop or parameter (named in `field`)"),
    "401": error_response("Signature does not verify, or is stale"),
    "404": error_response("Shop not installed"),
}
OPENAPI_PATHS = {
    "/proxy/session": {
        "get": {
            "summary": "The storefront session as Shopify's app proxy signs it",
            "parameters": _proxy_parameters(),
            "responses": {
                "200": json_response(
                    "Verified",
                    {
                        "type": "object",
                        "required": ["shop", "customer_id"],
                        "properties": {
                            "shop": {"type": "string"},
                            "customer_id": {"type": "string", "nullable": True},
                        },
                    },
                ),
                **SIGNED_ERRORS,
            },
        }
    },
    "/proxy/identity": {
        "get": {
            "summary": "Identity handshake: a short-lived token that this visitor is the logged-in customer",
            "description": "Through the app proxy only (`/apps/clickstream/identity`). The tracker sends "
            "the token as `identity_token` with its `identify` event; without a logged-in customer "
            "the token is null.",
            "parameters": _proxy_parameters(
                {
                    "name": "visitor_id",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_VISITOR_ID},
                }
            ),
            "responses": {
                "200": json_response(
                    "Verified: the token, or null when nobody is logged in",
                    {
                        "type": "object",
                        "required": ["customer_id", "token", "expires_at"],
                        "properties": {
                            "customer_id": {"type": "string", "nullable": True},
                            "token": {"type": "string", "nullable": True},
                            "expires_at": {"type": "integer", "nullable": True},
                        },
                    },
                ),
                **SIGNED_ERRORS,
            },
        }
    },
}
