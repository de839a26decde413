"""Stored sessions as the model sees them: the one bridge from the database to `ml.features`.

Training and live scoring both call `load_session_inputs`, so a session is described the same
way in both. Events after a session's first purchase are dropped: the model predicts the
purchase, it must not see it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from analytics.models import Event, Visitor, VisitSession
from ml.features import EVENT_TYPES, SessionEvent, SessionInput, referrer_class
from shopify_app.core.extensions import db
from shopify_app.core.models import Product


@dataclass(frozen=True)
class StoredSession:
    """A stored session, its model input and whether it has (so far) a purchase."""

    id: int
    visitor_id: int
    started_at: float
    input: SessionInput
    bought: bool
    page_type: str | None
    cart_value: float
    product_id: int | None
    visitor_key: str
    carted: tuple[int, ...] = ()  # products added to the cart, in order (Shopify ids)


def _price(props: dict[str, object] | None) -> float | None:
    if not props:
        return None
    for key in ("price", "value"):
        value = props.get(key)
        if isinstance(value, int | float | str):
            try:
                return float(value)
            except ValueError:
                return None
    return None


def _quantity(props: dict[str, object] | None) -> int:
    value = (props or {}).get("quantity", 1)
    return int(value) if isinstance(value, int | float) and value > 0 else 1


def load_session_inputs(
    shop_id: int, session_ids: Sequence[int], shop_host: str = "", max_events: int = 50
) -> list[StoredSession]:
    """The sessions with these ids (of this shop), oldest first."""
    if not session_ids:
        return []
    sessions = (
        db.session.execute(
            select(VisitSession).where(
                VisitSession.shop_id == shop_id, VisitSession.id.in_(list(session_ids))
            )
        )
        .scalars()
        .all()
    )
    keys = dict(
        db.session.execute(
            select(Visitor.id, Visitor.visitor_key).where(Visitor.id.in_({s.visitor_id for s in sessions}))
        ).all()
    )
    events: dict[int, list[Event]] = defaultdict(list)
    for event in db.session.execute(
        select(Event)
        .where(Event.shop_id == shop_id, Event.session_id.in_([s.id for s in sessions]))
        .order_by(Event.session_id, Event.occurred_at, Event.id)
    ).scalars():
        events[event.session_id].append(event)
    catalog_prices = _catalog_prices(
        shop_id, {e.product_id for rows in events.values() for e in rows if e.product_id}
    )
    stored = []
    for visit in sorted(sessions, key=lambda s: s.started_at):
        kept: list[SessionEvent] = []
        bought = False
        cart_value = 0.0
        page_type = None
        product_id = None
        carted: list[int] = []
        for event in events.get(visit.id, [])[: max_events * 2]:
            if event.type == "purchase":
                bought = True
                break
            kind = event.type if event.type in EVENT_TYPES else "other"
            price, quantity = _price(event.props), _quantity(event.props)
            if price is None and event.product_id is not None:
                price = catalog_prices.get(event.product_id)
            kept.append(SessionEvent(kind, event.occurred_at.timestamp(), price, quantity))
            if kind == "add_to_cart":
                cart_value += (price or 0.0) * quantity
                if event.product_id is not None:
                    carted.append(int(event.product_id))
            page_type = str((event.props or {}).get("page_type") or kind)
            product_id = event.product_id or product_id
        session_input = SessionInput(
            kept[:max_events],
            returning=not visit.is_new_visitor,
            device=visit.device or "unknown",
            referrer_class=referrer_class(visit.referrer, visit.utm_medium, shop_host),
        )
        stored.append(
            StoredSession(
                visit.id,
                visit.visitor_id,
                visit.started_at.timestamp(),
                session_input,
                bought,
                page_type,
                cart_value,
                product_id,
                keys.get(visit.visitor_id, ""),
                tuple(dict.fromkeys(carted)),
            )
        )
    return stored


def _catalog_prices(shop_id: int, product_ids: set[int]) -> dict[int, float]:
    """Catalog prices for events that did not carry one (the tracker sends product ids only)."""
    if not product_ids:
        return {}
    rows = db.session.execute(
        select(Product.shopify_id, Product.price).where(
            Product.shop_id == shop_id, Product.shopify_id.in_(product_ids)
        )
    )
    return {shopify_id: float(price) for shopify_id, price in rows if price is not None}


def recent_session_ids(shop_id: int | None, limit: int) -> list[int]:
    """The ids of the newest `limit` sessions of a shop (or of every shop when `shop_id` is None)."""
    query = select(VisitSession.id).order_by(VisitSession.started_at.desc()).limit(limit)
    if shop_id is not None:
        query = query.where(VisitSession.shop_id == shop_id)
    return list(db.session.execute(query).scalars())
