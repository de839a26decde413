"""Training and the model registry: versions on disk plus a `model_versions` row each.

A shop's model learns from its own sessions, split by time (oldest 70 % train, of which the
newest fifth validates for early stopping; newest 30 % test). The global model pools every shop
and is what a new shop is scored with until it has enough sessions of its own. A new version
serves only when it scores at least as well as the one serving (ROC-AUC on its test split);
`rollback` brings the previous version back.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import func, select

from analytics.models import VisitSession
from ml.datasets import LabelledSession
from ml.evaluation import prepare_training, score, time_split
from ml.features import FeatureSpec, aggregate, encode_many
from ml.models import ModelVersion
from ml.network import TrainingConfig, predict_baseline, predict_lstm, train_baseline, train_lstm
from ml.scorer import export_weights
from ml.sessions import load_session_inputs, recent_session_ids
from shopify_app.core.errors import BadRequest, NotFound
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop
from shopify_app.core.types import utcnow

KIND = "conversion_lstm"
MIN_SESSIONS = 200
MIN_BUYERS = 5
MAX_TRAINING_SESSIONS = 50_000
Progress = Callable[[str], None]


class NotEnoughData(BadRequest):
    """Too few sessions (or buyers) to train a model worth serving."""

    code = "not_enough_data"


def _labelled(shop_ids: list[int], limit: int) -> list[LabelledSession]:
    labelled = []
    for shop_id in shop_ids:
        shop = db.session.get(Shop, shop_id)
        host = shop.domain if shop else ""
        for stored in load_session_inputs(shop_id, recent_session_ids(shop_id, limit), host):
            if stored.input.events:
                labelled.append(LabelledSession(stored.input, stored.started_at, stored.bought))
    return sorted(labelled, key=lambda s: s.started_at)


def model_root() -> Path:
    """Where model versions are stored (the MODEL_DIR setting)."""
    return Path(current_app.config["MODEL_DIR"])


def train_model(
    shop_id: int | None, *, config: TrainingConfig | None = None, progress: Progress | None = None
) -> ModelVersion:
    """Train a new version for a shop (or the global model when `shop_id` is None) and register it.

    One unit of work: the version row is committed with its files in place."""
    say = progress or (lambda _message: None)
    shop_ids = [shop_id] if shop_id is not None else list(db.session.execute(select(Shop.id)).scalars())
    sessions = _labelled(shop_ids, MAX_TRAINING_SESSIONS)
    buyers = sum(s.bought for s in sessions)
    say(f"{len(sessions)} sessions, {buyers} with a purchase")
    if len(sessions) < MIN_SESSIONS or buyers < MIN_BUYERS:
        raise NotEnoughData(
            f"need at least {MIN_SESSIONS} sessions and {MIN_BUYERS} buyers to train; have {len(sessions)} and {buyers}"
        )
    train, test = time_split(sessions)
    data = prepare_training(train)
    spec, fit_x, fit_y, valid_x, valid_y = data.spec, data.fit_x, data.fit_y, data.valid_x, data.valid_y
    say(f"training on {len(fit_x)} session prefixes")
    lstm = train_lstm(
        fit_x,
        fit_y,
        valid_x,
        valid_y,
        config,
        on_epoch=lambda e, logs: say(f"epoch {e + 1}: val PR-AUC {logs.get('val_auc', 0):.3f}"),
    )
    test_x = encode_many([s.session for s in test], spec)
    test_y = np.array([int(s.bought) for s in test], dtype=np.int64)
    baseline = train_baseline(aggregate(np.concatenate([fit_x, valid_x])), np.concatenate([fit_y, valid_y]))
    lstm_scores = score(test_y, predict_lstm(lstm, test_x))
    baseline_scores = score(test_y, predict_baseline(baseline, aggregate(test_x)))
    metrics = {
        "lstm": lstm_scores,
        "baseline": baseline_scores,
        "test_sessions": len(test),
        "test_buyers": int(test_y.sum()),
    }
    say(f"test ROC-AUC {lstm_scores['roc_auc']} (baseline {baseline_scores['roc_auc']})")
    row = _register(shop_id, lstm, spec, metrics, len(sessions), config or TrainingConfig())
    db.session.commit()
    return row


def _register(
    shop_id: int | None,
    lstm: object,
    spec: FeatureSpec,
    metrics: dict[str, Any],
    sessions: int,
    config: TrainingConfig,
) -> ModelVersion:
    latest = db.session.execute(
        select(func.max(ModelVersion.version)).where(ModelVersion.kind == KIND, _same_owner(shop_id))
    ).scalar()
    version = (latest or 0) + 1
    directory = model_root() / (f"shop-{shop_id}" if shop_id else "global") / f"v{version}"
    export_weights(lstm, spec, directory)
    lstm.save(directory / "model.keras")  # type: ignore[attr-defined]
    row = ModelVersion(
        shop_id=shop_id,
        kind=KIND,
        version=version,
        path=str(directory),
        status="candidate",
        metrics=metrics,
        config={"units": config.units, "features": spec.to_dict()},
        training_sessions=sessions,
        trained_at=utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    serving = active_version(shop_id)
    if serving is None or _auc(row) >= _auc(serving):
        activate(row)
    return row


def _same_owner(shop_id: int | None) -> Any:
    return ModelVersion.shop_id.is_(None) if shop_id is None else ModelVersion.shop_id == shop_id


def _auc(row: ModelVersion) -> float:
    return float((row.metrics.get("lstm") or {}).get("roc_auc") or 0.0)


def active_version(shop_id: int | None) -> ModelVersion | None:
    """The version serving a shop (its own, not the global fallback)."""
    return db.session.execute(
        select(ModelVersion).where(
            ModelVersion.kind == KIND, _same_owner(shop_id), ModelVersion.status == "active"
        )
    ).scalar_one_or_none()


def serving_version(shop_id: int) -> ModelVersion | None:
    """The shop's own active version, or the global one as its cold start."""
    return active_version(shop_id) or active_version(None)


