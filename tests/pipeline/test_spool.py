"""The collector's spool (analytics.ingest.spool): answers without waiting on Redis, loses nothing.

Real Redis servers (the shared one, and a private one a test stops and starts again) and a real
collector process killed with SIGKILL before it could ship.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis as redis_lib
from flask import Flask
from sqlalchemy import select

from analytics.ingest import spool, stream
from ml import delivery
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop
from tests.pipeline.test_counts import BROWSER
from tests.pipeline.test_stream_writer import tracker_batch
from tests.support.factories import make_shop
from tests.support.processes import free_port, wait_until

pytestmark = [pytest.mark.committed, pytest.mark.redis, pytest.mark.usefixtures("db")]
ROOT = Path(__file__).resolve().parents[2]


def _stream_event_ids(client: redis_lib.Redis) -> list[str]:
    """The ids of the events on the stream, partition by partition."""
    entries: list[Any] = [entry for key in stream.STREAMS for entry in client.xrange(key)]  # type: ignore[union-attr]
    return [event["id"] for _, fields in entries for event in orjson.loads(fields[b"b"])["events"]]


def _post(client: Any, domain: str, visitor: str = "v-1") -> Any:
    return client.post(
        "/events/", json=tracker_batch(domain, 1, visitor=visitor), headers={"User-Agent": BROWSER}
    )


def _spool_app(make_app: Any, redis_url: str, spool_dir: Path, **env: str) -> Flask:
    return make_app(ENV={"REDIS_URL": redis_url, "INGEST_SPOOL_DIR": str(spool_dir), **env})


@pytest.fixture(autouse=True)
def _empty_redis(redis_url: str) -> None:
    redis_lib.Redis.from_url(redis_url).flushdb()


@pytest.fixture
def shop_domain(make_app: Any) -> str:
    shop = make_shop()
    db.session.commit()
    return shop.domain


def test_spooled_batches_reach_the_stream_in_order_and_the_backlog_counts_them(
    make_app: Any, redis_url: str, tmp_path: Path, shop_domain: str
) -> None:
    app = _spool_app(make_app, redis_url, tmp_path, INGEST_PER_IP_PER_MINUTE="1000")
    client = app.test_client()
    sent = [tracker_batch(shop_domain, 4) for _ in range(5)]  # one visitor's: one partition, in order
    for batch in sent:
        response = client.post("/events/", json=batch, headers={"User-Agent": BROWSER})
        assert response.status_code == 202
        assert response.get_json()["accepted"] == 4
    redis = redis_lib.Redis.from_url(redis_url)
    expected = [event["id"] for batch in sent for event in batch["events"]]
    wait_until(lambda: _stream_event_ids(redis) == expected, timeout=5, message="the batches on the stream")
    assert stream.backlog(redis) == 20
    assert client.get("/healthz").get_json()["pending_events"] == 20, "stream backlog, spool empty"


def test_healthz_counts_batches_still_in_the_spool(
    make_app: Any, redis_url: str, tmp_path: Path, shop_domain: str
) -> None:
    directory = spool.directory_for(str(tmp_path), redis_url)
    stuck = spool.SpoolFile.create(directory)  # a live process's file not shipped yet
    body = orjson.dumps({"events": [{"id": "a"}, {"id": "b"}, {"id": "c"}]})
    stuck.append(spool.RECORD.pack(len(body), 3, 0) + body)
    assert spool.unshipped_events(str(tmp_path), redis_url) == 3
    app = _spool_app(make_app, redis_url, tmp_path)
    assert app.test_client().get("/healthz").get_json()["pending_events"] == 3
    stuck.remove()


_KILLED_COLLECTOR = """
import sys, time, orjson, redis
from analytics.ingest import spool, stream
base, url, dead_url = sys.argv[1:4]
# Spools for `url`, but its shipper talks to a Redis that is not there: nothing gets shipped.
collector = spool.Spool(spool.directory_for(base, url), redis.Redis.from_url(dead_url, socket_connect_timeout=0.2))
for number in range(5):
    body = orjson.dumps({"shop_id": 1, "events": [{"id": f"killed-{number}-{i}"} for i in range(3)]})
    verdict, _ = collector.admit([stream.Part(0, body, 3)], 1, stream.Admission("ip", "shop", 100, 100, []))
    assert verdict == 1
