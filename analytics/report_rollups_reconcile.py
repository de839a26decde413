"""Reconciliation of the report rollups (`analytics.writer.report_rollups`) for one day.

- Visitor timelines (what custom funnels count from): the writer appends each event's time to its
  visitor's row for the event's type and day. A day is rebuilt from raw events as the same rows,
  compared time by time (stored order is arrival order, so both sides are sorted), and on repair
  rewritten; the funnels' kept day counts that could have read the day are dropped so the next
  ask counts them from the repaired rows.
- Product reach (distinct products over a range): the day's products with activity, by the last
  earlier day each had some, rebuilt from the daily product rows (which reconciliation has just
  checked against raw events) and on repair rewritten for the day.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import aliased

from analytics.models import NEVER, DailyProductMetric, Event
from analytics.reach_models import DailyProductReach, FunnelDayCount, VisitorTimeline, pack, unpack
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


def rebuilt_product_reach(shop_id: int, day: date) -> dict[date, int]:
    """The day's products with activity by the last earlier day each had some (NEVER if none)."""
    earlier = aliased(DailyProductMetric)
    previous = (
        select(func.max(earlier.day))
        .where(
            earlier.shop_id == shop_id,
            earlier.product_id == DailyProductMetric.product_id,
            earlier.day < day,
        )
        .scalar_subquery()
    )
    counts: dict[date, int] = defaultdict(int)
    for (since,) in db.session.execute(
        select(previous).where(DailyProductMetric.shop_id == shop_id, DailyProductMetric.day == day)
    ):
        counts[since or NEVER] += 1
    return dict(counts)


def stored_product_reach(shop_id: int, day: date) -> dict[date, int]:
    """The day's product reach rows as the writer kept them (rows of zero left out)."""
    return {
        since: int(products)
        for since, products in db.session.execute(
            select(DailyProductReach.since, DailyProductReach.products).where(
                DailyProductReach.shop_id == shop_id, DailyProductReach.day == day
            )
        )
        if products
    }


def product_reach_drifts(shop_id: int, day: date) -> list[dict[str, str]]:
    """One drift per `since` day whose count of products differs from the rebuilt one."""
    rebuilt, stored = rebuilt_product_reach(shop_id, day), stored_product_reach(shop_id, day)
    return [
        {
            "metric": f"product_reach:{since.isoformat()}",
            "rollup_value": str(stored.get(since, 0)),
            "rebuilt_value": str(rebuilt.get(since, 0)),
        }
        for since in sorted(set(rebuilt) | set(stored))
        if rebuilt.get(since, 0) != stored.get(since, 0)
    ]


def repair_product_reach(shop_id: int, day: date) -> None:
    """Rewrite the day's product reach rows from the daily product rows."""
    rebuilt = rebuilt_product_reach(shop_id, day)
    db.session.execute(
        delete(DailyProductReach).where(DailyProductReach.shop_id == shop_id, DailyProductReach.day == day)
    )
    db.session.add_all(
        DailyProductReach(shop_id=shop_id, day=day, since=since, products=products)
        for since, products in rebuilt.items()
    )
    db.session.flush()
