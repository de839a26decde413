"""The monthly product rollup kept beside the daily one: sums of a month's daily product rows and
the days that have one (`MonthlyProductMetric.active_days`, bit d-1 for day d).

The writer adds a batch's daily product counts here in the same transaction; reconciliation,
when it rewrites a day's product rows, rewrites those products' month rows from the daily rows.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select

from analytics.models import DailyProductMetric, MonthlyProductMetric
from analytics.writer.sql import upsert
from shopify_app.core.extensions import db
from shopify_app.core.in_lists import chunks

METRICS = ("views", "carts", "purchases", "revenue")


def month_of(day: date) -> date:
    """The first day of `day`'s month (a monthly row's key)."""
    return day.replace(day=1)


def day_bit(day: date) -> int:
    """`day`'s bit in `active_days`."""
    return 1 << (day.day - 1)


def add_product_months(shop_id: int, products: dict[tuple[date, int], dict[str, Any]]) -> None:
    """Add daily product counts keyed by (day, product id) to their months."""
    months: dict[tuple[date, int], dict[str, Any]] = {}
    day_months = {day: (month_of(day), day_bit(day)) for day in {day for day, _ in products}}
    for (day, product_id), counts in products.items():
        month, bit = day_months[day]
        line = months.get((month, product_id))
        if line is None:  # the usual case: the product's one day of the month in this batch
            months[(month, product_id)] = {**counts, "active_days": bit}
            continue
        for metric in METRICS:
            line[metric] += counts[metric]
        line["active_days"] |= bit
    upsert(
        MonthlyProductMetric.__table__,
        [
            {"shop_id": shop_id, "month": month, "product_id": product_id, **counts}
            for (month, product_id), counts in sorted(months.items())
        ],
        keys=["shop_id", "month", "product_id"],
        merge={"views": "add", "carts": "add", "purchases": "add", "revenue": "add", "active_days": "or"},
    )


def refresh_product_months(shop_id: int, day: date, product_ids: set[int]) -> None:
    """Rewrite the month rows of `day`'s month for these products from their daily rows."""
    month = month_of(day)
    after = (month + timedelta(days=32)).replace(day=1)
    days = [month + timedelta(days=n) for n in range((after - month).days)]
    ids = sorted(product_ids)
    for chunk in chunks(ids):
        db.session.execute(
            delete(MonthlyProductMetric).where(
                MonthlyProductMetric.shop_id == shop_id,
                MonthlyProductMetric.month == month,
                MonthlyProductMetric.product_id.in_(chunk),
            )
        )
        daily = DailyProductMetric
        rows = db.session.execute(
            select(daily.day, daily.product_id, *(getattr(daily, m) for m in METRICS)).where(
                daily.shop_id == shop_id, daily.day.in_(days), daily.product_id.in_(chunk)
            )
        )
        add_product_months(
            shop_id, {(row.day, int(row.product_id)): {m: getattr(row, m) for m in METRICS} for row in rows}
        )
    db.session.flush()
