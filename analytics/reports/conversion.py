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

from analytics.models import DailySessionMetric, Event
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
    `window_seconds` after step 0. One pass over the steps' events of the period plus the window.
    """
    since, until = period.utc_bounds()
    window = timedelta(seconds=window_seconds)
    rows = reader().execute(
        select(Event.visitor_id, Event.type, Event.occurred_at).where(
            Event.shop_id == shop_id,
            Event.occurred_at >= since,
            Event.occurred_at < until + window,
            Event.type.in_(sorted(set(steps))),
        )
    )
    times: dict[int, dict[str, list[datetime]]] = defaultdict(lambda: defaultdict(list))
    for visitor_id, kind, when in rows:
        times[visitor_id][kind].append(when)
    counts = [0] * len(steps)
    for by_type in times.values():
        starts = [when for when in by_type.get(steps[0], ()) if when < until]
        if not starts:
            continue
        first = min(starts)
        depth = funnel_depth(
            [
                (kind, when)
                for kind, moments in by_type.items()
                for when in moments
                if first <= when <= first + window
            ],
            steps,
        )
        for index in range(depth):
            counts[index] += 1
    return counts


def custom_funnel(shop_id: int, period: Period, steps: list[str], window_seconds: int) -> dict[str, Any]:
    """Visitors reaching each of `steps` in order within `window_seconds` of the first step."""
    counts = ordered_step_counts(shop_id, steps, period, window_seconds)
    rows = funnel_steps([(step, step.replace("_", " ").capitalize()) for step in steps], counts)
    for row in rows:
        row["visitors"] = row.pop("sessions")
    return {"steps": rows, "window_seconds": window_seconds, "conversion_rate": ratio(counts[-1], counts[0])}
