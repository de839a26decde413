"""The documented analytics definitions computed in plain Python straight from the REES46 CSV.

Nothing here imports the app: sessions are rebuilt from the raw rows (a visitor's events with
gaps under 30 minutes), days are the shop's local days.
"""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

TYPES = {"view": "product_view", "cart": "add_to_cart", "purchase": "purchase"}
TIMEOUT = timedelta(minutes=30)


@dataclass
class Row:
    when: datetime
    kind: str
    product: int
    price: float
    visitor: str


@dataclass
class Visit:
    visitor: str
    events: list[Row] = field(default_factory=list)
    first: bool = False

    @property
    def start(self) -> datetime:
        return self.events[0].when

    def has(self, kind: str) -> bool:
        return any(event.kind == kind for event in self.events)


def read_rows(path: Path) -> list[Row]:
    rows = []
    with gzip.open(path, "rt", newline="") as handle:
        for record in csv.DictReader(handle):
            if None in record or any(value is None for value in record.values()):
                continue  # the cut-off last line
            if record["event_type"] not in TYPES or not record["user_id"].strip():
                continue
            when = datetime.strptime(record["event_time"], "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
            price = float(record["price"]) if record["price"] else 0.0
            rows.append(
                Row(
                    when,
                    TYPES[record["event_type"]],
                    int(record["product_id"]),
                    price,
                    record["user_id"].strip(),
                )
            )
    return rows


def sessions_of(rows: list[Row]) -> list[Visit]:
    by_visitor: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_visitor[row.visitor].append(row)
    visits = []
    for visitor, events in by_visitor.items():
        events.sort(key=lambda row: row.when)
        current: Visit | None = None
        for event in events:
            if current is None or event.when - current.events[-1].when >= TIMEOUT:
                current = Visit(visitor, first=current is None)
                visits.append(current)
            current.events.append(event)
    return visits


class Sample:
    """The sample's rows and sessions, seen from a shop in time zone `zone`."""

    def __init__(self, path: Path, zone: str) -> None:
        self.zone = ZoneInfo(zone)
        self.rows = read_rows(path)
        self.visits = sessions_of(self.rows)

    def day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def visits_in(self, start: date, end: date) -> list[Visit]:
        return [visit for visit in self.visits if start <= self.day(visit.start) <= end]

    def rows_in(self, start: date, end: date) -> list[Row]:
        return [row for row in self.rows if start <= self.day(row.when) <= end]


def in_order(
    events: list[Row],
    steps: list[str],
    window: timedelta | None = None,
    first_ok: Callable[[datetime], bool] | None = None,
) -> int:
    """How many of `steps` the events reach in order (within `window` of step 1, which passes `first_ok`)."""
    reached, moment, first = 0, None, None
    for index, step in enumerate(steps):
        candidates = [
            event.when
            for event in events
            if event.kind == step
            and (
                moment is None
                or (event.when > moment if index and steps[index - 1] == step else event.when >= moment)
            )
            and (window is None or first is None or event.when <= first + window)
            and (index or first_ok is None or first_ok(event.when))
        ]
        if not candidates:
            break
        moment = min(candidates)
        first = first or moment
        reached += 1
    return reached


def ratio(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole else 0.0
