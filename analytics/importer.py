"""History import (`clickstream import-events`): files of past events through the writer's own code.

Imported events are sessionized, stitched and rolled up exactly as live ones, because they go
through `store_batches`; a customer id in the file is a claim, as from a browser (stored in the
event's props, never linking the visitor: orders link customers). Event ids are derived from the file's content and line numbers, so
importing the same file twice stores it once.

Formats:
- `rees46`: the REES46 e-commerce CSV (`event_time,event_type,product_id,category_id,
  category_code,brand,price,user_id,user_session`); `user_id` is the visitor, `view` a product
  view, `cart` an add to cart, `purchase` a one-item purchase at `price`.
- `jsonl`: one wire-format event per line (see the pipeline issue); times in epoch ms.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from analytics.identity_tokens import settle_claims
from analytics.ingest.validation import normalize_event
from analytics.writer.store import store_batches
from shopify_app.core.errors import BadRequest
from shopify_app.core.shops import UnknownShop, find_shop

FORMATS = ("rees46", "jsonl")
CHUNK = 2000
NAMESPACE = uuid.UUID("6f1f0a52-8a8e-4c43-9b0e-4c7f8f7e2f11")
REES46_TYPES = {
    "view": "product_view",
    "cart": "add_to_cart",
    "remove_from_cart": "remove_from_cart",
    "purchase": "purchase",
}


@dataclass
class ImportResult:
    """What an import stored."""

    read: int = 0
    stored: int = 0
    duplicates: int = 0
    skipped: int = 0


def open_text(path: Path) -> IO[str]:
    """A text handle on a plain or gzipped file."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open("r", encoding="utf-8", newline="")


def count_lines(path: Path) -> int:
    """Lines in the file (for the progress bar's total)."""
    with open_text(path) as handle:
        return sum(1 for _ in handle)


def rees46_time_ms(value: str) -> int:
    """`2019-10-01 00:00:04 UTC` as epoch milliseconds."""
    moment = datetime.strptime(value, "%Y-%m-%d %H:%M:%S %Z").replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _rees46_event(row: dict[str, str], line: int, shop: str) -> dict[str, Any] | None:
    kind = REES46_TYPES.get(row.get("event_type") or "")
    if None in row or any(value is None for value in row.values()):
        return None  # a short or long row: the file's cut-off last line
    try:
        ts = rees46_time_ms(row["event_time"])
        product = int(row["product_id"])
        price = float(row["price"]) if row.get("price") else 0.0
        visitor = row["user_id"].strip()
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    if kind is None or not visitor:
        return None
    props: dict[str, Any] = {"price": price}
    if row.get("category_code"):
        props["category"] = row["category_code"]
    if row.get("brand"):
        props["brand"] = row["brand"]
    if kind == "purchase":
        props = {
            "value": price,
            "currency": "USD",
            "items": [{"product_id": str(product), "quantity": 1, "price": price}],
        }
    key = f"{line}|{row['user_session']}|{row['event_time']}|{row['event_type']}|{product}"
    return {
        "id": str(uuid.uuid5(NAMESPACE, key)),
        "type": kind,
        "ts": ts,
        "visitor_id": visitor,
        "url": f"https://{shop}/products/{product}",
        "product_id": product,
        "props": props,
    }


def read_rees46(path: Path, shop: str) -> Iterator[dict[str, Any] | None]:
    """Wire-format events of a REES46 file (None for a row that cannot be read, e.g. a cut-off last line)."""
    with open_text(path) as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            yield _rees46_event(row, line, shop)


def read_jsonl(path: Path) -> Iterator[dict[str, Any] | None]:
    """Wire-format events of a JSON-lines file (None for a line that is not a JSON object)."""
    with open_text(path) as handle:
        for text in handle:
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except ValueError:
                yield None
                continue
            yield value if isinstance(value, dict) else None


def import_events(
    path: Path,
    shop_domain: str,
    fmt: str,
    *,
    shift_ms: int = 0,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Store a file's events for a shop in chunks (each chunk one transaction); `shift_ms` moves every time."""
    shop = find_shop(shop_domain)
    if shop is None:
        raise UnknownShop(f"no shop {shop_domain!r} here", field="shop")
    if fmt not in FORMATS:
        raise BadRequest(f"format must be one of {', '.join(FORMATS)}", field="format")
    rows = read_rees46(path, shop.domain) if fmt == "rees46" else read_jsonl(path)
    result = ImportResult()
    received = int(time.time() * 1000)
    chunk: list[dict[str, Any]] = []

    def flush() -> None:
        if not chunk:
            return
        settle_claims(shop.domain, chunk)  # a file's customer ids are claims, like a browser's
        stored = store_batches(
            [{"shop_id": shop.id, "received_at": received, "device": None, "events": list(chunk)}]
        )
        result.stored += stored.accepted
        result.duplicates += stored.duplicates
        if progress:
            progress(len(chunk))
        chunk.clear()

    for index, raw in enumerate(rows):
        result.read += 1
        if raw is None:
            result.skipped += 1
            continue
        if shift_ms and isinstance(raw.get("ts"), int | float):
            raw = {**raw, "ts": int(raw["ts"]) + shift_ms}
        try:
            chunk.append(
                normalize_event(raw, index, offset_ms=0, received_ms=received, max_age=None, clamp=False)
            )
        except BadRequest:
            result.skipped += 1
            continue
        if len(chunk) >= CHUNK:
            flush()
    flush()
    return result


def last_event_ms(path: Path, fmt: str) -> int | None:
    """The newest event time in a file (to shift history so it ends now)."""
    newest = None
    rows = read_rees46(path, "x.myshopify.com") if fmt == "rees46" else read_jsonl(path)
    for raw in rows:
        if raw and isinstance(raw.get("ts"), int | float):
            newest = max(newest or 0, int(raw["ts"]))
    return newest
