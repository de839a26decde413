"""What the pipeline stored for a shop, counted from its tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select

from analytics.models import Event, Visitor, VisitSession
from shopify_app.core.extensions import db


def stored_counts(shop_id: int) -> dict[str, int]:
    """The same numbers as `independent.rees46_counts`, from our sessions and events."""
    s = VisitSession
    row: Any = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(s.carts), 0),
            func.coalesce(func.sum(s.purchases), 0),
            func.coalesce(func.sum(case((s.carts > 0, 1), else_=0)), 0),
            func.coalesce(func.sum(case((s.purchases > 0, 1), else_=0)), 0),
            func.coalesce(func.sum(s.event_count), 0),
        ).where(s.shop_id == shop_id)
    ).one()
    visitors = db.session.execute(
        select(func.count()).select_from(Visitor).where(Visitor.shop_id == shop_id)
    ).scalar()
    events = db.session.execute(
        select(func.count()).select_from(Event).where(Event.shop_id == shop_id)
    ).scalar()
    sessions, carts, purchases, with_cart, with_purchase, session_events = (int(v) for v in row)
    assert session_events == events, "session counters agree with the stored events"
    return {
        "sessions": sessions,
        "visitors": int(visitors or 0),
        "carts": carts,
        "purchases": purchases,
        "sessions_with_cart": with_cart,
        "sessions_with_purchase": with_purchase,
        "events": int(events or 0),
    }
