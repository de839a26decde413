"""Storing a batch of ingested events: one transaction per call, committed once.

For each shop in the batch, in a fixed order (shop id, then visitor key, so concurrent
writers take row locks in the same order):

1. drop duplicates within the batch and, on a retry, events already stored (idempotency on
   (shop_id, event_id)); prepare each event's row (no locks held yet),
2. lock the batch's visitors (creating the new ones),
3. stitch identity (an event whose customer the collector verified, `signed_customer_id`,
   links its visitor to that customer; a customer id a browser only claims never does),
4. read the visitors' recent sessions and place events into sessions,
5. work out what the batch changes in the session and visitor rollups from the state kept on
   the session and visitor rows (`analytics.writer.rollups`; no stored events read back),
6. write the sessions, insert the events with multi-row INSERT IGNOREs, checking every row
   went in,
7. keep the visitors' new state, then add the rollup rows (days in the shop's time zone): the
   visitors' own first, the rows shared with other writers' batches (products, the shop's days)
   last, so concurrent writers wait on each other as briefly as possible.

An event stored before (a resent batch, an entry re-read after a crash, or a concurrent
writer that stored it first) makes step 6 insert fewer rows than expected; the whole
transaction is then rolled back and retried with step 1 looking for stored events, so counts
never double. The first attempt skips that lookup: duplicates are rare, and the unique key
catches them anyway.

On MariaDB the transaction runs in READ COMMITTED and the statements are driver-level SQL
(see `analytics.writer.sql`); SQLite (the embedded mode) goes through SQLAlchemy.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from analytics import identity
from analytics.models import DailyProductMetric, DailyShopMetric, Event, Visitor, VisitSession
from analytics.purchases import purchase_lines
from analytics.writer.product_months import add_product_months
from analytics.writer.product_reach import add_product_reach, forget_uncommitted, remember_committed
from analytics.writer.rollups import (
    RollupChanges,
    VisitDays,
    rollup_changes,
    write_tally,
    write_viewed_products,
)
from analytics.writer.sessions import PAGE_TYPES, SessionState, extend, open_session, pick_session
from analytics.writer.sql import (
    Memo,
    dialect_name,
    insert_ignore,
    insert_rendered,
    insert_returning_ids,
    select_rows,
    text_quoter,
    upsert,
)
from analytics.writer.timelines import add_visitor_timelines
from shopify_app.core.extensions import db
from shopify_app.core.in_lists import chunks
from shopify_app.core.models import Shop

log = logging.getLogger(__name__)

SESSION_COLUMNS = (
    "started_at", "last_event_at", "customer_id", "event_count", "page_views", "product_views",
    "carts", "checkouts", "purchases", "revenue", "funnel_step", "funnel_at", "page_days",
)  # fmt: skip
ROLLUP_COLUMNS = (
    "sessions", "new_visitors", "events", "page_views", "product_views", "carts", "checkouts",
    "purchases", "revenue",
)  # fmt: skip
# What the writer reads back of a stored session to go on counting into it.
STATE_COLUMNS = (
    "id", "visitor_id", "customer_id", "started_at", "last_event_at", "day", "event_count", "page_views",
    "product_views", "carts", "checkouts", "purchases", "revenue", "landing_url", "referrer", "utm_source",
    "utm_medium", "utm_campaign", "device", "is_new_visitor", "funnel_step", "funnel_at", "page_days",
)  # fmt: skip
# An event row: what the writer decides (visitor, session, customer), then the event's own fields.
EVENT_COLUMNS = (
    "shop_id", "visitor_id", "session_id", "customer_id", "event_id", "type", "product_id", "url",
    "referrer", "utm_source", "utm_medium", "utm_campaign", "props", "client_ts", "occurred_at",
    "received_at",
)  # fmt: skip
EVENT_FIELDS = (
    "id", "type", "product_id", "url", "referrer", "utm_source", "utm_medium", "utm_campaign", "props",
    "client_time", "when", "received_at",
)  # fmt: skip
OPTIONAL_TEXT = EVENT_FIELDS[3:8]
DEADLOCK_CODES = {1213, 1205}
ZERO = Decimal("0")
EPOCH = datetime(1970, 1, 1)
HOUR_MS, DAY_MS = 3_600_000, 86_400_000
EPOCH_ORDINAL = EPOCH.toordinal()
# Distinct URLs a session row keeps for the page rollup (`_page_days_text`): 26 batches of 30
# distinct 2,000-emoji URLs grew one row past MariaDB's 16 MB packet before (error 2006) and
# stalled the writer. 200 URLs of a usual length; 16,384 characters (64 KB at most) of long
# ones: the row is read and rewritten by every batch of the session.
MAX_PAGE_DAYS_URLS = 200
MAX_PAGE_DAYS_CHARS = 16_384


class ConcurrentWrite(Exception):
    """Another writer stored some of this batch's events first; retry the batch."""


