"""The product reach rollup (`DailyProductReach`): each product day with activity, counted under
the product's previous day with activity, so the product report counts distinct products over
any period from a few hundred rows instead of every product's monthly row.

Called by the writer with a batch's daily product counts, before they are added to the months.
A day is new for a product when its month's `active_days` lacks it. The product's
`ProductActivity` row (first and last day with activity) is locked first, so concurrent writers
adding days of the same product take turns and each sees the other's days. The usual batch only
adds days after the product's last one (one row read per product); a late event before it reads
the product's months in between and recounts the days around it.

Most of a day's product events are of products already active that day. Each process remembers
the last day with activity of the products its own committed batches touched
(`remember_committed`): a product whose batch days are all that day has nothing to add, and is
skipped without a lock or a read. A product's last day only moves later, so what is remembered
stays true; the memory is dropped every `REMEMBER_SECONDS` and when it grows past
`REMEMBER_PRODUCTS` (a shop's data erased and its products active again the same day are then
counted again within minutes, not never).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, tuple_

from analytics.models import NEVER, MonthlyProductMetric
from analytics.reach_models import DailyProductReach, ProductActivity
from analytics.rollup_facts import reach
from analytics.writer.product_months import month_of
from analytics.writer.sql import upsert
from shopify_app.core.extensions import db
from shopify_app.core.in_lists import chunks

NO_DAY = date(9999, 12, 31)  # a locked row inserted just now: no activity stored yet
REMEMBER_SECONDS = 600.0
REMEMBER_PRODUCTS = 1_000_000

_lock = threading.Lock()
_last_days: dict[tuple[int, int], date] = {}  # (shop id, product id): committed last active day
_forget_at = 0.0


def _uncommitted() -> dict[tuple[int, int], date]:
    """The last days this transaction sets (the session is per thread in the embedded mode)."""
    found: dict[tuple[int, int], date] = db.session.info.setdefault("product_last_days", {})
    return found


def remember_committed() -> None:
    """After the writer's commit: its products' last days are now stored."""
    global _forget_at
    days = db.session.info.pop("product_last_days", None)
    if not days:
        return
    with _lock:
        now = time.monotonic()
        if now >= _forget_at or len(_last_days) + len(days) > REMEMBER_PRODUCTS:
            _last_days.clear()
            _forget_at = now + REMEMBER_SECONDS
        for key, day in days.items():
            if _last_days.get(key, NEVER) < day:
                _last_days[key] = day


def forget_all() -> None:
    """Drop what this process remembers (its rows were deleted or rolled back under it: tests)."""
    with _lock:
        _last_days.clear()


def forget_uncommitted() -> None:
    """After a rollback: nothing of this transaction was stored."""
    db.session.info.pop("product_last_days", None)


def add_product_reach(shop_id: int, product_days: Iterable[tuple[date, int]]) -> None:
    """Count the new (day, product id) pairs among `product_days` in the reach rollup."""
    batch: dict[int, set[date]] = defaultdict(set)
    for day, product_id in product_days:
        batch[int(product_id)].add(day)
    with _lock:
        for product_id in [p for p, days in batch.items() if len(days) == 1]:
            if _last_days.get((shop_id, product_id)) in batch[product_id]:
                del batch[product_id]  # active that day already: nothing to add
    if not batch:
        return
    spans = _lock_spans(shop_id, sorted(batch))
    counts: dict[tuple[date, date], int] = defaultdict(int)
    late: list[int] = []
    for product_id, days in batch.items():
        first, last = spans.get(product_id, (NO_DAY, NEVER))
        if first == NO_DAY:  # no activity stored yet: every day is new
            _count(counts, reach(days), 1)
        elif min(days) >= last:  # the usual case: days after the last one (or on it)
            previous = last
            for day in sorted(day for day in days if day > last):
                counts[(day, previous)] += 1
                previous = day
        else:
            late.append(product_id)
    if late:
        _recount_late(shop_id, {p: batch[p] for p in late}, {p: spans[p] for p in late}, counts)
    upsert(
        DailyProductReach.__table__,
        [
            {"shop_id": shop_id, "day": day, "since": since, "products": n}
            for (day, since), n in sorted(counts.items())
            if n
        ],
        keys=["shop_id", "day", "since"],
        merge={"products": "add"},
    )
    activity: list[dict[str, Any]] = [
        {
            "shop_id": shop_id,
            "product_id": product_id,
            "first_day": min(days | {spans.get(product_id, (NO_DAY, NEVER))[0]}),
            "last_day": max(days | {spans.get(product_id, (NO_DAY, NEVER))[1]}),
        }
        for product_id, days in sorted(batch.items())
    ]
    upsert(
        ProductActivity.__table__,
        activity,
        keys=["shop_id", "product_id"],
        merge={"first_day": "set", "last_day": "set"},
    )
    uncommitted = _uncommitted()
    for row in activity:
        uncommitted[(shop_id, int(row["product_id"]))] = row["last_day"]


def _lock_spans(shop_id: int, product_ids: list[int]) -> dict[int, tuple[date, date]]:
    """Lock the products' activity rows (creating missing ones) and read their first/last days."""
    # an upsert changing nothing still takes the row lock (held until the batch commits)
    upsert(
        ProductActivity.__table__,
        [
            {"shop_id": shop_id, "product_id": product_id, "first_day": NO_DAY, "last_day": NEVER}
            for product_id in product_ids
        ],
        keys=["shop_id", "product_id"],
        merge={"first_day": "min", "last_day": "max"},
    )
    activity = ProductActivity
    spans: dict[int, tuple[date, date]] = {}
    for chunk in chunks(product_ids):
        for product_id, first, last in db.session.execute(
            select(activity.product_id, activity.first_day, activity.last_day).where(
                activity.shop_id == shop_id, activity.product_id.in_(chunk)
            )
        ):
            spans[int(product_id)] = (first, last)
    return spans


def _recount_late(
    shop_id: int,
    batch: dict[int, set[date]],
    spans: dict[int, tuple[date, date]],
    counts: dict[tuple[date, date], int],
) -> None:
    """Products with a batch day before their last one: recount their reach over the months
    from the earliest to the latest of their stored and new days."""
    stored = _stored_days(shop_id, batch, spans)
    for product_id, days in batch.items():
        known = stored.get(product_id, set())
        if days <= known:
            continue
        _count(counts, reach(known), -1)
        _count(counts, reach(known | days), 1)


def _stored_days(
    shop_id: int, batch: dict[int, set[date]], spans: dict[int, tuple[date, date]]
) -> dict[int, set[date]]:
    keys = set()
    for product_id, days in batch.items():
        first, last = spans[product_id]
        month = month_of(min(first, *days))
        end = month_of(max(last, *days))
        while month <= end:
            keys.add((month, product_id))
            month = (month + timedelta(days=32)).replace(day=1)
    stored: dict[int, set[date]] = defaultdict(set)
    ordered = sorted(keys)
    table = MonthlyProductMetric
    for chunk in chunks(ordered):
        for month, product_id, mask in db.session.execute(
            select(table.month, table.product_id, table.active_days).where(
                table.shop_id == shop_id, tuple_(table.month, table.product_id).in_(chunk)
            )
        ):
            stored[int(product_id)].update(month.replace(day=bit + 1) for bit in range(31) if mask >> bit & 1)
    return stored


def _count(counts: dict[tuple[date, date], int], pairs: list[tuple[date, date]], sign: int) -> None:
    for pair in pairs:
        counts[pair] += sign
