"""Traffic reports: sessions, visitors, engagement, where shoppers come from and on what device.

Definitions (README, "Analytics definitions"):
- sessions: sessions whose first event falls on a day of the period (the shop's days).
- visitors: distinct visitor ids with a session in the period; identified users: distinct customers.
- new visitors: visitors with a session flagged as their first ever; returning: the others.
- bounce: a session that saw at most one page (page_views ≤ 1 and product_views ≤ 1) and did
  nothing else (no cart, checkout or purchase).
- session duration: last event time minus first event time.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, distinct, func, select

from analytics.models import DailyShopMetric, Event, VisitSession
from analytics.reports.period import Period, ratio
from analytics.reports.sql import as_float, as_int, flag, reader, seconds_between

TOP_LIMIT = 10


def _in_period(period: Period) -> Any:
    return VisitSession.day.between(period.start, period.end)


def session_count(shop_id: int, period: Period) -> dict[str, Any]:
    """Sessions started in the period, from the daily rollup, with a series when asked."""
    rows = reader().execute(
        select(DailyShopMetric.day, DailyShopMetric.sessions).where(
            DailyShopMetric.shop_id == shop_id, DailyShopMetric.day.between(period.start, period.end)
        )
    )
    per_day = {day: int(sessions or 0) for day, sessions in rows}
    result: dict[str, Any] = {"sessions": sum(per_day.values())}
    if period.interval:
        result["series"] = series(period, {day: {"sessions": n} for day, n in per_day.items()}, ("sessions",))
    return result


def series(
    period: Period, per_day: dict[date, dict[str, float]], keys: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Per-day values of `keys` summed into the period's buckets, every bucket and key present."""
    totals: dict[date, dict[str, float]] = {bucket: defaultdict(float) for bucket in period.buckets()}
    for day, values in per_day.items():
        if period.start <= day <= period.end:
            for key in keys:
                totals[period.bucket(day)][key] += values.get(key, 0)
    points = []
    for bucket, values in totals.items():
        point: dict[str, Any] = {"period": bucket.isoformat()}
        for key in sorted(keys):
            value = values.get(key, 0)
            point[key] = int(value) if float(value).is_integer() else round(value, 2)
        points.append(point)
    return points


def user_count(shop_id: int, period: Period) -> dict[str, Any]:
    """Distinct visitors, identified customers, and new versus returning visitors."""
    where = and_(VisitSession.shop_id == shop_id, _in_period(period))
    session = reader()
    visitors, identified = session.execute(
        select(
            func.count(distinct(VisitSession.visitor_id)), func.count(distinct(VisitSession.customer_id))
        ).where(where)
    ).one()
    new = session.execute(
        select(func.count(distinct(VisitSession.visitor_id))).where(
            where, VisitSession.is_new_visitor.is_(True)
        )
    ).scalar()
    visitors, new = as_int(visitors), as_int(new)
    result: dict[str, Any] = {
        "visitors": visitors,
        "identified_users": as_int(identified),
        "new_visitors": new,
        "returning_visitors": visitors - new,
    }
    if period.interval:
        rows = session.execute(
            select(VisitSession.day, VisitSession.visitor_id)
            .where(where)
            .group_by(VisitSession.day, VisitSession.visitor_id)
        )
        buckets: dict[date, set[int]] = defaultdict(set)
        for day, visitor_id in rows:
            buckets[period.bucket(day)].add(visitor_id)
        result["series"] = [
            {"period": bucket.isoformat(), "visitors": len(buckets.get(bucket, ()))}
            for bucket in period.buckets()
        ]
    return result


