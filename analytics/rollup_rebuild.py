"""One day of the session and visitor rollups rebuilt from `sessions` and `events`, and as stored.

The rebuild adds up `analytics.rollup_facts` over every session, visitor and product viewer that
has a row on the day, from raw rows only; reconciliation compares it with what the writer kept.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from analytics.models import Event, VisitSession
from analytics.reports.period import Period, shop_zone
from analytics.rollup_facts import (
    SessionFacts,
    Tally,
    add_product_viewer,
    add_session,
    add_visitor,
    local_day,
    new_tally,
)
from analytics.writer.rollups import COUNTS, TABLES
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop

DAY_COLUMN = {"retention": "cohort_day"}


def rebuild_day_rollups(shop: Shop, day: date) -> Tally:
    """The day's session, device, referrer, campaign, page, visitor, viewer and retention rows."""
    zone = shop_zone(shop.timezone)
    since, until = Period(day, day, shop.timezone or "UTC").utc_bounds()
    tally = new_tally()
    in_day = (Event.shop_id == shop.id, Event.occurred_at >= since, Event.occurred_at < until)
    page_sessions = select(Event.session_id).where(*in_day, Event.type == "page_view")
    started = select(VisitSession.id).where(VisitSession.shop_id == shop.id, VisitSession.day == day)
    session_rows = db.session.execute(
        select(VisitSession).where(VisitSession.id.in_(started.union(page_sessions)))
    ).scalars()
    sessions = {row.id: row for row in session_rows}
    events: dict[int, list[tuple[str, datetime, str | None]]] = defaultdict(list)
    if sessions:
        for session_id, kind, when, url in db.session.execute(
            select(Event.session_id, Event.type, Event.occurred_at, Event.url).where(
                Event.session_id.in_(list(sessions))
            )
        ):
            events[session_id].append((kind, when, url))
    for session_id, row in sessions.items():
        facts = SessionFacts(
            row.day, row.device, row.referrer, row.utm_source, row.utm_medium, row.utm_campaign,
            row.revenue, events[session_id],
        )  # fmt: skip
        add_session(tally, facts, zone)
    _rebuild_visitors(shop, day, tally)
    _rebuild_viewers(shop, in_day, zone, tally)
    return _only_day(tally, day)


def _rebuild_visitors(shop: Shop, day: date, tally: Tally) -> None:
    visitors = select(VisitSession.visitor_id).where(VisitSession.shop_id == shop.id, VisitSession.day == day)
    days: dict[int, set[date]] = defaultdict(set)
    cohorts: dict[int, date] = {}
    for visitor_id, session_day, is_new in db.session.execute(
        select(VisitSession.visitor_id, VisitSession.day, VisitSession.is_new_visitor).where(
            VisitSession.shop_id == shop.id, VisitSession.visitor_id.in_(visitors)
        )
    ):
        days[visitor_id].add(session_day)
        if is_new:
            cohorts[visitor_id] = min(session_day, cohorts.get(visitor_id, session_day))
    for visitor_id, visited in days.items():
        add_visitor(tally, visited, cohorts.get(visitor_id))


def _rebuild_viewers(shop: Shop, in_day: tuple[Any, ...], zone: Any, tally: Tally) -> None:
    viewed = select(Event.visitor_id).where(*in_day, Event.type == "product_view")
    days: dict[tuple[int, int], set[date]] = defaultdict(set)
    for visitor_id, product_id, when in db.session.execute(
        select(Event.visitor_id, Event.product_id, Event.occurred_at).where(
            Event.shop_id == shop.id,
            Event.visitor_id.in_(viewed),
            Event.type == "product_view",
            Event.product_id.is_not(None),
        )
    ):
        days[(visitor_id, int(product_id or 0))].add(local_day(when, zone))
    for (_, product_id), seen in days.items():
        add_product_viewer(tally, product_id, seen)


def _only_day(tally: Tally, day: date) -> Tally:
    kept = new_tally()
    for rollup, rows in tally.items():
        for key, values in rows.items():
            if key[0] == day:
                kept[rollup][key] = values
    return kept


def stored_day_rollups(shop: Shop, day: date) -> Tally:
    """The day's rows of the same rollups as the writer kept them."""
    tally = new_tally()
    for rollup, model in TABLES.items():
        table = model.__table__
        day_column = table.c[DAY_COLUMN.get(rollup, "day")]
        for row in db.session.execute(
            select(table).where(table.c.shop_id == shop.id, day_column == day)
        ).mappings():
            tally[rollup][_key(rollup, row)] = defaultdict(int, {c: row[c] for c in COUNTS[rollup]})
    return tally


def _key(rollup: str, row: Any) -> tuple[Any, ...]:
    if rollup == "sessions":
        return (row["day"],)
    if rollup == "devices":
        return (row["day"], row["device"])
    if rollup == "referrers":
        return (row["day"], row["referrer"])
    if rollup == "campaigns":
        return (row["day"], row["utm_source"], row["utm_medium"], row["utm_campaign"])
    if rollup == "pages":
        return (row["day"], row["url"], row["since"])
    if rollup == "visitors":
        return (row["day"], row["since"])
    if rollup == "product_viewers":
        return (row["day"], row["product_id"], row["since"])
    return (row["cohort_day"], row["week"])
