"""Reconciliation of the visitor timelines (what custom funnels count from) for one day.

The writer appends each event's time to its visitor's row for the event's type and day. A day is
rebuilt from raw events as the same rows, compared time by time (stored order is arrival order,
so both sides are sorted), and on repair rewritten; the funnels' kept day counts that could have
read the day are dropped so the next ask counts them from the repaired rows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select

from analytics.models import Event
from analytics.reach_models import FunnelDayCount, VisitorTimeline, pack, unpack
from analytics.reports.period import Period
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop

MAX_WINDOW_DAYS = 92  # the longest funnel window (90 days) plus the time-zone margin

Timelines = dict[tuple[str, int], list[datetime]]


def rebuilt_timelines(shop: Shop, day: date) -> Timelines:
    """The day's timelines from raw events: (type, visitor id) -> sorted times."""
    since, until = Period(day, day, shop.timezone or "UTC").utc_bounds()
    rows: Timelines = defaultdict(list)
    for kind, visitor_id, when in db.session.execute(
        select(Event.type, Event.visitor_id, Event.occurred_at).where(
            Event.shop_id == shop.id, Event.occurred_at >= since, Event.occurred_at < until
        )
    ):
        rows[(kind, int(visitor_id))].append(when)
    return {key: sorted(times) for key, times in rows.items()}


def stored_timelines(shop_id: int, day: date) -> Timelines:
    """The day's timelines as the writer kept them: (type, visitor id) -> sorted times."""
    return {
        (kind, int(visitor_id)): sorted(unpack(day, moments))
        for kind, visitor_id, moments in db.session.execute(
            select(VisitorTimeline.type, VisitorTimeline.visitor_id, VisitorTimeline.moments).where(
                VisitorTimeline.shop_id == shop_id, VisitorTimeline.day == day
            )
        )
    }


def timeline_drifts(shop: Shop, day: date) -> list[dict[str, str]]:
    """One drift per visitor and type whose kept times differ from the raw events' (as counts)."""
    rebuilt, stored = rebuilt_timelines(shop, day), stored_timelines(shop.id, day)
    return [
        {
            "metric": f"timeline:{kind}:{visitor_id}"[:64],
            "rollup_value": str(len(stored.get((kind, visitor_id), []))),
            "rebuilt_value": str(len(rebuilt.get((kind, visitor_id), []))),
        }
        for kind, visitor_id in sorted(set(rebuilt) | set(stored))
        if rebuilt.get((kind, visitor_id)) != stored.get((kind, visitor_id))
    ]


def repair_timelines(shop: Shop, day: date) -> None:
    """Rewrite the day's timelines from raw events and drop the funnel counts that read them."""
    rebuilt = rebuilt_timelines(shop, day)
    db.session.execute(
        delete(VisitorTimeline).where(VisitorTimeline.shop_id == shop.id, VisitorTimeline.day == day)
    )
    db.session.add_all(
        VisitorTimeline(
            shop_id=shop.id,
            type=kind,
            day=day,
            visitor_id=visitor_id,
            moments=b"".join(pack(day, when) for when in times),
        )
        for (kind, visitor_id), times in rebuilt.items()
    )
    db.session.execute(
        delete(FunnelDayCount).where(
            FunnelDayCount.shop_id == shop.id,
            FunnelDayCount.day.between(day - timedelta(days=MAX_WINDOW_DAYS), day),
        )
    )
    db.session.flush()
