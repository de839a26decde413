"""The writer's session and visitor rollups, written as one multi-row upsert per table.

(Daily shop and product totals, plain sums of the batch's events, are added in `store`.) The session, device, referrer,
campaign, page, visitor, product-viewer and retention rollups count sessions and visitors, so a
batch changes them by `facts(after) - facts(before)` of every session and visitor it touches
(see `analytics.rollup_facts`).

The "before" comes from small state kept beside the rows, never from the stored events: a
session row keeps its counts, funnel progress and viewed pages; a visitor row its last visit day
and cohort day; `viewed_products` when each visitor last viewed each product. A batch whose
events all come after that state only adds on to it. Events arriving late (before a stored
session's last event, a visit day before the visitor's last, a product view before the last
one) and rows without state (stored before migration 0009) are the exception: for those the
stored events or sessions are read back, as the state cannot say what changed.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, tuple_

from analytics.models import (
    NEVER,
    DailyCampaignMetric,
    DailyDeviceMetric,
    DailyPageMetric,
    DailyProductViewers,
    DailyReferrerMetric,
    DailySessionMetric,
    DailyVisitorReach,
    Event,
    RetentionCell,
    ViewedProduct,
    VisitSession,
)
from analytics.rollup_facts import (
    FUNNEL_TYPES,
    SessionCounts,
    SessionFacts,
    Tally,
    add_later_page_views,
    add_product_viewer,
    add_session,
    add_session_counts,
    add_visitor,
    difference,
    funnel_progress,
    last_page_days,
    local_day,
    new_tally,
    page_views,
)
from analytics.writer.sessions import SessionState
from analytics.writer.sql import dialect_name, select_rows, upsert
from shopify_app.core.extensions import db
from shopify_app.core.in_lists import chunks

SessionEvent = tuple[str, datetime, str | None]


@dataclass
class VisitDays:
    """A visitor's state for the visitor reach and retention rollups (on its row)."""

    last_visit_day: date | None  # None: not kept yet (no session stored since migration 0009)
    cohort_day: date | None  # the day of its first session as a new visitor


@dataclass
class RollupChanges:
    """What a batch changes: the rollup rows to add, and the state to keep for the next batch."""

    tally: Tally
    visits: dict[int, VisitDays]  # visitor id -> new state, for visitors that opened a session
    viewed: dict[tuple[int, int], datetime]  # (visitor id, product id) -> latest view, on a new day


def rollup_changes(
    shop_id: int,
    events: list[dict[str, Any]],
    sessions: list[SessionState],
    new_visitors: set[int],
    visits: dict[int, VisitDays],
    zone: ZoneInfo,
    *,
    value: Callable[[dict[str, Any]], Decimal],
) -> RollupChanges:
    """The batch's changes to the session, visitor and page rollups (events each with its
    `session`, not stored yet; `value` a purchase's revenue). Sets the sessions' new state."""
    before, after = new_tally(), new_tally()
    _session_facts(events, sessions, zone, value, before, after)
    changed = _visitor_facts(shop_id, sessions, new_visitors, visits, before, after)
    viewed = _viewer_facts(shop_id, events, new_visitors, zone, before, after)
    return RollupChanges(difference(after, before), changed, viewed)


def write_viewed_products(shop_id: int, viewed: dict[tuple[int, int], datetime]) -> None:
    """Keep when each visitor last viewed each product (`RollupChanges.viewed`)."""
    upsert(
        ViewedProduct.__table__,
        [
            {"shop_id": shop_id, "visitor_id": visitor_id, "product_id": product_id, "last_viewed_at": when}
            for (visitor_id, product_id), when in sorted(viewed.items())
        ],
        keys=["shop_id", "visitor_id", "product_id"],
        merge={"last_viewed_at": "max"},
    )


