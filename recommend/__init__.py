"""recommend package: storefront widgets' recommenders, their routes, feeding and evaluation."""

from __future__ import annotations

from typing import Any

from flask import Flask

from shopify_app.core.openapi import error_response, json_response, register_openapi

CARD_SCHEMA = {
    "type": "object",
    "required": ["product_id", "handle", "title", "price", "image", "url"],
    "properties": {
        "product_id": {"type": "string"},
        "handle": {"type": "string"},
        "title": {"type": "string"},
        "price": {"type": "string", "nullable": True},
        "image": {"type": "string", "nullable": True},
        "url": {"type": "string", "description": "relative to the storefront root"},
    },
}
ANSWER_SCHEMA = {
    "type": "object",
    "required": ["widget", "arm", "experiment", "products"],
    "properties": {
        "widget": {"type": "string"},
        "arm": {"type": "string", "description": "treatment or holdout"},
        "experiment": {"type": "string"},
        "products": {"type": "array", "items": {"$ref": "#/components/schemas/ProductCard"}},
    },
}
SUMMARIES = {
    "crowd_favorites": "Crowd favourites: the shop's (or a collection's) most popular products lately",
    "featured_collection": "A collection ranked for this visitor",
    "pick_up_where_you_left_off": "Products this visitor viewed or carted and has not bought (on their "
    "other devices too when the app proxy signs the logged-in customer)",
    "also_viewed": "Products viewed in the same sessions as this product",
    "also_bought": "Products bought together with this product",
}


def _parameter(name: str, description: str, *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": {"type": "string"}}  # fmt: skip


def _operation(widget: str, *, through_proxy: bool = False) -> dict[str, Any]:
    signed = [
        _parameter("signature", "app proxy signature (with timestamp, path_prefix)", required=through_proxy),
        _parameter("timestamp", "app proxy request time", required=through_proxy),
        _parameter("path_prefix", "the storefront path the app proxy answers on", required=through_proxy),
        _parameter("logged_in_customer_id", "the signed-in customer, as the app proxy signs it"),
    ]
    responses = {
        "200": json_response("The products to show and the visitor's experiment arm", ANSWER_SCHEMA),
        "400": error_response("A parameter is invalid (named in `field`)"),
        "401": error_response("The app proxy signature does not verify"),
        "403": error_response("Not from the shop's storefront"),
        "404": error_response("Unknown or uninstalled shop"),
        "429": error_response(
            "Rate limited (with Redis): this address's or this shop's widget requests per minute"
        ),
    }
    if through_proxy:
        del responses["403"]
    return {
        "get": {
            "summary": SUMMARIES[widget] + (" (through the app proxy)" if through_proxy else ""),
            "parameters": [
                _parameter("shop", "the shop's myshopify domain", required=True),
                _parameter(
                    "visitor_id", "the tracker's visitor id (1-64 printable ASCII characters, no spaces)"
                ),
                _parameter(
                    "product_id", "the product page's Shopify product id (ASCII digits, 1 to 2^63 - 1)"
                ),
                _parameter("collection_id", "a Shopify collection id (ASCII digits, 1 to 2^63 - 1)"),
                _parameter("limit", "how many products (1-24, default 8)"),
                *signed,
            ],
            "responses": responses,
        }
    }


def init_app(app: Flask) -> None:
    """Register the widget routes, the feeding hooks and the commands."""
    from recommend.catalog import bump_catalog_version
    from recommend.commands import eval_recs_command, feed_demo_history, refresh_recommendations_command
    from recommend.tasks import on_sessions_updated
    from recommend.views import bp
    from recommend.widgets import WIDGETS
    from shopify_app.core.hooks import register_demo_hook, register_hook

    app.register_blueprint(bp)
    register_openapi(
        app,
        {
            **{f"/api/{widget}/": _operation(widget) for widget in WIDGETS},
            **{f"/proxy/api/{widget}/": _operation(widget, through_proxy=True) for widget in WIDGETS},
        },
        schemas={"ProductCard": CARD_SCHEMA, "Recommendations": ANSWER_SCHEMA},
    )
    register_hook(app, "sessions_updated", on_sessions_updated)
    register_hook(app, "catalog_changed", bump_catalog_version)
    register_demo_hook(app, feed_demo_history)
    app.cli.add_command(eval_recs_command)
    app.cli.add_command(refresh_recommendations_command)
