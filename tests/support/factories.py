"""Factories for model rows, so tests say only what matters to them."""

from __future__ import annotations

import itertools
from typing import Any

from shopify_app.core.extensions import db
from shopify_app.core.models import Product, Shop
from shopify_app.core.types import utcnow

_numbers = itertools.count(1)


def make_shop(**fields: Any) -> Shop:
    """An installed shop with a unique domain."""
    number = next(_numbers)
    values: dict[str, Any] = {
        "domain": f"shop-{number}.myshopify.com",
        "name": f"Shop {number}",
        "timezone": "UTC",
        "currency": "USD",
        "installed_at": utcnow(),
        "settings": {},
    }
    values.update(fields)
    shop = Shop(**values)
    db.session.add(shop)
    db.session.flush()
    return shop


def make_product(shop: Shop, **fields: Any) -> Product:
    """A sellable product of `shop`."""
    number = next(_numbers)
    values: dict[str, Any] = {
        "shop_id": shop.id,
        "shopify_id": 7000000 + number,
        "handle": f"product-{number}",
        "title": f"Product {number}",
        "price": 10 + number,
        "status": "active",
        "published": True,
        "available": True,
    }
    values.update(fields)
    product = Product(**values)
    db.session.add(product)
    db.session.flush()
    return product


def make_visitor(shop: Shop, key: str | None = None, **fields: Any) -> Any:
    """A visitor of `shop`."""
    from analytics.models import Visitor

    visitor = Visitor(shop_id=shop.id, visitor_key=key or f"v-{next(_numbers)}", **fields)
    db.session.add(visitor)
    db.session.flush()
    return visitor


def make_session(shop: Shop, visitor: Any, started_at: Any = None, **fields: Any) -> Any:
    """A session of `visitor`."""
    from analytics.models import VisitSession

    started = started_at or utcnow()
    session = VisitSession(
        shop_id=shop.id,
        visitor_id=visitor.id,
        started_at=started,
        last_event_at=fields.pop("last_event_at", started),
        day=started.date(),
        **fields,
    )
    db.session.add(session)
    db.session.flush()
    return session


def make_event(session: Any, type: str = "page_view", occurred_at: Any = None, **fields: Any) -> Any:
    """An event in `session`."""
    import uuid

    from analytics.models import Event

    when = occurred_at or session.started_at
    event = Event(
        shop_id=session.shop_id,
        event_id=str(uuid.uuid4()),
        visitor_id=session.visitor_id,
        session_id=session.id,
        type=type,
        client_ts=when,
        occurred_at=when,
        received_at=when,
        **fields,
    )
    db.session.add(event)
    db.session.flush()
    return event
