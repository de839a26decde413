"""The first products of the product report by views, carts, purchases or revenue (largest first,
then product id), found from the monthly product rollup without summing every daily row.

A product's sum over a month is at least its total over any days of that month (the daily counts
are not negative), so each month's rows read largest first bound every product not read yet: the
threshold is the sum of the last values read in each month. Products read are totalled exactly
from their monthly and daily rows; once the last wanted product beats the threshold, no product
left unread can reach the page (Fagin's threshold algorithm). Ties at the threshold keep reading,
since an unread product with the same total and a smaller id would come first.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analytics.models import DailyProductMetric, MonthlyProductMetric
from analytics.reach_models import DailyProductReach
from analytics.reports.period import Period

METRICS = ("views", "carts", "purchases", "revenue")
MOST_READ = 5000  # products read before the plain sum over the daily rows is cheaper
Totals = dict[str, Any]


@dataclass(frozen=True)
class MonthPart:
    """The days of one month inside the period, and the month's other days."""

    month: date
    inside: tuple[date, ...]
    outside: tuple[date, ...]

    @property
    def days_mask(self) -> int:
        """The inside days as bits of `active_days`."""
        return sum(1 << (day.day - 1) for day in self.inside)


@dataclass(frozen=True)
class Ranking:
    """The first products in report order with their period totals, and how many had activity."""

    top: list[tuple[int, Totals]]
    total: int


def month_parts(period: Period) -> list[MonthPart]:
    """The months the period touches, each split into days inside and outside it."""
    parts = []
    month = period.start.replace(day=1)
    while month <= period.end:
        after = (month + timedelta(days=32)).replace(day=1)
        days = [month + timedelta(days=n) for n in range((after - month).days)]
        inside = tuple(day for day in days if period.start <= day <= period.end)
        parts.append(MonthPart(month, inside, tuple(day for day in days if day not in inside)))
        month = after
    return parts


def rank_products(session: Session, shop_id: int, period: Period, sort: str, count: int) -> Ranking | None:
    """The first `count` products by `sort`, or None when reading the daily rows is cheaper."""
    parts = month_parts(period)
    total = active_products(session, shop_id, period)
    if not total:
        return None  # nothing in the monthly rollup: the daily rows are cheap (or were written without it)
    found: dict[int, Totals] = {}
    read: set[int] = set()
    depth, batch = 0, max(2 * count, 100)
    while True:
        threshold: Any = 0
        unread_left = False
        fresh: list[int] = []
        for part in parts:
            rows = _largest(session, shop_id, part.month, sort, depth, batch)
            fresh.extend(product_id for product_id, _ in rows if product_id not in read)
            read.update(product_id for product_id, _ in rows)
            if len(rows) == batch:
                threshold += rows[-1][1]
                unread_left = True
        found.update(period_totals(session, shop_id, parts, fresh))
        order = sorted(found.items(), key=lambda item: (-item[1][sort], item[0]))
        if not unread_left or (len(order) >= count and order[count - 1][1][sort] > threshold):
            return Ranking(order[:count], total)
        if len(read) > MOST_READ:
            return None
        depth, batch = depth + batch, batch * 2


def _largest(
    session: Session, shop_id: int, month: date, sort: str, skip: int, take: int
) -> list[tuple[int, Any]]:
    column = getattr(MonthlyProductMetric, sort)
    query = (
        select(MonthlyProductMetric.product_id, column)
        .where(MonthlyProductMetric.shop_id == shop_id, MonthlyProductMetric.month == month)
        .order_by(column.desc(), MonthlyProductMetric.product_id.desc())
        .offset(skip)
        .limit(take)
    )
    return [(int(product_id), value) for product_id, value in session.execute(query)]


def period_totals(
    session: Session, shop_id: int, parts: list[MonthPart], product_ids: list[int]
) -> dict[int, Totals]:
    """Exact period totals of the products with a daily row in the period.

    A month wholly inside is its monthly row; a cut month is the daily rows of its days inside,
    or the monthly row less the daily rows of its days outside, whichever reads fewer days."""
    if not product_ids:
        return {}
    totals: dict[int, Totals] = defaultdict(
        lambda: {"views": 0, "carts": 0, "purchases": 0, "revenue": Decimal(0)}
    )
    active: set[int] = set()
    added: list[date] = []
    taken: list[date] = []
    monthly_parts = []
    for part in parts:
        if len(part.inside) <= len(part.outside):
            added.extend(part.inside)
        else:
            monthly_parts.append(part)
            taken.extend(part.outside)
    masks = {part.month: part.days_mask for part in parts}
    uses_month = {part.month for part in monthly_parts}
    month = MonthlyProductMetric
    for row in session.execute(
        select(month.product_id, month.month, month.active_days, *(getattr(month, m) for m in METRICS)).where(
            month.shop_id == shop_id, month.month.in_(list(masks)), month.product_id.in_(product_ids)
        )
    ):
        product_id = int(row.product_id)
        if row.active_days & masks[row.month]:
            active.add(product_id)
        if row.month in uses_month:
            _add(totals[product_id], row, 1)
    for days, sign in ((added, 1), (taken, -1)):
        if days:
            for row in _daily_sums(session, shop_id, days, product_ids):
                _add(totals[int(row.product_id)], row, sign)
    return {product_id: totals[product_id] for product_id in active}


def _add(line: Totals, row: Any, sign: int) -> None:
    for metric in METRICS:
        line[metric] += sign * (getattr(row, metric) or 0)


def _daily_sums(session: Session, shop_id: int, days: list[date], product_ids: list[int]) -> Any:
    daily = DailyProductMetric
    # day IN (...) AND product_id IN (...): point lookups on the primary key (shop, day, product);
    # Keep MariaDB on the primary key (shop, day, product): any index on (shop, day) alone would
    # read every product of those days.
    return session.execute(
        select(daily.product_id, *(func.sum(getattr(daily, m)).label(m) for m in METRICS))
        .with_hint(daily, "FORCE INDEX (PRIMARY)", dialect_name="mysql")
        .with_hint(daily, "FORCE INDEX (PRIMARY)", dialect_name="mariadb")
        .where(daily.shop_id == shop_id, daily.day.in_(days), daily.product_id.in_(product_ids))
        .group_by(daily.product_id)
    )


def active_products(session: Session, shop_id: int, period: Period) -> int:
    """How many distinct products had activity (a daily row) in the period, from the product
    reach rollup: the rows of the period's days whose previous active day is before it."""
    reach = DailyProductReach
    query = select(func.sum(reach.products)).where(
        reach.shop_id == shop_id, reach.day.between(period.start, period.end), reach.since < period.start
    )
    return int(session.execute(query).scalar() or 0)
