"""Offline next-item evaluation (`clickstream eval-recs`), the protocol of the session-rec tables.

Train on one file of `SessionId ItemId Time` clicks; for every test session (items unseen in
training dropped) and every position in it, ask each recommender for 20 items given the clicks
so far and score the true next click: HR@20 (hit rate) and MRR@20. The recommenders are the very
objects the widgets serve from (`ShopRecommender`), fed through the same `add_session` path.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from recommend.engine import ShopRecommender
from recommend.popularity import DecayedPopularity
from recommend.sknn import SessionKNNConfig

CUTOFF = 20


@dataclass(frozen=True)
class Session:
    """One session's clicks, in time order."""

    session_id: int
    items: tuple[int, ...]
    last_at: float


@dataclass
class Score:
    """Running HR/MRR of one recommender."""

    recommender: str
    hits: int = 0
    reciprocal_ranks: float = 0.0
    predictions: int = 0

    def add(self, ranked: Sequence[int], target: int) -> None:
        """Score one prediction."""
        self.predictions += 1
        for rank, item in enumerate(ranked[:CUTOFF], start=1):
            if item == target:
                self.hits += 1
                self.reciprocal_ranks += 1.0 / rank
                return

    def as_dict(self) -> dict[str, Any]:
        """The JSON line `eval-recs` prints."""
        count = self.predictions or 1
        return {
            "recommender": self.recommender,
            f"hr@{CUTOFF}": round(self.hits / count, 4),
            f"mrr@{CUTOFF}": round(self.reciprocal_ranks / count, 4),
            "predictions": self.predictions,
        }


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open("r", encoding="utf-8", newline="")


def read_sessions(path: Path) -> list[Session]:
    """Sessions of a session-rec file (tab-separated `SessionId ItemId Time`), oldest first."""
    clicks: dict[int, list[tuple[float, int]]] = {}
    with _open_text(path) as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:3]] != ["SessionId", "ItemId", "Time"]:
            raise ValueError(f"{path}: expected a header 'SessionId<TAB>ItemId<TAB>Time'")
        for line, row in enumerate(reader, start=2):
            try:
                session_id, item, at = int(row[0]), int(row[1]), float(row[2])
            except (IndexError, ValueError):
                raise ValueError(f"{path}:{line}: expected SessionId, ItemId and Time") from None
            clicks.setdefault(session_id, []).append((at, item))
    sessions = []
    for session_id, events in clicks.items():
        events.sort()
        sessions.append(Session(session_id, tuple(item for _, item in events), events[-1][0]))
    sessions.sort(key=lambda session: session.last_at)
    return sessions


Recommend = Callable[[Sequence[int]], list[int]]


def train(sessions: Sequence[Session], config: SessionKNNConfig | None = None) -> ShopRecommender:
    """A `ShopRecommender` fed with the training sessions (clicks count as views)."""
    model = ShopRecommender(knn_config=config)
    for session in sessions:
        model.add_session(session.session_id, viewed=session.items, at=session.last_at)
    return model


def recommenders(model: ShopRecommender, training: Sequence[Session]) -> dict[str, Recommend]:
    """The recommenders under test: what the widgets serve, and a plain popularity baseline."""
    baseline = DecayedPopularity(half_life_days=None)
    for session in training:
        baseline.add_session(session.items, (), (), session.last_at)
    popular = [item for item, _ in baseline.top(CUTOFF)]
    crowd = [item for item, _ in model.popularity.top(CUTOFF)]
    return {
        "popularity": lambda _items: popular,
        "crowd_favorites": lambda _items: crowd,
        "also_viewed": lambda items: [item for item, _ in model.viewed.recommend(items, CUTOFF)],
    }


def prediction_points(
    sessions: Sequence[Session], known: Callable[[int], bool]
) -> Iterator[tuple[tuple[int, ...], int]]:
    """(clicks so far, true next click) for every position of every test session."""
    for session in sessions:
        items = tuple(item for item in session.items if known(item))
        for position in range(1, len(items)):
            yield items[:position], items[position]


def evaluate(
    train_path: Path, test_path: Path, *, config: SessionKNNConfig | None = None, progress: bool = True
) -> list[dict[str, Any]]:
    """HR@20 / MRR@20 / predictions per recommender, trained on `train_path`, tested on `test_path`."""
    training = read_sessions(train_path)
    testing = read_sessions(test_path)
    model = train(training, config)
    candidates = recommenders(model, training)
    scores = {name: Score(name) for name in candidates}
    points = list(prediction_points(testing, model.viewed.knows))
    for history, target in tqdm(points, desc="eval-recs", unit="prediction", disable=not progress):
        for name, recommend in candidates.items():
            scores[name].add(recommend(history), target)
    return [score.as_dict() for score in scores.values()]
