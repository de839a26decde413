"""Celery tasks of ml: training a shop's model and the scheduled retraining sweep."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from sqlalchemy import select

from ml.training import NotEnoughData, needs_retraining, train_model
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop


@shared_task(name="ml.train_conversion_model", ignore_result=True)
def train_conversion_model(shop_id: int | None = None) -> dict[str, Any]:
    """Train a new conversion model version for a shop (or the global model)."""
    try:
        row = train_model(shop_id)
    except NotEnoughData as exc:
        return {"trained": False, "reason": exc.message}
    return {"trained": True, "version": row.version, "status": row.status}


@shared_task(name="ml.retrain_when_due", ignore_result=True)
def retrain_when_due() -> dict[str, Any]:
    """Queue training for every active shop with enough new sessions, and refresh the global model."""
    queued = []
    for shop in db.session.execute(select(Shop).where(Shop.uninstalled_at.is_(None))).scalars():
        if needs_retraining(shop.id):
            train_conversion_model.delay(shop_id=shop.id)
            queued.append(shop.domain)
    train_conversion_model.delay(shop_id=None)
    return {"queued": queued}


@shared_task(name="ml.score_sessions", ignore_result=True, acks_late=True)
def score_sessions(shop_id: int, session_ids: list[int]) -> int:
    """Score sessions the writer just stored and decide their notifications (see `ml.live`)."""
    from ml.live import on_sessions_updated

    return len(on_sessions_updated(shop_id, session_ids))


@shared_task(name="ml.top_up_discount_codes", ignore_result=True)
def top_up_discount_codes(shop_id: int, percent: int) -> int:
    """Refill the shop's pool of single-use codes of this percentage (Admin API calls)."""
    from ml.discounts import top_up

    shop = db.session.get(Shop, shop_id)
    if shop is None or not shop.is_active:
        return 0
    return top_up(shop, percent)


@shared_task(name="ml.top_up_all_discount_codes", ignore_result=True)
def top_up_all_discount_codes() -> dict[str, int]:
    """Queue a refill for every active shop whose notifications may offer a discount."""
    from ml.live import notification_settings

    queued = {}
    for shop in db.session.execute(select(Shop).where(Shop.uninstalled_at.is_(None))).scalars():
        settings = notification_settings(shop)
        if shop.access_token_encrypted and settings.enabled and "discount" in settings.kinds:
            top_up_discount_codes.delay(shop.id, settings.discount_percent)
            queued[shop.domain] = settings.discount_percent
    return queued
