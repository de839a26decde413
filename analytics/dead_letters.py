"""Dead letters: ingest batches the writer could not store, kept aside so they never block the rest.

A dead letter can always be written: any payload fits (it is cut at `MAX_PAYLOAD_CHARS`, with a
marker saying how much was cut, into a MEDIUMTEXT column), and its error is a short line the
writer builds without values (`analytics.writer.failures`). Log lines name the stream entry,
the shop id and the error code, never the payload.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, insert, select

from analytics.models import DeadLetter
from shopify_app.core.extensions import db
from shopify_app.core.in_lists import chunks
from shopify_app.core.types import utcnow

log = logging.getLogger(__name__)

# A stream entry holds at most one request's events (256 KB of JSON); a payload over this was not
# produced by the collector, and the first quarter megabyte says enough about it.
MAX_PAYLOAD_CHARS = 256 * 1024
TRUNCATED = "…[truncated: {} more characters]"
ERROR_CHARS = 1000


@dataclass(frozen=True)
class Letter:
    """One batch to set aside, and why (`error` and `error_code` hold no stored value)."""

    batch: Any
    error: str
    error_code: str | None
    stream_id: str | None = None


def payload_text(batch: Any) -> str:
    """The batch as compact JSON, cut to `MAX_PAYLOAD_CHARS` with a marker."""
    try:
        text = orjson.dumps(batch, default=str).decode()
    except (TypeError, orjson.JSONEncodeError):
        text = repr(batch)
    if len(text) <= MAX_PAYLOAD_CHARS:
        return text
    return text[:MAX_PAYLOAD_CHARS] + TRUNCATED.format(len(text) - MAX_PAYLOAD_CHARS)


def _shop_of(batch: Any) -> tuple[int | None, str | None]:
    if not isinstance(batch, dict):
        return None, None
    shop_id, domain = batch.get("shop_id"), batch.get("shop_domain")
    number = shop_id if type(shop_id) is int and 0 < shop_id < 2**31 else None
    return number, domain[:255] if isinstance(domain, str) else None


def _row(letter: Letter, *, with_payload: bool) -> dict[str, Any]:
    shop_id, domain = _shop_of(letter.batch)
    return {
        "shop_id": shop_id,
        "shop_domain": domain,
        "stream_id": letter.stream_id,
        "payload": payload_text(letter.batch) if with_payload else TRUNCATED.format("all"),
        "error": letter.error[:ERROR_CHARS],
        "error_code": None if letter.error_code is None else letter.error_code[:32],
        "created_at": utcnow(),
    }


def write(letters: Sequence[Letter]) -> None:
    """Store `letters` and commit (a letter whose stream entry already has one is skipped: an
    entry re-read after a crash between the dead letter and its acknowledgement).

    Should the rows be refused for any reason but the database being away, they are written again
    without payloads, so the entries can still be acknowledged. The session must hold no failed
    transaction (`analytics.writer.failures.database_unavailable` ends it)."""
    stream_ids = [letter.stream_id for letter in letters if letter.stream_id]
    known: set[str | None] = set()
    for chunk in chunks(stream_ids):
        known.update(
            db.session.execute(select(DeadLetter.stream_id).where(DeadLetter.stream_id.in_(chunk))).scalars()
        )
    fresh = [letter for letter in letters if letter.stream_id is None or letter.stream_id not in known]
    if not fresh:
        return
    try:
        db.session.execute(insert(DeadLetter), [_row(letter, with_payload=True) for letter in fresh])
        db.session.commit()
    except Exception as exc:
        from analytics.writer.failures import database_unavailable, describe

        db.session.rollback()
        if database_unavailable(exc):
            raise
        log.error("dead letters refused with their payloads (%s); writing them without", describe(exc).text)
        db.session.execute(insert(DeadLetter), [_row(letter, with_payload=False) for letter in fresh])
        db.session.commit()
    for letter in fresh:
        shop_id, _ = _shop_of(letter.batch)
        log.error(
            "dead letter: stream entry %s, shop %s, error %s", letter.stream_id, shop_id, letter.error_code
        )


def _mentions(payload: str, keys: Iterable[str], customers: Iterable[int]) -> bool:
    """Whether a payload (compact JSON as `payload_text` writes it, possibly cut) names one of the
    visitor keys or customer ids (as a number or a string of digits)."""
    for key in keys:
        if '"visitor_id":' + orjson.dumps(key).decode() in payload:
            return True
    return any(
        re.search(rf'"customer_id":"?{customer}"?(?![0-9])', payload) is not None for customer in customers
    )


def forget_dead_letters(
    shop_id: int, *, visitor_keys: Iterable[str] | None = None, customer_ids: Iterable[int] | None = None
) -> int:
    """Delete the shop's dead letters: all of them (a `shop/redact`), or, given visitor keys or
    Shopify customer ids, those whose payload names one of them (a `customers/redact`). Flushes;
    the number deleted."""
    table = DeadLetter.__table__
    if visitor_keys is None and customer_ids is None:
        result = db.session.execute(delete(table).where(table.c.shop_id == shop_id))
        db.session.flush()
        return int(getattr(result, "rowcount", 0) or 0)
    keys = [str(key) for key in visitor_keys or ()]
    customers = [int(customer) for customer in customer_ids or ()]
    doomed: list[int] = []
    rows = db.session.execute(
        select(table.c.id, table.c.payload).where(table.c.shop_id == shop_id).execution_options(yield_per=500)
    )
    for letter_id, payload in rows:
        if _mentions(payload or "", keys, customers):
            doomed.append(int(letter_id))
    for chunk in chunks(doomed):
        db.session.execute(delete(table).where(table.c.id.in_(chunk)))
    db.session.flush()
    return len(doomed)