def _session_facts(
    events: list[dict[str, Any]],
    sessions: list[SessionState],
    zone: ZoneInfo,
    value: Callable[[dict[str, Any]], Decimal],
    before: Tally,
    after: Tally,
) -> None:
    batch: dict[int, list[SessionEvent]] = defaultdict(list)
    for event in events:
        batch[id(event["session"])].append((event["type"], event["when"], event.get("url")))
    reread = {s.id for s in sessions if _needs_stored_events(s, batch[id(s)])}
    stored = _stored_events(sorted(i for i in reread if i is not None))
    for session in sessions:
        added = batch[id(session)]
        old = session.before
        if old is None:
            add_session(after, _facts(session, added), zone)
            _keep_state(session, added, zone)
        elif session.id in reread:
            earlier = stored[session.id or 0]
            add_session(before, _facts(old, earlier), zone)
            add_session(after, _facts(session, earlier + added), zone)
            _keep_state(session, earlier + added, zone)
        else:
            add_session_counts(before, _facts(old, []), _counts(old, old.funnel_step or 0))
            step, at = funnel_progress(
                [(kind, when) for kind, when, _ in added], FUNNEL_TYPES, (old.funnel_step or 0, old.funnel_at)
            )
            add_session_counts(after, _facts(session, []), _counts(session, step))
            pages = dict(old.page_days)
            for url, views in page_views(added, zone).items():
                pages[url] = add_later_page_views(after, url, views, pages.get(url))
            session.funnel_step, session.funnel_at, session.page_days = step, at, pages


def _needs_stored_events(session: SessionState, added: list[SessionEvent]) -> bool:
    """True when the session's state cannot say what the batch changes: it has none yet, or an
    event arrived at or before its last stored one."""
    old = session.before
    if old is None:
        return False
    return old.funnel_step is None or any(when <= old.last_event_at for _, when, _ in added)


def _stored_events(session_ids: list[int]) -> dict[int, list[SessionEvent]]:
    stored: dict[int, list[SessionEvent]] = defaultdict(list)
    if session_ids:
        rows = db_rows(
            select(Event.session_id, Event.type, Event.occurred_at, Event.url).where(
                Event.session_id.in_(session_ids)
            )
        )
        for session_id, kind, when, url in rows:
            stored[session_id].append((kind, when, url))
    return stored


def _keep_state(session: SessionState, events: list[SessionEvent], zone: ZoneInfo) -> None:
    """The session's rollup state from all of its events."""
    session.funnel_step, session.funnel_at = funnel_progress(
        [(kind, when) for kind, when, _ in events], FUNNEL_TYPES
    )
    session.page_days = last_page_days(page_views(events, zone))


def _counts(session: SessionState, funnel_step: int) -> SessionCounts:
    return SessionCounts(
        page_views=session.page_views,
        product_views=session.product_views,
        carts=session.carts,
        checkouts=session.checkouts,
        purchases=session.purchases,
        duration_ms=(session.last_event_at - session.started_at) // timedelta(milliseconds=1),
        funnel_step=funnel_step,
    )


def _facts(session: SessionState, events: list[SessionEvent]) -> SessionFacts:
    return SessionFacts(
        day=session.day,
        device=session.device,
        referrer=session.referrer,
        utm_source=session.utm_source,
        utm_medium=session.utm_medium,
        utm_campaign=session.utm_campaign,
        revenue=session.revenue,
        events=events,
    )