@dataclass
class StoreResult:
    """What one call stored."""

    accepted: int = 0
    duplicates: int = 0
    session_ids: dict[int, list[int]] = field(default_factory=dict)


def ms_to_datetime(ms: int) -> datetime:
    """Epoch milliseconds as the naive UTC datetime the database stores (exact, and cheap: this
    runs several times per event)."""
    return EPOCH + timedelta(0, 0, 0, ms)  # (days, seconds, microseconds, milliseconds): no keywords to parse


def store_batches(batches: Iterable[dict[str, Any]], *, attempts: int = 5) -> StoreResult:
    """Store ingested batches (see `analytics.ingest.validation`) in one transaction; commits."""
    by_shop: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for batch in batches:
        shop_events = by_shop[int(batch["shop_id"])]
        extra = {"device": batch.get("device"), "received_at": ms_to_datetime(batch["received_at"])}
        shop_events.extend({**event, **extra} for event in batch["events"])
    for attempt in range(1, attempts + 1):
        try:
            _begin()
            result = _store(by_shop, look_for_stored=attempt > 1)
            db.session.commit()
            remember_committed()
            return result
        except ConcurrentWrite:
            _rollback()
            log.info("part of the batch was already stored; retrying (attempt %d)", attempt)
        except OperationalError as exc:
            _rollback()
            code = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
            if code not in DEADLOCK_CODES or attempt == attempts:
                raise
            log.info("deadlock storing a batch; retrying (attempt %d)", attempt)
        except BaseException:
            _rollback()
            raise
    raise ConcurrentWrite("gave up after repeated concurrent writes")


def _rollback() -> None:
    try:
        db.session.rollback()  # fails when the server dropped the connection
    finally:
        forget_uncommitted()


def _begin() -> None:
    """Start the writer's transaction in READ COMMITTED on MariaDB when it is not already open.

    Every plain read then sees what other writers committed up to that moment (REPEATABLE READ
    would keep a snapshot from before the visitor locks were granted); the rows a writer
    depends on are locked (visitors) or read with a locking read (their sessions) either way.
    """
    if dialect_name() == "mysql" and not db.session().in_transaction():
        db.session.connection(execution_options={"isolation_level": "READ COMMITTED"})


def _store(by_shop: dict[int, list[dict[str, Any]]], *, look_for_stored: bool) -> StoreResult:
    result = StoreResult()
    shops = {
        shop.id: shop for shop in db.session.execute(select(Shop).where(Shop.id.in_(list(by_shop)))).scalars()
    }
    for shop_id in sorted(by_shop):
        shop = shops.get(shop_id)
        if shop is None:
            log.warning("dropping %d events of deleted shop %s", len(by_shop[shop_id]), shop_id)
            continue
        stored, duplicates, session_ids = _store_shop(shop, by_shop[shop_id], look_for_stored)
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


def _store_shop(
    shop: Shop, events: list[dict[str, Any]], look_for_stored: bool
) -> tuple[int, int, list[int]]:
    unique: dict[str, dict[str, Any]] = {}
    for event in events:
        unique.setdefault(event["id"], event)
    known = _stored_event_ids(shop.id, list(unique)) if look_for_stored else set()
    fresh = sorted((e for key, e in unique.items() if key not in known), key=lambda e: e["ts"])
    duplicates = len(events) - len(fresh)
    if not fresh:
        return 0, duplicates, []
    zone = _zone(shop.timezone)
    _prepare_events(fresh, zone)
    totals = _event_totals(fresh)
    visitors, new_visitors, visits, seen = _lock_visitors(shop.id, fresh)
    customers = _stitch_identity(shop.id, fresh, visitors)
    sessions = _place_in_sessions(shop, fresh, visitors, new_visitors, customers, zone)
    changes = rollup_changes(shop.id, fresh, sessions, new_visitors, visits, zone, value=_value)
    _write_sessions(shop.id, sessions)
    inserted = _insert_events(shop.id, fresh, visitors, customers)
    if inserted != len(fresh):
        raise ConcurrentWrite(f"inserted {inserted} of {len(fresh)} events")
    _keep_visitors(shop.id, visitors, new_visitors, visits, seen, changes)
    _add_rollups(shop.id, fresh, totals, sessions, changes)
    return len(fresh), duplicates, sorted({s.id for s in sessions if s.id is not None})


