"""Writers storing different visitors do not wait on each other (MariaDB's row locks).

Each writer locks the visitors of its batch and their recent sessions until it commits; the
stream's partitions give writers different visitors (`analytics.ingest.stream`), and that only
lets them store at the same time if the locks cover those rows and no others."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from analytics.models import Event
from analytics.writer import store
from shopify_app.core.extensions import db
from tests.support.databases import TestDatabase
from tests.support.factories import make_shop

pytestmark = [pytest.mark.mysql, pytest.mark.committed, pytest.mark.usefixtures("db")]


@pytest.fixture(autouse=True)
def _mariadb(test_database: TestDatabase) -> None:
    if test_database.backend != "mysql":
        pytest.skip("row locks are MariaDB's: SQLite, the embedded mode, has one writer")


def _batch(shop_id: int, visitors: list[str], at_ms: int) -> dict[str, Any]:
    events = [
        {"id": str(uuid.uuid4()), "type": "page_view", "ts": at_ms + i, "client_ts": at_ms + i, "visitor_id": visitor,
         "url": "https://shop.example/pages/a"}
        for i, visitor in enumerate(visitors)
    ]  # fmt: skip
    return {"shop_id": shop_id, "received_at": at_ms, "device": "desktop", "events": events}


def test_a_writer_holding_its_visitors_locks_does_not_hold_up_one_storing_other_visitors(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = make_shop()
    db.session.commit()
    evens = [f"v-{number}" for number in range(0, 40, 2)]
    odds = [f"v-{number}" for number in range(1, 40, 2)]
    now = int(time.time() * 1000) - 60_000
    store.store_batches([_batch(shop.id, evens + odds, now)])  # visitors and sessions exist

    holding, release = threading.Event(), threading.Event()
    place_in_sessions = store._place_in_sessions

    def pause_holding_visitors_and_sessions(*args: Any) -> Any:
        sessions = place_in_sessions(*args)
        if threading.current_thread().name == "first-writer":
            holding.set()
            release.wait(30)
        return sessions

    monkeypatch.setattr(store, "_place_in_sessions", pause_holding_visitors_and_sessions)

    def first_writer() -> None:
        threading.current_thread().name = "first-writer"
        with app.app_context():
            try:
                store.store_batches([_batch(shop.id, evens, now + 1000)])
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(first_writer)
        try:
            assert holding.wait(30), "the first writer holds its visitors and their sessions"
            # The second writer gives up on a lock after a second instead of the server's default.
            store._begin()
            db.session.execute(text("SET SESSION innodb_lock_wait_timeout = 1"))
            stored = store.store_batches([_batch(shop.id, odds, now + 2000)], attempts=1)
            assert stored.accepted == len(odds), "stored while the first writer held its visitors"
        finally:
            release.set()
        first.result(30)
    db.session.remove()
    assert db.session.execute(select(func.count()).select_from(Event)).scalar() == 80
