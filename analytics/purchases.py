"""What a tracked `purchase` event names: its lines, as the writer's rollups and the recommenders read them."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def purchase_lines(props: dict[str, Any] | None) -> list[tuple[int, int, Decimal]]:
    """(product id, quantity, line revenue) of each well-formed item; malformed items are skipped."""
    lines = []
    for item in (props or {}).get("items") or []:
        try:
            quantity = int(item.get("quantity") or 1)
            price = Decimal(str(item.get("price") or 0))
            if not price.is_finite():  # "NaN" would turn every total it joins into NaN
                continue
            lines.append((int(item["product_id"]), quantity, (price * quantity).quantize(Decimal("0.01"))))
        except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError):
            continue
    return lines
