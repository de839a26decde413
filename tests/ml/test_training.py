"""Training a shop's model: versions on disk and in the registry, serving, rollback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskCliRunner

from ml.features import FeatureSpec
from ml.models import ModelVersion
from ml.network import TrainingConfig, predict_lstm, train_lstm
from ml.scorer import Scorer, export_weights
from ml.training import NotEnoughData, activate, rollback, serving_version, train_model
from tests.ml.conftest import make_sessions

QUICK = TrainingConfig(epochs=3, units=8)


def test_numpy_serving_gives_the_keras_probabilities(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = np.zeros((64, 20, 24), dtype=np.float32)
    x[:, :5, :] = rng.random((64, 5, 24))
    y = (x[:, 0, 0] > 0.5).astype(np.int64)
    model = train_lstm(x[:48], y[:48], x[48:], y[48:], QUICK)
    export_weights(model, FeatureSpec(), tmp_path)
    scorer = Scorer.load(tmp_path)
    served = np.array([scorer.probability_of(row) for row in x])
    assert np.allclose(served, predict_lstm(model, x), atol=1e-5)


def test_training_registers_a_serving_version_and_rollback_restores_the_previous(
    shop: Any, model_dir: Path
) -> None:
    make_sessions(shop, 400)
    first = train_model(shop.id, config=QUICK)
    assert first.status == "active"
    assert first.metrics["lstm"]["roc_auc"] > 0.8, "buyers add to cart: the signal is easy"
    assert first.metrics["test_sessions"] == 120
    assert (Path(first.path) / "weights.npz").exists()
    assert (Path(first.path) / "model.keras").exists()
    second = train_model(shop.id, config=QUICK)
    assert second.version == 2
    activate(second)
    assert serving_version(shop.id) is second
    assert rollback(shop.id) is first
    assert first.status == "active"
    assert second.status == "rolled_back"


def test_a_shop_without_enough_sessions_is_told_why(
    shop: Any, model_dir: Path, runner: FlaskCliRunner
) -> None:
    make_sessions(shop, 20)
    with pytest.raises(NotEnoughData, match="need at least 200 sessions"):
        train_model(shop.id, config=QUICK)
    result = runner.invoke(args=["train", "--shop", shop.domain])
    assert result.exit_code != 0
    assert "need at least 200 sessions" in result.output
    assert ModelVersion.query.filter_by(shop_id=shop.id).count() == 0


def test_an_unknown_shop_is_named(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["train", "--shop", "nope.myshopify.com"])
    assert result.exit_code != 0
    assert "nope.myshopify.com" in result.output
