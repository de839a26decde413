"""The conversion models (no Flask, no database): a Keras LSTM and a gradient-boosting baseline.

Both give the probability that a session ends in a purchase. The LSTM reads the encoded event
sequence (zero rows are padding and are masked); the baseline reads the session aggregates.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@dataclass(frozen=True)
class TrainingConfig:
    """Knobs of LSTM training; the defaults suit a few thousand sessions on a CPU."""

    units: int = 32
    epochs: int = 30
    batch_size: int = 128
    patience: int = 4
    learning_rate: float = 3e-3
    seed: int = 7


def class_weights(labels: np.ndarray) -> dict[int, float]:
    """Weights that make buyers and non-buyers count equally (buyers are rare)."""
    positives = float(labels.sum())
    negatives = float(len(labels) - positives)
    if positives == 0 or negatives == 0:
        return {0: 1.0, 1: 1.0}
    total = positives + negatives
    return {0: total / (2 * negatives), 1: total / (2 * positives)}


def build_lstm(max_events: int, width: int, config: TrainingConfig) -> object:
    """A small masked LSTM with a sigmoid output."""
    import keras

    keras.utils.set_random_seed(config.seed)
    model = keras.Sequential(
        [
            keras.layers.Input(shape=(max_events, width)),
            keras.layers.Masking(mask_value=0.0),
            keras.layers.LSTM(config.units),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="binary_crossentropy",
        metrics=[keras.metrics.AUC(name="auc", curve="PR")],
    )
    return model


def train_lstm(
    train_x: np.ndarray,
    train_y: np.ndarray,
    valid_x: np.ndarray,
    valid_y: np.ndarray,
    config: TrainingConfig | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> object:
    """Fit the LSTM with class weights and early stopping on the validation PR-AUC."""
    import keras

    config = config or TrainingConfig()
    model = build_lstm(train_x.shape[1], train_x.shape[2], config)
    callbacks: list[object] = [
        keras.callbacks.EarlyStopping(
            monitor="val_auc", mode="max", patience=config.patience, restore_best_weights=True
        )
    ]
    if on_epoch is not None:
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: on_epoch(e, logs or {})))
    model.fit(  # type: ignore[attr-defined]
        train_x,
        train_y,
        validation_data=(valid_x, valid_y),
        epochs=config.epochs,
        batch_size=config.batch_size,
        class_weight=class_weights(train_y),
        callbacks=callbacks,
        verbose=0,
    )
    return model


def predict_lstm(model: object, x: np.ndarray) -> np.ndarray:
    """Purchase probabilities for encoded sessions."""
    if len(x) == 0:
        return np.zeros(0, dtype=np.float32)
    result = model(x, training=False)  # type: ignore[operator]
    return np.asarray(result).reshape(-1)


def train_baseline(features: np.ndarray, labels: np.ndarray, seed: int = 7) -> object:
    """Gradient boosting on session aggregates, buyers weighted up like the LSTM's."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=seed)
    weights = class_weights(labels)
    model.fit(features, labels, sample_weight=np.array([weights[int(y)] for y in labels]))
    return model


def predict_baseline(model: object, features: np.ndarray) -> np.ndarray:
    """Purchase probabilities from the baseline."""
    if len(features) == 0:
        return np.zeros(0, dtype=np.float32)
    return np.asarray(model.predict_proba(features))[:, 1]  # type: ignore[attr-defined]
