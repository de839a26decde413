"""Traffic reports: sessions, visitors, engagement, where shoppers come from and on what device.

Definitions (README, "Analytics definitions"):
- sessions: sessions whose first event falls on a day of the period (the shop's days).
- visitors: distinct visitor ids with a session in the period; identified users: distinct customers.
- new visitors: visitors with a session flagged as their first ever; returning: the others.
- bounce: a session that saw at most one page (page_views ≤ 1 and product_views ≤ 1) and did
  nothing else (no cart, checkout or purchase).
- session duration: last event time minus first event time.

Every number comes from the daily rollups the writer keeps (`analytics.rollup_facts`); identified
users alone read `sessions`, through the (shop, customer, day) index, which holds identified
sessions only past its NULL prefix.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import case, distinct, func, select

from analytics.models import (
    DailyCampaignMetric,
    DailyDeviceMetric,
    DailyPageMetric,
    DailyReferrerMetric,
    DailySessionMetric,
    DailyShopMetric,
    DailyVisitorReach,
    VisitSession,
)
from analytics.reports.period import Period, ratio
from analytics.reports.sql import as_float, as_int, reader

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
    session = reader()
    reach = DailyVisitorReach
    in_period = (reach.shop_id == shop_id, reach.day.between(period.start, period.end))
    visitors = session.execute(
        select(func.sum(reach.visitors)).where(*in_period, reach.since < period.start)
    ).scalar()
    identified = session.execute(
        select(func.count(distinct(VisitSession.customer_id))).where(
            VisitSession.shop_id == shop_id,
            VisitSession.customer_id.is_not(None),
            _in_period(period),
        )
    ).scalar()
    new = session.execute(
        select(func.sum(DailyShopMetric.new_visitors)).where(
            DailyShopMetric.shop_id == shop_id, DailyShopMetric.day.between(period.start, period.end)
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
        result["series"] = _visitor_series(shop_id, period)
    return result


def _visitor_series(shop_id: int, period: Period) -> list[dict[str, Any]]:
    """Distinct visitors per bucket: a reach row counts in its day's bucket when the visitor's
    previous day is before the bucket (or before the period, for a bucket cut by its start)."""
    reach = DailyVisitorReach
    in_period = (reach.shop_id == shop_id, reach.day.between(period.start, period.end))
    totals = dict.fromkeys(period.buckets(), 0)
    if period.interval == "day":  # `since` is always an earlier day: every row of the day counts
        per_day = select(reach.day, func.sum(reach.visitors)).where(*in_period).group_by(reach.day)
        for day, n in reader().execute(per_day):
            totals[day] += as_int(n)
    else:
        rows = select(reach.day, reach.since, reach.visitors).where(*in_period, reach.visitors != 0)
        for day, since, n in reader().execute(rows):
            bucket = period.bucket(day)
            if since < max(bucket, period.start):
                totals[bucket] += int(n)
    return [{"period": bucket.isoformat(), "visitors": n} for bucket, n in totals.items()]


def engagement(shop_id: int, period: Period) -> dict[str, Any]:
    """Bounce rate, average session duration and revenue per session (revenue: total sales of orders)."""
    from analytics.reports.sales import total_sales_by_day

    rows = reader().execute(
        select(
            DailySessionMetric.day,
            DailySessionMetric.sessions,
            DailySessionMetric.bounces,
            DailySessionMetric.duration_ms,
        ).where(
            DailySessionMetric.shop_id == shop_id, DailySessionMetric.day.between(period.start, period.end)
        )
    )
    per_day: dict[date, dict[str, float]] = {}
    sessions = bounces = milliseconds = 0
    for day, n, b, ms in rows:
        per_day[day] = {"sessions": as_int(n), "bounces": as_int(b), "revenue": 0.0}
        sessions, bounces, milliseconds = sessions + as_int(n), bounces + as_int(b), milliseconds + as_int(ms)
    # Money comes from orders (Shopify's total sales), never from the browser's purchase events.
    money = Decimal("0")
    for day, total in total_sales_by_day(shop_id, period).items():
        per_day.setdefault(day, {"sessions": 0, "bounces": 0})["revenue"] = float(total)
        money += total
    seconds, revenue = milliseconds / 1000, float(money)
    result: dict[str, Any] = {
        "sessions": sessions,
        "bounces": bounces,
        "bounce_rate": ratio(bounces, sessions),
        "average_session_seconds": round(seconds / sessions, 1) if sessions else 0.0,
        "revenue": round(revenue, 2),
        "revenue_per_session": round(revenue / sessions, 2) if sessions else 0.0,
    }
    if period.interval:
        result["series"] = series(period, per_day, ("sessions", "bounces", "revenue"))
    return result


def referrers(shop_id: int, period: Period, *, limit: int = TOP_LIMIT) -> dict[str, Any]:
    """Sessions by referring site (host; 'direct' when none) and by UTM source/medium/campaign."""
    session = reader()
    sessions = func.sum(DailyReferrerMetric.sessions)
    hosts = session.execute(
        select(DailyReferrerMetric.referrer, sessions)
        .where(
            DailyReferrerMetric.shop_id == shop_id, DailyReferrerMetric.day.between(period.start, period.end)
        )
        .group_by(DailyReferrerMetric.referrer)
        .having(sessions > 0)
        .order_by(sessions.desc(), DailyReferrerMetric.referrer)
        .limit(limit)
    )
    campaign = DailyCampaignMetric
    count = func.sum(campaign.sessions)
    utm_rows = session.execute(
        select(
            func.max(campaign.utm_source),
            func.max(campaign.utm_medium),
            func.max(campaign.utm_campaign),
            count,
            func.sum(campaign.purchasing_sessions),
            func.sum(campaign.revenue),
        )
        .where(campaign.shop_id == shop_id, campaign.day.between(period.start, period.end))
        .group_by(campaign.campaign_key)
        .having(count > 0)
        .order_by(count.desc(), func.max(campaign.utm_source))
        .limit(limit)
    )
    return {
        "referrers": [{"referrer": host, "sessions": as_int(n)} for host, n in hosts],
        "utm": [
            {
                "utm_source": source,
                "utm_medium": medium,
                "utm_campaign": name,
                "sessions": as_int(n),
                "purchases": as_int(purchases),
                "revenue": as_float(revenue),
            }
            for source, medium, name, n, purchases, revenue in utm_rows
        ],
    }


def devices(shop_id: int, period: Period) -> dict[str, Any]:
    """Sessions, purchases and revenue by device type."""
    rows = reader().execute(
        select(
            DailyDeviceMetric.device,
            func.sum(DailyDeviceMetric.sessions),
            func.sum(DailyDeviceMetric.purchasing_sessions),
            func.sum(DailyDeviceMetric.revenue),
        )
        .where(DailyDeviceMetric.shop_id == shop_id, DailyDeviceMetric.day.between(period.start, period.end))
        .group_by(DailyDeviceMetric.device)
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
        if as_int(count)
    ]
    return {"devices": sorted(items, key=lambda item: (-item["sessions"], item["device"]))}


def top_pages(shop_id: int, period: Period, *, limit: int = TOP_LIMIT) -> dict[str, Any]:
    """The most viewed pages (page_view events by URL), with views and distinct sessions."""
    page = DailyPageMetric
    session = reader()
    views = func.sum(page.views)
    sessions = func.sum(case((page.since < period.start, page.sessions), else_=0))
    in_period = (page.shop_id == shop_id, page.day.between(period.start, period.end))
    grouped = (
        select(page.page_key, views, sessions).where(*in_period).group_by(page.page_key).having(views > 0)
    )
    # the top by views, widened to every page tying the last one so ties rank by URL exactly
    top = session.execute(grouped.order_by(views.desc()).limit(limit * 4)).all()
    if len(top) == limit * 4 and top[-1][1] == top[limit - 1][1]:
        top = session.execute(grouped.having(views >= top[limit - 1][1])).all()
    urls = dict(
        session.execute(
            select(page.page_key, page.url).where(*in_period, page.page_key.in_([key for key, _, _ in top]))
        ).all()
        if top
        else []
    )
    ranked = sorted(((urls[key], int(v), int(n)) for key, v, n in top), key=lambda row: (-row[1], row[0]))
    return {
        "pages": [
            {"url": url, "path": urlsplit(url).path or "/", "views": count, "sessions": n}
            for url, count, n in ranked[:limit]
        ]
    }
