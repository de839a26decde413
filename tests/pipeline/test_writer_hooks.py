"""The writer does no network I/O: while Shopify hangs, events keep landing; failing hooks are
logged and counted in /metrics rather than silently swallowed."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from flask import Flask
from sqlalchemy import func, select

from analytics.experiments import HOLDOUT, arm_for, default_arms
from analytics.models import Event
from ml.live import EXPERIMENT_KEY
from ml.models import ModelVersion
from ml.training import KIND
from shopify_app.core.crypto import encrypt_token
from shopify_app.core.extensions import db
from shopify_app.core.hooks import register_hook, run_hooks
from tests.ml.conftest import write_constant_model
from tests.pipeline.test_counts import BROWSER
from tests.support.databases import TestDatabase
from tests.support.factories import make_product, make_shop
from tests.support.processes import clickstream, process_env, wait_until


@pytest.fixture
def silent_shopify() -> Iterator[str]:
    """An address that accepts connections and never answers (Shopify hanging)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            held.append(connection)  # kept open, never read, never answered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/{{shop}}"
    stop.set()
    thread.join(timeout=2)
    for connection in held:
        connection.close()
    server.close()


def _batch(domain: str, visitor: str, product_id: int) -> dict[str, Any]:
    now = int(time.time() * 1000)
    kinds = ["page_view", "product_view", "page_view", "product_view", "page_view"]
    events = [
        {"id": str(uuid.uuid4()), "type": kind, "ts": now - 100 + i, "visitor_id": visitor,
         "product_id": str(product_id), "url": f"https://{domain}/products/p{i}"}
        for i, kind in enumerate(kinds)
    ]  # fmt: skip
    return {"shop": domain, "sent_at": now, "events": events}


def _stored(shop_id: int) -> int:
    db.session.remove()
    return int(db.session.execute(select(func.count()).where(Event.shop_id == shop_id)).scalar() or 0)


@pytest.mark.committed
@pytest.mark.redis
def test_a_writer_keeps_landing_events_while_shopify_never_answers(
    make_app: Any, redis_url: str, test_database: TestDatabase, db: Any, tmp_path: Path, silent_shopify: str
) -> None:
    """Every session looks like it is leaving, so each would be offered a discount code: the code
    used to be created through the Admin API inside the writer (30 s timeouts, 5 attempts)."""
    redis_lib.Redis.from_url(redis_url).flushdb()
    shop = make_shop(access_token_encrypted=encrypt_token("test-token-for-a-shopify-that-never-answers"))
    shop.settings = {"notifications": {"kinds": ["discount"], "min_events_before_leaving": 1}}
    product = make_product(shop)
    write_constant_model(tmp_path / "model", -6.0)
    db.session.add(
        ModelVersion(shop_id=shop.id, kind=KIND, version=1, path=str(tmp_path / "model"), status="active")
    )
    db.session.commit()
    shop_id, domain = shop.id, shop.domain
    arms = default_arms()
    visitors = [
        k for k in (f"v-leaving-{n}" for n in range(60)) if arm_for(EXPERIMENT_KEY, k, arms) != HOLDOUT
    ][:20]
    app: Flask = make_app(ENV={"REDIS_URL": redis_url})
    client = app.test_client()
    env = process_env(
        DATABASE_URL=test_database.url, REDIS_URL=redis_url, SHOPIFY_API_BASE_URL=silent_shopify
    )
    # The whole worker: the writer and the task worker, which does reach the hanging Shopify.
    with clickstream("worker", "--concurrency", "1", env=env, ready="started writer"):
        for number, visitor in enumerate(visitors):
            with app.app_context():
                response = client.post("/events/", json=_batch(domain, visitor, product.shopify_id),
                                       headers={"User-Agent": BROWSER})  # fmt: skip
            assert response.status_code == 202, response.get_json()
            expected = 5 * (number + 1)
            started = time.monotonic()
            wait_until(
                lambda e=expected: _stored(shop_id) >= e, timeout=10, message=f"batch {number + 1} stored"
            )
            assert time.monotonic() - started < 10
    assert _stored(shop_id) == 5 * len(visitors)


def test_a_failing_hook_is_logged_and_counted_in_metrics(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app: Flask = make_app()

    def broken(shop_id: int, session_ids: list[int]) -> None:
        raise RuntimeError("the recommendation store is gone")

    register_hook(app, PROBE, broken)
    with app.app_context():
        before = _failures(app)
        run_hooks(PROBE, 1, [1, 2])
        run_hooks(PROBE, 1, [3])
        assert _failures(app) == before + 2
    assert "RuntimeError: the recommendation store is gone" in caplog.text
    assert "hook failure_probe (tests.pipeline.test_writer_hooks." in caplog.text, "which hook failed"


@pytest.mark.redis
def test_with_redis_every_process_sees_the_failures_of_the_writer(make_app: Any, redis_url: str) -> None:
    """The writer runs apart from the web processes Prometheus scrapes: the count is shared."""
    redis_lib.Redis.from_url(redis_url).flushdb()
    writer_app: Flask = make_app(ENV={"REDIS_URL": redis_url})
    web_app: Flask = make_app(ENV={"REDIS_URL": redis_url})
    register_hook(writer_app, PROBE, lambda *_: 1 / 0)
    with writer_app.app_context():
        run_hooks(PROBE, 1, [1])
    assert _failures(web_app) == 1


PROBE = "failure_probe"  # a hook name of the test's own: the app's real hooks stay out of it


def _failures(app: Flask) -> float:
    text = app.test_client().get("/metrics").get_data(as_text=True)
    for line in text.splitlines():
        if line.startswith(f'clickstream_hook_failures_total{{hook="{PROBE}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
