"""The merchant's rules for the widgets, stored in `Shop.settings["recommendations"]`.

pinned          product ids shown first in every widget (within the collection for featured)
excluded        product ids never shown
holdout_share   share of visitors kept out of the widgets to measure their uplift (0 to 0.5)
holdout_mode    what the holdout sees: `hide` (no widget) or `popularity` (plain best sellers)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recommend.widgets import MerchantRules
from shopify_app.core.errors import BadRequest
from shopify_app.core.models import Shop

HOLDOUT_MODES = ("hide", "popularity")


@dataclass(frozen=True)
class RecommendationSettings:
    """The merchant's choices for the widgets."""

    pinned: tuple[int, ...] = ()
    excluded: frozenset[int] = frozenset()
    holdout_share: float = 0.1
    holdout_mode: str = "hide"

    @classmethod
    def of(cls, shop: Shop) -> RecommendationSettings:
        """The shop's settings (defaults until the merchant changes them)."""
        return cls.from_stored(shop.settings)

    @classmethod
    def from_stored(cls, shop_settings: dict[str, Any] | None) -> RecommendationSettings:
        """The settings from a shop's stored settings."""
        raw = (shop_settings or {}).get("recommendations") or {}
        return cls(
            tuple(int(p) for p in raw.get("pinned", ())),
            frozenset(int(p) for p in raw.get("excluded", ())),
            float(raw.get("holdout_share", 0.1)),
            str(raw.get("holdout_mode", "hide")),
        )

    @classmethod
    def validated(cls, changes: Any, current: RecommendationSettings) -> RecommendationSettings:
        """`current` with the merchant's changes applied, or a BadRequest naming the field."""
        if not isinstance(changes, dict):
            raise BadRequest("send a JSON object of settings", field="body")
        unknown = sorted(set(changes) - {"pinned", "excluded", "holdout_share", "holdout_mode"})
        if unknown:
            raise BadRequest(f"unknown setting {unknown[0]}", field=unknown[0])
        values = current.as_dict()
        for name in ("pinned", "excluded"):
            if name in changes:
                ids = changes[name]
                if not isinstance(ids, list) or not all(str(p).isdigit() for p in ids) or len(ids) > 100:
                    raise BadRequest(f"{name} must be a list of up to 100 product ids", field=name)
                values[name] = [int(p) for p in ids]
        if "holdout_share" in changes:
            share = changes["holdout_share"]
            if not isinstance(share, int | float) or isinstance(share, bool) or not 0 <= share <= 0.5:
                raise BadRequest("holdout_share must be a number from 0 to 0.5", field="holdout_share")
            values["holdout_share"] = float(share)
        if "holdout_mode" in changes:
            if changes["holdout_mode"] not in HOLDOUT_MODES:
                raise BadRequest("holdout_mode must be hide or popularity", field="holdout_mode")
            values["holdout_mode"] = changes["holdout_mode"]
        return cls(
            tuple(values["pinned"]),
            frozenset(values["excluded"]),
            values["holdout_share"],
            values["holdout_mode"],
        )

    def as_dict(self) -> dict[str, Any]:
        """The settings as stored in `Shop.settings["recommendations"]`."""
        return {
            "pinned": list(self.pinned),
            "excluded": sorted(self.excluded),
            "holdout_share": self.holdout_share,
            "holdout_mode": self.holdout_mode,
        }

    @property
    def rules(self) -> MerchantRules:
        """Pins and exclusions as the widgets apply them."""
        return MerchantRules(self.pinned, self.excluded)