def _stored_event_ids(shop_id: int, event_ids: list[str]) -> set[str]:
    """Which of these event ids the shop already has (a resent batch, a re-read stream entry)."""
    if dialect_name() == "sqlite":
        query = select(Event.event_id).where(Event.shop_id == shop_id, Event.event_id.in_(event_ids))
        return set(db.session.execute(query).scalars())
    found: set[str] = set()
    for chunk in map(tuple, chunks(event_ids)):
        rows = select_rows(
            "SELECT event_id FROM events WHERE shop_id = %s AND event_id IN %s", (shop_id, chunk)
        )
        found.update(row[0] for row in rows)
    return found


def _lock_visitors(
    shop_id: int, events: list[dict[str, Any]]
) -> tuple[dict[str, tuple[int, int | None]], set[int], dict[int, VisitDays], dict[str, list[int]]]:
    """visitor key -> (visitor row id, customer id), locking the rows; the ids created now; each
    visitor's rollup state by row id; and when the batch first and last saw each visitor key."""
    seen: dict[str, list[int]] = {}
    for event in events:  # sorted by time: the first sight is the earliest, the last the latest
        span = seen.get(event["visitor_id"])
        if span is None:
            seen[event["visitor_id"]] = [event["ts"], event["ts"]]
        else:
            span[1] = event["ts"]
    keys = sorted(seen)
    visits: dict[int, VisitDays] = {}
    found = _visitor_rows(shop_id, keys, visits, lock=True)
    missing = [key for key in keys if key not in found]
    new_ids: set[int] = set()
    table = Visitor.__table__
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
        created = _visitor_rows(shop_id, missing, visits, lock=False)
        found.update(created)
        new_ids.update(visitor_id for visitor_id, _ in created.values())
    return found, new_ids, visits, seen


def _keep_visitors(
    shop_id: int,
    visitors: dict[str, tuple[int, int | None]],
    new_visitors: set[int],
    visits: dict[int, VisitDays],
    seen: dict[str, list[int]],
    changes: RollupChanges,
) -> None:
    """Write the visitors' last sight (stored visitors) and rollup state (all that changed)."""
    rows = []
    for key, (visitor_id, _) in sorted(visitors.items()):
        state = changes.visits.get(visitor_id)
        if state is None and visitor_id in new_visitors:
            continue
        state = state or visits[visitor_id]
        rows.append(
            {
                "id": visitor_id,
                "shop_id": shop_id,
                "visitor_key": key,
                "first_seen_at": ms_to_datetime(seen[key][0]),
                "last_seen_at": ms_to_datetime(seen[key][1]),
                "last_visit_day": state.last_visit_day,
                "cohort_day": state.cohort_day,
            }
        )
    upsert(
        Visitor.__table__,
        rows,
        keys=["id"],
        merge={"last_seen_at": "max", "last_visit_day": "set", "cohort_day": "set"},
    )


def _visitor_rows(
    shop_id: int, keys: list[str], visits: dict[int, VisitDays], *, lock: bool
) -> dict[str, tuple[int, int | None]]:
    """visitor key -> (row id, customer id) of the shop's stored visitors among `keys`; their
    rollup state goes into `visits`."""
    table = Visitor.__table__
    rows: list[Any]
    if dialect_name() == "sqlite":
        query = select(
            table.c.id, table.c.visitor_key, table.c.customer_id, table.c.last_visit_day, table.c.cohort_day
        ).where(table.c.shop_id == shop_id, table.c.visitor_key.in_(keys))
        rows = list(db.session.execute(query))
    else:
        rows = []
        where = " FROM visitors WHERE shop_id = %s AND visitor_key IN %s"
        for chunk in map(tuple, chunks(keys)):
            if lock:
                # The lock is taken by a read the unique index covers: a locking read that also
                # needs the table's row locks the index entry after each key asked for as well,
                # i.e. another writer's visitor. Holding the locks, the plain read is current.
                select_rows("SELECT id" + where + " ORDER BY visitor_key FOR UPDATE", (shop_id, chunk))
            rows += select_rows(
                "SELECT id, visitor_key, customer_id, last_visit_day, cohort_day" + where, (shop_id, chunk)
            )
    found: dict[str, tuple[int, int | None]] = {}
    for visitor_id, key, customer, last_visit_day, cohort_day in rows:
        found[key] = (visitor_id, customer)
        visits[visitor_id] = VisitDays(last_visit_day, cohort_day)
    return found


