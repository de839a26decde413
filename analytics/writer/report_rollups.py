"""The rollups the reports need beyond the writer's own, added in the batch's transaction by one
call from `analytics.writer.store`: the product reach (`product_reach`: distinct products over any
period) and the visitor timelines (`timelines`: custom funnels).

Called before the batch's product days are added to the monthly product rows: the product reach
reads those rows as they were before the batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from analytics.writer.product_reach import add_product_reach
from analytics.writer.timelines import add_visitor_timelines


def add_report_rollups(
    shop_id: int, events: list[dict[str, Any]], product_days: Iterable[tuple[date, int]]
) -> None:
    """Add the batch's stored events (each with its local `day`) and its (day, product id) pairs
    to the report rollups."""
    add_product_reach(shop_id, product_days)
    add_visitor_timelines(shop_id, events)
