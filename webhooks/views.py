"""Webhook endpoints: one per topic, plus the seed's purchase endpoint.

Each checks the HMAC over the raw body first (401 and nothing written when it fails), then the
shop domain (a body naming another shop than the header: 401) and delivery id, records the delivery once, hands it to a task and answers at once.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from shopify_app.core.errors import BadRequest, Unauthorized
from shopify_app.core.logging import bind_log_context
from shopify_app.core.shops import find_shop, require_shop_domain, sanitize_shop_domain
from webhooks.handlers import HANDLERS
from webhooks.services import accept_delivery
from webhooks.verification import verify_webhook

bp = Blueprint("webhooks", __name__)

ORDER_TOPICS = ("orders/create", "orders/paid", "orders/updated", "orders/cancelled")
PURCHASE_PATH = "/events/shopify_webhook_purchase/"


class InvalidWebhookSignature(Unauthorized):
    """The webhook's X-Shopify-Hmac-Sha256 does not match its body."""

    code = "invalid_webhook_hmac"


class WebhookShopMismatch(Unauthorized):
    """The signed body names another shop than the (unsigned) X-Shopify-Shop-Domain header."""

    code = "webhook_shop_mismatch"


# Body fields naming the shop: the compliance topics' `shop_domain`, the shop resource's
# `myshopify_domain`, and its `domain` (the primary domain: compared only when it is a
# myshopify.com one, since a custom domain cannot be checked against the header).
SHOP_FIELDS = ("shop_domain", "myshopify_domain")


def check_payload_shop(domain: str, payload: dict[str, Any]) -> None:
    """Refuse a delivery whose signed body names another shop than the header does.

    The HMAC covers the body only, so a body signed for one shop re-sent with another shop's
    header (a `shop/redact` above all) must not act on that other shop."""
    for name in SHOP_FIELDS:
        value = payload.get(name)
        if value is not None and (not isinstance(value, str) or sanitize_shop_domain(value) != domain):
            raise WebhookShopMismatch(
                f"the body's {name} is not the X-Shopify-Shop-Domain shop", field="X-Shopify-Shop-Domain"
            )
    primary = payload.get("domain")
    named = sanitize_shop_domain(primary) if isinstance(primary, str) else None
    if named is not None and named != domain:
        raise WebhookShopMismatch(
            "the body's domain is not the X-Shopify-Shop-Domain shop", field="X-Shopify-Shop-Domain"
        )


def _secrets() -> list[str]:
    secrets = [current_app.config["SHOPIFY_API_SECRET"]]
    if current_app.config.get("SHOPIFY_API_SECRET_PREVIOUS"):
        secrets.append(current_app.config["SHOPIFY_API_SECRET_PREVIOUS"])
    return secrets


def receive(allowed_topics: tuple[str, ...]) -> Any:
    """Verify, deduplicate and enqueue the current webhook request."""
    body = request.get_data(cache=True)
    if not verify_webhook(body, request.headers.get("X-Shopify-Hmac-Sha256"), _secrets()):
        raise InvalidWebhookSignature("webhook HMAC does not verify")
    topic = request.headers.get("X-Shopify-Topic", "")
    if topic not in allowed_topics:
        raise BadRequest(f"X-Shopify-Topic {topic!r} is not handled here", field="X-Shopify-Topic")
    domain = require_shop_domain(request.headers.get("X-Shopify-Shop-Domain"), field="X-Shopify-Shop-Domain")
    bind_log_context(shop=domain)
    webhook_id = (request.headers.get("X-Shopify-Webhook-Id") or "").strip()
    if not webhook_id or len(webhook_id) > 128:
        raise BadRequest("X-Shopify-Webhook-Id is required", field="X-Shopify-Webhook-Id")
    try:
        payload = json.loads(body)
    except ValueError:
        raise BadRequest("the webhook body is not JSON", field="body") from None
    if not isinstance(payload, dict):
        raise BadRequest("the webhook body is not a JSON object", field="body")
    check_payload_shop(domain, payload)
    if find_shop(domain) is None:
        return jsonify({"status": "ignored"}), 200
    delivery_id = accept_delivery(webhook_id, domain, topic, payload)
    if delivery_id is None:
        return jsonify({"status": "duplicate"}), 200
    from webhooks.tasks import process_delivery_task

    process_delivery_task.delay(delivery_id)
    return jsonify({"status": "accepted"}), 200


def topic_path(topic: str) -> str:
    """The URL Shopify delivers `topic` to (also in shopify.app.toml)."""
    return f"/webhooks/{topic}"


def register_routes() -> None:
    """One endpoint per topic, plus the purchase endpoint taking any orders/* topic."""
    for topic in HANDLERS:
        bp.add_url_rule(
            topic_path(topic),
            endpoint=topic.replace("/", "_"),
            view_func=lambda topic=topic: receive((topic,)),
            methods=["POST"],
        )
    bp.add_url_rule(
        PURCHASE_PATH, endpoint="purchase", view_func=lambda: receive(ORDER_TOPICS), methods=["POST"]
    )


register_routes()


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI description of every webhook endpoint."""
    from shopify_app.core.openapi import error_response, json_response

    headers = [
        {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
        for name in (
            "X-Shopify-Hmac-Sha256",
            "X-Shopify-Topic",
            "X-Shopify-Shop-Domain",
            "X-Shopify-Webhook-Id",
        )
    ]
    operation = {
        "summary": "A Shopify webhook delivery (verified by HMAC, processed once)",
        "parameters": headers,
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
            "200": json_response(
                "Accepted, duplicate or ignored",
                {"type": "object", "properties": {"status": {"type": "string"}}, "required": ["status"]},
            ),
            "400": error_response("Malformed headers or body"),
            "401": error_response("HMAC does not verify, or the body names another shop than the header"),
        },
    }
    paths = {topic_path(topic): {"post": dict(operation)} for topic in HANDLERS}
    paths[PURCHASE_PATH] = {"post": dict(operation)}
    return paths
