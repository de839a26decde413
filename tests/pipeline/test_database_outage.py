"""MariaDB stopped for 30 s: the collector keeps accepting, and the backlog drains once it is back.

The outage is real: a private MariaDB server (its own data directory and port) is started for
this test, stopped with SIGTERM for 30 seconds, and started again; the shared server is never touched.
"""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest
import redis as redis_lib
from flask import Flask

from shopify_app import create_app
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop
from shopify_app.core.types import utcnow
from tests.pipeline.test_counts import BROWSER
from tests.support.databases import upgrade
from tests.support.processes import clickstream, free_port, process_env, wait_until

pytestmark = [pytest.mark.fault, pytest.mark.redis, pytest.mark.slow]
OUTAGE_SECONDS = 30
DOMAIN = "outage-shop.myshopify.com"


class PrivateMariaDB:
    """A throwaway MariaDB server that a test may stop and start."""

    def __init__(self, folder: Path) -> None:
        self.datadir = folder / "data"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        subprocess.run(
            ["mariadb-install-db", "--no-defaults", f"--datadir={self.datadir}", "--skip-test-db", "--user=root"],
            check=True, capture_output=True,
        )  # fmt: skip
        self.socket = folder / "mariadb.sock"

    @property
    def url(self) -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/outage?charset=utf8mb4"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["/usr/sbin/mariadbd", "--no-defaults", f"--datadir={self.datadir}", f"--port={self.port}",
             "--bind-address=127.0.0.1", f"--socket={self.socket}", "--user=root", "--skip-grant-tables"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(self.ready, timeout=30, message="the private MariaDB accepts connections")

    def ready(self) -> bool:
        try:
            pymysql.connect(host="127.0.0.1", port=self.port, user="root").close()
            return True
        except pymysql.err.OperationalError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)


@pytest.fixture
def mariadb(tmp_path: Path) -> Iterator[PrivateMariaDB]:
    server = PrivateMariaDB(tmp_path)
    server.start()
    connection = pymysql.connect(host="127.0.0.1", port=server.port, user="root", autocommit=True)
    connection.cursor().execute("CREATE DATABASE outage CHARACTER SET utf8mb4")
    connection.close()
    upgrade(server.url)
    try:
        yield server
    finally:
        server.stop()


def _count_events(server: PrivateMariaDB) -> int:
    connection = pymysql.connect(host="127.0.0.1", port=server.port, user="root", database="outage")
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM events")
        count = int(cursor.fetchone()[0])  # type: ignore[index]
    connection.close()
    return count


def _post(client: Any, visitor: str) -> int:
    now = int(time.time() * 1000)
    events = [
        {"id": str(uuid.uuid4()), "type": "page_view", "ts": now, "visitor_id": visitor} for _ in range(10)
    ]
    response = client.post(
        "/events/", json={"shop": DOMAIN, "sent_at": now, "events": events}, headers={"User-Agent": BROWSER}
    )
    return int(response.status_code)


def test_the_collector_rides_out_a_database_outage_and_the_backlog_drains(
    mariadb: PrivateMariaDB, redis_url: str
) -> None:
    redis_lib.Redis.from_url(redis_url).flushdb()
    app: Flask = create_app(
        {
            "TESTING": True,
            "ENV": {"CLICKSTREAM_ENV": "testing", "DATABASE_URL": mariadb.url, "REDIS_URL": redis_url},
        }
    )
    with app.app_context():
        db.session.add(Shop(domain=DOMAIN, name="Outage", timezone="UTC", installed_at=utcnow(), settings={}))
        db.session.commit()
        client = app.test_client()
        env = process_env(DATABASE_URL=mariadb.url, REDIS_URL=redis_url, WRITER_CLAIM_IDLE_SECONDS="1")
        with clickstream("worker", "--without", "tasks", env=env, ready="started writer") as writer:
            assert _post(client, "before") == 202
            wait_until(lambda: _count_events(mariadb) == 10, message="stored before the outage")

            mariadb.stop()
            sent_during = 0
            outage_ends = time.monotonic() + OUTAGE_SECONDS
            while time.monotonic() < outage_ends:
                assert _post(client, f"during-{sent_during}") == 202, "the collector keeps accepting"
                sent_during += 1
                time.sleep(1)
            assert client.get("/healthz").get_json()["pending_events"] == sent_during * 10

            mariadb.start()
            total = 10 + sent_during * 10
            try:
                wait_until(lambda: _count_events(mariadb) == total, timeout=60, message="the backlog drained")
            except AssertionError:
                stored = _count_events(mariadb)
                raise AssertionError(
                    f"{stored} of {total} stored; the writer said:\n{writer.output[-6000:]}"
                ) from None
            wait_until(
                lambda: client.get("/healthz").get_json()["pending_events"] == 0, message="no backlog left"
            )
        db.session.remove()
    assert _count_events(mariadb) == total