def _stitch_identity(
    shop_id: int, events: list[dict[str, Any]], visitors: dict[str, tuple[int, int | None]]
) -> dict[str, int | None]:
    """visitor key -> customer row id, after linking visitors whose events carry a customer the
    collector verified (`analytics.identity_tokens`); a claimed customer id links nothing."""
    customers = {key: customer for key, (_, customer) in visitors.items()}
    signed: dict[str, int] = {}
    for event in events:
        if event.get("signed_customer_id") is not None:
            signed[event["visitor_id"]] = int(event["signed_customer_id"])
    for key, shopify_customer_id in signed.items():
        customer = identity.get_or_create_customer(shop_id, shopify_customer_id)
        if customers.get(key) == customer.id:
            continue
        visitor = db.session.get(Visitor, visitors[key][0])
        if visitor is not None:
            identity.link_visitor_to_customer(visitor, customer, source="login")
            customers[key] = customer.id
    if signed:
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


def local_days(zone: ZoneInfo) -> Callable[[int], date]:
    """`local_day` of epoch milliseconds, with the zone's UTC offset looked up once per hour.

    An hour whose first and last millisecond have the same offset has it throughout (no time
    zone changes its offset twice within an hour); any other hour is converted event by event."""
    offsets: dict[int, int | None] = {}

    def offset_at(ms: int) -> int:
        delta = ms_to_datetime(ms).replace(tzinfo=UTC).astimezone(zone).utcoffset() or timedelta(0)
        return delta // timedelta(milliseconds=1)

    def day_of(ms: int) -> date:
        hour = ms // HOUR_MS
        if hour not in offsets:
            first, last = offset_at(hour * HOUR_MS), offset_at(hour * HOUR_MS + HOUR_MS - 1)
            offsets[hour] = first if first == last else None
        offset = offsets[hour]
        if offset is None:
            return local_day(ms_to_datetime(ms), zone)
        return date.fromordinal(EPOCH_ORDINAL + (ms + offset) // DAY_MS)

    return day_of


def _value(event: dict[str, Any]) -> Decimal:
    if event["type"] != "purchase":
        return ZERO
    try:
        value = Decimal(str((event.get("props") or {}).get("value") or 0)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return ZERO
    return value if value.is_finite() else ZERO  # NaN quantizes to NaN without a word


def _place_in_sessions(
    shop: Shop,
    events: list[dict[str, Any]],
    visitors: dict[str, tuple[int, int | None]],
    new_visitors: set[int],
    customers: dict[str, int | None],
    zone: ZoneInfo,
) -> list[SessionState]:
    timeout = session_timeout(shop)
    by_visitor = _recent_sessions(
        shop.id,
        sorted({visitors[e["visitor_id"]][0] for e in events} - new_visitors),
        events[0]["when"] - timeout,
        events[-1]["when"] + timeout,
    )
    touched: dict[int, SessionState] = {}
    for event in events:
        visitor_id = visitors[event["visitor_id"]][0]
        candidates = by_visitor[visitor_id]
        session = pick_session(candidates, event["when"], event.get("utm_campaign"), timeout)
        if session is None:
            session = open_session(visitor_id, event, event["when"], event["day"])
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


def _recent_sessions(
    shop_id: int, visitor_ids: list[int], earliest: datetime, latest: datetime
) -> defaultdict[int, list[SessionState]]:
    """The visitors' stored sessions overlapping [earliest, latest], by visitor row id.

    On MariaDB a locking read: it sees the latest committed rows whatever the isolation level
    (the visitors are locked, so no other writer is writing these sessions; the lock keeps other
    changes, such as a customer linked by an order, from being overwritten). The rows are locked
    by primary key, found first by a plain read of the index: a locking read through the index
    would also lock the entry after each visitor's, i.e. another writer's visitor's session."""
    by_visitor: defaultdict[int, list[SessionState]] = defaultdict(list)
    if not visitor_ids:
        return by_visitor
    if dialect_name() == "sqlite":
        table = VisitSession.__table__
        query = select(*(table.c[name] for name in STATE_COLUMNS)).where(
            table.c.shop_id == shop_id,
            table.c.visitor_id.in_(visitor_ids),
            table.c.last_event_at >= earliest,
            table.c.started_at <= latest,
        )
        rows: list[tuple[Any, ...]] = [tuple(row) for row in db.session.execute(query)]
    else:
        session_ids: list[int] = []
        for chunk in chunks(visitor_ids):
            session_ids += (
                row[0]
                for row in select_rows(
                    "SELECT id FROM sessions WHERE shop_id = %s AND visitor_id IN %s AND last_event_at >= %s",
                    (shop_id, tuple(chunk), earliest),
                )
            )
        session_ids.sort()
        rows = []
        names = ", ".join(STATE_COLUMNS)
        for chunk in chunks(session_ids):
            rows += select_rows(
                f"SELECT {names} FROM sessions FORCE INDEX (PRIMARY) WHERE id IN %s AND started_at <= %s FOR UPDATE",
                (tuple(chunk), latest),
            )
    for row in rows:
        values = dict(zip(STATE_COLUMNS, row, strict=True))
        values["page_days"] = _read_page_days(values["page_days"])
        state = SessionState(**values)
        state.is_new_visitor = bool(state.is_new_visitor)
        state.before = replace(state)
        by_visitor[state.visitor_id].append(state)
    return by_visitor


def _read_page_days(stored: str | None) -> dict[str, tuple[date, date]]:
    """A session row's `page_days`: JSON {url: [last day, day before]}."""
    if not stored:
        return {}
    return {
        url: (date.fromisoformat(last), date.fromisoformat(since))
        for url, (last, since) in json.loads(stored).items()
    }


def _page_days_text(page_days: dict[str, tuple[date, date]]) -> str | None:
    """The state kept on the row: the first distinct URLs (those stored before, then the batch's
    in order), at most `MAX_PAGE_DAYS_URLS` of them and `MAX_PAGE_DAYS_CHARS` characters of URL,
    so a session row stays small however long or many its URLs. A URL past the cap counts its
    views in full; each later batch viewing it counts the session once more for that page (a
    session of hundreds of distinct URLs is a crawler's or an attacker's)."""
    if not page_days:
        return None
    kept: dict[str, list[str]] = {}
    chars = 0
    for url, (last, since) in page_days.items():
        chars += len(url)
        if len(kept) == MAX_PAGE_DAYS_URLS or chars > MAX_PAGE_DAYS_CHARS:
            break
        kept[url] = [last.isoformat(), since.isoformat()]
    # ensure_ascii=False: an emoji is 4 bytes of UTF-8, not 12 of escapes
    return json.dumps(kept, separators=(",", ":"), ensure_ascii=False)


def _write_sessions(shop_id: int, sessions: list[SessionState]) -> None:
    table = VisitSession.__table__
    new = [s for s in sessions if s.opened]
    ids = insert_returning_ids(table, [_session_row(shop_id, s) for s in new], check="visitor_id")
    for session, session_id in zip(new, ids, strict=True):
        session.id = session_id
    old = [s for s in sessions if not s.opened]
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
        "funnel_step": s.funnel_step,
        "funnel_at": s.funnel_at,
        "page_days": _page_days_text(s.page_days),
    }


def _prepare_events(events: list[dict[str, Any]], zone: ZoneInfo) -> None:
    """Per-event work that needs no lock: the server time and its day in the shop's time zone,
    and on MariaDB the row's constant part."""
    day_of = local_days(zone)
    for event in events:
        event["when"] = ms_to_datetime(event["ts"])
        event["day"] = day_of(event["ts"])
        event["client_time"] = ms_to_datetime(event["client_ts"])
        event["props"] = event.get("props") or None
    if dialect_name() == "mysql":
        literals = _event_literals(text_quoter())
        for event in events:
            event["sql"] = literals(event)


def _event_literals(quote: Callable[[str], str]) -> Callable[[dict[str, Any]], str]:
    """A function writing an event's own fields (`EVENT_FIELDS`) as MariaDB literals, with the
    types the collector's checks guarantee spelled out rather than looked up per value (this runs
    for every event). What a batch's events share is written once: their types, URLs and
    campaigns, their receipt, and the seconds of their times."""
    repeated = Memo(quote).__getitem__
    received = Memo(lambda when: "'" + when.isoformat(" ") + "'").__getitem__
    seconds = Memo(lambda second: "'" + ms_to_datetime(second * 1000).isoformat(" ")).__getitem__

    def time_literal(ms: int) -> str:
        return f"{seconds(ms // 1000)}.{ms % 1000:03d}'"

    def literals(event: dict[str, Any]) -> str:
        get = event.get
        product, props = get("product_id"), get("props")
        return ",".join(
            [
                quote(event["id"]),
                repeated(event["type"]),
                "NULL" if product is None else str(int(product)),
                *["NULL" if (text := get(name)) is None else repeated(text) for name in OPTIONAL_TEXT],
                "NULL" if props is None else quote(orjson.dumps(props).decode()),
                time_literal(event["client_ts"]),
                time_literal(event["ts"]),
                received(event["received_at"]),
            ]
        )

    return literals


def _insert_events(
    shop_id: int,
    events: list[dict[str, Any]],
    visitors: dict[str, tuple[int, int | None]],
    customers: dict[str, int | None],
) -> int:
    """INSERT IGNORE the events; the number inserted."""
    if dialect_name() != "mysql":
        return insert_ignore(
            Event.__table__, [_event_row(shop_id, event, visitors, customers) for event in events]
        )
    rows = []
    for event in events:
        customer = customers.get(event["visitor_id"])
        rows.append(
            f"({shop_id},{visitors[event['visitor_id']][0]},{event['session'].id},"
            f"{'NULL' if customer is None else int(customer)},{event['sql']})"
        )
    return insert_rendered(Event.__table__, EVENT_COLUMNS, rows, ignore=True)


def _event_row(
    shop_id: int,
    event: dict[str, Any],
    visitors: dict[str, tuple[int, int | None]],
    customers: dict[str, int | None],
) -> dict[str, Any]:
    row = {
        "shop_id": shop_id,
        "visitor_id": visitors[event["visitor_id"]][0],
        "session_id": event["session"].id,
        "customer_id": customers.get(event["visitor_id"]),
    }
    row.update(
        (column, event.get(name)) for column, name in zip(EVENT_COLUMNS[4:], EVENT_FIELDS, strict=True)
    )
    return row


@dataclass
class EventTotals:
    """The batch's daily shop totals (but sessions and new visitors) and daily product counts."""

    days: dict[date, dict[str, Any]]
    products: dict[tuple[date, int], dict[str, Any]]


def _event_totals(events: list[dict[str, Any]]) -> EventTotals:
    """Plain sums of the events: worked out before the visitor locks are taken."""
    days: dict[date, dict[str, Any]] = defaultdict(lambda: dict.fromkeys(ROLLUP_COLUMNS, 0))
    products: dict[tuple[date, int], dict[str, Any]] = defaultdict(
        lambda: {"views": 0, "carts": 0, "purchases": 0, "revenue": ZERO}
    )
    for event in events:
        day = event["day"]
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
            for item in purchase_lines(event.get("props")):
                line = products[(day, item[0])]
                line["purchases"] += item[1]
                line["revenue"] += item[2]
        elif event.get("product_id") is not None and kind in ("product_view", "add_to_cart"):
            line = products[(day, int(event["product_id"]))]
            line["views" if kind == "product_view" else "carts"] += 1
    return EventTotals(days, products)


def _add_rollups(
    shop_id: int,
    events: list[dict[str, Any]],
    totals: EventTotals,
    sessions: list[SessionState],
    changes: RollupChanges,
) -> None:
    """The batch's rollup rows. Rows of the batch's own visitors first; then the rows other
    writers' batches share (the products', then the shop's days), so those are locked for as
    short a time as possible before the commit. The product reach reads the monthly product rows
    as they were before the batch, so it comes before them."""
    days, products = totals.days, totals.products
    for session in (s for s in sessions if s.opened):
        days[session.day]["sessions"] += 1
        days[session.day]["new_visitors"] += session.is_new_visitor
    add_visitor_timelines(shop_id, events)
    write_viewed_products(shop_id, changes.viewed)
    upsert(
        DailyProductMetric.__table__,
        [
            {"shop_id": shop_id, "day": day, "product_id": product_id, **counts}
            for (day, product_id), counts in sorted(products.items())
        ],
        keys=["shop_id", "day", "product_id"],
        merge={"views": "add", "carts": "add", "purchases": "add", "revenue": "add"},
    )
    add_product_reach(shop_id, products)
    add_product_months(shop_id, products)
    write_tally(shop_id, changes.tally)
    upsert(
        DailyShopMetric.__table__,
        [{"shop_id": shop_id, "day": day, **totals} for day, totals in sorted(days.items())],
        keys=["shop_id", "day"],
        merge=dict.fromkeys(ROLLUP_COLUMNS, "add"),
    )
