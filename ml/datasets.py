"""Labelled sessions from files, for offline training and evaluation (no Flask, no database).

REES46 (`event_time,event_type,product_id,...,price,user_id,user_session`): a session is a
`user_session`; it is labelled a buyer when it holds a purchase, and only the events before the
first purchase are kept, so the model never sees the answer. A visitor is returning when an
earlier session of the same `user_id` appears in the file.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

import numpy as np

from ml.features import SessionEvent, SessionInput

REES46_TYPES = {"view": "product_view", "cart": "add_to_cart", "remove_from_cart": "remove_from_cart"}


@dataclass(frozen=True)
class LabelledSession:
    """A session, when it started, and whether it ended in a purchase."""

    session: SessionInput
    started_at: float
    bought: bool


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open("r", encoding="utf-8", newline="")


def _rees46_rows(path: Path) -> Iterator[tuple[str, str, float, float | None, str]]:
    """(session, event_type, epoch seconds, price, user_id); a cut-off last line is skipped."""
    with _open_text(path) as handle:
        for row in csv.DictReader(handle):
            try:
                at = datetime.strptime(row["event_time"], "%Y-%m-%d %H:%M:%S %Z").timestamp()
                price = float(row["price"]) if row["price"] else None
                session, kind, user = row["user_session"], row["event_type"], row["user_id"]
            except (KeyError, TypeError, ValueError):
                continue
            if session and kind:
                yield session, kind, at, price, user


def read_rees46(path: Path) -> list[LabelledSession]:
    """REES46 sessions, oldest first, cut at their first purchase."""
    events: dict[str, list[tuple[float, str, float | None]]] = {}
    users: dict[str, str] = {}
    for session, kind, at, price, user in _rees46_rows(path):
        events.setdefault(session, []).append((at, kind, price))
        users[session] = user
    first_seen: dict[str, float] = {}
    starts = {session: min(at for at, _, _ in rows) for session, rows in events.items()}
    labelled = []
    for session in sorted(events, key=starts.__getitem__):
        rows = sorted(events[session], key=lambda row: row[0])
        kept: list[SessionEvent] = []
        bought = False
        for at, kind, price in rows:
            if kind == "purchase":
                bought = True
                break
            kept.append(SessionEvent(REES46_TYPES.get(kind, "other"), at, price))
        user = users[session]
        returning = user in first_seen and first_seen[user] < starts[session]
        first_seen.setdefault(user, starts[session])
        if kept:
            labelled.append(LabelledSession(SessionInput(kept, returning=returning), starts[session], bought))
    return labelled


def read_uci_shoppers(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The UCI Online Shoppers file as (features, labels, feature names); categories one-hot."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "Revenue" not in rows[0]:
        raise ValueError(f"{path}: expected the UCI Online Shoppers columns with 'Revenue'")
    categorical = ("Month", "VisitorType")
    numeric = [name for name in rows[0] if name not in (*categorical, "Revenue", "Weekend")]
    levels = {name: sorted({row[name] for row in rows}) for name in categorical}
    names = [*numeric, "Weekend", *(f"{c}={level}" for c in categorical for level in levels[c])]
    features = np.zeros((len(rows), len(names)), dtype=np.float64)
    labels = np.zeros(len(rows), dtype=np.int64)
    for index, row in enumerate(rows):
        values = [float(row[name]) for name in numeric]
        values.append(1.0 if row["Weekend"].strip().upper() == "TRUE" else 0.0)
        for c in categorical:
            values.extend(1.0 if row[c] == level else 0.0 for level in levels[c])
        features[index] = values
        labels[index] = 1 if row["Revenue"].strip().upper() == "TRUE" else 0
    return features, labels, names
