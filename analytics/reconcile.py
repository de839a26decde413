"""Reconciliation: rebuild one day's rollups from the raw events and report any drift.

The writer keeps `daily_shop_metrics`, `daily_product_metrics` (and its monthly sums,
`monthly_product_metrics`, rewritten from it on repair), the session and visitor
rollups (`analytics.rollup_facts`) and the report rollups (`analytics.report_rollups_reconcile`) incrementally, in the same transaction as the events. This
rebuilds a day of each from `events` and `sessions` by the same definitions, stores every metric that differs as a `RollupDrift` row, and (with `repair=True`)
overwrites the rollup with the rebuilt numbers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, func, select

from analytics.drift_models import RollupDrift
from analytics.models import DailyProductMetric, DailyShopMetric, Event, VisitSession
from analytics.report_rollups_reconcile import (
    product_reach_drifts,
    repair_product_reach,
    repair_timelines,
    timeline_drifts,
)
from analytics.reports.period import Period, shop_today
from analytics.reports.sql import flag
from analytics.rollup_facts import nonzero
from analytics.rollup_rebuild import DAY_COLUMN, rebuild_day_rollups, stored_day_rollups
from analytics.writer.product_months import refresh_product_months
from analytics.writer.rollups import COUNTS, TABLES, write_tally
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop

PAGE_TYPES = frozenset({"page_view", "product_view", "collection_view", "search"})
SHOP_METRICS = (
    "sessions", "new_visitors", "events", "page_views", "product_views", "carts", "checkouts",
    "purchases", "revenue",
)  # fmt: skip
PRODUCT_METRICS = ("views", "carts", "purchases", "revenue")


@dataclass
class Reconciliation:
    """What one day's reconciliation found."""

    day: date
    drifts: list[dict[str, Any]] = field(default_factory=list)
    repaired: bool = False

    @property
    def clean(self) -> bool:
        """True when the rollups equal the raw events."""
        return not self.drifts


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value or 0)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return Decimal("0.00")


def rebuild_day(shop: Shop, day: date) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """The day's shop totals and per-product counts, computed from raw events and sessions."""
    since, until = Period(day, day, shop.timezone or "UTC").utc_bounds()
    totals: dict[str, Any] = dict.fromkeys(SHOP_METRICS, 0)
    totals["revenue"] = Decimal("0.00")
    sessions, new = db.session.execute(
        select(func.count(), func.sum(flag(VisitSession.is_new_visitor.is_(True)))).where(
            VisitSession.shop_id == shop.id, VisitSession.day == day
        )
    ).one()
    totals["sessions"], totals["new_visitors"] = int(sessions or 0), int(new or 0)
    products: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"views": 0, "carts": 0, "purchases": 0, "revenue": Decimal("0.00")}
    )
    in_day = (Event.shop_id == shop.id, Event.occurred_at >= since, Event.occurred_at < until)
    for kind, product_id, count in db.session.execute(
        select(Event.type, Event.product_id, func.count())
        .where(*in_day)
        .group_by(Event.type, Event.product_id)
    ):
        count = int(count)
        totals["events"] += count
        totals["page_views"] += count if kind in PAGE_TYPES else 0
        totals["product_views"] += count if kind == "product_view" else 0
        totals["carts"] += count if kind == "add_to_cart" else 0
        totals["checkouts"] += count if kind == "checkout_started" else 0
        if product_id is not None and kind in ("product_view", "add_to_cart"):
            products[int(product_id)]["views" if kind == "product_view" else "carts"] += count
    for (props,) in db.session.execute(select(Event.props).where(*in_day, Event.type == "purchase")):
        totals["purchases"] += 1
        totals["revenue"] += _money((props or {}).get("value"))
        for item in (props or {}).get("items") or []:
            try:
                product_id, quantity = int(item["product_id"]), int(item.get("quantity") or 1)
            except (KeyError, TypeError, ValueError, AttributeError):
                continue
            products[product_id]["purchases"] += quantity
            products[product_id]["revenue"] += _money(_money(item.get("price")) * quantity)
    return totals, dict(products)


