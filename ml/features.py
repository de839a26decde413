"""Session features: a session's events to a fixed-length tensor (no Flask, no database).

One code path for training and serving: `encode` turns the events of one session (the first
`max_events` of them, oldest first) into a `(max_events, STEP_WIDTH)` matrix padded with zero
rows, which the LSTM masks; `aggregate` summarises that same matrix into one row for the
gradient-boosting baseline. The only preprocessing state is the shop's typical price, kept in
`FeatureSpec` and saved beside the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

EVENT_TYPES = (
    "page_view",
    "product_view",
    "collection_view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "checkout_started",
    "other",
)
DEVICES = ("desktop", "mobile", "tablet", "unknown")
REFERRER_CLASSES = ("direct", "search", "social", "email", "paid", "other")

# Column layout of one step.
_TYPE = 0
_DWELL = len(EVENT_TYPES)
_SINCE_START = _DWELL + 1
_REL_PRICE = _SINCE_START + 1
_HAS_PRICE = _REL_PRICE + 1
_CART_VALUE = _HAS_PRICE + 1
_RETURNING = _CART_VALUE + 1
_DEVICE = _RETURNING + 1
_REFERRER = _DEVICE + len(DEVICES)
STEP_WIDTH = _REFERRER + len(REFERRER_CLASSES)

AGGREGATE_NAMES = (
    *(f"count_{name}" for name in EVENT_TYPES),
    "events",
    "log_duration",
    "log_mean_dwell",
    "mean_rel_price",
    "max_rel_price",
    "log_cart_value",
    "returning",
    *(f"device_{name}" for name in DEVICES),
    *(f"referrer_{name}" for name in REFERRER_CLASSES),
)

SEARCH_ENGINES = ("google.", "bing.", "duckduckgo.", "yahoo.", "baidu.", "yandex.", "ecosia.")
SOCIAL_SITES = ("facebook.", "instagram.", "t.co", "twitter.", "x.com", "pinterest.", "tiktok.", "reddit.")
EMAIL_HINTS = ("mail.", "outlook.", "klaviyo")


@dataclass(frozen=True)
class SessionEvent:
    """One shopper action as the model sees it; `at` is in seconds."""

    type: str
    at: float
    price: float | None = None
    quantity: int = 1


@dataclass(frozen=True)
class SessionInput:
    """A session's events (oldest first) and what is known of its visitor."""

    events: Sequence[SessionEvent]
    returning: bool = False
    device: str = "unknown"
    referrer_class: str = "direct"


@dataclass
class FeatureSpec:
    """The preprocessing saved with a model: sequence length and the shop's typical price."""

    max_events: int = 20
    typical_price: float = 1.0
    version: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored next to the model file."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        """The spec a saved model was trained with."""
        return cls(**data)

    @classmethod
    def fit(cls, sessions: Sequence[SessionInput], max_events: int = 20) -> FeatureSpec:
        """Learn the typical (median) price from training sessions."""
        prices = [e.price for s in sessions for e in s.events if e.price and e.price > 0]
        typical = float(np.median(prices)) if prices else 1.0
        return cls(max_events=max_events, typical_price=typical)


def referrer_class(referrer: str | None, utm_medium: str | None = None, own_host: str = "") -> str:
    """Classify where a session came from: direct, search, social, email, paid or other."""
    medium = (utm_medium or "").lower()
    if medium in ("cpc", "ppc", "paid", "paidsearch", "display", "cpm"):
        return "paid"
    if medium == "email":
        return "email"
    if medium == "social":
        return "social"
    host = (referrer or "").lower().split("//")[-1].split("/")[0]
    if not host or (own_host and host.endswith(own_host)):
        return "direct"
    for kind, hints in (("search", SEARCH_ENGINES), ("social", SOCIAL_SITES), ("email", EMAIL_HINTS)):
        if any(hint in host for hint in hints):
            return kind
    return "other"


def _one_hot(row: np.ndarray, start: int, names: Sequence[str], value: str) -> None:
    index = names.index(value) if value in names else len(names) - 1
    row[start + index] = 1.0


def encode(session: SessionInput, spec: FeatureSpec) -> np.ndarray:
    """The `(max_events, STEP_WIDTH)` matrix of the session's first `max_events` events."""
    matrix = np.zeros((spec.max_events, STEP_WIDTH), dtype=np.float32)
    events = list(session.events)[: spec.max_events]
    if not events:
        return matrix
    start = events[0].at
    previous = start
    cart_value = 0.0
    typical = spec.typical_price if spec.typical_price > 0 else 1.0
    for step, event in enumerate(events):
        row = matrix[step]
        _one_hot(row, _TYPE, EVENT_TYPES, event.type)
        row[_DWELL] = math.log1p(max(event.at - previous, 0.0))
        row[_SINCE_START] = math.log1p(max(event.at - start, 0.0))
        if event.price and event.price > 0:
            row[_REL_PRICE] = math.log(event.price / typical)
            row[_HAS_PRICE] = 1.0
        if event.type == "add_to_cart":
            cart_value += (event.price or 0.0) * max(event.quantity, 1)
        elif event.type == "remove_from_cart":
            cart_value = max(cart_value - (event.price or 0.0) * max(event.quantity, 1), 0.0)
        row[_CART_VALUE] = math.log1p(cart_value)
        row[_RETURNING] = 1.0 if session.returning else 0.0
        _one_hot(row, _DEVICE, DEVICES, session.device)
        _one_hot(row, _REFERRER, REFERRER_CLASSES, session.referrer_class)
        previous = event.at
    return matrix


def encode_many(sessions: Sequence[SessionInput], spec: FeatureSpec) -> np.ndarray:
    """`encode` for a batch: shape `(sessions, max_events, STEP_WIDTH)`."""
    batch = np.zeros((len(sessions), spec.max_events, STEP_WIDTH), dtype=np.float32)
    for index, session in enumerate(sessions):
        batch[index] = encode(session, spec)
    return batch


def aggregate(tensor: np.ndarray) -> np.ndarray:
    """One row of session aggregates per encoded session (the baseline's input), from `encode`'s output."""
    if tensor.ndim == 2:
        tensor = tensor[None]
    real = tensor[:, :, _TYPE : _TYPE + len(EVENT_TYPES)].sum(axis=2) > 0
    counts = real.sum(axis=1).astype(np.float32)
    safe = np.maximum(counts, 1.0)
    last = np.maximum(counts.astype(int) - 1, 0)
    rows = np.arange(tensor.shape[0])
    priced = tensor[:, :, _HAS_PRICE]
    rel = tensor[:, :, _REL_PRICE]
    priced_count = np.maximum(priced.sum(axis=1), 1.0)
    columns = [
        tensor[:, :, _TYPE : _TYPE + len(EVENT_TYPES)].sum(axis=1),
        counts[:, None],
        tensor[rows, last, _SINCE_START][:, None],
        (tensor[:, :, _DWELL].sum(axis=1) / safe)[:, None],
        ((rel * priced).sum(axis=1) / priced_count)[:, None],
        np.where(priced > 0, rel, -np.inf).max(axis=1, initial=-np.inf).clip(min=-10)[:, None],
        tensor[:, :, _CART_VALUE].max(axis=1)[:, None],
        tensor[:, 0, _RETURNING][:, None],
        tensor[:, 0, _DEVICE : _DEVICE + len(DEVICES)],
        tensor[:, 0, _REFERRER : _REFERRER + len(REFERRER_CLASSES)],
    ]
    return np.concatenate(columns, axis=1).astype(np.float32)
