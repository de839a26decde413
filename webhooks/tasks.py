"""Celery tasks of webhooks: each delivery is processed off the request, with retries."""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(name="webhooks.process_delivery", bind=True, max_retries=8)
def process_delivery_task(self: Any, delivery_id: int) -> str:
    """Process one accepted delivery (its body is in the database, not in the message); failures
    retry with backoff (handlers are idempotent)."""
    from webhooks.services import process_delivery

    try:
        return process_delivery(delivery_id)
    except Exception as exc:
        if self.request.is_eager:
            raise
        raise self.retry(exc=exc, countdown=min(600, 5 * 2**self.request.retries)) from exc
