"""Conversion: sessions reaching each step, the ordered purchase funnel and custom funnels.

- visit_conversion counts sessions containing at least one event of each kind; rates are per session.
- The funnel counts sessions that reach each step in order: a step counts when one of its events
  happens at or after the moment the session reached the previous step.
- A custom funnel follows visitors (across sessions) through any event types in order. Each day of
  the period, every visitor with an event of the first step that day starts the funnel at their
  first such event of the day; a later step counts when one of its events happens at or after the
  previous step (strictly after when both are the same type) and within the conversion window
  after the start. The report sums the days: a visitor starting on three days of the period
  counts three times (and may convert on each). Summing days is what lets each day's counts be
  computed once and kept (`FunnelDayCount`) until that day's events change.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from analytics.models import DailySessionMetric, DailyShopMetric
from analytics.reach_models import FunnelDayCount, VisitorTimeline, unpack
from analytics.reports.period import Period, ratio
from analytics.reports.sql import as_int, reader
from analytics.reports.traffic import series
from analytics.rollup_facts import FUNNEL_COLUMNS, WITH_COLUMNS, funnel_depth
from analytics.writer.sql import upsert
from shopify_app.core.extensions import db

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


@dataclass
class FunnelCounts:
    """A custom funnel's counts per step, and the days of the period still to be counted."""

    steps: list[int]
    to_recount: list[date] = field(default_factory=list)  # answered from their kept counts
    to_count: list[date] = field(default_factory=list)  # not in `steps` yet


def ordered_step_counts(
    shop_id: int, steps: list[str], period: Period, window_seconds: int, *, later: bool = False
) -> FunnelCounts:
    """How many visitors reach each step of `steps` in order within the window, summed over the
    period's days (see the module docstring).

    Each day's counts are kept (`FunnelDayCount`) by the task (`recount_days`) and reused while
    the events of the days they read are unchanged. `later` leaves the counting to a task worker:
    counting a month of a large shop takes longer than a web request may, and on a live shop every
    new event outdates the last few days. Outdated days are then answered from their kept counts,
    days never counted not at all. Without `later` (no task workers) the days without current
    kept counts are counted for this answer and not kept: a report's ask writes nothing."""
    window = timedelta(seconds=window_seconds)
    key = funnel_key(steps, window_seconds)
    versions = _day_versions(shop_id, period, window)
    stored = {
        day: (version, counts)
        for day, version, counts in reader().execute(
            select(FunnelDayCount.day, FunnelDayCount.version, FunnelDayCount.counts).where(
                FunnelDayCount.shop_id == shop_id,
                FunnelDayCount.funnel_key == key,
                FunnelDayCount.day.between(period.start, period.end),
            )
        )
    }
    per_day: dict[date, list[int]] = {}
    answer = FunnelCounts([0] * len(steps))
    stale = []
    for day, version in versions.items():
        if not version:  # a day whose window holds no event counts nothing
            continue
        if day in stored and (later or stored[day][0] == version):
            per_day[day] = [int(n) for n in stored[day][1].split(",")]
            if stored[day][0] != version:
                answer.to_recount.append(day)
        elif later:
            answer.to_count.append(day)
        else:
            stale.append(day)
    if stale:  # counted for this answer only: a report's ask writes nothing (the task keeps counts)
        per_day.update(count_days(shop_id, steps, window, stale))
    answer.steps = [sum(counts[index] for counts in per_day.values()) for index in range(len(steps))]
    return answer


RECOUNT_CHUNK_DAYS = 3  # days counted and kept at a time, so a long recount shows progress


def recount_days(shop_id: int, steps: list[str], window_seconds: int, days: list[date]) -> None:
    """Count these days of the funnel (again) and keep them, a few days at a time: the task
    worker's half of `ordered_step_counts(..., later=True)`."""
    window = timedelta(seconds=window_seconds)
    key = funnel_key(steps, window_seconds)
    ordered = sorted(days)
    for start in range(0, len(ordered), RECOUNT_CHUNK_DAYS):
        chunk = ordered[start : start + RECOUNT_CHUNK_DAYS]
        versions = _day_versions(shop_id, Period(chunk[0], chunk[-1]), window)
        counted = count_days(shop_id, steps, window, chunk)
        _store_days(shop_id, key, {day: (versions[day], counted[day]) for day in chunk})