print("spooled", flush=True)
time.sleep(600)
"""


def test_a_killed_collectors_spool_is_shipped_by_the_next_collector(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool, "SHIPMENT_BYTES", 100)  # the adopter ships it in several round trips
    redis = redis_lib.Redis.from_url(redis_url)
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_COLLECTOR, str(tmp_path), redis_url, "redis://127.0.0.1:1/0"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "spooled"
        survivor = spool.Spool(spool.directory_for(str(tmp_path), redis_url), redis)
        try:
            assert survivor.adopt_orphans() == 0, "a living collector's spool is left alone"
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
            assert survivor.adopt_orphans() == 5
            assert survivor.adopt_orphans() == 0, "shipped once"
        finally:
            survivor.close()
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert _stream_event_ids(redis) == [f"killed-{n}-{i}" for n in range(5) for i in range(3)]
    assert stream.backlog(redis) == 15
    assert list(spool.directory_for(str(tmp_path), redis_url).glob("*.spool*")) == []


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """A Redis server of this test's own on a free port, and a function that stops or starts it."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is needed (Debian package redis-server)"
    port = free_port()
    process: list[subprocess.Popen[bytes]] = []

    def switch(up: bool) -> None:
        if up:
            process.append(
                subprocess.Popen(
                    [
                        binary,
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--dir",
                        str(tmp_path),
                    ],
                    stdout=subprocess.DEVNULL,
                )
            )
            wait_until(lambda: _pings(port), timeout=10, message="the private Redis up")
        else:
            stopped = process.pop()
            stopped.kill()
            stopped.wait()
            wait_until(lambda: not _pings(port), timeout=10, message="the private Redis down")

    switch(True)
    try:
        yield f"redis://127.0.0.1:{port}/0", switch
    finally:
        for running in process:
            running.kill()
            running.wait()


def _pings(port: int) -> bool:
    try:
        return bool(redis_lib.Redis(port=port, socket_connect_timeout=0.2).ping())
    except redis_lib.ConnectionError:
        return False


def test_redis_down_means_503_and_what_was_accepted_ships_when_it_is_back(
    make_app: Any, private_redis: tuple[str, Any], tmp_path: Path, shop_domain: str
) -> None:
    url, switch = private_redis
    app = _spool_app(make_app, url, tmp_path / "spool")
    client = app.test_client()
    accepted: list[str] = []

    def post() -> int:
        batch = tracker_batch(shop_domain, 2)
        status = client.post("/events/", json=batch, headers={"User-Agent": BROWSER}).status_code
        if status == 202:
            accepted.extend(event["id"] for event in batch["events"])
        return status

    assert post() == 202
    switch(False)
    began = time.monotonic()
    wait_until(lambda: post() == 503, timeout=5, interval=0.05, message="503 once Redis is unreachable")
    assert time.monotonic() - began < 2, "the shipper notices within a heartbeat or two"
    assert post() == 503
    switch(True)
    wait_until(lambda: post() == 202, timeout=5, interval=0.05, message="accepting again")
    redis = redis_lib.Redis.from_url(url)
    wait_until(
        lambda: _stream_event_ids(redis) == accepted, timeout=5, message="every accepted event shipped"
    )


