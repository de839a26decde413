"""Notifications waiting for the tracker's next exchange, and per-session show counts.

Redis holds them when configured (shared by the writer processes and the web servers); in the
embedded mode one process does everything, so a dictionary with expiry times does.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from analytics.ingest import expect_reply
from shopify_app.core.extensions import get_redis

PENDING_TTL = 15 * 60
COUNT_TTL = 2 * 60 * 60

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
    key = f"cs:notify-count:{session_id}"
    client = get_redis()
    raw = _local_get(key) if client is None else client.get(key)
    return int(raw or 0)


def count_shown(session_id: int) -> None:
    """Add one to the session's notification count."""
    key = f"cs:notify-count:{session_id}"
    client = get_redis()
    if client is None:
        _local_set(key, str(shown_count(session_id) + 1), COUNT_TTL)
    else:
        pipe = client.pipeline()
        pipe.incr(key)
        pipe.expire(key, COUNT_TTL)
        pipe.execute()


def remember(name: str, value: str, ttl: int) -> None:
    """Keep a small value (e.g. today's discount code) for `ttl` seconds."""
    client = get_redis()
    if client is None:
        _local_set(f"cs:{name}", value, ttl)
    else:
        client.set(f"cs:{name}", value, ex=ttl)


def recall(name: str) -> str | None:
    """A value kept by `remember`, if it has not expired."""
    client = get_redis()
    if client is None:
        return _local_get(f"cs:{name}")
    raw = client.get(f"cs:{name}")
    return raw.decode() if isinstance(raw, bytes) else raw


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
