"""The writer's own checks hold event ids to what `events.event_id` stores (migration 0019)."""

from __future__ import annotations

from typing import Any

from analytics.writer.checks import rejection


def _entry(event_id: Any) -> dict[str, Any]:
    event = {"id": event_id, "type": "checkout_completed", "ts": 1, "client_ts": 1, "visitor_id": "v-1"}
    return {"shop_id": 1, "received_at": 1, "device": "desktop", "events": [event]}


def test_shopify_event_ids_up_to_the_column_pass_and_longer_ones_are_set_aside() -> None:
    assert rejection(_entry("sh-0259a238-2a20-436e-d1ac-731d262c99fd")) is None
    assert rejection(_entry("sh-" + "0" * 61)) is None  # 64 characters, the column's width
    found = rejection(_entry("sh-" + "0" * 62))
    assert found is not None
    assert (found.check, found.field) == ("id", "events[0].id")
