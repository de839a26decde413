"""One shop's recommendation model in memory: session-kNN over views and over purchases, plus popularity.

The same object is meant to serve the storefront and is scored offline by
`recommend.evaluation`, so what is measured is what shoppers get.
"""

from __future__ import annotations

from collections.abc import Sequence

from recommend.popularity import DecayedPopularity
from recommend.sknn import SessionKNN, SessionKNNConfig


class ShopRecommender:
    """Session-kNN for "also viewed" and "also bought" and decayed popularity, all fed by sessions."""

    def __init__(self, knn_config: SessionKNNConfig | None = None, half_life_days: float = 14.0) -> None:
        self.viewed = SessionKNN(knn_config)
        self.bought = SessionKNN(knn_config)
        self.popularity = DecayedPopularity(half_life_days)
        self._counted: dict[int, tuple[int, int, int]] = {}

    def __len__(self) -> int:
        return len(self.viewed)

    def add_session(
        self,
        session_id: int,
        *,
        viewed: Sequence[int] = (),
        carted: Sequence[int] = (),
        bought: Sequence[int] = (),
        at: float,
    ) -> None:
        """Add or extend a session: its product interactions in order, its carts and its purchases."""
        before = self._counted.get(session_id, (0, 0, 0))
        self.popularity.add_session(viewed[before[0] :], carted[before[1] :], bought[before[2] :], at)
        self._counted[session_id] = (len(viewed), len(carted), len(bought))
        if viewed:
            self.viewed.add_session(session_id, viewed, at)
        basket = list(dict.fromkeys([*carted, *bought]))
        if basket:
            self.bought.add_session(session_id, basket, at)