def reconcile_day(shop: Shop, day: date, *, repair: bool = False) -> Reconciliation:
    """Compare the day's rollups with the rebuilt numbers; record drift; optionally repair. Commits."""
    totals, products = rebuild_day(shop, day)
    result = Reconciliation(day)
    stored = db.session.get(DailyShopMetric, (shop.id, day))
    for metric in SHOP_METRICS:
        _compare(result, metric, getattr(stored, metric, 0) if stored else 0, totals[metric])
    rows = db.session.scalars(
        select(DailyProductMetric).where(DailyProductMetric.shop_id == shop.id, DailyProductMetric.day == day)
    ).all()
    kept = {row.product_id: row for row in rows}
    for product_id in sorted(set(kept) | set(products)):
        row, rebuilt = kept.get(product_id), products.get(product_id, {})
        for metric in PRODUCT_METRICS:
            before = getattr(row, metric, 0) if row else 0
            _compare(result, f"product:{product_id}:{metric}", before, rebuilt.get(metric, 0))
    rebuilt_rows, stored_rows = (
        nonzero(rebuild_day_rollups(shop, day)),
        nonzero(stored_day_rollups(shop, day)),
    )
    session_drift = rebuilt_rows != stored_rows
    for rollup in sorted(set(rebuilt_rows) | set(stored_rows)):
        fresh_rows, kept_rows = rebuilt_rows.get(rollup, {}), stored_rows.get(rollup, {})
        for key in sorted(set(fresh_rows) | set(kept_rows), key=repr):
            for metric in COUNTS[rollup]:
                label = f"{rollup}:{':'.join(str(part) for part in key[1:])}:{metric}"
                _compare(
                    result,
                    label,
                    kept_rows.get(key, {}).get(metric, 0),
                    fresh_rows.get(key, {}).get(metric, 0),
                )
    timelines = timeline_drifts(shop, day)
    result.drifts.extend(timelines)
    result.drifts.extend(product_reach_drifts(shop.id, day))
    for drift in result.drifts:
        db.session.add(RollupDrift(shop_id=shop.id, day=day, repaired=repair, **drift))
    if repair and result.drifts:
        touched = set(kept) | set(products)
        _overwrite(shop.id, day, totals, products)
        refresh_product_months(shop.id, day, touched)
        if session_drift:
            _overwrite_session_rollups(shop, day)
        if timelines:
            repair_timelines(shop, day)
        repair_product_reach(shop.id, day)
        result.repaired = True
    db.session.commit()
    return result


def _compare(result: Reconciliation, metric: str, stored: Any, rebuilt: Any) -> None:
    if metric.endswith("revenue"):
        same = _money(stored) == _money(rebuilt)
    else:
        same = int(stored or 0) == int(rebuilt or 0)
    if not same:
        result.drifts.append(
            {"metric": metric[:64], "rollup_value": str(stored), "rebuilt_value": str(rebuilt)}
        )


def _overwrite(shop_id: int, day: date, totals: dict[str, Any], products: dict[int, dict[str, Any]]) -> None:
    db.session.execute(
        delete(DailyShopMetric).where(DailyShopMetric.shop_id == shop_id, DailyShopMetric.day == day)
    )
    db.session.execute(
        delete(DailyProductMetric).where(DailyProductMetric.shop_id == shop_id, DailyProductMetric.day == day)
    )
    db.session.add(DailyShopMetric(shop_id=shop_id, day=day, **totals))
    for product_id, counts in products.items():
        db.session.add(DailyProductMetric(shop_id=shop_id, day=day, product_id=product_id, **counts))
    db.session.flush()


def _overwrite_session_rollups(shop: Shop, day: date) -> None:
    rebuilt = rebuild_day_rollups(shop, day)
    for rollup, model in TABLES.items():
        table = model.__table__
        day_column = table.c[DAY_COLUMN.get(rollup, "day")]
        db.session.execute(delete(table).where(table.c.shop_id == shop.id, day_column == day))
    write_tally(shop.id, rebuilt)


def reconcile_yesterday(shop: Shop, *, repair: bool = True) -> Reconciliation:
    """The scheduled run: yesterday in the shop's time zone (today is still being written)."""
    return reconcile_day(shop, shop_today(shop) - timedelta(days=1), repair=repair)
