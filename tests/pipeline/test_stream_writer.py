"""The Redis path: collector -> stream -> a real writer process, with crashes, poison and outages."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from flask import Flask
from sqlalchemy import func, select

from analytics.ingest import stream
from analytics.models import DeadLetter, Event
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop
from tests.pipeline.test_counts import BROWSER
from tests.support.databases import TestDatabase
from tests.support.factories import make_shop
from tests.support.processes import CLICKSTREAM, Process, clickstream, process_env, wait_until

pytestmark = [pytest.mark.committed, pytest.mark.redis, pytest.mark.usefixtures("db")]


@pytest.fixture
def redis_app(make_app: Any, redis_url: str) -> Iterator[Flask]:
    """An app with Redis (ingest stream), on the test database; tables emptied after the test."""
    redis_lib.Redis.from_url(redis_url).flushdb()
    app = make_app(ENV={"REDIS_URL": redis_url})
    with app.app_context():
        yield app


@pytest.fixture
def shop_domain(redis_app: Flask) -> str:
    shop = make_shop()
    db.session.commit()
    return shop.domain


def tracker_batch(domain: str, count: int, visitor: str = "v-1") -> dict[str, Any]:
    """A tracker's batch of `count` page views of one visitor, sent now."""
    now = int(time.time() * 1000)
    events = [
        {"id": str(uuid.uuid4()), "type": "page_view", "ts": now - 1000 + i, "visitor_id": visitor,
         "url": f"https://{domain}/pages/{i}"}
        for i in range(count)
    ]  # fmt: skip
    return {"shop": domain, "sent_at": now, "events": events}


def _stored() -> int:
    db.session.remove()
    return int(db.session.execute(select(func.count()).select_from(Event)).scalar() or 0)


def _writer(test_database: TestDatabase, redis_url: str) -> Any:
    env = process_env(DATABASE_URL=test_database.url, REDIS_URL=redis_url, WRITER_CLAIM_IDLE_SECONDS="1")
    return clickstream("worker", "--without", "tasks", env=env, ready="started writer")


def test_a_batch_sent_twice_is_stored_once_and_the_backlog_drains(
    redis_app: Flask, shop_domain: str, test_database: TestDatabase, redis_url: str
) -> None:
    client = redis_app.test_client()
    batch = tracker_batch(shop_domain, 10)
    for _ in range(2):
        response = client.post(
            "/events/", data=json.dumps(batch), content_type="text/plain", headers={"User-Agent": BROWSER}
        )
        assert response.status_code == 202
        assert response.get_json()["accepted"] == 10
    assert _stored() == 0, "the collector never writes to the database itself"
    assert client.get("/healthz").get_json()["pending_events"] == 20
    with _writer(test_database, redis_url):
        wait_until(
            lambda: client.get("/healthz").get_json()["pending_events"] == 0, message="backlog drained"
        )
    assert _stored() == 10


def test_a_writer_killed_mid_stream_loses_nothing_and_doubles_nothing(
    redis_app: Flask, shop_domain: str, test_database: TestDatabase, redis_url: str
) -> None:
    client = redis_app.test_client()
    total = 0
    for number in range(600):
        body = tracker_batch(shop_domain, 20, visitor=f"v-{number % 50}")
        assert client.post("/events/", json=body, headers={"User-Agent": BROWSER}).status_code == 202
        total += 20
    env = process_env(DATABASE_URL=test_database.url, REDIS_URL=redis_url, WRITER_CLAIM_IDLE_SECONDS="1")
    first = Process([CLICKSTREAM, "worker", "--without", "tasks"], env)
    wait_until(lambda: _stored() > 0, message="the first writer stores something")
    first.kill()
    first.stop()
    killed_at = _stored()
    assert killed_at < total, "the writer was killed before it finished"
    with _writer(test_database, redis_url) as second:
        try:
            wait_until(lambda: _stored() == total, timeout=60, message="every event stored after the restart")
        except AssertionError:
            raise AssertionError(
                f"{_stored()} of {total}; first:\n{first.output[-3000:]}\nsecond:\n{second.output[-3000:]}"
            ) from None
        time.sleep(1.5)
    assert _stored() == total
    ids = db.session.execute(select(func.count(func.distinct(Event.event_id)))).scalar()
    assert ids == total
    assert client.get("/healthz").get_json()["pending_events"] == 0


def test_a_poison_batch_is_moved_aside_without_blocking_the_rest(
    redis_app: Flask, shop_domain: str, test_database: TestDatabase, redis_url: str
) -> None:
    client = redis_app.test_client()
    raw = redis_lib.Redis.from_url(redis_url)
    good = tracker_batch(shop_domain, 5)
    assert client.post("/events/", json=good, headers={"User-Agent": BROWSER}).status_code == 202
    shop_id = db.session.execute(select(Shop.id).where(Shop.domain == shop_domain)).scalar_one()
    poison = {"shop_id": shop_id, "received_at": 0, "device": None, "events": [{"id": "x"}]}
    stream.append(raw, poison)
    assert (
        client.post(
            "/events/", json=tracker_batch(shop_domain, 5, "v-2"), headers={"User-Agent": BROWSER}
        ).status_code
        == 202
    )
    with _writer(test_database, redis_url):
        wait_until(lambda: _stored() == 10, message="the good batches stored")
        wait_until(lambda: client.get("/healthz").get_json()["dead_letters"] == 1, message="one dead letter")
    letter = db.session.execute(select(DeadLetter)).scalar_one()
    assert json.loads(letter.payload)["events"] == [{"id": "x"}]
    assert client.get("/healthz").get_json()["pending_events"] == 0


def test_redis_down_means_503_and_nothing_is_lost_from_the_tracker(make_app: Any, shop_domain: str) -> None:
    app = make_app(ENV={"REDIS_URL": "redis://127.0.0.1:1/0"})
    response = app.test_client().post(
        "/events/", json=tracker_batch(shop_domain, 3), headers={"User-Agent": BROWSER}
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["error"] == "unavailable"


@pytest.mark.parametrize("spooled", [False, True], ids=["one round trip", "spooled"])
def test_rate_limits_answer_429_and_queue_nothing_more(
    make_app: Any, shop_domain: str, redis_url: str, tmp_path: Path, spooled: bool
) -> None:
    spool_dir = str(tmp_path) if spooled else "off"
    app = make_app(
        ENV={"REDIS_URL": redis_url, "INGEST_PER_IP_PER_MINUTE": "2", "INGEST_SPOOL_DIR": spool_dir}
    )
    client = app.test_client()
    answers = [
        client.post("/events/", json=tracker_batch(shop_domain, 4), headers={"User-Agent": BROWSER})
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[2].get_json()["field"] == "events"
    assert int(answers[2].headers["Retry-After"]) <= 60
    redis = redis_lib.Redis.from_url(redis_url)
    wait_until(lambda: stream.backlog(redis) == 8, timeout=5, message="only the admitted batches queued")
    [ip_key] = redis.keys("cs:rl:ip:*")
    wait_until(lambda: int(redis.get(ip_key) or 0) == 3, timeout=5, message="every request counted in Redis")
