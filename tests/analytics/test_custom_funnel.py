"""A custom funnel counts, day by day, the visitors who did its first step that day and the later
steps they reached in order within the window; new events show in the next answer."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from flask.testing import FlaskClient

from analytics.importer import import_events
from shopify_app.core.auth import mint_session_token
from tests.support.factories import make_shop
from tests.support.processes import clickstream, process_env, wait_until

STEPS = "product_view,add_to_cart,purchase"


def at(day: int, hour: int, minute: int = 0) -> int:
    """Milliseconds of 2025-03-{day} hour:minute UTC."""
    return int(datetime(2025, 3, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


def store(shop: Any, path: Path, events: list[tuple[str, str, int]]) -> None:
    lines = [
        json.dumps({"id": str(uuid.uuid4()), "type": kind, "ts": ts, "visitor_id": visitor, "props": {}})
        for visitor, kind, ts in events
    ]
    path.write_text("\n".join(lines))
    assert import_events(path, shop.domain, "jsonl").stored == len(events)


def funnel(client: FlaskClient, shop: Any, start: str, end: str) -> list[int]:
    response = client.get(
        "/analytics/funnel/",
        query_string={"steps": STEPS, "window_hours": 24, "start": start, "end": end},
        headers={"Authorization": f"Bearer {mint_session_token(shop.domain)}"},
    )
    assert response.status_code == 200, response.get_json()
    return [step["visitors"] for step in response.get_json()["steps"]]


def test_each_day_starts_its_visitors_and_new_events_show_at_once(
    client: FlaskClient, tmp_path: Path
) -> None:
    shop = make_shop()
    store(
        shop,
        tmp_path / "first.jsonl",
        [
            # starts on the 1st at 10:00, carts, buys the next morning within 24 h
            ("ann", "product_view", at(1, 10)),
            ("ann", "add_to_cart", at(1, 10, 5)),
            ("ann", "purchase", at(2, 9)),
            # starts again on the 2nd at 08:00: no cart after that yet
            ("ann", "product_view", at(2, 8)),
            # a cart before the first view does not count; one at the same moment does
            ("bob", "add_to_cart", at(1, 11)),
            ("bob", "product_view", at(1, 12)),
            ("bob", "add_to_cart", at(1, 12)),
            ("bob", "purchase", at(3, 13)),  # 25 h later: outside the window
            ("cat", "add_to_cart", at(1, 9)),  # never did the first step
        ],
    )
    assert funnel(client, shop, "2025-03-01", "2025-03-02") == [3, 2, 1]
    assert funnel(client, shop, "2025-03-02", "2025-03-02") == [1, 0, 0]

    store(shop, tmp_path / "late.jsonl", [("ann", "add_to_cart", at(2, 8, 30))])

    assert funnel(client, shop, "2025-03-02", "2025-03-02") == [1, 1, 1]
    assert funnel(client, shop, "2025-03-01", "2025-03-02") == [3, 3, 2]


@pytest.mark.worker
@pytest.mark.redis
@pytest.mark.committed
def test_with_task_workers_a_funnel_is_counted_in_the_background_and_new_events_answer_at_once(
    make_app: Any, redis_url: str, test_database: Any, db: Any, tmp_path: Path
) -> None:
    """Counting a month of a large shop takes longer than a web request may, and on a live shop
    every new event outdates the last days: with task workers the answer never waits for a count.
    It says it is refreshing and how many days it still leaves out; a real worker's counts show
    on a later ask."""
    shop = make_shop()
    db.session.commit()
    store(
        shop,
        tmp_path / "first.jsonl",
        [("ann", "product_view", at(1, 10)), ("ann", "add_to_cart", at(1, 11))],
    )
    redis_lib.Redis.from_url(redis_url).flushdb()
    client = make_app(ENV={"REDIS_URL": redis_url}).test_client()
    env = process_env(DATABASE_URL=test_database.url, REDIS_URL=redis_url)

    assert ask(client, shop) == ([0, 0, 0], True, 1), "nothing counted yet: the 1st is queued"
    with clickstream("worker", "--concurrency", "1", "--without", "writer", env=env, ready="ready."):
        wait_until(lambda: ask(client, shop) == ([1, 1, 0], False, 0), timeout=60, message="the count")

    store(shop, tmp_path / "late.jsonl", [("ann", "purchase", at(1, 12)), ("bob", "product_view", at(2, 9))])
    # The 1st from its kept counts (ann's purchase waits for the recount); the 2nd not counted yet.
    assert ask(client, shop) == ([1, 1, 0], True, 1)
    with clickstream("worker", "--concurrency", "1", "--without", "writer", env=env, ready="ready."):
        wait_until(lambda: ask(client, shop) == ([2, 1, 1], False, 0), timeout=60, message="the recount")


def ask(client: FlaskClient, shop: Any) -> tuple[list[int], bool, int]:
    response = client.get(
        "/analytics/funnel/",
        query_string={"steps": STEPS, "window_hours": 24, "start": "2025-03-01", "end": "2025-03-02"},
        headers={"Authorization": f"Bearer {mint_session_token(shop.domain)}"},
    )
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    return [step["visitors"] for step in answer["steps"]], answer["refreshing"], answer["days_pending"]
