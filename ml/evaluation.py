"""Offline evaluation of the conversion models (`clickstream eval-conversion`), no Flask.

REES46: sessions split by start time (the oldest 70 % train, the newest 30 % test; the newest
fifth of training validates for early stopping). Both models learn from prefixes of the training
sessions (after 1, 3, 5 and 10 events, and whole), and are scored on test sessions long enough
for each prefix. UCI Online Shoppers: the aggregate baseline only (the file holds no event
sequences), 5-fold stratified cross-validation, no resampling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ml.datasets import LabelledSession, read_rees46, read_uci_shoppers
from ml.features import FeatureSpec, SessionInput, aggregate, encode_many
from ml.network import TrainingConfig, predict_baseline, predict_lstm, train_baseline, train_lstm

PREFIXES = (1, 3, 5, 10)
TEST_SHARE = 0.3
VALID_SHARE = 0.2
Progress = Callable[[str], None]


def score(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float | None]:
    """ROC-AUC, PR-AUC, Brier score and expected calibration error (10 bins)."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    if len(labels) == 0 or labels.min() == labels.max():
        return {"roc_auc": None, "pr_auc": None, "brier": None, "calibration_error": None}
    bins = np.minimum((probabilities * 10).astype(int), 9)
    error = 0.0
    for b in range(10):
        chosen = bins == b
        if chosen.any():
            error += chosen.mean() * abs(probabilities[chosen].mean() - labels[chosen].mean())
    return {
        "roc_auc": round(float(roc_auc_score(labels, probabilities)), 4),
        "pr_auc": round(float(average_precision_score(labels, probabilities)), 4),
        "brier": round(float(brier_score_loss(labels, probabilities)), 4),
        "calibration_error": round(float(error), 4),
    }


def prefix(session: SessionInput, length: int) -> SessionInput:
    """The session as it looked after its first `length` events."""
    return replace(session, events=tuple(session.events[:length]))


def training_prefixes(sessions: Sequence[LabelledSession]) -> tuple[list[SessionInput], np.ndarray]:
    """Each session at every evaluated prefix shorter than itself, and whole."""
    inputs: list[SessionInput] = []
    labels: list[int] = []
    for labelled in sessions:
        length = len(labelled.session.events)
        for k in (*(k for k in PREFIXES if k < length), length):
            inputs.append(prefix(labelled.session, k))
            labels.append(int(labelled.bought))
    return inputs, np.array(labels, dtype=np.int64)


def time_split(
    sessions: Sequence[LabelledSession], test_share: float = TEST_SHARE
) -> tuple[list[LabelledSession], list[LabelledSession]]:
    """Oldest sessions for training, newest for testing (sessions are assumed oldest first)."""
    ordered = sorted(sessions, key=lambda s: s.started_at)
    cut = int(len(ordered) * (1 - test_share))
    return ordered[:cut], ordered[cut:]


@dataclass(frozen=True)
class TrainingData:
    """Encoded training prefixes: the older part fits, the newest fifth validates (early stopping)."""

    spec: FeatureSpec
    fit_x: np.ndarray
    fit_y: np.ndarray
    valid_x: np.ndarray
    valid_y: np.ndarray


def prepare_training(train: Sequence[LabelledSession]) -> TrainingData:
    """Split training sessions by time, learn the feature spec, encode every prefix."""
    fit, valid = time_split(train, VALID_SHARE)
    spec = FeatureSpec.fit([s.session for s in fit])
    fit_inputs, fit_y = training_prefixes(fit)
    valid_inputs, valid_y = training_prefixes(valid)
    return TrainingData(spec, encode_many(fit_inputs, spec), fit_y, encode_many(valid_inputs, spec), valid_y)


def evaluate_rees46(
    path: Path, *, config: TrainingConfig | None = None, progress: Progress | None = None
) -> Iterator[dict[str, Any]]:
    """One result per model and prefix on a REES46 file."""
    say = progress or (lambda _message: None)
    sessions = read_rees46(path)
    say(f"{len(sessions)} sessions, {sum(s.bought for s in sessions)} with a purchase")
    train, test = time_split(sessions)
    data = prepare_training(train)
    spec, fit_x, fit_y, valid_x, valid_y = data.spec, data.fit_x, data.fit_y, data.valid_x, data.valid_y
    say(f"training the LSTM on {len(fit_x)} prefixes")
    lstm = train_lstm(
        fit_x, fit_y, valid_x, valid_y, config, on_epoch=lambda e, logs: say(f"epoch {e + 1}: {logs}")
    )
    say("training the baseline")
    baseline = train_baseline(aggregate(np.concatenate([fit_x, valid_x])), np.concatenate([fit_y, valid_y]))
    models: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "lstm": lambda x: predict_lstm(lstm, x),
        "baseline": lambda x: predict_baseline(baseline, aggregate(x)),
    }
    for name, predict in models.items():
        for k in PREFIXES:
            chosen = [s for s in test if len(s.session.events) >= k]
            labels = np.array([int(s.bought) for s in chosen], dtype=np.int64)
            x = encode_many([prefix(s.session, k) for s in chosen], spec)
            metrics = score(labels, predict(x))
            yield {
                "model": name,
                "prefix": k,
                "roc_auc": metrics["roc_auc"],
                "pr_auc": metrics["pr_auc"],
                "sessions": len(chosen),
                "buyers": int(labels.sum()),
            }


def evaluate_uci_shoppers(path: Path, *, folds: int = 5, seed: int = 7) -> Iterator[dict[str, Any]]:
    """The aggregate baseline under stratified k-fold cross-validation (no resampling)."""
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold

    features, labels, _names = read_uci_shoppers(path)
    probabilities = np.zeros(len(labels))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_index, test_index in splitter.split(features, labels):
        model = GradientBoostingClassifier(random_state=seed)
        model.fit(features[train_index], labels[train_index])
        probabilities[test_index] = model.predict_proba(features[test_index])[:, 1]
    fold_auc = []
    for _, test_index in splitter.split(features, labels):
        fold_auc.append(score(labels[test_index], probabilities[test_index])["roc_auc"] or 0.0)
    metrics = score(labels, probabilities)
    yield {
        "model": "baseline",
        "prefix": None,
        "roc_auc": round(float(np.mean(fold_auc)), 4),
        "pr_auc": metrics["pr_auc"],
        "sessions": len(labels),
        "buyers": int(labels.sum()),
    }
