"""Conversion scoring latency: `python -m bench scoring`.

Per live session: encode its events (the same `ml.features.encode` as training) and score them
with the NumPy replay of the trained LSTM, side by side with calling the Keras model itself on
the same sessions one at a time (the obvious way to serve it). Sessions are the REES46 sample's.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np

from ml.datasets import read_rees46
from ml.evaluation import prepare_training, time_split
from ml.features import encode
from ml.network import TrainingConfig, train_lstm
from ml.scorer import Scorer, export_weights

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "rees46_2019-Oct_head.csv.gz"


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1], max(ordered)


def main(argv: list[str]) -> None:
    sessions = read_rees46(DATA)
    train, test = time_split(sessions)
    data = prepare_training(train)
    spec = data.spec
    model = train_lstm(data.fit_x, data.fit_y, data.valid_x, data.valid_y, TrainingConfig(epochs=5))
    live = [s.session for s in test][:2000]
    with TemporaryDirectory() as folder:
        export_weights(model, spec, Path(folder))
        scorer = Scorer.load(Path(folder))
    ours, keras = [], []
    for session in live:
        started = time.perf_counter()
        scorer.score(session)
        ours.append((time.perf_counter() - started) * 1000)
    for session in live[:500]:
        started = time.perf_counter()
        np.asarray(model(encode(session, spec)[None], training=False))  # type: ignore[operator]
        keras.append((time.perf_counter() - started) * 1000)
    o50, o99, omax = _percentiles(ours)
    k50, k99, kmax = _percentiles(keras)
    print(
        f"sessions scored: {len(ours)} (NumPy) and {len(keras)} (Keras), features included, one at a time\n"
    )
    print(
        "| per session | NumPy replay of the LSTM (served) | Keras model call (baseline) | speed-up at p99 |"
    )
    print("|---|---|---|---|")
    print(f"| p50 | {o50:.3f} ms | {k50:.3f} ms | |")
    print(f"| p99 | {o99:.3f} ms | {k99:.3f} ms | {k99 / o99:.0f}x |")
    print(f"| max | {omax:.3f} ms | {kmax:.3f} ms | |")
