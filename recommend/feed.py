"""Feeding the recommenders: each stored session's product trail into `rec_sessions`.

The writer's `sessions_updated` hook hands over the sessions it just committed; a task reads
their product events and upserts one row per session (viewed in order, carted, bought), stamped
with the shop's next model version (taken under a row lock, so it is also the commit order; in
epoch milliseconds when the clock is ahead). Web processes pick up rows newer than what they hold
(`recommend.live`). `rebuild` feeds every session of a shop, after a history import or the demo.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from analytics.models import Event, VisitSession
from analytics.purchases import purchase_lines
from analytics.writer.sql import upsert
from recommend.models import RecommendationSession, RecommendationState
from shopify_app.core.extensions import db

PRODUCT_EVENTS = ("product_view", "add_to_cart", "purchase")
MAX_TRAIL = 50
REBUILD_CHUNK = 2000


@dataclass
class Trail:
    """One session's products as the recommenders see them."""

    viewed: list[int] = field(default_factory=list)
    carted: list[int] = field(default_factory=list)
    bought: list[int] = field(default_factory=list)
    last_event_at: datetime | None = None


def purchased_products(event_product: int | None, props: dict[str, Any] | None) -> list[int]:
    """The products a purchase event names: its line items, else its own product id."""
    products = [product_id for product_id, _, _ in purchase_lines(props)]
    if not products and event_product is not None:
        products.append(int(event_product))
    return products


def _trails(shop_id: int, session_ids: Sequence[int]) -> dict[int, Trail]:
    rows = db.session.execute(
        select(Event.session_id, Event.type, Event.product_id, Event.props, Event.occurred_at)
        .where(
            Event.shop_id == shop_id,
            Event.session_id.in_(list(session_ids)),
            Event.type.in_(PRODUCT_EVENTS),
        )
        .order_by(Event.session_id, Event.occurred_at, Event.id)
    ).all()
    trails: dict[int, Trail] = {}
    for session_id, kind, product_id, props, occurred_at in rows:
        trail = trails.setdefault(session_id, Trail())
        trail.last_event_at = occurred_at
        if kind == "purchase":
            trail.bought.extend(purchased_products(product_id, props))
        elif product_id is not None:
            (trail.viewed if kind == "product_view" else trail.carted).append(int(product_id))
    return trails


def _text(products: Iterable[int]) -> str:
    return " ".join(str(p) for p in list(products)[-MAX_TRAIL:])


def feed_sessions(shop_id: int, session_ids: Sequence[int]) -> int:
    """Upsert the trails of these sessions (flushes, never commits); returns how many had products."""
    if not session_ids:
        return 0
    # The lock comes first and is held to commit: versions commit in order, and two feeders of
    # one session read its events one after the other, so the later version has the newer trail.
    state = RecommendationState.locked(shop_id)
    version = max(state.model_version + 1, int(time.time() * 1000))
    state.model_version = version
    trails = _trails(shop_id, session_ids)
    rows = [
        {
            "shop_id": shop_id,
            "session_id": session_id,
            "viewed": _text(trail.viewed),
            "carted": _text(dict.fromkeys(trail.carted)),
            "bought": _text(dict.fromkeys(trail.bought)),
            "last_event_at": trail.last_event_at,
            "version": version,
        }
        for session_id, trail in sorted(trails.items())
    ]
    upsert(
        RecommendationSession.__table__,
        rows,
        keys=["shop_id", "session_id"],
        merge=dict.fromkeys(("viewed", "carted", "bought", "last_event_at", "version"), "set"),
    )
    return len(rows)


def rebuild(shop_id: int, progress: Callable[[int, int], None] | None = None) -> int:
    """Feed every session of the shop that has product events (commits per chunk)."""
    total = db.session.execute(
        select(func.count()).select_from(VisitSession).where(VisitSession.shop_id == shop_id)
    ).scalar_one()
    done = fed = 0
    last_id = 0
    while True:
        ids = list(
            db.session.execute(
                select(VisitSession.id)
                .where(VisitSession.shop_id == shop_id, VisitSession.id > last_id)
                .order_by(VisitSession.id)
                .limit(REBUILD_CHUNK)
            ).scalars()
        )
        if not ids:
            break
        fed += feed_sessions(shop_id, ids)
        db.session.commit()
        last_id = ids[-1]
        done += len(ids)
        if progress:
            progress(done, total)
    return fed
