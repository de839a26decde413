"""Experiments shared by recommendation widgets and notifications: arms, assignment, exposure.

Assignment is deterministic per visitor (a hash of experiment key and visitor id), so the same
visitor sees the same arm on every request without a lookup or a write; the assignment row is
written on first exposure so results are computed from what was really shown. Exposures are
recorded away from the shopper's requests: from the tracker's events once the writer stored them
(`record_exposures_from_events`, widgets), or where the decision is made (notifications).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from analytics.models import Event, Experiment, ExperimentAssignment, Visitor
from analytics.writer.sql import upsert
from shopify_app.core.extensions import db
from shopify_app.core.in_lists import chunks
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


def experiment_arms(shop_id: int, key: str) -> list[dict[str, Any]] | None:
    """The stored arms of the shop's experiment with this key (None before its first exposure)."""
    arms = db.session.execute(
        select(Experiment.arms).where(Experiment.shop_id == shop_id, Experiment.key == key)
    ).scalar_one_or_none()
    return list(arms) if arms else None


def first_exposures(
    shop_id: int, session_ids: Sequence[int], event_type: str, experiment_key: str
) -> dict[int, datetime]:
    """Each visitor's earliest `event_type` event for this experiment in these sessions."""
    first: dict[int, datetime] = {}
    for chunk in chunks(list(session_ids)):
        for visitor_id, at, props in db.session.execute(
            select(Event.visitor_id, Event.occurred_at, Event.props).where(
                Event.shop_id == shop_id, Event.session_id.in_(chunk), Event.type == event_type
            )
        ):
            if not isinstance(props, dict) or props.get("experiment") != experiment_key:
                continue
            if visitor_id not in first or at < first[visitor_id]:
                first[visitor_id] = at
    return first


def record_exposures_from_events(
    shop_id: int,
    session_ids: Sequence[int],
    *,
    event_type: str,
    experiment_key: str,
    name: str,
    arms: list[dict[str, Any]],
) -> int:
    """Record the first exposures the tracker reported in these sessions (flushes, never commits).

    Idempotent (a session is reported again as it grows): an assignment keeps its earliest
    exposure. The arm is the visitor's hash bucket, never the arm the event claims."""
    first = first_exposures(shop_id, session_ids, event_type, experiment_key)
    if not first:
        return 0
    experiment = get_or_create_experiment(shop_id, experiment_key, name=name, arms=arms)
    keys: dict[int, str] = {}
    for chunk in chunks(list(first)):
        for visitor_id, visitor_key in db.session.execute(
            select(Visitor.id, Visitor.visitor_key).where(Visitor.shop_id == shop_id, Visitor.id.in_(chunk))
        ):
            keys[visitor_id] = visitor_key
    rows = [
        {
            "shop_id": shop_id,
            "experiment_id": experiment.id,
            "visitor_id": visitor_id,
            "arm": arm_for(experiment.key, keys[visitor_id], experiment.arms),
            "assigned_at": at,
            "first_exposed_at": at,
            "exposures": 1,
        }
        for visitor_id, at in sorted(first.items())
        if visitor_id in keys
    ]
    upsert(
        ExperimentAssignment.__table__,
        rows,
        keys=["experiment_id", "visitor_id"],
        merge={"first_exposed_at": "min", "assigned_at": "min"},
    )
    return len(rows)