def activate(row: ModelVersion) -> None:
    """Make `row` the serving version of its shop (the previous one is retired)."""
    current = active_version(row.shop_id)
    if current is not None and current.id != row.id:
        current.status = "retired"
        db.session.flush()
    row.status = "active"
    row.activated_at = utcnow()
    db.session.flush()


def rollback(shop_id: int | None) -> ModelVersion:
    """Serve the version that served before the current one."""
    current = active_version(shop_id)
    if current is None:
        raise NotFound("no model is serving this shop")
    previous = db.session.execute(
        select(ModelVersion)
        .where(
            ModelVersion.kind == KIND,
            _same_owner(shop_id),
            ModelVersion.status == "retired",
            ModelVersion.version < current.version,
        )
        .order_by(ModelVersion.version.desc())
        .limit(1)
    ).scalar_one_or_none()
    if previous is None:
        raise NotFound("there is no earlier version to roll back to")
    current.status = "rolled_back"
    db.session.flush()
    activate(previous)
    db.session.commit()
    return previous


def sessions_since(shop_id: int, moment: datetime | None) -> int:
    """How many sessions the shop has had since `moment` (all of them when None)."""
    query = select(func.count()).select_from(VisitSession).where(VisitSession.shop_id == shop_id)
    if moment is not None:
        query = query.where(VisitSession.started_at > moment)
    return int(db.session.execute(query).scalar() or 0)


def needs_retraining(shop_id: int, new_sessions: int = 1000) -> bool:
    """True when enough sessions arrived since the serving version was trained."""
    current = active_version(shop_id)
    return sessions_since(shop_id, current.trained_at if current else None) >= (
        new_sessions if current else MIN_SESSIONS
    )


def delete_version_files(row: ModelVersion) -> None:
    """Remove a version's files (used when a shop is deleted)."""
    shutil.rmtree(row.path, ignore_errors=True)
