"""Widget latency end to end: `python -m bench widgets [--products N] [--sessions N] [--requests N]`.

A shop of 50,000 products in 200 collections and 1,000,000 past sessions (their product trails in
`rec_sessions`, as the writer's hook feeds them), plus 2,000 visitors with recent product events,
in MariaDB (database `cs_widgets_bench`, rebuilt unless `--reuse`). Every widget route is called
through the Flask app in process (routing, app-origin check, experiment arm and exposure, catalog
and model version checks, JSON), warm: the model is loaded by the first request, not timed.
Side by side in the same run, each request sent to both in turn: answers cached in Redis
(`RECOMMENDATIONS_CACHE_SECONDS=300`, our configuration) against no answer cache (`0`: every
request computes its answer). Every visitor has been seen once before (exposure logged).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pymysql

from bench._database import recreate_database

DB_NAME = "cs_widgets_bench"
DB_URL = f"mysql+pymysql://root@127.0.0.1:3306/{DB_NAME}?charset=utf8mb4"
REDIS_URL = "redis://127.0.0.1:6379/10"
SHOP = "widgets-bench.myshopify.com"
COLLECTIONS = 200
VISITORS = 2_000
CHUNK = 10_000


def _connect() -> pymysql.Connection:  # type: ignore[type-arg]
    return pymysql.connect(host="127.0.0.1", user="root", database=DB_NAME, autocommit=False)


def _insert(cursor: object, table: str, columns: str, rows: Sequence[tuple[object, ...]]) -> None:
    marks = ", ".join(["%s"] * len(rows[0]))
    for start in range(0, len(rows), CHUNK):
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows[start : start + CHUNK])  # type: ignore[attr-defined]


def _trail(rng: random.Random, products: int) -> list[int]:
    """A browsing session: a Zipf-popular anchor and related products around it."""
    anchor = min(int(rng.paretovariate(0.6)), products) - 1
    return [1 + (anchor + rng.randint(-30, 30)) % products for _ in range(rng.randint(2, 8))]


def build(products: int, sessions: int) -> None:
    """Create the database and fill it (products, collections, session trails, visitors' events)."""
    from flask_migrate import upgrade

    from shopify_app import create_app

    recreate_database(DB_NAME)
    app = create_app({"ENV": {"CLICKSTREAM_ENV": "testing", "DATABASE_URL": DB_URL, "REDIS_URL": ""}})
    with app.app_context():
        upgrade()
    rng = random.Random(11)
    now = datetime.now(UTC).replace(tzinfo=None)
    connection = _connect()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO shops (domain, name, timezone, currency, installed_at, settings, catalog_sync_status,"
            " catalog_sync_progress, created_at, updated_at) VALUES (%s, 'Bench', 'UTC', 'USD', %s,"
            " '{\"recommendations\": {\"holdout_share\": 0.1}}', 'done', 100, %s, %s)",
            (SHOP, now, now, now),
        )
        shop_id = cursor.lastrowid
        print(f"products: {products:,}", flush=True)
        _insert(cursor, "products", "shop_id, shopify_id, handle, title, vendor, category, price, image_url, status,"
                " published, available, created_at, updated_at",
                [(shop_id, p, f"product-{p}", f"Product {p}", f"brand-{p % 300}", f"category-{p % 40}",
                  round(5 + (p % 97) * 1.5, 2), f"https://cdn.example/{p}.jpg", "active", 1, 1, now, now)
                 for p in range(1, products + 1)])  # fmt: skip
        _insert(cursor, "collections", "shop_id, shopify_id, handle, title, updated_at",
                [(shop_id, c, f"collection-{c}", f"Collection {c}", now) for c in range(1, COLLECTIONS + 1)])  # fmt: skip
        cursor.execute("SELECT id, shopify_id FROM collections WHERE shop_id = %s", (shop_id,))
        collection_rows = {shopify: row_id for row_id, shopify in cursor.fetchall()}
        _insert(
            cursor,
            "collection_products",
            "collection_id, product_id, shop_id, position",
            [
                (collection_rows[1 + p % COLLECTIONS], p, shop_id, p // COLLECTIONS)
                for p in range(1, products + 1)
            ],
        )  # fmt: skip  (product row ids equal shopify ids here)
        print(f"session trails: {sessions:,}", flush=True)
        version = int(time.time() * 1000)
        batch: list[tuple[object, ...]] = []
        for number in range(1, sessions + 1):
            trail = _trail(rng, products)
            bought = " ".join(map(str, trail[-2:])) if number % 20 == 0 else ""
            ended = now - timedelta(seconds=(sessions - number) * 5)
            batch.append((shop_id, number, " ".join(map(str, trail)), bought, bought, ended, version))
            if len(batch) == CHUNK:
                _insert(
                    cursor,
                    "rec_sessions",
                    "shop_id, session_id, viewed, carted, bought, last_event_at, version",
                    batch,
                )
                batch = []
        if batch:
            _insert(
                cursor,
                "rec_sessions",
                "shop_id, session_id, viewed, carted, bought, last_event_at, version",
                batch,
            )
        print(f"visitors with recent events: {VISITORS:,}", flush=True)
        _insert(cursor, "visitors", "shop_id, visitor_key, first_seen_at, last_seen_at",
                [(shop_id, f"v-{v}", now, now) for v in range(VISITORS)])  # fmt: skip
        cursor.execute("SELECT id FROM visitors WHERE shop_id = %s ORDER BY id", (shop_id,))
        visitor_ids = [row[0] for row in cursor.fetchall()]
        _insert(cursor, "sessions", "shop_id, visitor_id, started_at, last_event_at, day, event_count, page_views,"
                " product_views, carts, checkouts, purchases, revenue, is_new_visitor",
                [(shop_id, v, now, now, now.date(), 10, 0, 10, 1, 0, 0, 0, 1) for v in visitor_ids])  # fmt: skip
        cursor.execute("SELECT id, visitor_id FROM sessions WHERE shop_id = %s", (shop_id,))
        session_of = {visitor: session for session, visitor in cursor.fetchall()}
        events = []
        for visitor in visitor_ids:
            for step, product in enumerate(_trail(rng, products) + _trail(rng, products)):
                at = now - timedelta(minutes=step)
                kind = "add_to_cart" if step % 7 == 3 else "product_view"
                events.append(
                    (shop_id, f"e-{visitor}-{step}", visitor, session_of[visitor], kind, product, at, at, at)
                )
        _insert(cursor, "events", "shop_id, event_id, visitor_id, session_id, type, product_id, client_ts,"
                " occurred_at, received_at", events)  # fmt: skip
    connection.commit()
    connection.close()


def _p(ordered: list[float], share: float) -> float:
    return ordered[max(int(len(ordered) * share) - 1, 0)]


def _client(cache_seconds: int) -> Any:
    from shopify_app import create_app

    app = create_app({
        "ENV": {"CLICKSTREAM_ENV": "testing", "DATABASE_URL": DB_URL, "REDIS_URL": REDIS_URL,
                "RECOMMENDATIONS_CACHE_SECONDS": str(cache_seconds),
                # one address asks for everyone: the per-address limit would stop the run
                "WIDGET_PER_IP_PER_MINUTE": "100000000", "WIDGET_PER_SHOP_PER_MINUTE": "100000000"},
    })  # fmt: skip
    return app.test_client()


def _asks(rng: random.Random, products: int) -> dict[str, Callable[[], dict[str, str]]]:
    """Per widget, a maker of a shopper's query: Zipf-popular products, random visitors and collections."""

    def visitor() -> dict[str, str]:
        return {"shop": SHOP, "limit": "8", "visitor_id": f"v-{rng.randrange(VISITORS)}"}

    def product() -> str:
        return str(min(int(rng.paretovariate(0.6)), products))

    return {
        "crowd_favorites": visitor,
        "also_viewed": lambda: {**visitor(), "product_id": product()},
        "also_bought": lambda: {**visitor(), "product_id": product()},
        "featured_collection": lambda: {**visitor(), "collection_id": str(rng.randint(1, COLLECTIONS))},
        "pick_up_where_you_left_off": visitor,
    }


def measure(requests: int, products: int) -> dict[str, dict[str, tuple[float, float]]]:
    """p50 and p99 (ms) per widget, with and without the answer cache, requests interleaved."""
    headers = {"Sec-Fetch-Site": "same-origin"}
    clients = {"cached": _client(300), "uncached": _client(0)}
    started = time.perf_counter()
    first = clients["cached"].get("/api/crowd_favorites/", query_string={"shop": SHOP}, headers=headers)
    assert first.status_code == 200
    print(f"  first request (loads the shop's model): {time.perf_counter() - started:.1f} s", flush=True)
    for number in range(VISITORS):  # shoppers seen before: their exposure is logged already
        clients["cached"].get("/api/crowd_favorites/", query_string={"shop": SHOP, "visitor_id": f"v-{number}"},
                              headers=headers)  # fmt: skip
    results: dict[str, dict[str, tuple[float, float]]] = {}
    for widget, ask in _asks(random.Random(5), products).items():
        timings: dict[str, list[float]] = {"cached": [], "uncached": []}
        for number in range(requests + 50):
            query = ask()
            for name, client in clients.items():
                began = time.perf_counter()
                answer = client.get(f"/api/{widget}/", query_string=query, headers=headers)
                if number >= 50:  # the first 50: warm-up, the cache fills as shoppers ask
                    timings[name].append((time.perf_counter() - began) * 1000)
                assert answer.status_code == 200, answer.get_json()
        results[widget] = {
            name: (statistics.median(values), _p(sorted(values), 0.99)) for name, values in timings.items()
        }
    return results


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench widgets")
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=1_000)
    parser.add_argument("--reuse", action="store_true", help="keep the database of the last run")
    args = parser.parse_args(argv)
    if not args.reuse:
        started = time.perf_counter()
        build(args.products, args.sessions)
        print(f"built in {time.perf_counter() - started:.0f} s\n", flush=True)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    results = measure(args.requests, args.products)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{args.products:,} products, {args.sessions:,} sessions, {args.requests:,} warm requests per widget"
          f" and configuration, interleaved; peak memory of the process {rss:,.0f} MB;"
          f" load average {os.getloadavg()[0]:.1f}\n")  # fmt: skip
    print("| widget | ours (Redis answer cache): p50 ms | p99 ms | no answer cache: p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for widget, row in results.items():
        (p50, p99), (base50, base99) = row["cached"], row["uncached"]
        print(f"| {widget} | {p50:.2f} | {p99:.2f} | {base50:.2f} | {base99:.2f} |")