def test_a_full_disk_means_503_and_the_batches_spooled_before_still_ship(
    make_app: Any, redis_url: str, tmp_path: Path, shop_domain: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _spool_app(make_app, redis_url, tmp_path)
    client = app.test_client()
    first = tracker_batch(shop_domain, 3)
    assert client.post("/events/", json=first, headers={"User-Agent": BROWSER}).status_code == 202

    def full(_self: Any, _record: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(spool.SpoolFile, "append", full)
    refused = client.post("/events/", json=tracker_batch(shop_domain, 3), headers={"User-Agent": BROWSER})
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    redis = redis_lib.Redis.from_url(redis_url)
    expected = [event["id"] for event in first["events"]]
    wait_until(lambda: _stream_event_ids(redis) == expected, timeout=5, message="the first batch shipped")


def test_another_processs_counts_reach_this_collector_when_it_reports_its_own(
    make_app: Any, redis_url: str, tmp_path: Path, shop_domain: str
) -> None:
    app = _spool_app(make_app, redis_url, tmp_path, INGEST_PER_IP_PER_MINUTE="3")
    client = app.test_client()
    assert _post(client, shop_domain).status_code == 202
    redis = redis_lib.Redis.from_url(redis_url)
    wait_until(lambda: bool(redis.keys("cs:rl:ip:*")), timeout=5, message="the count reported")
    [ip_key] = redis.keys("cs:rl:ip:*")
    redis.incrby(ip_key, 5)  # another collector's requests from the same address
    # This collector learns Redis's total when it next reports this address's count.
    assert _post(client, shop_domain).status_code == 202
    with app.app_context():
        spool.for_process(str(tmp_path), redis_url, redis).ship()
    assert _post(client, shop_domain).status_code == 429
    assert int(redis.get(ip_key) or 0) >= 7


def test_a_waiting_notification_is_delivered_once(
    make_app: Any, redis_url: str, tmp_path: Path, shop_domain: str
) -> None:
    app = _spool_app(make_app, redis_url, tmp_path)
    client = app.test_client()
    assert _post(client, shop_domain).status_code == 202
    with app.app_context():
        shop_id = db.session.execute(select(Shop.id).where(Shop.domain == shop_domain)).scalar_one()
        delivery.hold(shop_id, "v-7", {"kind": "free_shipping"})
        spool.for_process(str(tmp_path), redis_url, redis_lib.Redis.from_url(redis_url)).ship()
    first = _post(client, shop_domain, visitor="v-7")
    assert first.get_json()["notification"] == {"kind": "free_shipping"}
    second = _post(client, shop_domain, visitor="v-7")
    assert "notification" not in second.get_json()
    redis = redis_lib.Redis.from_url(redis_url)
    wait_until(
        lambda: not redis.sismember(stream.replies_key(shop_id), "v-7"),
        timeout=5,
        message="taken off the set",
    )


def _spool_numbered(collector: spool.Spool, prefix: str, batches: int) -> list[str]:
    """Spool `batches` two-event batches with ids `prefix-N-I`; the ids in order."""
    ids = []
    for number in range(batches):
        events = [{"id": f"{prefix}-{number}-{i}"} for i in range(2)]
        body = orjson.dumps({"events": events})
        verdict, _ = collector.admit([stream.Part(0, body, 2)], 1, stream.Admission("ip", "s", 99, 99, []))
        assert verdict == 1
        ids += [event["id"] for event in events]
    return ids


def test_a_long_spool_shipped_to_its_end_starts_again(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool, "ROTATE_BYTES", 200)
    redis = redis_lib.Redis.from_url(redis_url)
    collector = spool.Spool(spool.directory_for(str(tmp_path), redis_url), redis)
    sent = []
    try:
        for round_ in range(6):
            sent += _spool_numbered(collector, f"r{round_}", 1)
            collector.ship()
        assert os.path.getsize(collector.file.path) < 200
    finally:
        collector.close()
    assert _stream_event_ids(redis) == sent


def test_a_backlog_longer_than_a_shipment_ships_in_several(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool, "SHIPMENT_BYTES", 100)
    shipments: list[int] = []
    ship = stream.ship

    def counted(client: Any, batches: list[stream.Part], **rest: Any) -> Any:
        if batches:
            shipments.append(len(batches))
        return ship(client, batches, **rest)

    monkeypatch.setattr(stream, "ship", counted)
    redis = redis_lib.Redis.from_url(redis_url)
    collector = spool.Spool(spool.directory_for(str(tmp_path), redis_url), redis)
    try:
        sent = _spool_numbered(collector, "c", 5)
        wait_until(lambda: _stream_event_ids(redis) == sent, timeout=5, message="the backlog shipped")
    finally:
        collector.close()
    assert len(shipments) > 1
    assert max(shipments) < 5, "one shipment takes about SHIPMENT_BYTES"


def test_a_torn_last_record_is_left_for_later() -> None:
    whole = spool.RECORD.pack(3, 1, 5) + b"abc"
    torn = spool.RECORD.pack(10, 1, 5) + b"abcd"
    assert [part for _, part in spool.records(whole + torn)] == [stream.Part(5, b"abc", 1)]


def test_a_spool_file_from_before_partitions_is_shipped_to_the_first(redis_url: str, tmp_path: Path) -> None:
    directory = spool.directory_for(str(tmp_path), redis_url)
    directory.mkdir(parents=True)
    body = orjson.dumps({"events": [{"id": "old-1"}, {"id": "old-2"}]})
    former = spool.HEADER.pack(spool.HEADER.size) + spool.FORMER_RECORD.pack(len(body), 2) + body
    (directory / "gone-1-abc.spool").write_bytes(former)  # left by a collector of the version before
    redis = redis_lib.Redis.from_url(redis_url)
    assert spool.unshipped_events(str(tmp_path), redis_url) == 2
    collector = spool.Spool(directory, redis)
    try:
        assert collector.adopt_orphans() == 1
    finally:
        collector.close()
    assert _stream_event_ids(redis) == ["old-1", "old-2"]
    assert redis.xlen(stream.STREAMS[0]) == 1
    assert stream.backlog(redis) == 2
    assert not (directory / "gone-1-abc.spool").exists()
