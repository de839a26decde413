"""The collector: `POST /events/` and the seed's single-event routes, with their OpenAPI description."""

from __future__ import annotations

from typing import Any

from flask import Flask

from analytics.ingest.stream import expect_reply
from shopify_app.core.openapi import error_response, json_response, register_openapi

__all__ = ["expect_reply", "init_app", "start_spool"]

SHOPIFY_ID = {
    "oneOf": [
        {"type": "integer", "minimum": 1, "maximum": 9223372036854775807},
        {"type": "string", "pattern": "^[0-9]{1,19}$"},
    ],
    "nullable": True,
    "description": "a Shopify id: ASCII digits (or a JSON integer) from 1 to 2^63 - 1",
}
EVENT_SCHEMA = {
    "type": "object",
    "required": ["id", "type", "ts", "visitor_id"],
    "properties": {
        "id": {
            "type": "string",
            "maxLength": 64,
            "pattern": "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|sh-[0-9A-Za-z-]{1,61})$",
            "description": "a UUID, or a Shopify web pixel event id (sh- and letters, digits and dashes); "
            "the event's key: a repeated id is stored once",
        },
        "type": {"type": "string", "pattern": "^[a-z][a-z0-9_:.-]{0,63}$"},
        "ts": {"type": "integer", "minimum": 0, "description": "client time, epoch milliseconds"},
        "visitor_id": {
            "type": "string",
            "pattern": "^[!-~]{1,64}$",
            "description": "1 to 64 printable ASCII characters, no spaces (the tracker sends v-<uuid>)",
        },
        "customer_id": {
            **SHOPIFY_ID,
            "description": "a claim: it links the visitor to the customer only with a valid identity_token",
        },
        "identity_token": {
            "type": "string",
            "maxLength": 128,
            "nullable": True,
            "description": "from GET /apps/clickstream/identity (the app proxy), sent with `identify`",
        },
        "url": {"type": "string", "maxLength": 2048, "nullable": True},
        "referrer": {"type": "string", "maxLength": 2048, "nullable": True},
        "product_id": SHOPIFY_ID,
        "props": {
            "type": "object",
            "description": (
                "at most 5 levels deep and 8 KB as JSON. A purchase's `value` and each item's `price`:"
                " a finite number or decimal string, 0 to 1,000,000,000 in the shop's currency, at most"
                " 3 decimals; `items`: at most 100 objects with `product_id` (a Shopify id), `quantity`"
                " (1 to 10,000) and `price` (price x quantity at most 1,000,000,000). Any event's"
                " `price`/`value`, when numeric, must be finite."
            ),
        },
    },
}
BATCH_SCHEMA = {
    "type": "object",
    "required": ["shop", "events"],
    "properties": {
        "shop": {"type": "string", "example": "demo-shop.myshopify.com"},
        "sent_at": {"type": "integer", "description": "client time the batch was sent, epoch ms"},
        "events": {
            "type": "array",
            "minItems": 1,
            "maxItems": 100,
            "items": {"$ref": "#/components/schemas/Event"},
        },
    },
}
ACCEPTED = {
    "type": "object",
    "required": ["accepted"],
    "properties": {
        "accepted": {"type": "integer"},
        "duplicates": {"type": "integer"},
        "received_at": {"type": "integer"},
        "ignored": {"type": "string"},
        "notification": {"type": "object"},
    },
}


def _operation(summary: str) -> dict[str, Any]:
    body = {"$ref": "#/components/schemas/EventBatch"}
    return {
        "post": {
            "summary": summary,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": body}, "text/plain": {"schema": body}},
            },
            "responses": {
                "202": json_response("Accepted (stored, or queued for the writers)", ACCEPTED),
                "400": error_response(
                    "A field is invalid (named in `field`, with the event's index: `events[3].props.value`);"
                    " the whole batch is refused"
                ),
                "403": error_response("Origin is not the shop's storefront"),
                "404": error_response("Unknown or uninstalled shop"),
                "413": error_response("Body too large"),
                "429": error_response(
                    "Rate limited: this address's or this shop's requests per minute (an address's"
                    " refused requests do not count toward its shop), or too many lookups of shops"
                    " that have not installed the app from this address"
                ),
                "503": error_response("Ingestion unavailable: retry later"),
            },
        }
    }


def _proxy_operation() -> dict[str, Any]:
    operation = _operation("Send a batch of tracker events through Shopify's app proxy")
    post = operation["post"]
    post["description"] = (
        "What the storefront tracker sends to `/apps/clickstream/events/` (same-origin): Shopify"
        " forwards it here with `shop`, `logged_in_customer_id`, `path_prefix`, `timestamp` and"
        " `signature` added to the query. The batch's `shop` must be the signed one."
    )
    post["parameters"] = [
        {"name": name, "in": "query", "required": True, "schema": {"type": "string"}}
        for name in ("shop", "path_prefix", "timestamp", "signature")
    ] + [{"name": "logged_in_customer_id", "in": "query", "required": False, "schema": {"type": "string"}}]
    responses = dict(post["responses"])
    responses.pop("403")
    responses["401"] = error_response("Signature does not verify or is stale, or signs another shop")
    post["responses"] = responses
    return operation


def init_app(app: Flask) -> None:
    """Register the collector routes."""
    from analytics.ingest import views

    app.register_blueprint(views.bp)
    register_openapi(
        app,
        {
            "/events/": _operation("Send a batch of tracker events"),
            "/events/add_cart/": _operation("Send one add-to-cart event"),
            "/events/purchase/": _operation("Send one purchase event"),
            "/proxy/events/": _proxy_operation(),
        },
        schemas={"Event": EVENT_SCHEMA, "EventBatch": BATCH_SCHEMA},
    )


def start_spool(app: Flask) -> None:
    """Start this process's collector spool now rather than at its first batch, so the shipper
    also adopts the spools of stopped processes when no request comes (a server worker's start)."""
    from analytics.ingest import spool
    from shopify_app.core.extensions import get_redis

    with app.app_context():
        client = get_redis()
        if client is not None and app.config.get("INGEST_SPOOL_DIR"):
            spool.for_process(app.config["INGEST_SPOOL_DIR"], app.config["REDIS_URL"], client)
