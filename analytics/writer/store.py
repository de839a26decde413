"""Storing a batch of ingested events: one transaction per call, committed once.

For each shop in the batch, in a fixed order (shop id, then visitor key, so concurrent
writers take row locks in the same order):

1. lock the batch's visitors (creating the new ones),
2. drop events already stored (idempotency on (shop_id, event_id)) and duplicates in the batch,
3. stitch identity (an event with a customer id links its visitor to that customer),
4. place events into sessions and write the sessions,
5. insert the events with one multi-row INSERT IGNORE, checking every row went in,
6. add the day's totals to the daily shop and product rollups (days in the shop's time zone).

A concurrent writer that stored one of our events first makes step 5 insert fewer rows than
expected; the whole transaction is then rolled back and retried, so counts never double.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from analytics import identity
from analytics.models import DailyProductMetric, DailyShopMetric, Event, Visitor, VisitSession
from analytics.writer.rollups import add_session_rollups
from analytics.writer.sessions import PAGE_TYPES, SessionState, extend, open_session, pick_session
from analytics.writer.sql import insert_ignore, upsert
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop

log = logging.getLogger(__name__)

SESSION_COLUMNS = (
    "started_at", "last_event_at", "customer_id", "event_count", "page_views", "product_views",
    "carts", "checkouts", "purchases", "revenue",
)  # fmt: skip
ROLLUP_COLUMNS = (
    "sessions", "new_visitors", "events", "page_views", "product_views", "carts", "checkouts",
    "purchases", "revenue",
)  # fmt: skip
DEADLOCK_CODES = {1213, 1205}


class ConcurrentWrite(Exception):
    """Another writer stored some of this batch's events first; retry the batch."""


@dataclass
class StoreResult:
    """What one call stored."""

    accepted: int = 0
    duplicates: int = 0
    session_ids: dict[int, list[int]] = field(default_factory=dict)


def ms_to_datetime(ms: int) -> datetime:
    """Epoch milliseconds as the naive UTC datetime the database stores."""
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


def store_batches(batches: Iterable[dict[str, Any]], *, attempts: int = 5) -> StoreResult:
    """Store ingested batches (see `analytics.ingest.validation`) in one transaction; commits."""
    by_shop: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for batch in batches:
        device = batch.get("device")
        for event in batch["events"]:
            by_shop[int(batch["shop_id"])].append(
                {**event, "device": device, "received_at": batch["received_at"]}
            )
    for attempt in range(1, attempts + 1):
        try:
            result = _store(by_shop)
            db.session.commit()
            return result
        except ConcurrentWrite:
            db.session.rollback()
            log.info("concurrent writer stored part of the batch; retrying (attempt %d)", attempt)
        except OperationalError as exc:
            db.session.rollback()
            code = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
            if code not in DEADLOCK_CODES or attempt == attempts:
                raise
            log.info("deadlock storing a batch; retrying (attempt %d)", attempt)
        except BaseException:
            db.session.rollback()
            raise
    raise ConcurrentWrite("gave up after repeated concurrent writes")


def _store(by_shop: dict[int, list[dict[str, Any]]]) -> StoreResult:
    result = StoreResult()
    shops = {
        shop.id: shop for shop in db.session.execute(select(Shop).where(Shop.id.in_(list(by_shop)))).scalars()
    }
    for shop_id in sorted(by_shop):
        shop = shops.get(shop_id)
        if shop is None:
            log.warning("dropping %d events of deleted shop %s", len(by_shop[shop_id]), shop_id)
            continue
        stored, duplicates, session_ids = _store_shop(shop, by_shop[shop_id])
        result.accepted += stored
        result.duplicates += duplicates
        if session_ids:
            result.session_ids[shop_id] = session_ids
    return result


def session_timeout(shop: Shop) -> timedelta:
    """The shop's inactivity timeout: its own setting, else the app's SESSION_TIMEOUT_MINUTES."""
    minutes = (shop.settings or {}).get("session_timeout_minutes") or current_app.config.get(
        "SESSION_TIMEOUT_MINUTES", 30
    )
    return timedelta(minutes=int(minutes))


