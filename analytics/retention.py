"""Data retention: raw events and sessions older than the shop's window go, whole months at a time.

Daily rollups hold no personal data and are kept, so dashboards still show old totals. Visitor
timelines (each visitor's event times, for custom funnels) are per visitor, so they go with the
events; a custom funnel's stored day counts are totals and stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select

from analytics.models import Event, VisitSession
from analytics.reach_models import VisitorTimeline
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop
from shopify_app.core.types import utcnow

DEFAULT_RETENTION_MONTHS = 13
BATCH = 5000


@dataclass(frozen=True)
class RetentionResult:
    """What a retention run removed."""

    cutoff: date
    events: int
    sessions: int


def retention_cutoff(today: date, months: int) -> date:
    """The first day of the oldest month kept: `months` whole months before this one."""
    month_index = today.year * 12 + (today.month - 1) - months
    return date(month_index // 12, month_index % 12 + 1, 1)


def purge_expired_events(shop_id: int, *, now: datetime | None = None) -> RetentionResult:
    """Delete the shop's events and sessions from before its retention window; commits per batch."""
    shop = db.session.get(Shop, shop_id)
    if shop is None:
        return RetentionResult(cutoff=date.min, events=0, sessions=0)
    months = int((shop.settings or {}).get("retention_months", DEFAULT_RETENTION_MONTHS))
    cutoff = retention_cutoff((now or utcnow()).date(), months)
    boundary = datetime(cutoff.year, cutoff.month, cutoff.day)
    events = _delete_in_batches(Event, Event.occurred_at, shop_id, boundary)
    sessions = _delete_in_batches(VisitSession, VisitSession.last_event_at, shop_id, boundary)
    db.session.execute(
        delete(VisitorTimeline).where(VisitorTimeline.shop_id == shop_id, VisitorTimeline.day < cutoff)
    )
    db.session.commit()
    return RetentionResult(cutoff=cutoff, events=events, sessions=sessions)


def _delete_in_batches(model: Any, column: Any, shop_id: int, boundary: datetime) -> int:
    removed = 0
    while True:
        ids = list(
            db.session.execute(
                select(model.id).where(model.shop_id == shop_id, column < boundary).limit(BATCH)
            ).scalars()
        )
        if not ids:
            return removed
        db.session.execute(delete(model).where(model.id.in_(ids)))
        db.session.commit()
        removed += len(ids)
