"""The writer's session and visitor rollups, written as one multi-row upsert per table.

(Daily shop and product totals, plain sums of the batch's events, are added in `store`.) The session, device, referrer,
campaign, page, visitor, product-viewer and retention rollups count sessions and visitors, so a
batch changes them by `facts(after) - facts(before)` of every session and visitor it touches
(see `analytics.rollup_facts`). The "before" of a session already stored comes from its stored
events (one query for all of them); the "before" of a returning visitor from its stored sessions
(one query); of a product viewer from its stored product views (one query). New visitors need none.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from analytics.models import (
    DailyCampaignMetric,
    DailyDeviceMetric,
    DailyPageMetric,
    DailyProductViewers,
    DailyReferrerMetric,
    DailySessionMetric,
    DailyVisitorReach,
    Event,
    RetentionCell,
    VisitSession,
)
from analytics.rollup_facts import (
    SessionFacts,
    Tally,
    add_product_viewer,
    add_session,
    add_visitor,
    difference,
    local_day,
    new_tally,
)
from analytics.writer.sessions import SessionState
from analytics.writer.sql import upsert
from shopify_app.core.extensions import db


def add_session_rollups(
    shop_id: int,
    events: list[dict[str, Any]],
    sessions: list[SessionState],
    new_visitors: set[int],
    zone: ZoneInfo,
    *,
    value: Callable[[dict[str, Any]], Decimal],
) -> None:
    """Add the batch's events (stored, each with its `session`; `value` its revenue) to the
    session, visitor and page rollups."""
    fresh_ids = {event["id"] for event in events}
    before, after = new_tally(), new_tally()
    _session_facts(events, sessions, fresh_ids, zone, value, before, after)
    _visitor_facts(shop_id, sessions, new_visitors, before, after)
    _viewer_facts(shop_id, events, new_visitors, fresh_ids, zone, before, after)
    write_tally(shop_id, difference(after, before))


def _session_facts(
    events: list[dict[str, Any]],
    sessions: list[SessionState],
    fresh_ids: set[str],
    zone: ZoneInfo,
    value: Callable[[dict[str, Any]], Decimal],
    before: Tally,
    after: Tally,
) -> None:
    batch: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        batch[id(event["session"])].append(event)
    stored: dict[int, list[tuple[str, datetime, str | None]]] = defaultdict(list)
    old_ids = sorted(s.id for s in sessions if not s.opened and s.id is not None)
    if old_ids:
        rows = db_rows(
            select(Event.session_id, Event.event_id, Event.type, Event.occurred_at, Event.url).where(
                Event.session_id.in_(old_ids)
            )
        )
        for session_id, event_id, kind, when, url in rows:
            if event_id not in fresh_ids:
                stored[session_id].append((kind, when, url))
    for session in sessions:
        mine = batch[id(session)]
        added = [(e["type"], e["when"], e.get("url")) for e in mine]
        gained = sum((value(e) for e in mine), Decimal("0"))
        earlier = [] if session.opened else stored[session.id or 0]
        add_session(after, _facts(session, earlier + added, session.revenue), zone)
        if not session.opened:
            add_session(before, _facts(session, earlier, session.revenue - gained), zone)


def _facts(
    session: SessionState, events: list[tuple[str, datetime, str | None]], revenue: Decimal
) -> SessionFacts:
    return SessionFacts(
        day=session.day,
        device=session.device,
        referrer=session.referrer,
        utm_source=session.utm_source,
        utm_medium=session.utm_medium,
        utm_campaign=session.utm_campaign,
        revenue=revenue,
        events=events,
    )


def _visitor_facts(
    shop_id: int, sessions: list[SessionState], new_visitors: set[int], before: Tally, after: Tally
) -> None:
    """A visitor's days change only when a session opens (a session's day never moves)."""
    opened = [s for s in sessions if s.opened]
    days: dict[int, dict[int, tuple[date, bool]]] = defaultdict(dict)
    for session in opened:
        days[session.visitor_id][session.id or 0] = (session.day, session.is_new_visitor)
    returning = sorted({s.visitor_id for s in opened} - new_visitors)
    stored: dict[int, dict[int, tuple[date, bool]]] = defaultdict(dict)
    if returning:
        rows = db_rows(
            select(
                VisitSession.id, VisitSession.visitor_id, VisitSession.day, VisitSession.is_new_visitor
            ).where(VisitSession.shop_id == shop_id, VisitSession.visitor_id.in_(returning))
        )
        batch_ids = {s.id for s in opened}
        for session_id, visitor_id, day, is_new in rows:
            if session_id not in batch_ids:
                stored[visitor_id][session_id] = (day, bool(is_new))
    for visitor_id, mine in days.items():
        old = stored.get(visitor_id, {})
        add_visitor(after, *_visitor_days({**old, **mine}))
        if old:
            add_visitor(before, *_visitor_days(old))


def _visitor_days(sessions: dict[int, tuple[date, bool]]) -> tuple[set[date], date | None]:
    cohorts = [day for day, is_new in sessions.values() if is_new]
    return {day for day, _ in sessions.values()}, min(cohorts) if cohorts else None


def _viewer_facts(
    shop_id: int,
    events: list[dict[str, Any]],
    new_visitors: set[int],
    fresh_ids: set[str],
    zone: ZoneInfo,
    before: Tally,
    after: Tally,
) -> None:
    added: dict[tuple[int, int], set[date]] = defaultdict(set)
    for event in events:
        if event["type"] == "product_view" and event.get("product_id") is not None:
            visitor_id = event["session"].visitor_id
            added[(visitor_id, int(event["product_id"]))].add(local_day(event["when"], zone))
    stored: dict[tuple[int, int], set[date]] = defaultdict(set)
    returning = sorted({visitor for visitor, _ in added} - new_visitors)
    if returning:
        products = sorted({product for _, product in added})
        rows = db_rows(
            select(Event.visitor_id, Event.product_id, Event.occurred_at, Event.event_id).where(
                Event.shop_id == shop_id,
                Event.visitor_id.in_(returning),
                Event.type == "product_view",
                Event.product_id.in_(products),
            )
        )
        for visitor_id, product_id, when, event_id in rows:
            if event_id not in fresh_ids and (visitor_id, product_id) in added:
                stored[(visitor_id, product_id)].add(local_day(when, zone))
    for (visitor_id, product_id), days in added.items():
        old = stored.get((visitor_id, product_id), set())
        add_product_viewer(after, product_id, old | days)
        if old:
            add_product_viewer(before, product_id, old)


def db_rows(query: Any) -> list[Any]:
    """Every row of `query` in the writer's transaction."""
    return list(db.session.execute(query))


