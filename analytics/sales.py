"""An order's entries in the sales reports, by Shopify's definitions, rebuilt from what Shopify sent.

- The sale, on the day the order was placed (`processed_at`): gross sales (line price x quantity),
  discounts, shipping and taxes; total sales = gross - discounts + shipping + taxes.
- Each refund, on the day it was processed: returns (the refunded lines' value after their
  discounts), refunded shipping and taxes, as negatives.
- A cancellation, on the day of the cancellation: whatever of the sale the refunds have not
  already returned, so a cancelled order nets to zero over all days.
- Test orders have no entries. Amounts are `shop_money`, the shop's currency.

Every entry is rebuilt from the order's latest state, so any order of delivery gives the same rows.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, select

from analytics.models import Order
from analytics.reports.period import shop_zone
from analytics.sales_models import ZERO, OrderSale
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop


def shop_amount(payload: dict[str, Any], field: str) -> Decimal:
    """The shop-currency amount of `field` (`<field>_set.shop_money`, else the plain field), or 0."""
    money_set = payload.get(f"{field}_set")
    if isinstance(money_set, dict):
        shop_money = money_set.get("shop_money") or {}
        if isinstance(shop_money, dict) and shop_money.get("amount") not in (None, ""):
            return _decimal(shop_money["amount"])
    return _decimal(payload.get(field))


def _decimal(value: Any) -> Decimal:
    if value in (None, ""):
        return ZERO
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return ZERO


def _local_day(shop_id: int, moment: datetime) -> Any:
    shop = db.session.get(Shop, shop_id)
    zone = shop_zone(shop.timezone if shop else None)
    return moment.replace(tzinfo=shop_zone("UTC")).astimezone(zone).date()


def sale_amounts(payload: dict[str, Any]) -> dict[str, Decimal]:
    """Gross sales, discounts, shipping, taxes and total sales of an order as placed."""
    gross = sum(
        (
            shop_amount(item, "price") * int(item.get("quantity") or 0)
            for item in payload.get("line_items") or []
            if isinstance(item, dict)
        ),
        ZERO,
    )
    taxes = shop_amount(payload, "total_tax")
    if payload.get("taxes_included"):  # prices include the tax; Shopify's gross sales do not
        gross -= taxes
    discounts = shop_amount(payload, "total_discounts")
    shipping = shop_amount(payload, "total_shipping_price")
    return {
        "gross_sales": gross,
        "discounts": discounts,
        "returns": ZERO,
        "shipping": shipping,
        "taxes": taxes,
        "total_sales": gross - discounts + shipping + taxes,
    }


def refund_amounts(refund: dict[str, Any]) -> dict[str, Decimal]:
    """Returns, refunded shipping and taxes of one refund (shipping and taxes negative)."""
    lines = [item for item in refund.get("refund_line_items") or [] if isinstance(item, dict)]
    returns = sum((shop_amount(item, "subtotal") for item in lines), ZERO)
    taxes = -sum((shop_amount(item, "total_tax") for item in lines), ZERO)
    shipping_lines = [line for line in refund.get("refund_shipping_lines") or [] if isinstance(line, dict)]
    if shipping_lines:
        shipping = -sum((shop_amount(line, "subtotal_amount") for line in shipping_lines), ZERO)
    else:  # older API versions record a shipping refund only as an order adjustment (negative)
        shipping = sum(
            (
                shop_amount(adjustment, "amount")
                for adjustment in refund.get("order_adjustments") or []
                if isinstance(adjustment, dict) and adjustment.get("kind") == "shipping_refund"
            ),
            ZERO,
        )
        taxes += sum(
            (
                shop_amount(adjustment, "tax_amount")
                for adjustment in refund.get("order_adjustments") or []
                if isinstance(adjustment, dict) and adjustment.get("kind") == "shipping_refund"
            ),
            ZERO,
        )
    return {
        "gross_sales": ZERO,
        "discounts": ZERO,
        "returns": returns,
        "shipping": shipping,
        "taxes": taxes,
        "total_sales": -returns + shipping + taxes,
    }


def _put(order: Order, entry: str, moment: datetime, amounts: dict[str, Decimal], *, orders: int = 0) -> None:
    row = db.session.execute(
        select(OrderSale).where(OrderSale.order_id == order.id, OrderSale.entry == entry)
    ).scalar_one_or_none()
    if row is None:
        row = OrderSale(shop_id=order.shop_id, order_id=order.id, entry=entry)
        db.session.add(row)
    row.occurred_at = moment
    row.day = _local_day(order.shop_id, moment)
    row.orders = orders
    for name, value in amounts.items():
        setattr(row, name, value)


def record_refund_entry(order: Order, refund: dict[str, Any]) -> None:
    """Put one refund of the order in the sales reports, on the day it was processed (idempotent)."""
    from analytics.orders import parse_time, shopify_id

    if order.test or refund.get("id") in (None, ""):
        return
    refund_id = shopify_id(refund["id"], refund.get("admin_graphql_api_id"))
    moment = parse_time(refund.get("processed_at")) or parse_time(refund.get("created_at"))
    _put(order, f"refund:{refund_id}", moment or order.processed_at, refund_amounts(refund))
    db.session.flush()
    settle_cancellation(order)


def record_sale_entries(order: Order, payload: dict[str, Any]) -> None:
    """Rebuild the order's sale, the refunds its payload lists, and its cancellation."""
    if order.test:
        db.session.execute(delete(OrderSale).where(OrderSale.order_id == order.id))
        return
    _put(order, "sale", order.processed_at, sale_amounts(payload), orders=1)
    db.session.flush()
    for refund in payload.get("refunds") or []:
        if isinstance(refund, dict):
            record_refund_entry(order, refund)
    settle_cancellation(order)


def settle_cancellation(order: Order) -> None:
    """A cancelled order returns, on the day of its cancellation, what its refunds have not."""
    rows = db.session.scalars(select(OrderSale).where(OrderSale.order_id == order.id)).all()
    cancellation = next((row for row in rows if row.entry == "cancellation"), None)
    if order.cancelled_at is None:
        if cancellation is not None:
            db.session.delete(cancellation)
        return
    kept = [row for row in rows if row.entry != "cancellation"]
    left = {
        "returns": sum((row.gross_sales - row.discounts - row.returns for row in kept), ZERO),
        "shipping": -sum((row.shipping for row in kept), ZERO),
        "taxes": -sum((row.taxes for row in kept), ZERO),
    }
    amounts = {
        "gross_sales": ZERO,
        "discounts": ZERO,
        **left,
        "total_sales": -left["returns"] + left["shipping"] + left["taxes"],
    }
    _put(order, "cancellation", order.cancelled_at, amounts)
    db.session.flush()
