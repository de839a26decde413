"""Session-kNN (V-SKNN, Ludewig and Jannach): the in-memory core that the widgets and `eval-recs` share.

A shopper's current session is compared with past sessions that share its items. The current
session's items are weighted by recency (the last item counts most), candidate neighbours are
the most recent sessions containing any of its items, and every item of the `k` most similar
neighbours is scored by that similarity, discounted by how far back in the current session the
match was and boosted for rare items (IDF). No Flask, no database: plain data in, ranked items out.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

WEIGHTINGS = ("div", "linear", "same", "quadratic", "log")


@dataclass(frozen=True)
class SessionKNNConfig:
    """Tuning knobs; defaults chosen on rsc15_100k train_tr -> train_valid (bench/results/recs.md)."""

    k: int = 100
    sample_size: int = 500
    weighting: str = "div"
    match_weighting: str = "div"
    idf_weight: float = 1.0
    max_session_items: int = 50

    def __post_init__(self) -> None:
        if self.weighting not in WEIGHTINGS or self.match_weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}")
        if self.k < 1 or self.sample_size < 1:
            raise ValueError("k and sample_size must be positive")


def position_weight(kind: str, steps_back: int, length: int) -> float:
    """Weight of an item `steps_back` positions before the end (0 = last) of a session of `length`."""
    position = length - steps_back  # 1-based position from the start
    if kind == "div":
        return 1.0 / (steps_back + 1)
    if kind == "linear":
        return max(position / length, 0.0)
    if kind == "quadratic":
        return (position / length) ** 2
    if kind == "log":
        return 1.0 / math.log10(steps_back + 10)
    return 1.0


class SessionKNN:
    """Past sessions indexed by item; `recommend` ranks the items that follow a current session."""

    def __init__(self, config: SessionKNNConfig | None = None) -> None:
        self.config = config or SessionKNNConfig()
        self._items: dict[int, tuple[int, ...]] = {}
        self._time: dict[int, float] = {}
        self._index: dict[int, list[int]] = {}

    def __len__(self) -> int:
        return len(self._items)

    @property
    def item_count(self) -> int:
        """Distinct items seen in any session."""
        return len(self._index)

    def knows(self, item: int) -> bool:
        """True when `item` occurs in some past session."""
        return item in self._index

    def add_session(self, session_id: int, items: Sequence[int], last_at: float) -> None:
        """Add a session, or extend it when its id is already known (sessions only grow)."""
        items = tuple(items[-self.config.max_session_items :])
        if not items:
            return
        previous = self._items.get(session_id, ())
        for item in set(items).difference(previous):
            self._index.setdefault(item, []).append(session_id)
        self._items[session_id] = items
        self._time[session_id] = last_at

    def add_sessions(self, sessions: Iterable[tuple[int, Sequence[int], float]]) -> None:
        """Add many `(session_id, items, last_at)` at once, oldest first for the best recency order."""
        for session_id, items, last_at in sessions:
            self.add_session(session_id, items, last_at)

    def _idf(self, item: int) -> float:
        sessions = len(self._index.get(item, ()))
        return math.log(len(self._items) / sessions) if sessions else 0.0

    def _neighbours(
        self, weights: dict[int, float], skip_session: int | None, sample: int
    ) -> list[tuple[float, int]]:
        candidates: set[int] = set()
        for item in weights:
            candidates.update(self._index.get(item, ())[-sample:])
        candidates.discard(skip_session)  # type: ignore[arg-type]
        if len(candidates) > sample:
            candidates = set(heapq.nlargest(sample, candidates, key=self._time.__getitem__))
        scored = []
        for session_id in candidates:
            similarity = sum(weights.get(item, 0.0) for item in set(self._items[session_id]))
            if similarity > 0:
                scored.append((similarity, session_id))
        return heapq.nlargest(self.config.k, scored)

    def recommend(
        self,
        session_items: Sequence[int],
        n: int = 20,
        *,
        exclude: Collection[int] = (),
        skip_session: int | None = None,
        sample_size: int | None = None,
    ) -> list[tuple[int, float]]:
        """The `n` best next items for a session that saw `session_items` (oldest first).

        `sample_size` overrides the configured number of candidate sessions (fewer: faster, coarser).
        """
        config = self.config
        recent = list(session_items[-config.max_session_items :])
        if not recent:
            return []
        length = len(recent)
        weights: dict[int, float] = {}
        steps_of: dict[int, int] = {}
        for steps_back, item in enumerate(reversed(recent)):
            if item not in weights:
                weights[item] = position_weight(config.weighting, steps_back, length)
                steps_of[item] = steps_back
        scores: dict[int, float] = {}
        idf_weight = config.idf_weight
        sample = sample_size or config.sample_size
        for similarity, session_id in self._neighbours(weights, skip_session, sample):
            items = self._items[session_id]
            closest = min(steps_of.get(item, length) for item in items)
            decayed = similarity * position_weight(config.match_weighting, closest, length)
            for item in set(items):
                boost = 1.0 + self._idf(item) * idf_weight if idf_weight else 1.0
                scores[item] = scores.get(item, 0.0) + decayed * boost
        for item in exclude:
            scores.pop(item, None)
        return heapq.nlargest(n, scores.items(), key=lambda pair: pair[1])
