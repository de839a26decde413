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
