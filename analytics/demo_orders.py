"""The demo shop's orders: on a real store each purchase comes with Shopify's order webhook; the
demo's imported history has only the browser's purchase events, so the demo makes the order Shopify
would have sent for each one (money is read from orders only)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from analytics.models import Event, Visitor
from analytics.orders import VISITOR_ATTRIBUTE, record_order
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop


def _money_set(amount: Decimal, currency: str) -> dict[str, Any]:
    money = {"amount": f"{amount:.2f}", "currency_code": currency}
    return {"shop_money": money, "presentment_money": dict(money)}


def demo_order_payload(event: Event, visitor_key: str, currency: str) -> dict[str, Any]:
    """An orders/create body for a purchase event: its items, at its time, naming its visitor."""
    number = int(uuid.UUID(str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo-order:{event.event_id}"))).hex[:12], 16)
    lines = []
    gross = Decimal("0.00")
    for index, item in enumerate((event.props or {}).get("items") or []):
        price = Decimal(str(item.get("price") or 0)).quantize(Decimal("0.01"))
        quantity = int(item.get("quantity") or 1)
        gross += price * quantity
        lines.append(
            {
                "id": number * 10 + index,
                "product_id": int(item["product_id"]),
                "title": f"Product {item['product_id']}",
                "quantity": quantity,
                "price": f"{price:.2f}",
                "price_set": _money_set(price, currency),
            }
        )
    placed = event.occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # the event's own instant
    zero = _money_set(Decimal("0.00"), currency)
    return {
        "id": number,
        "admin_graphql_api_id": f"gid://shopify/Order/{number}",
        "name": f"#D{number % 100000}",
        "created_at": placed,
        "processed_at": placed,
        "updated_at": placed,
        "test": False,
        "source_name": "web",
        "currency": currency,
        "financial_status": "paid",
        "line_items": lines,
        "total_price": f"{gross:.2f}",
        "total_price_set": _money_set(gross, currency),
        "subtotal_price_set": _money_set(gross, currency),
        "total_discounts_set": zero,
        "total_shipping_price_set": zero,
        "total_tax_set": zero,
        "note_attributes": [{"name": VISITOR_ATTRIBUTE, "value": visitor_key}],
    }


def record_demo_orders(shop: Shop) -> int:
    """Record an order for every purchase event of the shop (idempotent: the same ids each run). Commits."""
    rows = db.session.execute(
        select(Event, Visitor.visitor_key)
        .join(Visitor, Visitor.id == Event.visitor_id)
        .where(Event.shop_id == shop.id, Event.type == "purchase")
        .order_by(Event.occurred_at)
    ).all()
    for event, visitor_key in rows:
        record_order(shop.id, demo_order_payload(event, visitor_key, shop.currency or "USD"))
    db.session.commit()
    return len(rows)
