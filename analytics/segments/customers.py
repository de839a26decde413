"""Identified customers (visitors linked to a Shopify customer) and their sessions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from analytics.models import Event, VisitSession
from shopify_app.core.models import Customer
from shopify_app.core.replica import read_session


def identified_users(shop_id: int, *, page: int = 1, per_page: int = 50) -> dict[str, Any]:
    """Customers with sessions: sessions, last seen, product views, carts, orders and revenue."""
    last_seen = func.max(VisitSession.last_event_at)
    query = (
        select(
            VisitSession.customer_id,
            func.count(),
            last_seen,
            func.sum(VisitSession.product_views),
            func.sum(VisitSession.carts),
            func.sum(VisitSession.purchases),
            func.sum(VisitSession.revenue),
            func.max(VisitSession.purchase_probability),
        )
        .where(VisitSession.shop_id == shop_id, VisitSession.customer_id.is_not(None))
        .group_by(VisitSession.customer_id)
    )
    session = read_session()
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar() or 0
    rows = session.execute(
        query.order_by(last_seen.desc(), VisitSession.customer_id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    people = _customers(shop_id, [int(row[0]) for row in rows if row[0] is not None])
    users = []
    for customer_id, sessions, seen, views, carts, orders, revenue, probability in rows:
        person = people.get(int(customer_id or 0))
        users.append(
            {
                "customer_id": customer_id,
                "shopify_id": person.shopify_id if person else None,
                "email": person.email if person else None,
                "name": _name(person),
                "sessions": int(sessions),
                "last_seen": seen.isoformat() if seen else None,
                "views": int(views or 0),
                "carts": int(carts or 0),
                "orders": int(orders or 0),
                "revenue": round(float(revenue or 0), 2),
                "purchase_probability": None if probability is None else round(float(probability), 4),
            }
        )
    return {"users": users, "total": int(total), "page": page, "per_page": per_page}


def _customers(shop_id: int, ids: list[int]) -> dict[int, Customer]:
    if not ids:
        return {}
    rows = read_session().scalars(select(Customer).where(Customer.shop_id == shop_id, Customer.id.in_(ids)))
    return {customer.id: customer for customer in rows}


def _name(person: Customer | None) -> str | None:
    if person is None:
        return None
    name = " ".join(part for part in (person.first_name, person.last_name) if part)
    return name or None


def identified_user_sessions(
    shop_id: int, customer_id: int | None, *, limit: int = 20, events_per_session: int = 200
) -> dict[str, Any]:
    """Identified customers' latest sessions (one customer's when given), each with its events."""
    where = [VisitSession.shop_id == shop_id, VisitSession.customer_id.is_not(None)]
    if customer_id is not None:
        where.append(VisitSession.customer_id == customer_id)
    session = read_session()
    visits = session.scalars(
        select(VisitSession).where(*where).order_by(VisitSession.started_at.desc()).limit(limit)
    ).all()
    events: dict[int, list[dict[str, Any]]] = {visit.id: [] for visit in visits}
    if visits:
        rows = session.scalars(
            select(Event)
            .where(Event.shop_id == shop_id, Event.session_id.in_(list(events)))
            .order_by(Event.occurred_at, Event.id)
        )
        for event in rows:
            bucket = events[event.session_id]
            if len(bucket) < events_per_session:
                bucket.append(
                    {
                        "type": event.type,
                        "occurred_at": event.occurred_at.isoformat(),
                        "product_id": event.product_id,
                        "url": event.url,
                    }
                )
    return {
        "sessions": [
            {
                "session_id": visit.id,
                "customer_id": visit.customer_id,
                "started_at": visit.started_at.isoformat(),
                "last_event_at": visit.last_event_at.isoformat(),
                "device": visit.device,
                "revenue": round(float(visit.revenue or 0), 2),
                "events": events[visit.id],
            }
            for visit in visits
        ]
    }
