"""Experiment results from recorded assignments: per-arm conversion, revenue per visitor, uplift.

A visitor counts from their first exposure. They converted when an order (not cancelled) or,
for visits without an order webhook, a tracked purchase came after that exposure; revenue is
their orders' totals, or the tracked purchases' values when there is no order. Earlier looks
are daily snapshots, which keep the sequential p-value honest when the merchant checks daily.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from analytics.experiments import HOLDOUT
from analytics.models import Event, Experiment, ExperimentAssignment, Order
from ml.stats import ArmOutcome, compare
from shopify_app.core.extensions import db
from shopify_app.core.in_lists import chunks


@dataclass
class VisitorOutcome:
    arm: str
    exposed_at: datetime
    purchases: list[tuple[datetime, float]]


def _purchases(experiment: Experiment, visitor_ids: list[int]) -> dict[int, list[tuple[datetime, float]]]:
    orders: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    tracked: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    for chunk in chunks(visitor_ids):
        for order_visitor, at, total in db.session.execute(
            select(Order.visitor_id, Order.processed_at, Order.total_price).where(
                Order.shop_id == experiment.shop_id,
                Order.visitor_id.in_(chunk),
                Order.cancelled_at.is_(None),
            )
        ):
            if order_visitor is not None:
                orders[order_visitor].append((at, float(total or Decimal(0))))
        for visitor_id, at, props in db.session.execute(
            select(Event.visitor_id, Event.occurred_at, Event.props).where(
                Event.shop_id == experiment.shop_id, Event.visitor_id.in_(chunk), Event.type == "purchase"
            )
        ):
            tracked[visitor_id].append((at, float((props or {}).get("value") or 0)))
    return {v: orders.get(v) or tracked.get(v) or [] for v in visitor_ids}


def visitor_outcomes(experiment: Experiment) -> list[VisitorOutcome]:
    """Each exposed visitor's arm, first exposure and purchases."""
    rows = db.session.execute(
        select(
            ExperimentAssignment.visitor_id, ExperimentAssignment.arm, ExperimentAssignment.first_exposed_at
        ).where(
            ExperimentAssignment.experiment_id == experiment.id,
            ExperimentAssignment.shop_id == experiment.shop_id,
            ExperimentAssignment.first_exposed_at.is_not(None),
        )
    ).all()
    purchases = _purchases(experiment, [row.visitor_id for row in rows])
    return [VisitorOutcome(row.arm, row.first_exposed_at, purchases[row.visitor_id]) for row in rows]


def _arm_outcome(outcomes: list[VisitorOutcome], until: datetime | None = None) -> ArmOutcome:
    visitors = converted = 0
    revenue = revenue_sq = 0.0
    for outcome in outcomes:
        if until is not None and outcome.exposed_at >= until:
            continue
        spent = sum(
            value
            for at, value in outcome.purchases
            if at >= outcome.exposed_at and (until is None or at < until)
        )
        bought = any(
            at >= outcome.exposed_at and (until is None or at < until) for at, _ in outcome.purchases
        )
        visitors += 1
        converted += int(bought)
        revenue += spent
        revenue_sq += spent * spent
    return ArmOutcome(visitors, converted, revenue, revenue_sq)


def experiment_results(experiment: Experiment) -> dict[str, Any]:
    """Per-arm numbers and each treatment arm compared with the holdout."""
    outcomes = visitor_outcomes(experiment)
    by_arm: dict[str, list[VisitorOutcome]] = defaultdict(list)
    for outcome in outcomes:
        by_arm[outcome.arm].append(outcome)
    arms = [str(arm["name"]) for arm in experiment.arms]
    summary = {arm: _arm_outcome(by_arm.get(arm, [])) for arm in arms}
    days = sorted({o.exposed_at.date() for o in outcomes})
    cutoffs = [datetime.combine(day, datetime.min.time()) + timedelta(days=1) for day in days[:-1]]
    comparisons = {}
    control = HOLDOUT if HOLDOUT in summary else arms[-1]
    for arm in arms:
        if arm == control:
            continue
        looks = [
            (_arm_outcome(by_arm.get(arm, []), cutoff), _arm_outcome(by_arm.get(control, []), cutoff))
            for cutoff in cutoffs
        ]
        result = compare(summary[arm], summary[control], looks)
        comparisons[arm] = {**asdict(result), "significant": result.significant, "against": control}
    return {
        "experiment": experiment.key,
        "name": experiment.name,
        "status": experiment.status,
        "arms": [
            {
                "arm": arm,
                "visitors": summary[arm].visitors,
                "converted": summary[arm].converted,
                "conversion_rate": round(summary[arm].rate, 5),
                "revenue": round(summary[arm].revenue, 2),
                "revenue_per_visitor": round(summary[arm].revenue_per_visitor, 4),
            }
            for arm in arms
        ],
        "comparisons": {
            arm: {k: _round(v) for k, v in values.items()} for arm, values in comparisons.items()
        },
    }


def _round(value: Any) -> Any:
    return round(value, 5) if isinstance(value, float) else value


def shop_experiments(shop_id: int) -> list[Experiment]:
    """The shop's experiments, newest first."""
    return list(
        db.session.execute(
            select(Experiment).where(Experiment.shop_id == shop_id).order_by(Experiment.started_at.desc())
        ).scalars()
    )
