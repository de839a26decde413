"""What the writer checks itself before storing a batch: anything the database could refuse.

The collector checks every batch at the door (`analytics.ingest.validation`), but the writer
stores whatever reaches the stream: entries of an older collector, or of one with other limits.
A batch that fails one of these checks could not be stored: it goes to dead letters without
costing a store attempt (`analytics.writer.consumer`). The limits are the columns' and
MariaDB's, not the door's (which are tighter):

- ids, times and types as the collector writes them; text within its column;
- product and customer ids whole numbers in 0 .. 2^63 - 1 (MariaDB's BIGINT: a larger one was
  clamped by INSERT IGNORE without a word);
- `props` an object of at most `MAX_PROPS_BYTES` of JSON nested at most `MAX_PROPS_DEPTH` deep
  (MariaDB's JSON_VALID refuses 32 levels: the events' CHECK failed, error 4025);
- a purchase's value and each item's price and quantity finite numbers, each amount under
  `MAX_AMOUNT` ("NaN" became a bare word in the SQL: error 1054).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

MAX_EVENT_ID = 64  # events.event_id: a UUID or a Shopify pixel event id (migration 0019)
MAX_ID = 2**63 - 1
MAX_TS = 253_402_300_799_999  # 9999-12-31 23:59:59.999, the last moment a DATETIME holds
MAX_PROPS_DEPTH = 31
MAX_PROPS_BYTES = 64 * 1024
MAX_AMOUNT = Decimal(10) ** 10  # a DECIMAL(14, 2) total holds 100 of these
MAX_QUANTITY = 1_000_000
MAX_EVENTS = 10_000
TEXT_LIMITS = (
    ("url", 2048),
    ("referrer", 2048),
    ("utm_source", 255),
    ("utm_medium", 255),
    ("utm_campaign", 255),
)


@dataclass(frozen=True)
class Rejection:
    """Why a batch cannot be stored: the check (a dead letter's `error_code`), the field, and a
    message naming no value."""

    check: str
    field: str
    message: str


def _depth(value: Any) -> int:
    """How deep JSON containers nest in `value` (an object holding an object: 2)."""
    deepest, level = 0, [(value, 1)]
    while level:
        item, depth = level.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item  # type: ignore[assignment]
        else:
            continue
        deepest = max(deepest, depth)
        level.extend((child, depth + 1) for child in children)
    return deepest


def _amount(value: Any) -> Decimal | None:
    """A finite amount under `MAX_AMOUNT` (a number or a string of one), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and abs(amount) < MAX_AMOUNT else None


def _whole(value: Any, *, limit: int = MAX_ID) -> bool:
    return type(value) is int and 0 <= value <= limit


def _purchase(props: dict[str, Any], where: str) -> Rejection | None:
    value = props.get("value")
    if value is not None and _amount(value) is None:
        return Rejection("purchase_value", f"{where}.value", "not a finite amount within the limit")
    items = props.get("items")
    if not isinstance(items, list):
        return None
    for number, item in enumerate(items):
        if not isinstance(item, dict):
            continue  # skipped by the rollups (`analytics.purchases`)
        field = f"{where}.items[{number}]"
        price, quantity, product = item.get("price"), item.get("quantity"), item.get("product_id")
        if price is not None and _amount(price) is None:
            return Rejection("item_price", f"{field}.price", "not a finite amount within the limit")
        counted = _amount(quantity) if quantity is not None else Decimal(1)
        if counted is None or abs(counted) > MAX_QUANTITY:
            return Rejection("item_quantity", f"{field}.quantity", "not a number within the limit")
        if abs((_amount(price) or 0) * counted) >= MAX_AMOUNT:
            return Rejection("item_amount", field, "price times quantity over the limit")
        if (
            product is not None
            and not _whole(product)
            and not (
                isinstance(product, str)
                and product.isascii()
                and product.isdigit()
                and int(product) <= MAX_ID
            )
        ):
            return Rejection("item_product_id", f"{field}.product_id", "not a whole number within 64 bits")
    return None


def _props(props: Any, kind: Any, where: str) -> Rejection | None:
    if not isinstance(props, dict):
        return Rejection("props", where, "not an object")
    try:
        text = orjson.dumps(props)
    except (TypeError, orjson.JSONEncodeError):
        return Rejection("props", where, "not JSON")
    if len(text) > MAX_PROPS_BYTES:
        return Rejection("props_size", where, f"over {MAX_PROPS_BYTES} bytes")
    # Nesting deeper than the limit needs more containers than the limit: most props have two.
    if text.count(b"{") + text.count(b"[") > MAX_PROPS_DEPTH and _depth(props) > MAX_PROPS_DEPTH:
        return Rejection("props_depth", where, f"nested deeper than {MAX_PROPS_DEPTH} levels")
    return _purchase(props, where) if kind == "purchase" else None


def _text(value: Any, limit: int, *, required: bool = False) -> bool:
    if value is None:
        return not required
    return type(value) is str and (0 < len(value) <= limit or (not required and value == ""))


def _event(event: Any, where: str) -> Rejection | None:
    if type(event) is not dict:
        return Rejection("event", where, "not an object")
    get = event.get
    key, kind, visitor, ts, client_ts = get("id"), get("type"), get("visitor_id"), get("ts"), get("client_ts")
    # The usual event passes with plain comparisons (this runs for every event the writer stores);
    # anything else is looked at field by field, to name the field.
    usual = (
        type(key) is str and 0 < len(key) <= MAX_EVENT_ID and type(kind) is str and 0 < len(kind) <= 64
        and type(visitor) is str and 0 < len(visitor) <= 64
        and type(ts) is int and 0 <= ts <= MAX_TS and type(client_ts) is int and 0 <= client_ts <= MAX_TS
    )  # fmt: skip
    if not usual:
        for name, limit in (("id", MAX_EVENT_ID), ("type", 64), ("visitor_id", 64)):
            if not _text(get(name), limit, required=True):
                return Rejection(name, f"{where}.{name}", f"not a string of 1 to {limit} characters")
        name = "ts" if not _whole(ts, limit=MAX_TS) else "client_ts"
        return Rejection("time", f"{where}.{name}", "not a time a DATETIME holds")
    for name, limit in TEXT_LIMITS:
        value = get(name)
        if value is not None and not (type(value) is str and len(value) <= limit):
            return Rejection("text", f"{where}.{name}", f"not a string of at most {limit} characters")
    for name in ("product_id", "customer_id"):
        value = get(name)
        if value is not None and not (type(value) is int and 0 <= value <= MAX_ID):
            return Rejection(name, f"{where}.{name}", "not a whole number within 64 bits")
    props = get("props")
    if props is not None:
        return _props(props, kind, f"{where}.props")
    return None


def rejection(batch: Any) -> Rejection | None:
    """Why the writer could not store `batch` (a stream entry's), or None when it can try."""
    if not isinstance(batch, dict):
        return Rejection("batch", "batch", "not an object")
    if not _whole(batch.get("shop_id"), limit=2**31 - 1):
        return Rejection("shop_id", "shop_id", "not a shop id")
    if not _whole(batch.get("received_at"), limit=MAX_TS):
        return Rejection("time", "received_at", "not a time a DATETIME holds")
    if not _text(batch.get("device"), 16):
        return Rejection("text", "device", "not a string of at most 16 characters")
    events = batch.get("events")
    if not isinstance(events, list) or not 0 < len(events) <= MAX_EVENTS:
        return Rejection("events", "events", f"not a list of 1 to {MAX_EVENTS} events")
    for index, event in enumerate(events):
        found = _event(event, f"events[{index}]")
        if found is not None:
            return found
    return None
