"""App proxy requests (storefront -> Shopify -> us), verified by their `signature`."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, g, jsonify, request

from shopify_app.core.auth import app_secrets
from shopify_app.core.errors import Unauthorized
from shopify_app.core.shops import active_shop
from shopify_app.platform.signatures import timestamp_is_fresh, verify_app_proxy_query

F = TypeVar("F", bound=Callable[..., Any])


class InvalidProxySignature(Unauthorized):
    """The app proxy request is not signed by Shopify."""

    code = "invalid_proxy_signature"


def verify_app_proxy_request() -> None:
    """Refuse the current request unless Shopify signed it recently; sets `g.shop`."""
    pairs = list(request.args.items(multi=True))
    if not verify_app_proxy_query(pairs, app_secrets()) or not timestamp_is_fresh(pairs):
        raise InvalidProxySignature("the app proxy signature does not verify")
    g.shop = active_shop(request.args.get("shop"))
    g.logged_in_customer_id = request.args.get("logged_in_customer_id") or None


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


OPENAPI_PATHS = {
    "/proxy/session": {
        "get": {
            "summary": "The storefront session as Shopify's app proxy signs it",
            "parameters": [
                {"name": name, "in": "query", "required": True, "schema": {"type": "string"}}
                for name in ("shop", "path_prefix", "timestamp", "signature")
            ]
            + [
                {
                    "name": "logged_in_customer_id",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                }
            ],
            "responses": {
                "200": {
                    "description": "Verified",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["shop", "customer_id"],
                                "properties": {
                                    "shop": {"type": "string"},
                                    "customer_id": {"type": "string", "nullable": True},
                                },
                            }
                        }
                    },
                },
                "400": {
                    "description": "Malformed shop",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
                "401": {
                    "description": "Signature does not verify",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
                "404": {
                    "description": "Shop not installed",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
        }
    }
}
