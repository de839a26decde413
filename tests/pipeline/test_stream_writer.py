"""The Redis path: collector -> stream -> a real writer process, with crashes, poison and outages."""

from __future__ import annotations

import json
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis as redis_lib
from flask import Flask
from sqlalchemy import func, select

from analytics.ingest import stream
from analytics.models import DeadLetter, Event
from analytics.rollup_facts import nonzero
from analytics.rollup_rebuild import rebuild_day_rollups, stored_day_rollups
from analytics.writer import consumer
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
    assert client.get("/healthz").get_json()["writers"] == 0, "no writer runs yet"
    with _writer(test_database, redis_url):
        wait_until(
            lambda: client.get("/healthz").get_json()["pending_events"] == 0, message="backlog drained"
        )
        assert client.get("/healthz").get_json()["writers"] == 1
    assert _stored() == 10
    assert client.get("/healthz").get_json()["writers"] == 0, "a stopped writer leaves at once"


def _send_a_backlog(client: Any, domain: str) -> int:
    """12,000 page views of 50 visitors through the collector: a few seconds of a writer's work;
    the number sent."""
    for number in range(600):
        body = tracker_batch(domain, 20, visitor=f"v-{number % 50}")
        assert client.post("/events/", json=body, headers={"User-Agent": BROWSER}).status_code == 202
    return 600 * 20


def test_a_writer_killed_mid_stream_loses_nothing_and_doubles_nothing(
    redis_app: Flask, shop_domain: str, test_database: TestDatabase, redis_url: str
) -> None:
    client = redis_app.test_client()
    total = _send_a_backlog(client, shop_domain)
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


def test_the_worker_restarts_a_writer_killed_mid_stream_and_nothing_is_lost_or_doubled(
    redis_app: Flask, shop_domain: str, test_database: TestDatabase, redis_url: str
) -> None:
    client = redis_app.test_client()
    total = _send_a_backlog(client, shop_domain)
    with _writer(test_database, redis_url) as worker:
        wait_until(lambda: _stored() > 0, message="the writer stores something")
        (pid,) = re.findall(r"started writer \(pid (\d+)\)", worker.output)
        os.kill(int(pid), signal.SIGKILL)  # the writer alone: its `clickstream worker` lives on
        assert _stored() < total, "the writer was killed before it finished"
        worker.wait_for(f"writer (pid {pid}) was killed by signal 9; restarting it in 1 s")
        wait_until(lambda: len(re.findall(r"started writer", worker.output)) == 2, message="a new writer")
        wait_until(lambda: _stored() == total, timeout=60, message="every event stored by the new writer")
    assert db.session.execute(select(func.count(func.distinct(Event.event_id)))).scalar() == total
    assert client.get("/healthz").get_json()["pending_events"] == 0


def test_a_poison_batch_is_moved_aside_without_blocking_the_rest(
    redis_app: Flask, shop_domain: str, test_database: TestDatabase, redis_url: str
) -> None:
    client = redis_app.test_client()
    raw = redis_lib.Redis.from_url(redis_url)
    good = tracker_batch(shop_domain, 5)
    assert client.post("/events/", json=good, headers={"User-Agent": BROWSER}).status_code == 202
    shop_id = db.session.execute(select(Shop.id).where(Shop.domain == shop_domain)).scalar_one()
    poison = {
        "shop_id": shop_id,
        "received_at": 0,
        "device": None,
        "events": [{"id": "x", "visitor_id": "v-3"}],
    }
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
    assert json.loads(letter.payload)["events"] == [{"id": "x", "visitor_id": "v-3"}]
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


