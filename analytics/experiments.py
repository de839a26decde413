"""Experiments shared by recommendation widgets and notifications: arms, assignment, exposure.

Assignment is deterministic per visitor (a hash of experiment key and visitor id), so the same
visitor sees the same arm on every device request without a lookup; the assignment row is
written on first exposure so results are computed from what was really shown.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select

from analytics.models import Experiment, ExperimentAssignment, Visitor
from shopify_app.core.extensions import db
from shopify_app.core.types import utcnow

HOLDOUT = "holdout"


def default_arms(holdout_share: float = 0.1) -> list[dict[str, Any]]:
    """A treatment arm and a holdout arm."""
    return [
        {"name": "treatment", "weight": round(1 - holdout_share, 4)},
        {"name": HOLDOUT, "weight": holdout_share},
    ]


def get_or_create_experiment(
    shop_id: int, key: str, *, name: str | None = None, arms: list[dict[str, Any]] | None = None
) -> Experiment:
    """The shop's running experiment with this key (flushes, never commits)."""
    experiment = db.session.execute(
        select(Experiment).where(Experiment.shop_id == shop_id, Experiment.key == key)
    ).scalar_one_or_none()
    if experiment is None:
        experiment = Experiment(shop_id=shop_id, key=key, name=name or key, arms=arms or default_arms())
        db.session.add(experiment)
        db.session.flush()
    return experiment


def arm_for(experiment_key: str, visitor_key: str, arms: list[dict[str, Any]]) -> str:
    """The arm this visitor is in: a stable hash bucket over the arms' weights."""
    digest = hashlib.sha256(f"{experiment_key}:{visitor_key}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64
    total = sum(float(arm["weight"]) for arm in arms)
    cumulative = 0.0
    for arm in arms:
        cumulative += float(arm["weight"]) / total
        if point < cumulative:
            return str(arm["name"])
    return str(arms[-1]["name"])


def record_exposure(experiment: Experiment, visitor: Visitor) -> ExperimentAssignment:
    """Log that `visitor` was exposed to its arm of `experiment` (flushes, never commits)."""
    assignment = db.session.execute(
        select(ExperimentAssignment).where(
            ExperimentAssignment.experiment_id == experiment.id,
            ExperimentAssignment.visitor_id == visitor.id,
        )
    ).scalar_one_or_none()
    now = utcnow()
    if assignment is None:
        assignment = ExperimentAssignment(
            shop_id=experiment.shop_id,
            experiment_id=experiment.id,
            visitor_id=visitor.id,
            arm=arm_for(experiment.key, visitor.visitor_key, experiment.arms),
            assigned_at=now,
            first_exposed_at=now,
            exposures=0,
        )
        db.session.add(assignment)
    assignment.exposures = (assignment.exposures or 0) + 1
    assignment.first_exposed_at = assignment.first_exposed_at or now
    db.session.flush()
    return assignment
