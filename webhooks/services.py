"""Accepting a webhook delivery once, and processing it idempotently."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shopify_app.core.extensions import db
from shopify_app.core.logging import describe_error, error_frames
from shopify_app.core.shops import find_shop
from shopify_app.core.types import utcnow
from webhooks.models import WebhookDelivery

log = logging.getLogger(__name__)
# Topics after which nothing of the shop is kept, not even the delivery's own receipt (a
# redelivery then finds no shop and is ignored).
FORGET_RECEIPT = ("shop/redact",)


class DeliveryFailed(Exception):
    """A delivery's handler failed; the message says how without the values (see `describe_error`)."""


def accept_delivery(webhook_id: str, shop_domain: str, topic: str, payload: dict[str, Any]) -> int | None:
    """Record a delivery with its body and return its id; None when this `X-Shopify-Webhook-Id` was
    already received (a delivery whose processing failed is handed out again). Commits."""
    existing = db.session.execute(
        select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    ).scalar_one_or_none()
    if existing is not None:
        if existing.status != "failed":
            return None
        delivery_id = existing.id
        existing.payload = payload
        db.session.commit()
        return delivery_id
    delivery = WebhookDelivery(
        webhook_id=webhook_id, shop_domain=shop_domain, topic=topic, status="received", payload=payload
    )
    db.session.add(delivery)
    try:
        db.session.flush()
        delivery_id = delivery.id
        db.session.commit()
    except IntegrityError:  # the same delivery raced in on another worker
        db.session.rollback()
        return None
    return delivery_id


def process_delivery(delivery_id: int) -> str:
    """Run the topic's handler once for a delivery; returns its final status. Commits."""
    from webhooks.handlers import HANDLERS

    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status == "processed":
        return "skipped"
    payload = delivery.payload or {}
    delivery.attempts += 1
    attempts = delivery.attempts
    shop = find_shop(delivery.shop_domain)
    handler = HANDLERS.get(delivery.topic)
    try:
        if shop is not None and handler is not None:
            handler(shop, payload)
        delivery.status = "processed"
        delivery.payload = None  # personal data is kept no longer than needed
        delivery.error = None
        delivery.processed_at = utcnow()
        if delivery.topic in FORGET_RECEIPT and shop is not None:
            db.session.delete(delivery)
        db.session.commit()
    except Exception as exc:  # noqa: BLE001 - recorded, then raised again as DeliveryFailed
        db.session.rollback()
        what = describe_error(exc)
        failed = db.session.get(WebhookDelivery, delivery_id)
        if failed is not None:
            failed.status = "failed"
            failed.attempts = attempts
            failed.error = what[:2000]
            db.session.commit()
        log.warning("webhook delivery %s failed: %s", delivery_id, what, extra={"where": error_frames(exc)})
        # raised without the original, whose message (and Celery's retry line) could quote the body
        raise DeliveryFailed(what) from None
    return "processed"