def engagement(shop_id: int, period: Period) -> dict[str, Any]:
    """Bounce rate, average session duration and revenue per session."""
    bounced = and_(
        VisitSession.page_views <= 1,
        VisitSession.product_views <= 1,
        VisitSession.carts == 0,
        VisitSession.checkouts == 0,
        VisitSession.purchases == 0,
    )
    row = (
        reader()
        .execute(
            select(
                func.count(),
                func.sum(flag(bounced)),
                func.sum(seconds_between(VisitSession.last_event_at, VisitSession.started_at)),
                func.sum(VisitSession.revenue),
            ).where(VisitSession.shop_id == shop_id, _in_period(period))
        )
        .one()
    )
    sessions, bounces, seconds, revenue = (
        as_int(row[0]),
        as_int(row[1]),
        float(row[2] or 0),
        float(row[3] or 0),
    )
    result: dict[str, Any] = {
        "sessions": sessions,
        "bounces": bounces,
        "bounce_rate": ratio(bounces, sessions),
        "average_session_seconds": round(seconds / sessions, 1) if sessions else 0.0,
        "revenue": round(revenue, 2),
        "revenue_per_session": round(revenue / sessions, 2) if sessions else 0.0,
    }
    if period.interval:
        rows = reader().execute(
            select(VisitSession.day, func.count(), func.sum(flag(bounced)), func.sum(VisitSession.revenue))
            .where(VisitSession.shop_id == shop_id, _in_period(period))
            .group_by(VisitSession.day)
        )
        per_day = {
            day: {"sessions": as_int(n), "bounces": as_int(b), "revenue": float(r or 0)}
            for day, n, b, r in rows
        }
        result["series"] = series(period, per_day, ("sessions", "bounces", "revenue"))
    return result


def referrers(shop_id: int, period: Period, *, limit: int = TOP_LIMIT) -> dict[str, Any]:
    """Sessions by referring site (host; 'direct' when none) and by UTM source/medium/campaign."""
    where = and_(VisitSession.shop_id == shop_id, _in_period(period))
    session = reader()
    hosts: dict[str, int] = defaultdict(int)
    for referrer, count in session.execute(
        select(VisitSession.referrer, func.count()).where(where).group_by(VisitSession.referrer)
    ):
        hosts[referrer_host(referrer)] += int(count)
    utm_rows = session.execute(
        select(
            VisitSession.utm_source,
            VisitSession.utm_medium,
            VisitSession.utm_campaign,
            func.count(),
            func.sum(flag(VisitSession.purchases > 0)),
            func.sum(VisitSession.revenue),
        )
        .where(where, VisitSession.utm_source.is_not(None))
        .group_by(VisitSession.utm_source, VisitSession.utm_medium, VisitSession.utm_campaign)
        .order_by(func.count().desc(), VisitSession.utm_source)
        .limit(limit)
    )
    return {
        "referrers": [
            {"referrer": host, "sessions": count}
            for host, count in sorted(hosts.items(), key=lambda item: (-item[1], item[0]))[:limit]
        ],
        "utm": [
            {
                "utm_source": source,
                "utm_medium": medium,
                "utm_campaign": campaign,
                "sessions": as_int(count),
                "purchases": as_int(purchases),
                "revenue": as_float(revenue),
            }
            for source, medium, campaign, count, purchases, revenue in utm_rows
        ],
    }


def referrer_host(referrer: str | None) -> str:
    """The referring site's host without `www.`, or 'direct'."""
    host = urlsplit(referrer or "").hostname or ""
    host = host.removeprefix("www.")
    return host or "direct"


def devices(shop_id: int, period: Period) -> dict[str, Any]:
    """Sessions, purchases and revenue by device type."""
    rows = reader().execute(
        select(
            func.coalesce(VisitSession.device, "unknown"),
            func.count(),
            func.sum(flag(VisitSession.purchases > 0)),
            func.sum(VisitSession.revenue),
        )
        .where(VisitSession.shop_id == shop_id, _in_period(period))
        .group_by(func.coalesce(VisitSession.device, "unknown"))
    )
    items = [
        {
            "device": device,
            "sessions": as_int(count),
            "purchases": as_int(purchases),
            "conversion_rate": ratio(as_int(purchases), as_int(count)),
            "revenue": as_float(revenue),
        }
        for device, count, purchases, revenue in rows
    ]
    return {"devices": sorted(items, key=lambda item: (-item["sessions"], item["device"]))}


def top_pages(shop_id: int, period: Period, *, limit: int = TOP_LIMIT) -> dict[str, Any]:
    """The most viewed pages (page_view events by URL), with views and distinct sessions."""
    since, until = period.utc_bounds()
    views = func.count()
    rows = reader().execute(
        select(Event.url, views, func.count(distinct(Event.session_id)))
        .where(
            Event.shop_id == shop_id,
            Event.occurred_at >= since,
            Event.occurred_at < until,
            Event.type == "page_view",
            Event.url.is_not(None),
        )
        .group_by(Event.url)
        .order_by(views.desc(), Event.url)
        .limit(limit)
    )
    return {
        "pages": [
            {"url": url, "path": urlsplit(url).path or "/", "views": int(count), "sessions": int(sessions)}
            for url, count, sessions in rows
        ]
    }
