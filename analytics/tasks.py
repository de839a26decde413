"""Celery tasks of analytics: retention purge, rollup reconciliation, segment refresh."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from flask import Flask
from sqlalchemy import select

from analytics.retention import purge_expired_events
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop

RECONCILE_EVERY_SECONDS = 6 * 3600
SEGMENTS_EVERY_SECONDS = 3600


@shared_task(name="analytics.purge_expired_events", ignore_result=True)
def purge_expired_events_task(shop_id: int) -> dict[str, int | str]:
    """Apply the shop's retention window to its raw events."""
    result = purge_expired_events(shop_id)
    return {"cutoff": result.cutoff.isoformat(), "events": result.events, "sessions": result.sessions}


def _active_shops() -> list[Shop]:
    return [shop for shop in db.session.scalars(select(Shop).order_by(Shop.id)) if shop.is_active]


@shared_task(name="analytics.reconcile_rollups", ignore_result=True)
def reconcile_rollups_task() -> dict[str, Any]:
    """Rebuild yesterday's rollups of every active shop from raw events; report and repair drift."""
    from analytics.reconcile import reconcile_yesterday

    drifted = {}
    for shop in _active_shops():
        result = reconcile_yesterday(shop)
        if not result.clean:
            drifted[shop.domain] = len(result.drifts)
    return {"drifted": drifted}


@shared_task(name="analytics.refresh_segments", ignore_result=True)
def refresh_segments_task() -> dict[str, int]:
    """Recompute every saved segment's membership (and record its size)."""
    from analytics.segments.saved import refresh_all

    return {shop.domain: refresh_all(shop.id) for shop in _active_shops()}


def schedule(app: Flask) -> None:
    """Put reconciliation and segment refresh on the beat schedule."""
    from shopify_app.core.tasks import schedule_task

    schedule_task(app, "analytics-reconcile-rollups", "analytics.reconcile_rollups", RECONCILE_EVERY_SECONDS)
    schedule_task(app, "analytics-refresh-segments", "analytics.refresh_segments", SEGMENTS_EVERY_SECONDS)
