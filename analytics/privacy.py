"""Privacy requests: export or erase one customer's data, delete a shop's data.

Tables are discovered from `db.metadata`, so a table added later by any package is covered:
every column referring to `customers.id` (by foreign key, or by `info[REFERENCES]` where the
table goes without keys) is cleared (or its row deleted when it cannot be null),
and every table with a `shop_id` column is emptied for a deleted shop.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, delete, inspect, select, update

from analytics.models import REFERENCES, Order, OrderLine, Visitor
from shopify_app.core.extensions import db
from shopify_app.core.models import Customer, Shop


def _find_customer(shop_id: int, shopify_customer_id: int) -> Customer | None:
    return db.session.execute(
        select(Customer).where(Customer.shop_id == shop_id, Customer.shopify_id == shopify_customer_id)
    ).scalar_one_or_none()


def export_customer(shop_id: int, shopify_customer_id: int) -> dict[str, Any]:
    """Everything we hold on one customer (a `customers/data_request`)."""
    customer = _find_customer(shop_id, shopify_customer_id)
    if customer is None:
        return {"customer": None, "orders": [], "visitors": []}
    orders = db.session.execute(
        select(Order).where(Order.shop_id == shop_id, Order.customer_id == customer.id)
    ).scalars()
    visitors = db.session.execute(
        select(Visitor.visitor_key).where(Visitor.shop_id == shop_id, Visitor.customer_id == customer.id)
    ).scalars()
    return {
        "customer": {
            "shopify_id": customer.shopify_id,
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "tags": customer.tags,
        },
        "orders": [
            {
                "shopify_id": order.shopify_id,
                "name": order.name,
                "total_price": str(order.total_price),
                "currency": order.currency,
                "processed_at": order.processed_at.isoformat(),
                "lines": [
                    {"product_id": line.product_id, "title": line.title, "quantity": line.quantity}
                    for line in db.session.execute(
                        select(OrderLine).where(OrderLine.order_id == order.id)
                    ).scalars()
                ],
            }
            for order in orders
        ],
        "visitors": list(visitors),
    }


def _existing_tables() -> list[Table]:
    """The metadata's tables that the database has (a model shipped ahead of its migration is skipped)."""
    present = set(inspect(db.session.connection()).get_table_names())
    return [table for table in db.metadata.sorted_tables if table.name in present]


def _customer_references() -> list[tuple[Table, Any]]:
    references = []
    for table in _existing_tables():
        for column in table.columns:
            parents = {fk.column.table.name for fk in column.foreign_keys} | {column.info.get(REFERENCES)}
            if Customer.__tablename__ in parents:
                references.append((table, column))
    return references


def erase_customer(shop_id: int, shopify_customer_id: int, order_ids: list[int] | None = None) -> bool:
    """Erase one customer's personal data everywhere (a `customers/redact`); flushes."""
    if order_ids:
        db.session.execute(
            update(Order)
            .where(Order.shop_id == shop_id, Order.shopify_id.in_(order_ids))
            .values(customer_id=None, visitor_id=None, session_id=None)
        )
    customer = _find_customer(shop_id, shopify_customer_id)
    if customer is None:
        db.session.flush()
        return False
    for table, column in _customer_references():
        condition = column == customer.id
        if column.nullable:
            db.session.execute(update(table).where(condition).values({column.name: None}))
        else:
            db.session.execute(delete(table).where(condition))
    db.session.execute(delete(Customer.__table__).where(Customer.__table__.c.id == customer.id))
    db.session.expire_all()
    db.session.flush()
    return True


def delete_shop_data(shop_id: int) -> dict[str, int]:
    """Delete every row of the shop in every table, then the shop itself (a `shop/redact`)."""
    counts: dict[str, int] = {}
    for table in reversed(_existing_tables()):
        if "shop_id" in table.columns:
            result = db.session.execute(delete(table).where(table.c.shop_id == shop_id))
            counts[table.name] = int(getattr(result, "rowcount", 0) or 0)
    db.session.execute(delete(Shop.__table__).where(Shop.__table__.c.id == shop_id))
    db.session.expire_all()
    db.session.flush()
    return counts
