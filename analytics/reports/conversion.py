"""Conversion: sessions reaching each step, the ordered purchase funnel and custom funnels.

- visit_conversion counts sessions containing at least one event of each kind; rates are per session.
- The funnel counts sessions that reach each step in order: a step counts when one of its events
  happens at or after the moment the session reached the previous step.
- A custom funnel follows a visitor (across sessions) through any event types in order; every step
  must happen within the conversion window after the first step. The first step must fall in the
  period.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, func, select

from analytics.models import Event, VisitSession
from analytics.reports.period import Period, ratio
from analytics.reports.sql import as_int, flag, plus_seconds, reader
from analytics.reports.traffic import series

PURCHASE_FUNNEL = (
    ("product_view", "Viewed a product"),
    ("add_to_cart", "Added to cart"),
    ("checkout_started", "Started checkout"),
    ("purchase", "Purchased"),
)


def visit_conversion(shop_id: int, period: Period) -> dict[str, Any]:
    """Sessions with a product view, cart, checkout and purchase; rates; the ordered funnel."""
    row = (
        reader()
        .execute(
            select(
                func.count(),
                func.sum(flag(VisitSession.product_views > 0)),
                func.sum(flag(VisitSession.carts > 0)),
                func.sum(flag(VisitSession.checkouts > 0)),
                func.sum(flag(VisitSession.purchases > 0)),
            ).where(VisitSession.shop_id == shop_id, VisitSession.day.between(period.start, period.end))
        )
        .one()
    )
    visits, views, carts, checkouts, purchases = (as_int(value) for value in row)
    result: dict[str, Any] = {
        "visits": visits,
        "product_views": views,
        "carts": carts,
        "checkouts": checkouts,
        "purchases": purchases,
        "cart_rate": ratio(carts, visits),
        "purchase_rate": ratio(purchases, visits),
        "funnel": purchase_funnel(shop_id, period, visits),
    }
    if period.interval:
        result["series"] = series(
            period, _per_day_conversion(shop_id, period), ("visits", "carts", "purchases")
        )
    return result


def _per_day_conversion(shop_id: int, period: Period) -> dict[date, dict[str, float]]:
    rows = reader().execute(
        select(
            VisitSession.day,
            func.count(),
            func.sum(flag(VisitSession.carts > 0)),
            func.sum(flag(VisitSession.purchases > 0)),
        )
        .where(VisitSession.shop_id == shop_id, VisitSession.day.between(period.start, period.end))
        .group_by(VisitSession.day)
    )
    return {
        day: {"visits": as_int(visits), "carts": as_int(carts), "purchases": as_int(purchases)}
        for day, visits, carts, purchases in rows
    }


def purchase_funnel(shop_id: int, period: Period, visits: int) -> list[dict[str, Any]]:
    """visit → product view → cart → checkout → purchase, sessions reaching each step in order."""
    sessions = select(VisitSession.id).where(
        VisitSession.shop_id == shop_id, VisitSession.day.between(period.start, period.end)
    )
    counts = ordered_step_counts(
        shop_id,
        [step for step, _ in PURCHASE_FUNNEL],
        key=Event.session_id,
        scope=Event.session_id.in_(sessions),
    )
    return funnel_steps([("visit", "Visited"), *PURCHASE_FUNNEL], [visits, *counts])


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


def ordered_step_counts(
    shop_id: int,
    steps: list[str],
    *,
    key: Any,
    scope: Any,
    window_seconds: int | None = None,
) -> list[int]:
    """How many `key`s (sessions or visitors) reach each step of `steps` in order.

    Step n is reached at the earliest event of its type at or after the moment step n-1 was
    reached (strictly after when both steps are the same type); with a window, no later than
    `window_seconds` after the first step.
    """
    first_time = func.min(Event.occurred_at)
    ctes = [
        select(key.label("k"), first_time.label("t"), first_time.label("t0"))
        .where(Event.shop_id == shop_id, Event.type == steps[0], scope)
        .group_by(key)
        .cte("step0")
    ]
    for index, step in enumerate(steps[1:], start=1):
        previous = ctes[-1]
        later = (
            Event.occurred_at > previous.c.t
            if step == steps[index - 1]
            else Event.occurred_at >= previous.c.t
        )
        conditions = [key == previous.c.k, Event.shop_id == shop_id, Event.type == step, later]
        if window_seconds is not None:
            conditions.append(Event.occurred_at <= plus_seconds(previous.c.t0, window_seconds))
        ctes.append(
            select(previous.c.k, func.min(Event.occurred_at).label("t"), previous.c.t0)
            .select_from(previous.join(Event, and_(*conditions)))
            .group_by(previous.c.k, previous.c.t0)
            .cte(f"step{index}")
        )
    counts = select(*[select(func.count()).select_from(cte).scalar_subquery() for cte in ctes])
    return [as_int(value) for value in reader().execute(counts).one()]


def custom_funnel(shop_id: int, period: Period, steps: list[str], window_seconds: int) -> dict[str, Any]:
    """Visitors reaching each of `steps` in order within `window_seconds` of the first step."""
    since, until = period.utc_bounds()
    counts = ordered_step_counts(
        shop_id,
        steps,
        key=Event.visitor_id,
        scope=and_(Event.occurred_at >= since, Event.occurred_at < until),
        window_seconds=window_seconds,
    )
    rows = funnel_steps([(step, step.replace("_", " ").capitalize()) for step in steps], counts)
    for row in rows:
        row["visitors"] = row.pop("sessions")
    return {"steps": rows, "window_seconds": window_seconds, "conversion_rate": ratio(counts[-1], counts[0])}
