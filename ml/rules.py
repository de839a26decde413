"""Which notification, if any, a scored session should see (no Flask, no database).

The merchant's settings choose the kinds and thresholds; the rules pick the most helpful one:
a shopper with a high purchase probability and a cart, who has not gone to checkout, is
hesitating (cart reminder, or the free-shipping nudge when the cart is just short of the
threshold); a shopper looking at a product others bought today gets social proof; a shopper
who has browsed a while with a low probability is about to leave (a limited-time discount).
Quiet pages (checkout) and the per-session cap always win.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = ("cart_reminder", "free_shipping", "social_proof", "discount")


@dataclass(frozen=True)
class NotificationSettings:
    """What the merchant configured in admin (stored in the shop's settings)."""

    enabled: bool = True
    kinds: tuple[str, ...] = KINDS
    high_intent: float = 0.5
    leaving: float = 0.05
    min_events_before_leaving: int = 4
    max_per_session: int = 1
    quiet_pages: tuple[str, ...] = ("checkout_started", "checkout", "purchase")
    free_shipping_threshold: float = 0.0
    discount_percent: int = 10
    discount_minutes: int = 30
    holdout_share: float = 0.1

    @classmethod
    def validated(cls, changes: dict[str, Any], current: NotificationSettings) -> NotificationSettings:
        """`current` with the merchant's `changes`, each checked; SettingsError names a bad field."""
        values = current.__dict__.copy()
        for name, raw in changes.items():
            if name not in values:
                raise SettingsError(name, f"unknown setting {name!r}")
            values[name] = _checked(name, raw, values[name])
        if values["leaving"] >= values["high_intent"]:
            raise SettingsError("leaving", "the leaving threshold must be below the high-intent threshold")
        return cls(**values)

    @classmethod
    def from_settings(cls, stored: dict[str, Any] | None) -> NotificationSettings:
        """Settings from the shop's stored JSON, defaults for anything missing or unknown."""
        values: dict[str, Any] = {}
        for name, default in cls().__dict__.items():
            if stored and name in stored:
                raw = stored[name]
                values[name] = tuple(raw) if isinstance(default, tuple) else type(default)(raw)
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return {
            name: list(value) if isinstance(value, tuple) else value for name, value in self.__dict__.items()
        }


class SettingsError(ValueError):
    """A notification setting the merchant sent that cannot be used."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


PROBABILITIES = ("high_intent", "leaving", "holdout_share")


def _checked(name: str, raw: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if not isinstance(raw, bool):
            raise SettingsError(name, f"{name} must be true or false")
        return raw
    if isinstance(default, tuple):
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            raise SettingsError(name, f"{name} must be a list of strings")
        if name == "kinds" and set(raw) - set(KINDS):
            raise SettingsError(name, f"kinds must be among {', '.join(KINDS)}")
        return tuple(raw)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise SettingsError(name, f"{name} must be a number")
    if name in PROBABILITIES and not 0 <= raw <= 1:
        raise SettingsError(name, f"{name} must be between 0 and 1")
    if name == "holdout_share" and not 0.01 <= raw <= 0.5:
        raise SettingsError(name, "holdout_share must be between 0.01 and 0.5")
    if name == "discount_percent" and not 1 <= raw <= 90:
        raise SettingsError(name, "discount_percent must be between 1 and 90")
    if raw < 0:
        raise SettingsError(name, f"{name} must not be negative")
    return type(default)(raw)


@dataclass(frozen=True)
class SessionSituation:
    """What the rules need to know about a live session."""

    probability: float
    events: int
    page_type: str | None
    cart_value: float
    reached_checkout: bool
    shown_this_session: int
    product_id: int | None = None
    product_buyers_today: int = 0


@dataclass(frozen=True)
class Decision:
    """A notification to show (its kind and the numbers its message needs)."""

    kind: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


def decide(situation: SessionSituation, settings: NotificationSettings) -> Decision | None:
    """The notification for this session now, or None."""
    if not settings.enabled or situation.shown_this_session >= settings.max_per_session:
        return None
    if situation.page_type in settings.quiet_pages or situation.reached_checkout:
        return None
    allowed = set(settings.kinds)
    p = situation.probability
    if p >= settings.high_intent and situation.cart_value > 0:
        short = settings.free_shipping_threshold - situation.cart_value
        if "free_shipping" in allowed and 0 < short <= settings.free_shipping_threshold * 0.5:
            return Decision(
                "free_shipping",
                "high intent, cart just short of free shipping",
                {"amount_left": round(short, 2)},
            )
        if "cart_reminder" in allowed:
            return Decision(
                "cart_reminder",
                "high intent, hesitating with a cart",
                {"cart_value": round(situation.cart_value, 2)},
            )
    if (
        "social_proof" in allowed
        and situation.product_id
        and situation.product_buyers_today > 0
        and p >= settings.leaving
    ):
        return Decision(
            "social_proof",
            "others bought this product today",
            {"product_id": situation.product_id, "buyers_today": situation.product_buyers_today},
        )
    if (
        "discount" in allowed
        and p < settings.leaving
        and situation.events >= settings.min_events_before_leaving
    ):
        return Decision(
            "discount",
            "browsing a while with a low purchase probability: about to leave",
            {"percent": settings.discount_percent, "minutes": settings.discount_minutes},
        )
    return None
