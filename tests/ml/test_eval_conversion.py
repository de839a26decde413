"""`clickstream eval-conversion` on the real shared data sets."""

from __future__ import annotations

import json
from pathlib import Path

from flask.testing import FlaskCliRunner

from tests.conftest import SHARED


def _lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_the_uci_baseline_reaches_the_published_roc_auc(runner: FlaskCliRunner) -> None:
    data = SHARED / "data" / "online_shoppers_intention.csv"
    result = runner.invoke(args=["eval-conversion", "--data", str(data), "--format", "uci-shoppers"])
    assert result.exit_code == 0, result.output
    (line,) = _lines(result.stdout)
    assert line["model"] == "baseline"
    assert line["prefix"] is None
    assert line["sessions"] == 12330
    assert float(line["roc_auc"]) >= 0.92  # type: ignore[arg-type]


def test_rees46_prints_both_models_at_every_prefix(runner: FlaskCliRunner) -> None:
    data = SHARED / "data" / "rees46_2019-Oct_head.csv.gz"
    args = ["eval-conversion", "--data", str(data), "--format", "rees46", "--epochs", "3"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    lines = _lines(result.stdout)
    assert [(line["model"], line["prefix"]) for line in lines] == [
        (model, k) for model in ("lstm", "baseline") for k in (1, 3, 5, 10)
    ]
    for line in lines:
        assert 0.0 <= float(line["roc_auc"]) <= 1.0  # type: ignore[arg-type]
        assert int(line["sessions"]) > int(line["buyers"]) > 0  # type: ignore[call-overload]
    sessions = [int(line["sessions"]) for line in lines[:4]]  # type: ignore[call-overload]
    assert sessions == sorted(sessions, reverse=True), "longer prefixes leave fewer sessions"
    assert "training the LSTM" in result.stderr


def test_a_wrong_file_gets_a_clear_error(runner: FlaskCliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    result = runner.invoke(args=["eval-conversion", "--data", str(bad), "--format", "uci-shoppers"])
    assert result.exit_code != 0
    assert "Revenue" in result.output