def funnel_key(steps: list[str], window_seconds: int) -> str:
    """The stored day counts' name for a funnel: its steps and window."""
    return hashlib.sha1(f"{','.join(steps)}|{window_seconds}".encode(), usedforsecurity=False).hexdigest()


def _day_versions(shop_id: int, period: Period, window: timedelta) -> dict[date, int]:
    """For each day of the period, the shop's stored events from that day to the last day a
    funnel started on it can reach (a local day ends at most 14 h after its UTC midnight)."""
    reach = window.days + 2
    events = dict(
        reader()
        .execute(
            select(DailyShopMetric.day, DailyShopMetric.events).where(
                DailyShopMetric.shop_id == shop_id,
                DailyShopMetric.day.between(period.start, period.end + timedelta(days=reach)),
            )
        )
        .all()
    )
    versions = {}
    for offset in range(period.days):
        day = period.start + timedelta(days=offset)
        versions[day] = sum(int(events.get(day + timedelta(days=n)) or 0) for n in range(reach + 1))
    return versions


def count_days(shop_id: int, steps: list[str], window: timedelta, days: list[date]) -> dict[date, list[int]]:
    """Each day's funnel counts from the visitor timelines: the first step's rows of the days,
    then the other steps' rows up to the window's last day, kept only for visitors who started."""
    counts = {day: [0] * len(steps) for day in days}
    for first, last in _runs(sorted(days)):
        starts: dict[int, dict[date, datetime]] = defaultdict(dict)
        for _, day, visitor_id, moments in _timeline_rows(shop_id, [steps[0]], first, last):
            starts[visitor_id][day] = min(unpack(day, moments))
        times: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
        until = last + timedelta(days=window.days + 2)
        for kind, day, visitor_id, moments in _timeline_rows(shop_id, sorted(set(steps)), first, until):
            if visitor_id in starts:
                times[visitor_id].extend((kind, when) for when in unpack(day, moments))
        for visitor_id, started in starts.items():
            seen = times[visitor_id]
            for day, start in started.items():
                inside = [(kind, when) for kind, when in seen if start <= when <= start + window]
                for index in range(funnel_depth(inside, steps)):
                    counts[day][index] += 1
    return counts


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days (first, last)."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _timeline_rows(shop_id: int, kinds: list[str], first: date, last: date) -> Any:
    timeline = VisitorTimeline
    return reader().execute(
        select(timeline.type, timeline.day, timeline.visitor_id, timeline.moments).where(
            timeline.shop_id == shop_id, timeline.type.in_(kinds), timeline.day.between(first, last)
        )
    )


def _store_days(shop_id: int, key: str, days: dict[date, tuple[int, list[int]]]) -> None:
    """Keep the counted days for the next ask (on the primary; a failure only costs a recount)."""
    table = FunnelDayCount.__table__
    rows = [
        {
            "shop_id": shop_id,
            "funnel_key": key,
            "day": day,
            "version": version,
            "counts": ",".join(map(str, counts)),
        }
        for day, (version, counts) in sorted(days.items())
    ]
    try:
        upsert(table, rows, keys=["shop_id", "funnel_key", "day"], merge={"version": "set", "counts": "set"})
        db.session.commit()
    except OperationalError:  # a concurrent ask storing the same days (a lock wait or deadlock)
        db.session.rollback()


def custom_funnel(
    shop_id: int, period: Period, steps: list[str], window_seconds: int, *, later: list[date] | None = None
) -> dict[str, Any]:
    """Visitors reaching each of `steps` in order within `window_seconds` of the first step.

    With `later` (a list to fill), the days to count are listed there for a task worker instead of
    counted now (see `ordered_step_counts`); the answer says `refreshing` and how many of the
    period's days its numbers still leave out (`days_pending`)."""
    result = ordered_step_counts(shop_id, steps, period, window_seconds, later=later is not None)
    counts = result.steps
    rows = funnel_steps([(step, step.replace("_", " ").capitalize()) for step in steps], counts)
    for row in rows:
        row["visitors"] = row.pop("sessions")
    if later is not None:
        later.extend(result.to_recount + result.to_count)
    return {
        "steps": rows,
        "window_seconds": window_seconds,
        "conversion_rate": ratio(counts[-1], counts[0]),
        "refreshing": bool(result.to_recount or result.to_count),
        "days_pending": len(result.to_count),
    }
