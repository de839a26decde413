"""Time-decayed popularity ("crowd favourites"): views, carts and purchases, recent ones counting most.

Scores are kept relative to a fixed reference time, `weight * 2 ** ((t - reference) / half_life)`,
so adding an event never rescales the others and the ranking equals true exponential decay.
With `half_life_days=None` it is plain counting (the evaluation's popularity baseline).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable

DEFAULT_SIGNAL_WEIGHTS = {"view": 1.0, "cart": 4.0, "purchase": 8.0}
_MAX_EXPONENT = 900.0  # 2**900 is still a finite float; rebase before it


class DecayedPopularity:
    """Item scores from weighted shopper signals with exponential time decay."""

    def __init__(
        self,
        half_life_days: float | None = 14.0,
        *,
        signal_weights: dict[str, float] | None = None,
        reference: float | None = None,
    ) -> None:
        self.half_life = half_life_days * 86400.0 if half_life_days else None
        self.signal_weights = signal_weights or DEFAULT_SIGNAL_WEIGHTS
        self.reference = reference
        self._scores: dict[int, float] = {}
        self._ranking: list[int] | None = None

    def __len__(self) -> int:
        return len(self._scores)

    def _factor(self, at: float) -> float:
        if self.half_life is None:
            return 1.0
        if self.reference is None:
            self.reference = at
        exponent = (at - self.reference) / self.half_life
        if exponent > _MAX_EXPONENT:
            self._rebase(at)
            exponent = 0.0
        return float(2.0**exponent)

    def _rebase(self, at: float) -> None:
        assert self.half_life is not None
        assert self.reference is not None
        shrink = 2.0 ** (-(at - self.reference) / self.half_life)
        self._scores = {item: score * shrink for item, score in self._scores.items()}
        self._ranking = None
        self.reference = at

    def add(self, item: int, signal: str, at: float, times: float = 1.0) -> None:
        """Count one `signal` ("view", "cart" or "purchase") on `item` at unix time `at`."""
        weight = self.signal_weights.get(signal, 0.0) * times
        if weight:
            self._ranking = None
            self._scores[item] = self._scores.get(item, 0.0) + weight * self._factor(at)

    def add_session(
        self, viewed: Iterable[int], carted: Iterable[int], bought: Iterable[int], at: float
    ) -> None:
        """Count a session's signals, all at its last event time."""
        factor = None
        scores = self._scores
        for signal, items in (("view", viewed), ("cart", carted), ("purchase", bought)):
            weight = self.signal_weights.get(signal, 0.0)
            if not weight:
                continue
            for item in items:
                if factor is None:
                    factor = self._factor(at)  # may rebase the scores: take them afresh
                    scores = self._scores
                    self._ranking = None
                scores[item] = scores.get(item, 0.0) + weight * factor

    def score(self, item: int) -> float:
        """The item's current score (0 when never seen)."""
        return self._scores.get(item, 0.0)

    def top(self, n: int, *, allowed: Callable[[int], bool] | None = None) -> list[tuple[int, float]]:
        """The `n` most popular items, optionally only those `allowed` accepts."""
        if allowed is None:
            return heapq.nlargest(n, self._scores.items(), key=lambda pair: pair[1])
        chosen: list[tuple[int, float]] = []
        for item in self.ranked():
            if allowed(item):
                chosen.append((item, self._scores[item]))
                if len(chosen) >= n:
                    break
        return chosen

    def ranked(self) -> list[int]:
        """Every item, most popular first (cached until the next `add`)."""
        if self._ranking is None:
            self._ranking = sorted(self._scores, key=self._scores.__getitem__, reverse=True)
        return self._ranking