def _visitor_facts(
    shop_id: int,
    sessions: list[SessionState],
    new_visitors: set[int],
    visits: dict[int, VisitDays],
    before: Tally,
    after: Tally,
) -> dict[int, VisitDays]:
    """A visitor's days change only when a session opens (a session's day never moves).

    A visitor whose state says its last visit day L (and cohort day) and whose new days are all
    on or after L changes as a visitor of days {L} would: earlier days' rows cannot change."""
    days: dict[int, set[date]] = defaultdict(set)
    cohorts: dict[int, date] = {}
    for session in sessions:
        if session.opened:
            days[session.visitor_id].add(session.day)
            if session.is_new_visitor:
                cohorts[session.visitor_id] = min(session.day, cohorts.get(session.visitor_id, session.day))
    unknown = {
        visitor_id
        for visitor_id, mine in days.items()
        if visitor_id not in new_visitors and _needs_stored_sessions(visits.get(visitor_id), mine)
    }
    stored = _stored_visits(shop_id, sorted(unknown))
    changed: dict[int, VisitDays] = {}
    old_days: set[date]
    cohort: date | None
    for visitor_id, mine in days.items():
        if visitor_id in new_visitors:
            old_days, cohort = set(), None
        elif visitor_id in unknown:
            old_days, cohort = stored.get(visitor_id, (set(), None))
        else:
            state = visits[visitor_id]
            old_days, cohort = {state.last_visit_day} if state.last_visit_day else set(), state.cohort_day
        if old_days:
            add_visitor(before, old_days, cohort)
        if visitor_id in cohorts:
            cohort = min(cohort, cohorts[visitor_id]) if cohort else cohorts[visitor_id]
        add_visitor(after, old_days | mine, cohort)
        changed[visitor_id] = VisitDays(max(old_days | mine), cohort)
    return changed


def _needs_stored_sessions(state: VisitDays | None, days: set[date]) -> bool:
    return state is None or state.last_visit_day is None or min(days) < state.last_visit_day


def _stored_visits(shop_id: int, visitor_ids: list[int]) -> dict[int, tuple[set[date], date | None]]:
    """visitor id -> (its stored sessions' days, its cohort day)."""
    found: dict[int, tuple[set[date], date | None]] = {}
    if not visitor_ids:
        return found
    rows = db_rows(
        select(VisitSession.visitor_id, VisitSession.day, VisitSession.is_new_visitor).where(
            VisitSession.shop_id == shop_id, VisitSession.visitor_id.in_(visitor_ids)
        )
    )
    for visitor_id, day, is_new in rows:
        days, cohort = found.get(visitor_id, (set(), None))
        days.add(day)
        if is_new:
            cohort = min(day, cohort) if cohort else day
        found[visitor_id] = (days, cohort)
    return found


def _viewer_facts(
    shop_id: int,
    events: list[dict[str, Any]],
    new_visitors: set[int],
    zone: ZoneInfo,
    before: Tally,
    after: Tally,
) -> dict[tuple[int, int], datetime]:
    """As for visitors, with `viewed_products` saying when a visitor last viewed a product."""
    added: dict[tuple[int, int], set[date]] = defaultdict(set)
    latest: dict[tuple[int, int], datetime] = {}
    for event in events:  # sorted by time: a pair's last event is its latest view
        if event["type"] == "product_view" and event.get("product_id") is not None:
            pair = (event["session"].visitor_id, int(event["product_id"]))
            added[pair].add(event["day"])
            latest[pair] = event["when"]
    last_seen = _last_viewed(shop_id, sorted(pair for pair in added if pair[0] not in new_visitors))
    last_day = {pair: local_day(when, zone) for pair, when in last_seen.items()}
    late = sorted(pair for pair, day in last_day.items() if min(added[pair]) < day)
    stored = _stored_views(shop_id, late, zone)
    viewers = after["product_viewers"]
    for pair, days in added.items():
        old = stored[pair] if pair in stored else ({last_day[pair]} if pair in last_day else set())
        if not old and len(days) == 1:  # the usual pair: a first view, on one day
            viewers[(next(iter(days)), pair[1], NEVER)]["visitors"] += 1
            continue
        if days <= old:  # viewed again on a day already counted: nothing changes
            continue
        add_product_viewer(after, pair[1], old | days)
        if old:
            add_product_viewer(before, pair[1], old)
    # Only the day matters to the rollup: a row is rewritten when a later day begins, not on
    # every view.
    return {
        pair: when
        for pair, when in latest.items()
        if pair not in last_day or max(added[pair]) > last_day[pair]
    }


