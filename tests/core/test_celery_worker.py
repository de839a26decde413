"""A task sent over Redis (or RabbitMQ) runs in a real Celery worker process and changes MariaDB."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.support.factories import make_event, make_session, make_shop, make_visitor
from tests.support.processes import clickstream, process_env, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.redis, pytest.mark.committed]


RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_retention_task_runs_in_a_real_worker_and_deletes_expired_events(
    broker: str, make_app: Any, redis_url: str, test_database: Any, db: Any
) -> None:
    from analytics.models import Event

    shop = make_shop(settings={"retention_months": 1})
    visitor = make_visitor(shop)
    old = make_session(shop, visitor, started_at=datetime(2020, 1, 5, 12, 0))
    make_event(old, occurred_at=datetime(2020, 1, 5, 12, 0))
    recent = make_session(shop, visitor)
    kept = make_event(recent)
    db.session.commit()

    broker_env = {"REDIS_URL": redis_url} if broker == "redis" else {"CELERY_BROKER_URL": RABBITMQ_URL}
    env = process_env(DATABASE_URL=test_database.url, **{"REDIS_URL": "", **broker_env})
    with clickstream("worker", "--concurrency", "1", "--without", "writer", env=env, ready="ready."):
        sender = make_app(ENV=broker_env)
        with sender.app_context():
            celery = sender.extensions["celery"]
            with celery.connection_for_write() as connection:
                celery.send_task("analytics.purge_expired_events", args=[shop.id], connection=connection)

        def only_recent_left() -> bool:
            db.session.rollback()
            remaining = db.session.execute(
                select(func.count()).select_from(Event).where(Event.shop_id == shop.id)
            ).scalar_one()
            return remaining == 1

        wait_until(only_recent_left, timeout=60, message="the worker to purge the old event")
    assert (
        db.session.execute(select(Event.event_id).where(Event.shop_id == shop.id)).scalar_one()
        == kept.event_id
    )
