"""The recommenders a web process serves from: one `ShopRecommender` per shop, kept fresh.

On first use a process loads the shop's session trails from `rec_sessions` (oldest first, so
the most recent sessions are the preferred neighbours); afterwards, at most every
`RECOMMENDATIONS_REFRESH_SECONDS`, it reads only rows whose version is newer than what it holds
(versions commit in order: `recommend.feed` takes them under the shop's state row lock).
The version it holds is the model version that keys cached answers.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from analytics.writer.sql import dialect_name
from recommend.engine import ShopRecommender
from shopify_app.core.extensions import db

log = logging.getLogger(__name__)


@dataclass
class LiveModel:
    """A shop's recommender in this process and the newest trail version it has taken in."""

    recommender: ShopRecommender
    version: int = 0
    checked_at: float = 0.0


_lock = threading.Lock()
_models: dict[int, LiveModel] = {}


def _ids(text: str) -> list[int]:
    return list(map(int, text.split())) if text else []


PACKED_TRAILS_SQL = text("""
SELECT GROUP_CONCAT(
         CONCAT_WS('|', session_id, UNIX_TIMESTAMP(last_event_at), version,
                   COALESCE(viewed, ''), COALESCE(carted, ''), COALESCE(bought, ''))
         ORDER BY session_id SEPARATOR '\\n')
FROM rec_sessions
WHERE shop_id = :shop_id AND version > :since
GROUP BY session_id DIV 1000
ORDER BY MIN(session_id)
""")
TRAILS_SQL = text("""
SELECT CONCAT_WS('|', session_id, UNIX_TIMESTAMP(last_event_at), version,
                 COALESCE(viewed, ''), COALESCE(carted, ''), COALESCE(bought, ''))
FROM rec_sessions
WHERE shop_id = :shop_id AND version > :since
ORDER BY version
""")
SQLITE_TRAILS_SQL = text("""
SELECT session_id || '|' || strftime('%s', last_event_at) || '|' || version || '|' ||
       COALESCE(viewed, '') || '|' || COALESCE(carted, '') || '|' || COALESCE(bought, '')
FROM rec_sessions
WHERE shop_id = :shop_id AND version > :since
ORDER BY version
""")


def _trail_lines(shop_id: int, since: int) -> Iterator[str]:
    """Trails with a version above `since`, as lines `session|seconds|version|viewed|carted|bought`.

    The database driver decodes rows in Python, and that decoding, not the query, was most of the
    cost of loading a million sessions; so for the first load MariaDB packs a thousand trails into
    each row it sends (one streamed query in primary-key order, linear in the number of rows).
    Refreshes read the few new trails one per row, through the version index.
    """
    values = {"shop_id": shop_id, "since": since}
    if dialect_name() == "sqlite":
        yield from db.session.execute(SQLITE_TRAILS_SQL, values).scalars()
        return
    if since >= 0:
        yield from db.session.execute(TRAILS_SQL, values).scalars()
        return
    db.session.execute(text("SET SESSION group_concat_max_len = 268435456"))
    for block in db.session.execute(PACKED_TRAILS_SQL.execution_options(yield_per=64), values).scalars():
        yield from block.split("\n")


def take_in(model: LiveModel, shop_id: int) -> int:
    """Add the trails fed since the model's version; returns how many rows were read."""
    since = model.version if model.version else -1
    read = 0
    add = model.recommender.add_session
    for line in _trail_lines(shop_id, since):
        session_id, seconds, version, viewed, carted, bought = line.split("|")
        add(int(session_id), viewed=_ids(viewed), carted=_ids(carted), bought=_ids(bought), at=float(seconds))
        model.version = max(model.version, int(version))
        read += 1
    return read


def current_model(shop_id: int) -> LiveModel:
    """This process's model of the shop, refreshed when it is older than the refresh interval."""
    refresh = float(current_app.config.get("RECOMMENDATIONS_REFRESH_SECONDS", 10))
    with _lock:
        model = _models.get(shop_id)
        if model is None:
            model = _models[shop_id] = LiveModel(ShopRecommender())
    now = time.monotonic()
    if model.checked_at and now - model.checked_at < refresh:
        return model
    with _lock:  # one refresh at a time; others serve the model as it stands
        if not model.checked_at or time.monotonic() - model.checked_at >= refresh:
            first_load = not model.checked_at
            try:
                if take_in(model, shop_id) and first_load:
                    gc.freeze()  # the loaded model is long-lived: keep it out of every later GC pass
            except SQLAlchemyError:
                if not model.checked_at:
                    raise
                db.session.rollback()  # a failed refresh: keep serving what is loaded, try again later
                log.warning("recommendation model refresh failed for shop %s", shop_id, exc_info=True)
            model.checked_at = time.monotonic()
    return model


def forget(shop_id: int | None = None) -> None:
    """Drop this process's models (a shop's, or all): the next request loads afresh."""
    with _lock:
        if shop_id is None:
            _models.clear()
        else:
            _models.pop(shop_id, None)
