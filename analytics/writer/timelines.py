"""Visitor timelines (`VisitorTimeline`): the writer appends each stored event's time to its
visitor's row for the event's type and day, in the same transaction as the event, so custom
funnels never scan the events table.

One upsert per batch: new rows are inserted, existing ones get the batch's times appended
(`CONCAT` on MariaDB, `||` cast back to a blob on SQLite). A rolled-back batch rolls its appends back with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import LargeBinary, cast
from sqlalchemy.dialects import sqlite

from analytics.reach_models import VisitorTimeline, pack
from analytics.writer.sql import dialect_name, render_values
from shopify_app.core.extensions import db

ROWS_PER_STATEMENT = 1000  # under SQLite's bound-parameter limit; ~100 kB of SQL on MariaDB


def add_visitor_timelines(shop_id: int, events: Iterable[dict[str, Any]]) -> None:
    """Append the batch's stored events (each with its local `day`) to their visitors' timelines."""
    rows: dict[tuple[str, date, int], bytearray] = defaultdict(bytearray)
    for event in events:
        day = event["day"]
        rows[(event["type"], day, event["session"].visitor_id)] += pack(day, event["when"])
    if not rows:
        return
    ordered = sorted(rows.items())
    if dialect_name() == "sqlite":
        table = VisitorTimeline.__table__
        for start in range(0, len(ordered), ROWS_PER_STATEMENT):
            statement = sqlite.insert(table).values(
                [
                    {
                        "shop_id": shop_id,
                        "type": kind,
                        "day": day,
                        "visitor_id": visitor,
                        "moments": bytes(times),
                    }
                    for (kind, day, visitor), times in ordered[start : start + ROWS_PER_STATEMENT]
                ]
            )
            statement = statement.on_conflict_do_update(
                index_elements=["shop_id", "type", "day", "visitor_id"],
                set_={"moments": cast(table.c.moments.op("||")(statement.excluded.moments), LargeBinary)},
            )
            db.session.execute(statement)
        return
    # the times as hex literals: the driver's text escaping is for text, not bytes
    values = render_values((shop_id, kind, day, visitor) for (kind, day, visitor), _ in ordered)
    rendered = [
        f"({head},X'{bytes(moments).hex()}')" for head, (_, moments) in zip(values, ordered, strict=True)
    ]
    connection = db.session.connection()
    for start in range(0, len(rendered), ROWS_PER_STATEMENT):
        connection.exec_driver_sql(
            "INSERT INTO visitor_timelines (shop_id, type, day, visitor_id, moments) VALUES "
            + ",".join(rendered[start : start + ROWS_PER_STATEMENT]).replace("%", "%%")
            + " ON DUPLICATE KEY UPDATE moments = CONCAT(moments, VALUES(moments))"
        )
