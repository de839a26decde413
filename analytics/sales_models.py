"""Sales as Shopify's reports count them: one row per order sale, refund and cancellation, on its day.

Shopify's sales reports put a sale on the day the order was placed and a return on the day it was
processed; a cancelled order is a sale on its day and a return on the day of the cancellation
(https://help.shopify.com/manual/reports-and-analytics/shopify-reports/report-types/sales-report).
`order_sales` keeps exactly those entries, rebuilt from each order or refund webhook, so a day's
totals are a plain sum. `sales_drifts` holds what the daily reconciliation with Shopify found.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shopify_app.core.extensions import db
from shopify_app.core.types import BigId, Money, Timestamp, utcnow

ZERO = Decimal("0.00")


class OrderSale(db.Model):  # type: ignore[name-defined]
    """One entry of an order in the sales reports: its sale, a refund, or its cancellation.

    Amounts are in the shop's currency (`shop_money`). `discounts` and `returns` are amounts taken
    away (positive); `shipping`, `taxes` and `total_sales` carry their sign (negative on a refund)."""

    __tablename__ = "order_sales"
    __table_args__ = (
        UniqueConstraint("order_id", "entry"),
        Index("ix_order_sales_shop_id_day", "shop_id", "day"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    # "sale", "refund:<Shopify refund id>" or "cancellation"
    entry: Mapped[str] = mapped_column(String(48))
    occurred_at: Mapped[datetime] = mapped_column(Timestamp)
    day: Mapped[date] = mapped_column(Date)  # in the shop's time zone
    orders: Mapped[int] = mapped_column(Integer, default=0)  # 1 on the sale
    gross_sales: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    discounts: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    returns: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    shipping: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    taxes: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    total_sales: Mapped[Decimal] = mapped_column(Money, default=ZERO)


class SalesDrift(db.Model):  # type: ignore[name-defined]
    """One day's orders and sales, ours against Shopify's, as the last reconciliation found them."""

    __tablename__ = "sales_drifts"
    __table_args__ = (UniqueConstraint("shop_id", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    our_orders: Mapped[int] = mapped_column(Integer, default=0)
    shopify_orders: Mapped[int] = mapped_column(Integer, default=0)
    our_sales: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    shopify_sales: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    restored_orders: Mapped[int] = mapped_column(Integer, default=0)
    checked_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
