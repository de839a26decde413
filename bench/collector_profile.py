"""Where the collector's CPU goes: `python -m bench collector_profile [--requests N]`.

In one process, no sockets but Redis: the CPU of `POST /events/` (10-event batches, as wrk sends
them in `bench ingest`) through Flask's test client, next to `/noop` (the framework alone), and
the collector's own steps (reading the JSON, checking the events, the whole hand-over including
the Redis round trip). What this leaves out of `bench ingest`'s CPU per request is gunicorn, the
kernel's side of the sockets and redis-server. Uses database `cs_collector_profile` and Redis db 10.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson

from bench._database import drop_database, recreate_database

DB_NAME = "cs_collector_profile"
SHOP = "bench-shop.myshopify.com"
HEADERS = {
    "Content-Type": "text/plain",
    "Origin": f"https://{SHOP}",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0",
}


def _bodies(count: int) -> list[bytes]:
    now = int(time.time() * 1000)
    return [
        orjson.dumps(
            {
                "shop": SHOP,
                "sent_at": now,
                "events": [
                    {
                        "id": str(uuid.uuid4()),
                        "type": "product_view",
                        "ts": now,
                        "visitor_id": f"v-{i}",
                        "product_id": i,
                        "url": f"https://{SHOP}/products/p",
                    }
                    for i in range(10)
                ],
            }
        )
        for _ in range(count)
    ]


def _cpu_us(run: Callable[[bytes], Any], bodies: list[bytes]) -> float:
    """CPU microseconds per call of `run` (after one warm-up call)."""
    run(bodies[0])
    began = time.process_time()
    for body in bodies:
        run(body)
    return (time.process_time() - began) / len(bodies) * 1e6


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench collector_profile")
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args(argv)
    recreate_database(DB_NAME)
    os.environ.update(
        DATABASE_URL=f"mysql+pymysql://root@127.0.0.1:3306/{DB_NAME}?charset=utf8mb4",
        REDIS_URL="redis://127.0.0.1:6379/10",
        LOG_LEVEL="WARNING",
        INGEST_PER_IP_PER_MINUTE="1000000000",
        INGEST_PER_SHOP_PER_MINUTE="1000000000",
    )
    from flask_migrate import upgrade

    from analytics.ingest import views
    from analytics.ingest.validation import parse_batch
    from bench.ingest_app import app
    from shopify_app.core.extensions import db, get_redis
    from shopify_app.core.models import Shop
    from shopify_app.core.types import utcnow

    try:
        with app.app_context():
            upgrade()
            db.session.add(
                Shop(domain=SHOP, name="Bench", timezone="UTC", installed_at=utcnow(), settings={})
            )
            db.session.commit()
            redis = get_redis()
            assert redis is not None
            redis.flushdb()
        bodies = _bodies(args.requests)
        client = app.test_client()
        rows = [
            ("`/noop` through Flask (the framework alone)", _cpu_us(lambda b: client.post("/noop", data=b, headers=HEADERS), bodies)),
            ("`/events/` through Flask", _cpu_us(lambda b: client.post("/events/", data=b, headers=HEADERS), bodies)),
        ]  # fmt: skip
        with app.test_request_context("/events/", method="POST", headers=HEADERS):
            received = int(time.time() * 1000)
            rows += [
                ("reading the JSON body (orjson)", _cpu_us(orjson.loads, bodies)),
                ("reading + checking 10 events", _cpu_us(lambda b: parse_batch(orjson.loads(b), received_ms=received), bodies)),
                ("the whole hand-over incl. the Redis round trip", _cpu_us(lambda b: views.collect(orjson.loads(b)), bodies)),
            ]  # fmt: skip
        with app.app_context():
            get_redis().flushdb()  # type: ignore[union-attr]
    finally:
        drop_database(DB_NAME)
    print(f"{args.requests:,} requests of 10 events each, one process, CPU per request\n")
    print("| step | µs CPU |")
    print("|---|---:|")
    for name, value in rows:
        print(f"| {name} | {value:.0f} |")
    print(f"| `/events/` minus `/noop` | {rows[1][1] - rows[0][1]:.0f} |")
