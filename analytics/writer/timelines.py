"""Visitor timelines (`VisitorTimeline`): the writer appends each stored event's time to its
visitor's row for the event's type and day, in the same transaction as the event, so custom
funnels never scan the events table.

One upsert per batch: new rows are inserted, existing ones get the batch's times appended. A
rolled-back batch rolls its appends back with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from analytics.reach_models import VisitorTimeline, pack
from analytics.writer.sql import upsert


def add_visitor_timelines(shop_id: int, events: Iterable[dict[str, Any]]) -> None:
    """Append the batch's stored events (each with its local `day`) to their visitors' timelines."""
    rows: dict[tuple[str, date, int], bytearray] = defaultdict(bytearray)
    for event in events:
        day = event["day"]
        rows[(event["type"], day, event["session"].visitor_id)] += pack(day, event["when"])
    upsert(
        VisitorTimeline.__table__,
        [
            {"shop_id": shop_id, "type": kind, "day": day, "visitor_id": visitor, "moments": bytes(times)}
            for (kind, day, visitor), times in sorted(rows.items())
        ],
        keys=["shop_id", "type", "day", "visitor_id"],
        merge={"moments": "append"},
    )