def _store_shop(shop: Shop, events: list[dict[str, Any]]) -> tuple[int, int, list[int]]:
    unique: dict[str, dict[str, Any]] = {}
    for event in events:
        unique.setdefault(event["id"], event)
    known = set(
        db.session.execute(
            select(Event.event_id).where(Event.shop_id == shop.id, Event.event_id.in_(list(unique)))
        ).scalars()
    )
    fresh = sorted((e for key, e in unique.items() if key not in known), key=lambda e: e["ts"])
    duplicates = len(events) - len(fresh)
    if not fresh:
        return 0, duplicates, []
    visitors, new_visitors = _lock_visitors(shop.id, fresh)
    customers = _stitch_identity(shop.id, fresh, visitors)
    zone = _zone(shop.timezone)
    sessions = _place_in_sessions(shop, fresh, visitors, new_visitors, customers, zone)
    _write_sessions(shop.id, sessions)
    rows = [_event_row(shop.id, event, visitors, customers) for event in fresh]
    inserted = insert_ignore(Event.__table__, rows)
    if inserted != len(rows):
        raise ConcurrentWrite(f"inserted {inserted} of {len(rows)} events")
    _add_rollups(shop.id, fresh, sessions, new_visitors, zone)
    return len(fresh), duplicates, sorted({s.id for s in sessions if s.id is not None})


def _lock_visitors(
    shop_id: int, events: list[dict[str, Any]]
) -> tuple[dict[str, tuple[int, int | None]], set[int]]:
    """visitor key -> (visitor row id, customer id), locking the rows; plus the ids created now."""
    seen: dict[str, tuple[int, int]] = {}
    for event in events:
        first, last = seen.get(event["visitor_id"], (event["ts"], event["ts"]))
        seen[event["visitor_id"]] = (min(first, event["ts"]), max(last, event["ts"]))
    keys = sorted(seen)
    table = Visitor.__table__
    query = (
        select(table.c.id, table.c.visitor_key, table.c.customer_id)
        .where(table.c.shop_id == shop_id, table.c.visitor_key.in_(keys))
        .order_by(table.c.visitor_key)
        .with_for_update()
    )
    found = {row.visitor_key: (row.id, row.customer_id) for row in db.session.execute(query)}
    missing = [key for key in keys if key not in found]
    new_ids: set[int] = set()
    if missing:
        rows = [
            {
                "shop_id": shop_id,
                "visitor_key": key,
                "first_seen_at": ms_to_datetime(seen[key][0]),
                "last_seen_at": ms_to_datetime(seen[key][1]),
                "device": None,
            }
            for key in missing
        ]
        if insert_ignore(table, rows) != len(rows):
            raise ConcurrentWrite("another writer created one of these visitors")
        created = db.session.execute(query.where(table.c.visitor_key.in_(missing)))
        for row in created:
            found[row.visitor_key] = (row.id, row.customer_id)
            new_ids.add(row.id)
    existing = [key for key in keys if key not in missing]
    if existing:
        upsert(
            table,
            [
                {
                    "id": found[key][0],
                    "shop_id": shop_id,
                    "visitor_key": key,
                    "first_seen_at": ms_to_datetime(seen[key][0]),
                    "last_seen_at": ms_to_datetime(seen[key][1]),
                }
                for key in existing
            ],
            keys=["id"],
            merge={"last_seen_at": "max"},
        )
    return found, new_ids


