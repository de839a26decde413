"""Celery tasks of analytics."""

from __future__ import annotations

from celery import shared_task

from analytics.retention import purge_expired_events


@shared_task(name="analytics.purge_expired_events", ignore_result=True)
def purge_expired_events_task(shop_id: int) -> dict[str, int | str]:
    """Apply the shop's retention window to its raw events."""
    result = purge_expired_events(shop_id)
    return {"cutoff": result.cutoff.isoformat(), "events": result.events, "sessions": result.sessions}
