"""The recommenders a web process serves from: one `ShopRecommender` per shop, kept fresh.

On first use a process loads the shop's session trails from `rec_sessions` (oldest first, so
the most recent sessions are the preferred neighbours); afterwards, at most every
`RECOMMENDATIONS_REFRESH_SECONDS`, it reads only rows whose version is newer than what it holds
(less an overlap, since versions are commit-time clocks and adding a trail twice changes nothing).
The version it holds is the model version that keys cached answers.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import or_, select

from recommend.engine import ShopRecommender
from recommend.models import RecommendationSession
from shopify_app.core.extensions import db

OVERLAP_MS = 120_000
LOAD_CHUNK = 20_000


@dataclass
class LiveModel:
    """A shop's recommender in this process and the newest trail version it has taken in."""

    recommender: ShopRecommender
    version: int = 0
    checked_at: float = 0.0


_lock = threading.Lock()
_models: dict[int, LiveModel] = {}


def _ids(text: str) -> list[int]:
    return [int(part) for part in text.split()] if text else []


def take_in(model: LiveModel, shop_id: int) -> int:
    """Add the trails fed since the model's version; returns how many rows were read."""
    table = RecommendationSession
    after = (model.version - OVERLAP_MS if model.version else -1, -1)
    read = 0
    while True:
        rows = db.session.execute(
            select(
                table.session_id, table.viewed, table.carted, table.bought, table.last_event_at, table.version
            )
            .where(
                table.shop_id == shop_id,
                table.version >= after[0],
                or_(table.version > after[0], table.session_id > after[1]),
            )
            .order_by(table.version, table.session_id)
            .limit(LOAD_CHUNK)
        ).all()
        for session_id, viewed, carted, bought, last_event_at, version in rows:
            at = last_event_at.timestamp() if last_event_at else 0.0
            model.recommender.add_session(
                session_id, viewed=_ids(viewed), carted=_ids(carted), bought=_ids(bought), at=at
            )
            model.version = max(model.version, int(version))
            after = (int(version), int(session_id))
        read += len(rows)
        if len(rows) < LOAD_CHUNK:
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
            take_in(model, shop_id)
            model.checked_at = time.monotonic()
    return model


def forget(shop_id: int | None = None) -> None:
    """Drop this process's models (a shop's, or all): the next request loads afresh."""
    with _lock:
        if shop_id is None:
            _models.clear()
        else:
            _models.pop(shop_id, None)
