"""Notifications waiting for the tracker's next exchange, and per-session show counts.

Waiting notifications: Redis holds them when configured (shared by the writer processes and the
web servers); in the embedded mode a dictionary with expiry times does. Show counts are the
session's `notifications_shown` column, raised by a conditional UPDATE: the merchant's cap holds
across every process in every mode (gunicorn workers each running the embedded writer included).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from sqlalchemy import select, update

from analytics.ingest import expect_reply
from analytics.models import VisitSession
from shopify_app.core.extensions import db, get_redis

PENDING_TTL = 15 * 60

_lock = threading.Lock()
_local: dict[str, tuple[float, str]] = {}


def _local_get(key: str) -> str | None:
    with _lock:
        entry = _local.get(key)
        if entry is None or entry[0] < time.monotonic():
            _local.pop(key, None)
            return None
        return entry[1]


def _local_set(key: str, value: str, ttl: int) -> None:
    with _lock:
        _local[key] = (time.monotonic() + ttl, value)


def _pending_key(shop_id: int, visitor_key: str) -> str:
    return f"cs:notify:{shop_id}:{visitor_key}"


def hold(shop_id: int, visitor_key: str, payload: dict[str, Any]) -> None:
    """Keep `payload` for the visitor's next exchange with the collector."""
    value = json.dumps(payload)
    client = get_redis()
    if client is None:
        _local_set(_pending_key(shop_id, visitor_key), value, PENDING_TTL)
    else:
        pipe = client.pipeline()
        pipe.set(_pending_key(shop_id, visitor_key), value, ex=PENDING_TTL)
        expect_reply(pipe, shop_id, visitor_key, PENDING_TTL)  # the collector asks only then
        pipe.execute()


def take(shop_id: int, visitor_key: str) -> dict[str, Any] | None:
    """The visitor's waiting notification, removed so it is delivered once."""
    key = _pending_key(shop_id, visitor_key)
    client = get_redis()
    if client is None:
        with _lock:
            entry = _local.pop(key, None)
        value = entry[1] if entry and entry[0] >= time.monotonic() else None
    else:
        raw = client.getdel(key)
        value = raw.decode() if isinstance(raw, bytes) else raw
    return json.loads(value) if value else None


def shown_count(session_id: int) -> int:
    """How many notifications this session has been given."""
    count = db.session.execute(
        select(VisitSession.notifications_shown).where(VisitSession.id == session_id)
    ).scalar_one_or_none()
    return int(count or 0)


def claim_slot(session_id: int, cap: int) -> bool:
    """Count one more notification for the session if it is still under `cap`; commits at once.

    The check and the increment are one statement, so of two processes deciding for the same
    session only as many as the cap allows get True (the row lock orders them)."""
    claimed = db.session.execute(
        update(VisitSession)
        .where(VisitSession.id == session_id, VisitSession.notifications_shown < cap)
        .values(notifications_shown=VisitSession.notifications_shown + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def forget_visitors(shop_id: int, visitor_keys: list[str]) -> None:
    """Drop the notifications waiting for these visitors (their customer's erasure)."""
    keys = [_pending_key(shop_id, visitor_key) for visitor_key in visitor_keys]
    if not keys:
        return
    client = get_redis()
    if client is None:
        with _lock:
            for key in keys:
                _local.pop(key, None)
    else:
        client.delete(*keys)


def release_slot(session_id: int) -> None:
    """Give back a slot claimed for a notification that could not be shown after all; commits."""
    db.session.execute(
        update(VisitSession)
        .where(VisitSession.id == session_id, VisitSession.notifications_shown > 0)
        .values(notifications_shown=VisitSession.notifications_shown - 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