def _last_viewed(shop_id: int, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], datetime]:
    """(visitor id, product id) -> when the visitor last viewed the product, for those stored."""
    found: dict[tuple[int, int], datetime] = {}
    table = ViewedProduct.__table__
    for chunk in chunks(pairs):
        if dialect_name() == "sqlite":
            rows: list[Any] = db_rows(
                select(table.c.visitor_id, table.c.product_id, table.c.last_viewed_at).where(
                    table.c.shop_id == shop_id, tuple_(table.c.visitor_id, table.c.product_id).in_(chunk)
                )
            )
        else:
            listed = ",".join(f"({int(visitor)},{int(product)})" for visitor, product in chunk)
            rows = select_rows(
                "SELECT visitor_id, product_id, last_viewed_at FROM viewed_products"
                f" WHERE shop_id = %s AND (visitor_id, product_id) IN ({listed})",
                (shop_id,),
            )
        found.update(((int(visitor), int(product)), when) for visitor, product, when in rows)
    return found


def _stored_views(
    shop_id: int, pairs: list[tuple[int, int]], zone: ZoneInfo
) -> dict[tuple[int, int], set[date]]:
    """(visitor id, product id) -> the days of the visitor's stored views of the product."""
    stored: dict[tuple[int, int], set[date]] = defaultdict(set)
    if not pairs:
        return stored
    wanted = set(pairs)
    rows = db_rows(
        select(Event.visitor_id, Event.product_id, Event.occurred_at).where(
            Event.shop_id == shop_id,
            Event.visitor_id.in_(sorted({visitor for visitor, _ in pairs})),
            Event.type == "product_view",
            Event.product_id.in_(sorted({product for _, product in pairs})),
        )
    )
    for visitor_id, product_id, when in rows:
        if (visitor_id, product_id) in wanted:
            stored[(visitor_id, product_id)].add(local_day(when, zone))
    return stored


def db_rows(query: Any) -> list[Any]:
    """Every row of `query` in the writer's transaction."""
    return list(db.session.execute(query))


def _key(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts).encode(), usedforsecurity=False).hexdigest()


def tally_rows(shop_id: int, tally: Tally) -> dict[str, list[dict[str, Any]]]:
    """The tally as rows of each rollup table (every count column present), keyed by table name,
    sorted by key."""
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rollup, entries in tally.items():
        # Campaign keys may hold None (no medium or name), which does not compare; the other
        # keys sort as they are (cheaper, and any fixed order keeps writers' row locks in step).
        order = (lambda item: repr(item[0])) if rollup == "campaigns" else (lambda item: item[0])
        key_columns, zeros = KEY_COLUMNS[rollup], dict.fromkeys(COUNTS[rollup], 0)
        table_rows = rows[TABLES[rollup].__tablename__]
        for key, values in sorted(entries.items(), key=order):
            table_rows.append({"shop_id": shop_id, **key_columns(key), **zeros, **values})
    return rows


def _campaign_columns(key: tuple[Any, ...]) -> dict[str, Any]:
    day, source, medium, campaign = key
    return {
        "day": day,
        "campaign_key": _key(source, medium, campaign),
        "utm_source": source,
        "utm_medium": medium,
        "utm_campaign": campaign,
    }


# Each rollup's tally key as its table's key columns.
KEY_COLUMNS: dict[str, Callable[[tuple[Any, ...]], dict[str, Any]]] = {
    "sessions": lambda key: {"day": key[0]},
    "devices": lambda key: {"day": key[0], "device": key[1]},
    "referrers": lambda key: {"day": key[0], "referrer": key[1]},
    "campaigns": _campaign_columns,
    "pages": lambda key: {"day": key[0], "page_key": _key(key[1]), "url": key[1], "since": key[2]},
    "visitors": lambda key: {"day": key[0], "since": key[1]},
    "product_viewers": lambda key: {"day": key[0], "product_id": key[1], "since": key[2]},
    "retention": lambda key: {"cohort_day": key[0], "week": key[1]},
}


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
        keys = [column.name for column in table.primary_key.columns]
        upsert(table, chosen, keys=keys, merge=dict.fromkeys(COUNTS[rollup], "add"))
