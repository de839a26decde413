"""Identity stitching: visitors (browsers) and the customers they turn out to be.

Only what Shopify signs links a visitor to a customer: a login vouched for by the app proxy (an
`identify` event carrying a valid identity token, `analytics.identity_tokens`) or an order webhook
carrying the visitor id in its cart attributes. A customer id a browser merely sends is a claim,
stored with the event and never used to link. A customer's visitors on several devices then count
as one identified user.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from analytics.models import Visitor, VisitorCustomer
from shopify_app.core.extensions import db
from shopify_app.core.models import Customer
from shopify_app.core.types import utcnow


def find_visitor(shop_id: int, visitor_key: str) -> Visitor | None:
    """The visitor with this tracker id in this shop."""
    return db.session.execute(
        select(Visitor).where(Visitor.shop_id == shop_id, Visitor.visitor_key == visitor_key)
    ).scalar_one_or_none()


def get_or_create_visitor(shop_id: int, visitor_key: str, *, seen_at: datetime | None = None) -> Visitor:
    """The visitor with this tracker id, created on first sight (flushes, never commits)."""
    visitor = find_visitor(shop_id, visitor_key)
    if visitor is None:
        when = seen_at or utcnow()
        visitor = Visitor(shop_id=shop_id, visitor_key=visitor_key, first_seen_at=when, last_seen_at=when)
        db.session.add(visitor)
        db.session.flush()
    return visitor


def get_or_create_customer(shop_id: int, shopify_customer_id: int) -> Customer:
    """The customer with this Shopify id, created on first sight (flushes, never commits)."""
    customer = db.session.execute(
        select(Customer).where(Customer.shop_id == shop_id, Customer.shopify_id == shopify_customer_id)
    ).scalar_one_or_none()
    if customer is None:
        customer = Customer(shop_id=shop_id, shopify_id=shopify_customer_id)
        db.session.add(customer)
        db.session.flush()
    return customer


def link_visitor_to_customer(visitor: Visitor, customer: Customer, *, source: str) -> bool:
    """Record that `visitor` is `customer` ('login' or 'order'); True when the link is new."""
    visitor.customer_id = customer.id
    exists = db.session.execute(
        select(VisitorCustomer.id).where(
            VisitorCustomer.visitor_id == visitor.id, VisitorCustomer.customer_id == customer.id
        )
    ).first()
    if exists:
        return False
    db.session.add(
        VisitorCustomer(
            shop_id=visitor.shop_id, visitor_id=visitor.id, customer_id=customer.id, source=source
        )
    )
    db.session.flush()
    return True
