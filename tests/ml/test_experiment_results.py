"""Experiment results recover a known simulated effect, and find none where there is none."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select

from analytics.experiments import arm_for, get_or_create_experiment
from analytics.models import ExperimentAssignment, Order, Visitor
from ml.experiment_results import experiment_results
from shopify_app.core.extensions import db

START = datetime(2026, 11, 1)
ARMS = [{"name": "treatment", "weight": 0.5}, {"name": "holdout", "weight": 0.5}]


def _simulate(shop: Any, key: str, rates: dict[str, float], visitors: int, seed: int) -> dict[str, Any]:
    """Expose `visitors` over 14 days; each converts with its arm's rate, spending 40."""
    chance = random.Random(seed)
    experiment = get_or_create_experiment(shop.id, key, arms=ARMS)
    keys = [f"{key}-v{i}" for i in range(visitors)]
    db.session.execute(
        insert(Visitor), [{"shop_id": shop.id, "visitor_key": k, "first_seen_at": START} for k in keys]
    )
    ids = dict(
        db.session.execute(select(Visitor.visitor_key, Visitor.id).where(Visitor.visitor_key.in_(keys))).all()
    )
    assignments, orders = [], []
    for number, visitor_key in enumerate(keys):
        arm = arm_for(experiment.key, visitor_key, experiment.arms)
        exposed = START + timedelta(days=number * 14 / visitors)
        assignments.append(
            {
                "shop_id": shop.id,
                "experiment_id": experiment.id,
                "visitor_id": ids[visitor_key],
                "arm": arm,
                "assigned_at": exposed,
                "first_exposed_at": exposed,
                "exposures": 1,
            }
        )
        if chance.random() < rates[arm]:
            orders.append(
                {
                    "shop_id": shop.id,
                    "shopify_id": 10_000_000 + seed * 100_000 + number,
                    "visitor_id": ids[visitor_key],
                    "total_price": Decimal("40.00"),
                    "processed_at": exposed + timedelta(hours=1),
                }
            )
    db.session.execute(insert(ExperimentAssignment), assignments)
    db.session.execute(insert(Order), orders)
    return experiment_results(experiment)


def test_a_known_uplift_is_recovered_with_an_interval(shop: Any) -> None:
    results = _simulate(shop, "notifications", {"treatment": 0.15, "holdout": 0.10}, visitors=8000, seed=1)
    arms = {arm["arm"]: arm for arm in results["arms"]}
    assert arms["treatment"]["visitors"] + arms["holdout"]["visitors"] == 8000
    assert abs(arms["treatment"]["conversion_rate"] - 0.15) < 0.02
    assert abs(arms["holdout"]["conversion_rate"] - 0.10) < 0.02
    assert abs(arms["treatment"]["revenue_per_visitor"] - 40 * arms["treatment"]["conversion_rate"]) < 1e-3
    uplift = results["comparisons"]["treatment"]
    assert uplift["difference_low"] < 0.05 < uplift["difference_high"]
    assert uplift["difference_low"] > 0, "a five-point lift on 8,000 visitors is detectable"
    assert uplift["relative_low"] < 0.5 < uplift["relative_high"]
    assert uplift["sequential_low"] <= uplift["difference_low"]
    assert uplift["significant"] is True


def test_no_effect_is_not_called_a_win_even_when_looked_at_daily(shop: Any) -> None:
    results = _simulate(shop, "widgets", {"treatment": 0.10, "holdout": 0.10}, visitors=8000, seed=2)
    uplift = results["comparisons"]["treatment"]
    assert uplift["sequential_low"] < 0 < uplift["sequential_high"]
    assert uplift["significant"] is False
    assert uplift["sequential_p_value"] > 0.05
