"""Celery tasks of analytics: retention purge, rollup and order reconciliation, segment refresh, funnel recounts."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from celery import shared_task
from flask import Flask, current_app
from sqlalchemy import select

from analytics.retention import purge_expired_events
from shopify_app.core.extensions import db, get_redis
from shopify_app.core.models import Shop

log = logging.getLogger(__name__)

RECONCILE_EVERY_SECONDS = 6 * 3600
ORDERS_RECONCILE_EVERY_SECONDS = 24 * 3600
SEGMENTS_EVERY_SECONDS = 3600
DATA_REQUESTS_EVERY_SECONDS = 3600


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


@shared_task(name="analytics.reconcile_orders", ignore_result=True)
def reconcile_orders_task() -> dict[str, Any]:
    """Compare the last days' orders and sales of every active shop with Shopify's; restore the
    orders a lost webhook missed. A shop Shopify refuses is logged and the others still run."""
    from analytics.sales_reconcile import reconcile_recent_orders
    from shopify_app.core.graphql import ShopifyApiError

    restored: dict[str, int] = {}
    failed: list[str] = []
    for shop in _active_shops():
        try:
            checks = reconcile_recent_orders(shop)
        except ShopifyApiError as exc:
            db.session.rollback()
            log.warning("order reconciliation of %s failed: %s", shop.domain, exc.code)
            failed.append(shop.domain)
            continue
        if any(check.restored_orders for check in checks):
            restored[shop.domain] = sum(check.restored_orders for check in checks)
    return {"restored": restored, "failed": failed}


RECOUNT_GUARD_SECONDS = 600  # a recount that died is asked for again after this


def _recount_guard(shop_id: int, steps: list[str], window_seconds: int) -> str:
    return f"cs:funnel-recount:{shop_id}:{','.join(steps)}:{window_seconds}"


def recount_funnel_days_later(shop_id: int, steps: list[str], window_seconds: int, days: list[date]) -> None:
    """Have a task worker recount a custom funnel's outdated days, once at a time per funnel (a
    Redis key keeps repeated asks from queueing the same recount)."""
    client = get_redis()
    if client is not None and not client.set(_recount_guard(shop_id, steps, window_seconds), 1, nx=True,
                                             ex=RECOUNT_GUARD_SECONDS):  # fmt: skip
        return
    recount_funnel_days_task.delay(shop_id, steps, window_seconds, [day.isoformat() for day in sorted(days)])


@shared_task(name="analytics.recount_funnel_days", ignore_result=True)
def recount_funnel_days_task(shop_id: int, steps: list[str], window_seconds: int, days: list[str]) -> int:
    """Count outdated days of a custom funnel again (see `recount_funnel_days_later`)."""
    from analytics.reports.conversion import recount_days

    try:
        recount_days(shop_id, steps, window_seconds, [date.fromisoformat(day) for day in days])
    finally:
        client = get_redis()
        if client is not None:
            client.delete(_recount_guard(shop_id, steps, window_seconds))
    return len(days)


@shared_task(name="analytics.refresh_segments", ignore_result=True)
def refresh_segments_task() -> dict[str, int]:
    """Recompute every saved segment's membership (and record its size)."""
    from analytics.segments.saved import refresh_all

    return {shop.domain: refresh_all(shop.id) for shop in _active_shops()}


@shared_task(name="analytics.purge_expired_data_requests", ignore_result=True)
def purge_expired_data_requests_task() -> int:
    """Delete data-request exports older than DATA_REQUEST_RETENTION_DAYS; returns how many."""
    from analytics.data_requests import purge_expired_data_requests

    return purge_expired_data_requests(current_app.config["DATA_REQUEST_RETENTION_DAYS"])


def schedule(app: Flask) -> None:
    """Put the reconciliations (rollups, orders with Shopify), segment refresh and the exports' expiry on the beat schedule."""
    from shopify_app.core.tasks import schedule_task

    schedule_task(
        app,
        "analytics-purge-data-requests",
        "analytics.purge_expired_data_requests",
        DATA_REQUESTS_EVERY_SECONDS,
    )
    schedule_task(app, "analytics-reconcile-rollups", "analytics.reconcile_rollups", RECONCILE_EVERY_SECONDS)
    schedule_task(app, "analytics-refresh-segments", "analytics.refresh_segments", SEGMENTS_EVERY_SECONDS)
    schedule_task(
        app, "analytics-reconcile-orders", "analytics.reconcile_orders", ORDERS_RECONCILE_EVERY_SECONDS
    )
