"""Reconciliation with Shopify: each day's orders and sales against the GraphQL Admin API.

A webhook Shopify gave up on (8 failed deliveries), or one lost on our side, leaves an order out of
every report. Once a day, for each recent day, this reads the orders Shopify created that day
(`orders` query by `created_at`, page by page, waiting out THROTTLED answers in the client), stores
every order we lack or hold an older version of, through the same code as the webhooks, and keeps
the day's drift: orders and sales (of the orders placed that day) as we had them and as Shopify
has them, and how many orders were restored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from analytics.models import Order
from analytics.orders import parse_time, record_order, shopify_id
from analytics.reports.period import Period, shop_today
from analytics.sales import sale_amounts
from analytics.sales_models import ZERO, OrderSale, SalesDrift
from shopify_app.core.extensions import db
from shopify_app.core.graphql import graphql
from shopify_app.core.models import Shop
from shopify_app.core.types import utcnow

log = logging.getLogger(__name__)

# Shopify's cost of a page grows with `first` times the nested connections; 5 orders with these
# nested sizes stay well under the 1,000-point bucket.
ORDERS_PAGE_SIZE = 5
DAYS_CHECKED = 3  # yesterday and the two days before: late webhooks land within a day or two

_MONEY = "shopMoney { amount currencyCode }"
ORDERS_QUERY = f"""
query ReconcileOrders($first: Int!, $after: String, $query: String!) {{
  orders(first: $first, after: $after, query: $query, sortKey: CREATED_AT) {{
    edges {{
      cursor
      node {{
        id name createdAt processedAt updatedAt cancelledAt test sourceName taxesIncluded currencyCode
        displayFinancialStatus
        totalPriceSet {{ {_MONEY} }}
        subtotalPriceSet {{ {_MONEY} }}
        totalDiscountsSet {{ {_MONEY} }}
        totalShippingPriceSet {{ {_MONEY} }}
        totalTaxSet {{ {_MONEY} }}
        customAttributes {{ key value }}
        customer {{ id }}
        lineItems(first: 50) {{
          nodes {{ id title quantity product {{ id }} variant {{ id }} originalUnitPriceSet {{ {_MONEY} }} }}
        }}
        refunds(first: 5) {{
          id createdAt
          refundLineItems(first: 20) {{ nodes {{ quantity subtotalSet {{ {_MONEY} }} totalTaxSet {{ {_MONEY} }} }} }}
          refundShippingLines(first: 2) {{ nodes {{ subtotalAmountSet {{ {_MONEY} }} }} }}
        }}
      }}
    }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""


@dataclass
class DayCheck:
    """What one day's reconciliation found and did."""

    day: date
    our_orders: int
    shopify_orders: int
    our_sales: Decimal
    shopify_sales: Decimal
    restored_orders: int
    updated_orders: int


def _money_set(value: Any) -> dict[str, Any]:
    shop_money = (value or {}).get("shopMoney") or {}
    return {
        "shop_money": {"amount": shop_money.get("amount"), "currency_code": shop_money.get("currencyCode")}
    }


def _nodes(connection: Any) -> list[dict[str, Any]]:
    return [node for node in (connection or {}).get("nodes") or [] if isinstance(node, dict)]


def order_payload(node: dict[str, Any]) -> dict[str, Any]:
    """The GraphQL order in the webhook's (REST) shape, so both go through `record_order`."""
    customer = node.get("customer") or None
    return {
        "id": node["id"],
        "admin_graphql_api_id": node["id"],
        "name": node.get("name"),
        "created_at": node.get("createdAt"),
        "processed_at": node.get("processedAt"),
        "updated_at": node.get("updatedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "test": bool(node.get("test")),
        "source_name": node.get("sourceName"),
        "taxes_included": bool(node.get("taxesIncluded")),
        "currency": node.get("currencyCode"),
        "financial_status": str(node.get("displayFinancialStatus") or "").lower() or None,
        "total_price_set": _money_set(node.get("totalPriceSet")),
        "subtotal_price_set": _money_set(node.get("subtotalPriceSet")),
        "total_discounts_set": _money_set(node.get("totalDiscountsSet")),
        "total_shipping_price_set": _money_set(node.get("totalShippingPriceSet")),
        "total_tax_set": _money_set(node.get("totalTaxSet")),
        "note_attributes": [
            {"name": attribute.get("key"), "value": attribute.get("value")}
            for attribute in node.get("customAttributes") or []
            if isinstance(attribute, dict)
        ],
        "customer": {"id": customer["id"], "admin_graphql_api_id": customer["id"]} if customer else None,
        "line_items": [
            {
                "id": item.get("id"),
                "title": item.get("title"),
                "quantity": item.get("quantity"),
                "product_id": (item.get("product") or {}).get("id"),
                "variant_id": (item.get("variant") or {}).get("id"),
                "price_set": _money_set(item.get("originalUnitPriceSet")),
            }
            for item in _nodes(node.get("lineItems"))
        ],
        "refunds": [
            {
                "id": refund["id"],
                "admin_graphql_api_id": refund["id"],
                "created_at": refund.get("createdAt"),
                "refund_line_items": [
                    {
                        "quantity": line.get("quantity"),
                        "subtotal_set": _money_set(line.get("subtotalSet")),
                        "total_tax_set": _money_set(line.get("totalTaxSet")),
                    }
                    for line in _nodes(refund.get("refundLineItems"))
                ],
                "refund_shipping_lines": [
                    {"subtotal_amount_set": _money_set(line.get("subtotalAmountSet"))}
                    for line in _nodes(refund.get("refundShippingLines"))
                ],
            }
            for refund in node.get("refunds") or []
            if isinstance(refund, dict) and refund.get("id")
        ],
    }


def shopify_orders(shop: Shop, day: date) -> list[dict[str, Any]]:
    """Every order Shopify created on the shop's local `day`, as webhook-shaped payloads."""
    since, until = Period(day, day, shop.timezone or "UTC").utc_bounds()
    search = f"created_at:>='{since.isoformat()}Z' AND created_at:<'{until.isoformat()}Z'"
    payloads: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        data = graphql(shop, ORDERS_QUERY, {"first": ORDERS_PAGE_SIZE, "after": after, "query": search})
        connection = data.get("orders") or {}
        payloads.extend(order_payload(edge["node"]) for edge in connection.get("edges") or [])
        page = connection.get("pageInfo") or {}
        if not page.get("hasNextPage") or not page.get("endCursor"):
            return payloads
        after = page["endCursor"]


def _our_day(shop_id: int, day: date) -> tuple[int, Decimal]:
    orders, sales = db.session.execute(
        select(func.sum(OrderSale.orders), func.sum(OrderSale.total_sales)).where(
            OrderSale.shop_id == shop_id, OrderSale.day == day, OrderSale.entry == "sale"
        )
    ).one()
    return int(orders or 0), Decimal(sales or 0).quantize(Decimal("0.01"))


def reconcile_orders_day(shop: Shop, day: date) -> DayCheck:
    """Compare one day with Shopify, store the orders we lack or hold older, keep the drift. Commits."""
    payloads = shopify_orders(shop, day)
    our_orders, our_sales = _our_day(shop.id, day)
    counted = [payload for payload in payloads if not payload["test"]]
    check = DayCheck(
        day=day,
        our_orders=our_orders,
        shopify_orders=len(counted),
        our_sales=our_sales,
        shopify_sales=sum((sale_amounts(payload)["total_sales"] for payload in counted), ZERO),
        restored_orders=0,
        updated_orders=0,
    )
    for payload in payloads:
        order_id = shopify_id(payload["id"], payload["admin_graphql_api_id"])
        kept = db.session.execute(
            select(Order).where(Order.shop_id == shop.id, Order.shopify_id == order_id)
        ).scalar_one_or_none()
        newer = parse_time(payload["updated_at"])
        if kept is None:
            check.restored_orders += 1
        elif _outdated(kept, newer):
            check.updated_orders += 1
        else:
            continue
        record_order(shop.id, payload)
    _keep_drift(shop.id, check)
    db.session.commit()
    if check.restored_orders or check.updated_orders:
        log.info(
            "reconciliation restored %d and updated %d orders of %s",
            check.restored_orders,
            check.updated_orders,
            day.isoformat(),
        )
    return check


def _outdated(kept: Order, shopify_updated_at: Any) -> bool:
    """Shopify holds a newer version, or the order predates its sales entries (migration 0018)."""
    known, newer = kept.shopify_updated_at, shopify_updated_at
    if known is not None and newer is not None and newer > known:
        return True
    if kept.test:
        return False
    has_sale = db.session.scalar(
        select(func.count()).where(OrderSale.order_id == kept.id, OrderSale.entry == "sale")
    )
    return not has_sale


def _keep_drift(shop_id: int, check: DayCheck) -> None:
    row = db.session.execute(
        select(SalesDrift).where(SalesDrift.shop_id == shop_id, SalesDrift.day == check.day)
    ).scalar_one_or_none()
    if row is None:
        row = SalesDrift(shop_id=shop_id, day=check.day)
        db.session.add(row)
    row.our_orders, row.shopify_orders = check.our_orders, check.shopify_orders
    row.our_sales, row.shopify_sales = check.our_sales, check.shopify_sales
    row.restored_orders = check.restored_orders
    row.checked_at = utcnow()


def reconcile_recent_orders(shop: Shop, *, days: int = DAYS_CHECKED) -> list[DayCheck]:
    """The scheduled run: the last `days` whole days in the shop's time zone, oldest first."""
    today = shop_today(shop)
    return [reconcile_orders_day(shop, today - timedelta(days=back)) for back in range(days, 0, -1)]


def drift_report(shop_id: int, period: Period) -> list[dict[str, Any]]:
    """The checked days of the period, newest first, with our numbers as found and Shopify's."""
    rows = db.session.scalars(
        select(SalesDrift)
        .where(SalesDrift.shop_id == shop_id, SalesDrift.day.between(period.start, period.end))
        .order_by(SalesDrift.day.desc())
    ).all()
    return [
        {
            "day": row.day.isoformat(),
            "orders": {"ours": row.our_orders, "shopify": row.shopify_orders},
            "total_sales": {"ours": float(row.our_sales), "shopify": float(row.shopify_sales)},
            "drift": row.our_orders != row.shopify_orders or row.our_sales != row.shopify_sales,
            "restored_orders": row.restored_orders,
            "checked_at": row.checked_at.isoformat(),
        }
        for row in rows
    ]
