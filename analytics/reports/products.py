"""Product analytics: views, unique visitors, carts, purchases and revenue per product.

Views, carts, purchases and revenue come from the daily product rollup (product_view,
add_to_cart and purchase events of the product; revenue of purchased lines); the largest first by
one of them are found from its monthly sums (`product_ranking`), the rest sum the daily rows. Unique visitors
are distinct visitors with a product_view of the product in the period, from the product viewers
rollup (each visitor counted on the first day of the period they viewed it). How many products had
activity (`total`, and the previous period's) comes from the product reach rollup.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import distinct, func, select

from analytics.models import DailyProductMetric, DailyProductViewers
from analytics.reports.period import Period, ratio
from analytics.reports.product_ranking import active_products, rank_products
from analytics.reports.sql import as_float, as_int, reader
from shopify_app.core.in_lists import chunks
from shopify_app.core.models import Product

SORTS = ("views", "unique_visitors", "carts", "purchases", "revenue", "view_to_cart", "cart_to_purchase")
MAX_PAGE_SIZE = 250


def product_visits(
    shop_id: int,
    period: Period,
    *,
    sort: str = "views",
    descending: bool = True,
    page: int = 1,
    per_page: int = 20,
) -> dict[str, Any]:
    """One page of products ranked by `sort`, with the total number of products that had activity."""
    session = reader()
    views = func.sum(DailyProductMetric.views)
    carts = func.sum(DailyProductMetric.carts)
    purchases = func.sum(DailyProductMetric.purchases)
    revenue = func.sum(DailyProductMetric.revenue)
    where = (DailyProductMetric.shop_id == shop_id, DailyProductMetric.day.between(period.start, period.end))
    query = (
        select(DailyProductMetric.product_id, views, carts, purchases, revenue)
        .where(*where)
        .group_by(DailyProductMetric.product_id)
    )
    in_sql: dict[str, Any] = {"views": views, "carts": carts, "purchases": purchases, "revenue": revenue}
    offset = (page - 1) * per_page
    ranking = None
    if sort in in_sql and descending:
        ranking = rank_products(session, shop_id, period, sort, offset + per_page)
    if ranking is not None:
        rows = [_row(product_id, *(line[m] for m in in_sql)) for product_id, line in ranking.top[offset:]]
        total = ranking.total
        _add_unique_visitors(shop_id, period, rows)
    elif sort in in_sql:
        order = in_sql[sort].desc() if descending else in_sql[sort].asc()
        # one pass: the page and, as a window over the groups, how many products there are
        counted = query.add_columns(func.count().over()).order_by(order, DailyProductMetric.product_id)
        found = session.execute(counted.limit(per_page).offset(offset)).all()
        rows = [_row(*row[:5]) for row in found]
        total = int(found[0][5]) if found else _count(session, where)
        _add_unique_visitors(shop_id, period, rows)
    else:
        rows = [_row(*row) for row in session.execute(query)]
        total = len(rows)
        _add_unique_visitors(shop_id, period, rows)
        rows.sort(key=lambda row: (-row[sort] if descending else row[sort], row["product_id"]))
        rows = rows[offset : offset + per_page]
    _add_titles(shop_id, rows)
    return {
        "products": rows,
        "page": page,
        "per_page": per_page,
        "total": total,
        "sort": sort,
        "order": "desc" if descending else "asc",
    }


def products_with_activity(shop_id: int, period: Period) -> int:
    """How many products had activity in the period (the report's `total`)."""
    session = reader()
    counted = active_products(session, shop_id, period)
    if counted:
        return counted
    where = (DailyProductMetric.shop_id == shop_id, DailyProductMetric.day.between(period.start, period.end))
    return _count(session, where)  # nothing in the monthly rollup: the daily rows are few (or lack it)


def _count(session: Any, where: tuple[Any, ...]) -> int:
    return as_int(
        session.execute(select(func.count(distinct(DailyProductMetric.product_id))).where(*where)).scalar()
    )


def _row(product_id: int, views: Any, carts: Any, purchases: Any, revenue: Any) -> dict[str, Any]:
    views, carts, purchases = as_int(views), as_int(carts), as_int(purchases)
    return {
        "product_id": int(product_id),
        "title": None,
        "views": views,
        "unique_visitors": 0,
        "carts": carts,
        "purchases": purchases,
        "revenue": as_float(revenue),
        "view_to_cart": ratio(carts, views),
        "cart_to_purchase": ratio(purchases, carts),
    }


def _add_unique_visitors(shop_id: int, period: Period, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    viewers = DailyProductViewers
    ids = [row["product_id"] for row in rows]
    counts: dict[int, int] = {}
    for chunk in chunks(ids):
        query = (
            select(viewers.product_id, func.sum(viewers.visitors))
            .where(
                viewers.shop_id == shop_id,
                viewers.day.between(period.start, period.end),
                viewers.since < period.start,
                viewers.product_id.in_(chunk),
            )
            .group_by(viewers.product_id)
        )
        counts.update({int(product_id): int(n or 0) for product_id, n in reader().execute(query)})
    for row in rows:
        row["unique_visitors"] = counts.get(row["product_id"], 0)


def _add_titles(shop_id: int, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    ids = [row["product_id"] for row in rows]
    titles = dict(
        reader()
        .execute(
            select(Product.shopify_id, Product.title).where(
                Product.shop_id == shop_id, Product.shopify_id.in_(ids)
            )
        )
        .all()
    )
    for row in rows:
        row["title"] = titles.get(row["product_id"])