def _key(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts).encode(), usedforsecurity=False).hexdigest()


def tally_rows(shop_id: int, tally: Tally) -> dict[str, list[dict[str, Any]]]:
    """The tally as rows of each rollup table, keyed by table name, sorted by key."""
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rollup, entries in tally.items():
        for key, values in sorted(entries.items(), key=lambda item: repr(item[0])):
            row = {"shop_id": shop_id, **_key_columns(rollup, key), **values}
            rows[TABLES[rollup].__tablename__].append(row)
    return rows


def _key_columns(rollup: str, key: tuple[Any, ...]) -> dict[str, Any]:
    if rollup == "sessions":
        return {"day": key[0]}
    if rollup == "devices":
        return {"day": key[0], "device": key[1]}
    if rollup == "referrers":
        return {"day": key[0], "referrer": key[1]}
    if rollup == "campaigns":
        day, source, medium, campaign = key
        return {
            "day": day,
            "campaign_key": _key(source, medium, campaign),
            "utm_source": source,
            "utm_medium": medium,
            "utm_campaign": campaign,
        }
    if rollup == "pages":
        day, url, since = key
        return {"day": day, "page_key": _key(url), "url": url, "since": since}
    if rollup == "visitors":
        return {"day": key[0], "since": key[1]}
    if rollup == "product_viewers":
        return {"day": key[0], "product_id": key[1], "since": key[2]}
    return {"cohort_day": key[0], "week": key[1]}


TABLES: dict[str, Any] = {
    "sessions": DailySessionMetric,
    "devices": DailyDeviceMetric,
    "referrers": DailyReferrerMetric,
    "campaigns": DailyCampaignMetric,
    "pages": DailyPageMetric,
    "visitors": DailyVisitorReach,
    "product_viewers": DailyProductViewers,
    "retention": RetentionCell,
}
COUNTS: dict[str, tuple[str, ...]] = {
    "sessions": (
        "sessions", "bounces", "duration_ms", "revenue", "with_product_view", "with_cart", "with_checkout",
        "with_purchase", "reached_product_view", "reached_cart", "reached_checkout", "reached_purchase",
    ),
    "devices": ("sessions", "purchasing_sessions", "revenue"),
    "referrers": ("sessions",),
    "campaigns": ("sessions", "purchasing_sessions", "revenue"),
    "pages": ("views", "sessions"),
    "visitors": ("visitors",),
    "product_viewers": ("visitors",),
    "retention": ("visitors",),
}  # fmt: skip


def write_tally(shop_id: int, tally: Tally) -> None:
    """Add the tally to the rollup tables: one multi-row upsert per table."""
    rows = tally_rows(shop_id, tally)
    for rollup, model in TABLES.items():
        table = model.__table__
        chosen = rows.get(table.name)
        if not chosen:
            continue
        counts = COUNTS[rollup]
        full = [{**dict.fromkeys(counts, 0), **row} for row in chosen]
        keys = [column.name for column in table.primary_key.columns]
        upsert(table, full, keys=keys, merge=dict.fromkeys(counts, "add"))
