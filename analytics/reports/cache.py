"""A small per-process cache of report answers, keyed by the shop's data version.

The version is what changes whenever anything a report reads changes: the rollup totals around
the period, the latest session start and the latest event of the shop (three index lookups).
A warm dashboard then costs those lookups instead of the report queries; new data shows at once.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from analytics.models import DailyShopMetric, Event, VisitSession
from analytics.reports.period import Period
from analytics.reports.sql import reader
from analytics.sales_models import OrderSale

MAX_ENTRIES = 1024
TTL_SECONDS = 300.0
_entries: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()
_lock = threading.Lock()


def data_version(shop_id: int, period: Period) -> tuple[Any, ...]:
    """Changes when events, sessions, rollups or orders touching the period (or its previous one) change."""
    first = period.previous().start - timedelta(days=1)
    last = period.end + timedelta(days=1)
    session = reader()
    totals = session.execute(
        select(
            func.sum(DailyShopMetric.events),
            func.sum(DailyShopMetric.sessions),
            func.sum(DailyShopMetric.revenue),
        ).where(DailyShopMetric.shop_id == shop_id, DailyShopMetric.day.between(first, last))
    ).one()
    latest_session = session.scalar(
        select(func.max(VisitSession.started_at)).where(VisitSession.shop_id == shop_id)
    )
    latest_event = session.scalar(select(func.max(Event.occurred_at)).where(Event.shop_id == shop_id))
    # a new refund or cancellation adds an entry; an edited order changes its sale's amounts
    sales = session.execute(
        select(
            func.count(),
            func.max(OrderSale.id),
            func.sum(OrderSale.total_sales),
            func.sum(OrderSale.discounts),
        ).where(OrderSale.shop_id == shop_id)
    ).one()
    return (*tuple(totals), latest_session, latest_event, *tuple(sales))


def cached(
    key: tuple[Any, ...],
    shop_id: int,
    period: Period,
    compute: Callable[[], Any],
    *,
    version: tuple[Any, ...] | None = None,
) -> Any:
    """`compute()`, or its earlier answer for the same key and the same data version.

    A page showing several reports of one period looks the version up once and passes it. An
    answer marked `"refreshing": True` (some of its numbers are being recounted in the background)
    is not kept: the next ask should see the recount."""
    if version is None:
        version = data_version(shop_id, period)
    full = (*key, shop_id, period, version)
    now = time.monotonic()
    with _lock:
        hit = _entries.get(full)
        if hit is not None and now - hit[0] < TTL_SECONDS:
            _entries.move_to_end(full)
            return copy.deepcopy(hit[1])
    value = compute()
    if isinstance(value, dict) and value.get("refreshing"):
        return value
    with _lock:
        _entries[full] = (now, copy.deepcopy(value))
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return value