def test_a_batchs_events_go_to_their_visitors_partitions_and_the_backlog_counts_all(
    redis_app: Flask, shop_domain: str, redis_url: str
) -> None:
    client = redis_app.test_client()
    raw = redis_lib.Redis.from_url(redis_url)
    visitors = [f"v-{number}" for number in range(12)]
    assert len({stream.partition_of(visitor) for visitor in visitors}) > 1
    batch = tracker_batch(shop_domain, 12)
    for event, visitor in zip(batch["events"], visitors, strict=True):
        event["visitor_id"] = visitor
    assert client.post("/events/", json=batch, headers={"User-Agent": BROWSER}).status_code == 202
    found = {}
    for number, key in enumerate(stream.STREAMS):
        entries: list[Any] = raw.xrange(key)  # type: ignore[assignment]
        for _, fields in entries:
            for event in json.loads(fields[b"b"])["events"]:
                found[event["visitor_id"]] = number
    assert found == {visitor: stream.partition_of(visitor) for visitor in visitors}
    assert client.get("/healthz").get_json()["pending_events"] == 12


def test_live_writers_share_the_partitions_and_a_silent_one_is_dropped(redis_url: str) -> None:
    raw = redis_lib.Redis.from_url(redis_url)
    raw.delete(stream.WRITERS)
    first = stream.Assignment(raw, "writer-a", beat_s=0.1, ttl_s=1.0)
    second = stream.Assignment(raw, "writer-b", beat_s=0.1, ttl_s=1.0)
    try:
        wait_until(lambda: len(first.partitions) < stream.PARTITIONS, timeout=5, message="the first shares")
        assert sorted(first.partitions + second.partitions) == list(range(stream.PARTITIONS))
        second.close()  # a writer that stops leaves its partitions at once
        wait_until(
            lambda: first.partitions == list(range(stream.PARTITIONS)), timeout=5, message="all to one"
        )
        seconds, micros = raw.time()
        raw.zadd(stream.WRITERS, {"writer-killed": seconds + micros / 1e6})  # beats once, then never again
        assert len(first.beat()) < stream.PARTITIONS
        wait_until(
            lambda: first.partitions == list(range(stream.PARTITIONS)),
            timeout=5,
            message="the silent one dropped",
        )
    finally:
        first.close()
        second.close()


def test_two_writers_at_once_store_every_event_once_and_rollups_equal_a_rebuild(
    redis_app: Flask, shop_domain: str, test_database: TestDatabase, redis_url: str
) -> None:
    client = redis_app.test_client()
    total = 0
    for number in range(300):  # each batch from five visitors of forty, so from several partitions
        batch = tracker_batch(shop_domain, 10)
        for i, event in enumerate(batch["events"]):
            event["visitor_id"] = f"v-{(number * 5 + i // 2) % 40}"
            event["ts"] += number * 1000
        assert client.post("/events/", json=batch, headers={"User-Agent": BROWSER}).status_code == 202
        total += 10
    with _writer(test_database, redis_url), _writer(test_database, redis_url):
        wait_until(lambda: _stored() == total, timeout=60, message="every event stored")
    assert db.session.execute(select(func.count(func.distinct(Event.event_id)))).scalar() == total
    shop = db.session.execute(select(Shop).where(Shop.domain == shop_domain)).scalar_one()
    day = datetime.now(ZoneInfo(shop.timezone or "UTC")).date()
    rebuilt = nonzero(rebuild_day_rollups(shop, day))
    assert rebuilt["sessions"], "the day has sessions"
    assert nonzero(stored_day_rollups(shop, day)) == rebuilt
    assert client.get("/healthz").get_json()["pending_events"] == 0


def test_reads_grow_while_full_up_to_about_a_transactions_worth_of_events() -> None:
    def entries(count: int, events: int) -> list[stream.Entry]:
        return [stream.Entry(stream.STREAMS[0], f"{n}-0", {}, events) for n in range(count)]

    assert consumer.next_read_count(100, entries(40, 10)) == 100, "a short read: the backlog is gone"
    assert consumer.next_read_count(100, entries(100, 10)) == 200
    assert consumer.next_read_count(1600, entries(1600, 10)) == 2000, "20,000 events of ten-event batches"
    assert consumer.next_read_count(6400, entries(6400, 1)) == 12_800, "one-event entries: more of them"
    assert consumer.next_read_count(400, entries(400, 100)) == 400, "never fewer than it read"
