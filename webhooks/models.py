"""Webhook deliveries, kept to process each `X-Shopify-Webhook-Id` exactly once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shopify_app.core.extensions import db
from shopify_app.core.types import BigId, JsonDict, Timestamp, utcnow


class WebhookDelivery(db.Model):  # type: ignore[name-defined]
    """One webhook received from Shopify, with what became of it."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    webhook_id: Mapped[str] = mapped_column(String(128), unique=True)
    shop_domain: Mapped[str] = mapped_column(String(255), index=True)
    topic: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="received")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # The body until it is processed (not sent through the broker or its logs); cleared afterwards.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JsonDict)
    received_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(Timestamp)