def _stitch_identity(
    shop_id: int, events: list[dict[str, Any]], visitors: dict[str, tuple[int, int | None]]
) -> dict[str, int | None]:
    """visitor key -> customer row id, after linking visitors whose events name a customer."""
    customers = {key: customer for key, (_, customer) in visitors.items()}
    claimed: dict[str, int] = {}
    for event in events:
        if event.get("customer_id") is not None:
            claimed[event["visitor_id"]] = int(event["customer_id"])
    for key, shopify_customer_id in claimed.items():
        customer = identity.get_or_create_customer(shop_id, shopify_customer_id)
        if customers.get(key) == customer.id:
            continue
        visitor = db.session.get(Visitor, visitors[key][0])
        if visitor is not None:
            identity.link_visitor_to_customer(visitor, customer, source="login")
            customers[key] = customer.id
    if claimed:
        db.session.flush()
    return customers


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def local_day(when: datetime, zone: ZoneInfo) -> date:
    """The calendar day `when` (naive UTC) falls on in `zone`."""
    return when.replace(tzinfo=UTC).astimezone(zone).date()


def _value(event: dict[str, Any]) -> Decimal:
    if event["type"] != "purchase":
        return Decimal("0")
    try:
        return Decimal(str((event.get("props") or {}).get("value") or 0)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return Decimal("0")


def _place_in_sessions(
    shop: Shop,
    events: list[dict[str, Any]],
    visitors: dict[str, tuple[int, int | None]],
    new_visitors: set[int],
    customers: dict[str, int | None],
    zone: ZoneInfo,
) -> list[SessionState]:
    timeout = session_timeout(shop)
    for event in events:
        event["when"] = ms_to_datetime(event["ts"])
    earliest = events[0]["when"] - timeout
    latest = events[-1]["when"] + timeout
    visitor_ids = sorted({visitors[e["visitor_id"]][0] for e in events} - new_visitors)
    by_visitor: dict[int, list[SessionState]] = defaultdict(list)
    if visitor_ids:
        table = VisitSession.__table__
        query = select(table).where(
            table.c.shop_id == shop.id,
            table.c.visitor_id.in_(visitor_ids),
            table.c.last_event_at >= earliest,
            table.c.started_at <= latest,
        )
        for row in db.session.execute(query).mappings():
            state = SessionState(**{k: row[k] for k in SessionState.__dataclass_fields__ if k in row})
            by_visitor[row["visitor_id"]].append(state)
    touched: dict[int, SessionState] = {}
    for event in events:
        visitor_id = visitors[event["visitor_id"]][0]
        candidates = by_visitor[visitor_id]
        session = pick_session(candidates, event["when"], event.get("utm_campaign"), timeout)
        if session is None:
            session = open_session(visitor_id, event, event["when"], local_day(event["when"], zone))
            session.device = event.get("device")
            session.is_new_visitor = visitor_id in new_visitors and not candidates
            candidates.append(session)
        else:
            extend(session, event["when"])
        if session.customer_id is None and customers.get(event["visitor_id"]):
            session.customer_id = customers[event["visitor_id"]]
        session.count(event["type"], _value(event))
        event["session"] = session
        touched[id(session)] = session
    return list(touched.values())


def _write_sessions(shop_id: int, sessions: list[SessionState]) -> None:
    table = VisitSession.__table__
    new = [s for s in sessions if s.opened]
    if new:
        rows = [_session_row(shop_id, s) for s in new]
        statement = table.insert().returning(table.c.id, sort_by_parameter_order=True)
        ids = db.session.execute(statement, rows).scalars().all()
        for session, session_id in zip(new, ids, strict=True):
            session.id = session_id
    old = [s for s in sessions if not s.opened]
    if old:
        upsert(
            table,
            [{"id": s.id, **_session_row(shop_id, s)} for s in old],
            keys=["id"],
            merge=dict.fromkeys(SESSION_COLUMNS, "set"),
        )


def _session_row(shop_id: int, s: SessionState) -> dict[str, Any]:
    return {
        "shop_id": shop_id,
        "visitor_id": s.visitor_id,
        "customer_id": s.customer_id,
        "started_at": s.started_at,
        "last_event_at": s.last_event_at,
        "day": s.day,
        "event_count": s.event_count,
        "page_views": s.page_views,
        "product_views": s.product_views,
        "carts": s.carts,
        "checkouts": s.checkouts,
        "purchases": s.purchases,
        "revenue": s.revenue,
        "landing_url": s.landing_url,
        "referrer": s.referrer,
        "utm_source": s.utm_source,
        "utm_medium": s.utm_medium,
        "utm_campaign": s.utm_campaign,
        "device": s.device,
        "is_new_visitor": s.is_new_visitor,
    }


def _event_row(
    shop_id: int,
    event: dict[str, Any],
    visitors: dict[str, tuple[int, int | None]],
    customers: dict[str, int | None],
) -> dict[str, Any]:
    session: SessionState = event["session"]
    return {
        "shop_id": shop_id,
        "event_id": event["id"],
        "visitor_id": visitors[event["visitor_id"]][0],
        "session_id": session.id,
        "customer_id": customers.get(event["visitor_id"]),
        "type": event["type"],
        "product_id": event.get("product_id"),
        "url": event.get("url"),
        "referrer": event.get("referrer"),
        "utm_source": event.get("utm_source"),
        "utm_medium": event.get("utm_medium"),
        "utm_campaign": event.get("utm_campaign"),
        "props": event.get("props") or None,
        "client_ts": ms_to_datetime(event["client_ts"]),
        "occurred_at": event["when"],
        "received_at": ms_to_datetime(event["received_at"]),
    }


def _add_rollups(
    shop_id: int,
    events: list[dict[str, Any]],
    sessions: list[SessionState],
    new_visitors: set[int],
    zone: ZoneInfo,
) -> None:
    days: dict[date, dict[str, Any]] = defaultdict(lambda: dict.fromkeys(ROLLUP_COLUMNS, 0))
    products: dict[tuple[date, int], dict[str, Any]] = defaultdict(
        lambda: {"views": 0, "carts": 0, "purchases": 0, "revenue": Decimal("0")}
    )
    for session in (s for s in sessions if s.opened):
        days[session.day]["sessions"] += 1
        days[session.day]["new_visitors"] += session.is_new_visitor
    for event in events:
        day = local_day(event["when"], zone)
        totals = days[day]
        kind = event["type"]
        totals["events"] += 1
        totals["page_views"] += kind in PAGE_TYPES
        totals["product_views"] += kind == "product_view"
        totals["carts"] += kind == "add_to_cart"
        totals["checkouts"] += kind == "checkout_started"
        if kind == "purchase":
            totals["purchases"] += 1
            totals["revenue"] += _value(event)
            for item in _items(event):
                line = products[(day, item[0])]
                line["purchases"] += item[1]
                line["revenue"] += item[2]
        elif event.get("product_id") is not None and kind in ("product_view", "add_to_cart"):
            line = products[(day, int(event["product_id"]))]
            line["views" if kind == "product_view" else "carts"] += 1
    upsert(
        DailyShopMetric.__table__,
        [{"shop_id": shop_id, "day": day, **totals} for day, totals in sorted(days.items())],
        keys=["shop_id", "day"],
        merge=dict.fromkeys(ROLLUP_COLUMNS, "add"),
    )
    upsert(
        DailyProductMetric.__table__,
        [
            {"shop_id": shop_id, "day": day, "product_id": product_id, **counts}
            for (day, product_id), counts in sorted(products.items())
        ],
        keys=["shop_id", "day", "product_id"],
        merge={"views": "add", "carts": "add", "purchases": "add", "revenue": "add"},
    )
    add_session_rollups(shop_id, events, sessions, new_visitors, zone, value=_value)


def _items(event: dict[str, Any]) -> list[tuple[int, int, Decimal]]:
    """(product id, quantity, line revenue) of a purchase's items."""
    lines = []
    for item in (event.get("props") or {}).get("items") or []:
        try:
            quantity = int(item.get("quantity") or 1)
            price = Decimal(str(item.get("price") or 0))
            lines.append((int(item["product_id"]), quantity, (price * quantity).quantize(Decimal("0.01"))))
        except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError):
            continue
    return lines
