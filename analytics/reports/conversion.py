"""Conversion: sessions reaching each step, the ordered purchase funnel and custom funnels.

- visit_conversion counts sessions containing at least one event of each kind; rates are per session.
- The funnel counts sessions that reach each step in order: a step counts when one of its events
  happens at or after the moment the session reached the previous step.
- A custom funnel follows a visitor (across sessions) through any event types in order; every step
  must happen within the conversion window after the first step. The first step must fall in the
  period.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from analytics.models import DailySessionMetric
from analytics.reach_models import VisitorTimeline, unpack
from analytics.reports.period import Period, ratio
from analytics.reports.sql import as_int, reader
from analytics.reports.traffic import series
from analytics.rollup_facts import FUNNEL_COLUMNS, WITH_COLUMNS, funnel_depth

PURCHASE_FUNNEL = (
    ("product_view", "Viewed a product"),
    ("add_to_cart", "Added to cart"),
    ("checkout_started", "Started checkout"),
    ("purchase", "Purchased"),
)


def visit_conversion(shop_id: int, period: Period) -> dict[str, Any]:
    """Sessions with a product view, cart, checkout and purchase; rates; the ordered funnel."""
    metric = DailySessionMetric
    columns = (metric.sessions, *(getattr(metric, name) for name in (*WITH_COLUMNS, *FUNNEL_COLUMNS)))
    per_day: dict[date, list[int]] = {
        row[0]: [as_int(value) for value in row[1:]]
        for row in reader().execute(
            select(metric.day, *columns).where(
                metric.shop_id == shop_id, metric.day.between(period.start, period.end)
            )
        )
    }
    totals = [sum(values[index] for values in per_day.values()) for index in range(len(columns))]
    visits, views, carts, checkouts, purchases = totals[:5]
    result: dict[str, Any] = {
        "visits": visits,
        "product_views": views,
        "carts": carts,
        "checkouts": checkouts,
        "purchases": purchases,
        "cart_rate": ratio(carts, visits),
        "purchase_rate": ratio(purchases, visits),
        "funnel": funnel_steps([("visit", "Visited"), *PURCHASE_FUNNEL], [visits, *totals[5:]]),
    }
    if period.interval:
        by_day = {
            day: {"visits": values[0], "carts": values[2], "purchases": values[4]}
            for day, values in per_day.items()
        }
        result["series"] = series(period, by_day, ("visits", "carts", "purchases"))  # type: ignore[arg-type]
    return result


def funnel_steps(
    steps: list[tuple[str, str]] | tuple[tuple[str, str], ...], counts: list[int]
) -> list[dict[str, Any]]:
    """Funnel rows with the share of the first step and of the previous one."""
    first = counts[0] if counts else 0
    rows = []
    for index, ((step, label), count) in enumerate(zip(steps, counts, strict=True)):
        previous = counts[index - 1] if index else count
        rows.append(
            {
                "step": step,
                "label": label,
                "sessions": count,
                "rate_from_start": ratio(count, first),
                "rate_from_previous": ratio(count, previous),
            }
        )
    return rows


def ordered_step_counts(shop_id: int, steps: list[str], period: Period, window_seconds: int) -> list[int]:
    """How many visitors reach each step of `steps` in order within the window.

    Step 0 is the visitor's earliest event of its type in the period; step n the earliest event of
    its type at or after step n-1 (strictly after when both are the same type), no later than
    `window_seconds` after step 0. Read from the visitor timelines (the times of each visitor's
    events per type and day): the first step's rows of the period's days, then the other steps'
    rows up to the window's last day, kept only for visitors who started.
    """
    window = timedelta(seconds=window_seconds)
    # a local day ends at most 14 h after its UTC midnight: read one more day to be safe
    last_day = period.end + timedelta(days=window.days + 2)
    timeline = VisitorTimeline
    session = reader()

    def rows(kinds: list[str], first: date, last: date) -> Any:
        return session.execute(
            select(timeline.type, timeline.day, timeline.visitor_id, timeline.moments).where(
                timeline.shop_id == shop_id, timeline.type.in_(kinds), timeline.day.between(first, last)
            )
        )

    starts: dict[int, datetime] = {}
    for _, day, visitor_id, moments in rows([steps[0]], period.start, period.end):
        first = min(unpack(day, moments))
        if visitor_id not in starts or first < starts[visitor_id]:
            starts[visitor_id] = first
    times: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for kind, day, visitor_id, moments in rows(sorted(set(steps)), period.start, last_day):
        start = starts.get(visitor_id)
        if start is None:
            continue
        times[visitor_id].extend(
            (kind, when) for when in unpack(day, moments) if start <= when <= start + window
        )
    counts = [0] * len(steps)
    for visitor_id in starts:
        for index in range(funnel_depth(times[visitor_id], steps)):
            counts[index] += 1
    return counts


def custom_funnel(shop_id: int, period: Period, steps: list[str], window_seconds: int) -> dict[str, Any]:
    """Visitors reaching each of `steps` in order within `window_seconds` of the first step."""
    counts = ordered_step_counts(shop_id, steps, period, window_seconds)
    rows = funnel_steps([(step, step.replace("_", " ").capitalize()) for step in steps], counts)
    for row in rows:
        row["visitors"] = row.pop("sessions")
    return {"steps": rows, "window_seconds": window_seconds, "conversion_rate": ratio(counts[-1], counts[0])}
