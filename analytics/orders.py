"""Orders from Shopify webhooks, recorded once per order and joined back to the visitor.

The tracker writes its visitor id into the cart attributes (`_clickstream_visitor`); Shopify
copies cart attributes to the order's `note_attributes`, so an order names the browser it came
from and links that visitor to the customer.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, select

from analytics.identity import get_or_create_customer, get_or_create_visitor, link_visitor_to_customer
from analytics.models import Order, OrderLine, VisitSession
from analytics.sales import record_refund_entry, record_sale_entries, shop_amount
from shopify_app.core.extensions import db
from shopify_app.core.types import utcnow

VISITOR_ATTRIBUTE = "_clickstream_visitor"
log = logging.getLogger(__name__)


def shopify_id(value: Any, gid: Any = None) -> int:
    """The numeric id, preferring the exact `gid://shopify/Type/123` (REST ids above 2^53 are rounded)."""
    for candidate in (gid, value):
        if isinstance(candidate, str) and "/" in candidate:
            return int(candidate.rsplit("/", 1)[1])
    return int(value)


def _optional_id(value: Any, gid: Any = None) -> int | None:
    return shopify_id(value, gid) if value not in (None, "") or gid else None


def money(value: Any) -> Decimal | None:
    """A price from Shopify's string form, or None."""
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def parse_time(value: Any) -> datetime | None:
    """A naive-UTC datetime from Shopify's ISO 8601 form, or None."""
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def visitor_key_of(payload: dict[str, Any]) -> str | None:
    """The tracker's visitor id from the order's note (cart) attributes, if present."""
    for attribute in payload.get("note_attributes") or []:
        if isinstance(attribute, dict) and attribute.get("name") == VISITOR_ATTRIBUTE:
            value = str(attribute.get("value") or "").strip()
            return value[:64] or None
    return None


def _attach_customer(shop_id: int, order: Order, payload: dict[str, Any]) -> None:
    data = payload.get("customer") or {}
    customer_id = _optional_id(data.get("id"), data.get("admin_graphql_api_id"))
    if customer_id is None:
        return
    customer = get_or_create_customer(shop_id, customer_id)
    if customer.redacted_at is None:
        customer.email = data.get("email") or customer.email
        customer.first_name = data.get("first_name") or customer.first_name
        customer.last_name = data.get("last_name") or customer.last_name
    order.customer_id = customer.id


def _attach_visitor(shop_id: int, order: Order, payload: dict[str, Any]) -> None:
    key = visitor_key_of(payload)
    if key is None:
        return
    visitor = get_or_create_visitor(shop_id, key)
    order.visitor_id = visitor.id
    if order.customer_id is not None:
        from shopify_app.core.models import Customer

        customer = db.session.get(Customer, order.customer_id)
        if customer is not None:
            link_visitor_to_customer(visitor, customer, source="order")
    order.session_id = db.session.execute(
        select(VisitSession.id)
        .where(VisitSession.shop_id == shop_id, VisitSession.visitor_id == visitor.id)
        .where(VisitSession.started_at <= (order.processed_at or utcnow()))
        .order_by(VisitSession.started_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def record_order(shop_id: int, payload: dict[str, Any]) -> Order:
    """Create or update the order from an `orders/*` payload; an older version never wins."""
    order_shopify_id = shopify_id(payload["id"], payload.get("admin_graphql_api_id"))
    updated_at = parse_time(payload.get("updated_at"))
    order = db.session.execute(
        select(Order).where(Order.shop_id == shop_id, Order.shopify_id == order_shopify_id)
    ).scalar_one_or_none()
    if order is None:
        order = Order(shop_id=shop_id, shopify_id=order_shopify_id)
        db.session.add(order)
    elif order.shopify_updated_at and updated_at and updated_at < order.shopify_updated_at:
        return order
    order.name = payload.get("name")
    # the shop's currency (`shop_money`), whatever currency the buyer paid in
    order.total_price = shop_amount(payload, "total_price")
    order.subtotal_price = shop_amount(payload, "subtotal_price")
    order.currency = _shop_currency(payload)
    order.source_name = str(payload.get("source_name") or "")[:64] or None
    order.test = bool(payload.get("test"))
    order.financial_status = payload.get("financial_status")
    order.cancelled_at = parse_time(payload.get("cancelled_at"))
    order.processed_at = (
        parse_time(payload.get("processed_at")) or parse_time(payload.get("created_at")) or utcnow()
    )
    order.shopify_updated_at = updated_at
    _attach_customer(shop_id, order, payload)
    db.session.flush()
    _attach_visitor(shop_id, order, payload)
    db.session.execute(delete(OrderLine).where(OrderLine.order_id == order.id))
    for item in payload.get("line_items") or []:
        db.session.add(
            OrderLine(
                shop_id=shop_id,
                order_id=order.id,
                product_id=_optional_id(item.get("product_id")),
                variant_id=_optional_id(item.get("variant_id")),
                title=(item.get("title") or "")[:512] or None,
                quantity=int(item.get("quantity") or 1),
                price=shop_amount(item, "price"),
            )
        )
    db.session.flush()
    record_sale_entries(order, payload)
    return order


def _shop_currency(payload: dict[str, Any]) -> str | None:
    shop_money = (payload.get("total_price_set") or {}).get("shop_money") or {}
    currency = shop_money.get("currency_code") or payload.get("currency")
    return str(currency)[:3] if currency else None


def record_refund(shop_id: int, payload: dict[str, Any]) -> Order | None:
    """A `refunds/create`: the refund's returns count on the day it was processed. A refund of an
    order not received yet is left to that order's own webhook (its `refunds` list) or to the
    daily reconciliation with Shopify; None then."""
    order = db.session.execute(
        select(Order).where(Order.shop_id == shop_id, Order.shopify_id == shopify_id(payload["order_id"]))
    ).scalar_one_or_none()
    if order is None:
        log.info("refund for an order not received yet; its order webhook will carry it")
        return None
    record_refund_entry(order, payload)
    return order
