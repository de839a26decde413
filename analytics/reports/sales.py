"""Sales, from orders (Shopify's webhooks, reconciled daily), by Shopify's definitions.

Orders, gross sales, discounts, returns, net sales, shipping, taxes and total sales are sums of
`order_sales` entries on the period's days: a sale on the day its order was placed, a refund on the
day it was processed, a cancellation on the day the order was cancelled (README, "Metric
definitions"). Orders no session saw (blocked tracker, declined consent, POS, draft orders) count
in every total and are shown apart as `unattributed`, by channel (`source_name`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import distinct, func, select

from analytics.models import DailySessionMetric, Order
from analytics.reports.period import Period, ratio
from analytics.reports.sql import as_int, reader
from analytics.reports.traffic import series
from analytics.sales_models import ZERO, OrderSale
from shopify_app.core.models import Shop

AMOUNTS = ("gross_sales", "discounts", "returns", "shipping", "taxes", "total_sales")


def _money(value: Any) -> float:
    return round(float(value or 0), 2)


def total_sales_by_day(shop_id: int, period: Period) -> dict[date, Decimal]:
    """Each day's total sales (the days with any sale, refund or cancellation)."""
    rows = reader().execute(
        select(OrderSale.day, func.sum(OrderSale.total_sales))
        .where(OrderSale.shop_id == shop_id, OrderSale.day.between(period.start, period.end))
        .group_by(OrderSale.day)
    )
    return {day: Decimal(total or 0) for day, total in rows}


def sales(shop_id: int, period: Period) -> dict[str, Any]:
    """Orders and sales of the period, average order value, purchasing sessions, conversion rate,
    and the orders no session saw."""
    session = reader()
    in_period = (OrderSale.shop_id == shop_id, OrderSale.day.between(period.start, period.end))
    sums = [func.sum(getattr(OrderSale, name)) for name in AMOUNTS]
    per_day: dict[date, dict[str, float]] = {}
    totals = dict.fromkeys(AMOUNTS, ZERO)
    orders = 0
    for day, count, *amounts in session.execute(
        select(OrderSale.day, func.sum(OrderSale.orders), *sums).where(*in_period).group_by(OrderSale.day)
    ):
        orders += as_int(count)
        values = dict(zip(AMOUNTS, (Decimal(value or 0) for value in amounts), strict=True))
        for name, value in values.items():
            totals[name] += value
        net = values["gross_sales"] - values["discounts"] - values["returns"]
        per_day[day] = {
            "orders": as_int(count),
            "net_sales": _money(net),
            "total_sales": _money(values["total_sales"]),
        }
    # Shopify's AOV: (gross sales - discounts) of the orders placed in the period ÷ those orders,
    # before any later return (https://changelog.shopify.com/posts/your-average-order-value-now-has-a-new-definition-in-shopify)
    placed = session.execute(
        select(func.sum(OrderSale.gross_sales - OrderSale.discounts)).where(
            *in_period, OrderSale.entry == "sale"
        )
    ).scalar()
    sessions = as_int(
        session.scalar(
            select(func.sum(DailySessionMetric.sessions)).where(
                DailySessionMetric.shop_id == shop_id,
                DailySessionMetric.day.between(period.start, period.end),
            )
        )
    )
    purchasing = as_int(
        session.scalar(
            select(func.count(distinct(Order.session_id)))
            .select_from(OrderSale)
            .join(Order, Order.id == OrderSale.order_id)
            .where(*in_period, OrderSale.entry == "sale", Order.session_id.is_not(None))
        )
    )
    net_sales = totals["gross_sales"] - totals["discounts"] - totals["returns"]
    result: dict[str, Any] = {
        "orders": orders,
        **{name: _money(value) for name, value in totals.items()},
        "net_sales": _money(net_sales),
        "average_order_value": _money(Decimal(placed or 0) / orders) if orders else 0.0,
        "sessions": sessions,
        "purchasing_sessions": purchasing,
        "conversion_rate": ratio(purchasing, sessions),
        "currency": _currency(shop_id),
        "channels": _channels(shop_id, period),
        "unattributed": _unattributed(shop_id, period),
    }
    if period.interval:
        result["series"] = series(period, per_day, ("orders", "net_sales", "total_sales"))
    return result


def _channel_rows(shop_id: int, period: Period, *, unattributed: bool) -> list[dict[str, Any]]:
    conditions = [OrderSale.shop_id == shop_id, OrderSale.day.between(period.start, period.end)]
    if unattributed:
        conditions.append(Order.session_id.is_(None))
    rows = reader().execute(
        select(Order.source_name, func.sum(OrderSale.orders), func.sum(OrderSale.total_sales))
        .select_from(OrderSale)
        .join(Order, Order.id == OrderSale.order_id)
        .where(*conditions)
        .group_by(Order.source_name)
    )
    items = [
        {"channel": channel or "unknown", "orders": as_int(count), "total_sales": _money(total)}
        for channel, count, total in rows
    ]
    return sorted(items, key=lambda item: (-item["orders"], -item["total_sales"], item["channel"]))


def _channels(shop_id: int, period: Period) -> list[dict[str, Any]]:
    return _channel_rows(shop_id, period, unattributed=False)


def _unattributed(shop_id: int, period: Period) -> dict[str, Any]:
    channels = _channel_rows(shop_id, period, unattributed=True)
    return {
        "orders": sum(item["orders"] for item in channels),
        "total_sales": round(sum(item["total_sales"] for item in channels), 2),
        "channels": channels,
    }


def _currency(shop_id: int) -> str | None:
    """The shop's currency (amounts are `shop_money`), else as its latest order states it."""
    currency: str | None = reader().scalar(select(Shop.currency).where(Shop.id == shop_id))
    return currency or reader().scalar(
        select(Order.currency)
        .where(Order.shop_id == shop_id, Order.currency.is_not(None))
        .order_by(Order.id.desc())
        .limit(1)
    )
