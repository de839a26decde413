"""What live scoring costs the writer: `python -m bench notification_hook [--visitors N] [--rounds N]`.

The writer's `sessions_updated` hook used to score the sessions it had just committed in its own
process (read their events back, score, decide, record). This times that work against the
writer's own for the same events, and against what the hook does now (queue a task), on MariaDB:

1. a shop with a catalog and a serving model of the trained size (32 LSTM units), notifications on;
2. `--rounds` rounds: each visitor's session grows by 10 events (views, sometimes a cart) stored
   by the writer code in one transaction per round (`store_batches`, timed), then the hook's
   work for the sessions of the round, both ways (timed): scoring in process
   (`ml.live.on_sessions_updated`, at most 500 sessions a call as the hook took them) and
   queueing `ml.score_sessions` to a Redis broker (`enqueue_scoring`).

Uses database `clickstream_bench_hook` and Redis db 9 (both emptied first, the database dropped after).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from bench._database import drop_database, recreate_database

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DB_NAME = "clickstream_bench_hook"
DB_URL = f"mysql+pymysql://root@127.0.0.1:3306/{DB_NAME}?charset=utf8mb4"
REDIS_URL = "redis://127.0.0.1:6379/9"
PRODUCTS = 500
UNITS = 32


def _model(folder: Path) -> None:
    """A serving model of the trained size whose answers call every carting shopper a buyer."""
    from ml.features import STEP_WIDTH, FeatureSpec
    from ml.scorer import SPEC_FILE, WEIGHTS_FILE

    rng = np.random.default_rng(7)
    arrays = {
        "kernel": rng.normal(0, 0.05, (STEP_WIDTH, 4 * UNITS)),
        "recurrent": rng.normal(0, 0.05, (UNITS, 4 * UNITS)),
        "bias": np.zeros(4 * UNITS),
        "dense0_w": rng.normal(0, 0.05, (UNITS, 1)),
        "dense0_b": np.array([2.0]),
    }
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / WEIGHTS_FILE, **arrays)  # type: ignore[arg-type]
    (folder / SPEC_FILE).write_text(
        __import__("json").dumps(FeatureSpec(max_events=50, typical_price=20.0).to_dict())
    )


def _round(
    shop_id: int, domain: str, visitors: int, number: int, chance: random.Random
) -> list[dict[str, object]]:
    now = int(time.time() * 1000) - 600_000 + number * 20_000
    batches = []
    for visitor in range(visitors):
        kinds = ["product_view"] * 9 + ["add_to_cart" if chance.random() < 0.3 else "product_view"]
        events = [
            {"id": str(uuid.uuid4()), "type": kind, "ts": now + i, "client_ts": now + i,
             "visitor_id": f"v-{visitor}", "url": f"https://{domain}/products/p{i}",
             "product_id": 9_000_000 + chance.randrange(PRODUCTS), "props": {"price": 19.5}}
            for i, kind in enumerate(kinds)
        ]  # fmt: skip
        batches.append({"shop_id": shop_id, "shop_domain": domain, "received_at": now, "device": "desktop",
                        "events": events})  # fmt: skip
    return batches


def main(argv: list[str]) -> None:
    visitors = int(argv[argv.index("--visitors") + 1]) if "--visitors" in argv else 2000
    rounds = int(argv[argv.index("--rounds") + 1]) if "--rounds" in argv else 5
    sys.path.insert(0, str(ROOT))
    recreate_database(DB_NAME)
    env = {**os.environ, "DATABASE_URL": DB_URL, "REDIS_URL": "", "LOG_LEVEL": "WARNING"}
    subprocess.run([BIN / "clickstream", "db", "upgrade"], env=env, check=True, capture_output=True)
    os.environ.update({"DATABASE_URL": DB_URL, "REDIS_URL": "", "LOG_LEVEL": "WARNING"})
    from shopify_app import create_app

    embedded = create_app()  # tasks in process: the hook's work runs here, as it did in the writer
    queued = create_app({"ENV": {"DATABASE_URL": DB_URL, "REDIS_URL": REDIS_URL, "LOG_LEVEL": "WARNING"}})
    import redis

    from analytics.writer.store import store_batches
    from ml.live import enqueue_scoring, on_sessions_updated
    from ml.models import ModelVersion
    from ml.training import KIND
    from shopify_app.core.extensions import db
    from shopify_app.core.models import Product, Shop
    from shopify_app.core.types import utcnow

    redis.Redis.from_url(REDIS_URL).flushdb()
    folder = Path(tempfile.mkdtemp(prefix="cs-bench-model-"))
    _model(folder)
    chance = random.Random(11)
    writer_s = scoring_s = queue_s = 0.0
    sessions_scored = events = 0
    with embedded.app_context():
        shop = Shop(domain="bench-hook.myshopify.com", name="Bench", timezone="UTC", installed_at=utcnow(),
                    settings={}, currency="USD")  # fmt: skip
        db.session.add(shop)
        db.session.flush()
        for number in range(PRODUCTS):
            db.session.add(Product(shop_id=shop.id, shopify_id=9_000_000 + number, handle=f"p{number}",
                                   title=f"P{number}", price=19.5, total_inventory=100))  # fmt: skip
        db.session.add(ModelVersion(shop_id=shop.id, kind=KIND, version=1, path=str(folder), status="active"))
        db.session.commit()
        shop_id, domain = shop.id, shop.domain
        for number in range(rounds):
            batches = _round(shop_id, domain, visitors, number, chance)
            events += sum(len(b["events"]) for b in batches)  # type: ignore[arg-type]
            started = time.perf_counter()
            result = store_batches(batches)
            writer_s += time.perf_counter() - started
            session_ids = result.session_ids.get(shop_id, [])
            started = time.perf_counter()
            for first in range(0, len(session_ids), 500):
                on_sessions_updated(shop_id, session_ids[first : first + 500])
            scoring_s += time.perf_counter() - started
            sessions_scored += len(session_ids)
            with queued.app_context():
                started = time.perf_counter()
                enqueue_scoring(shop_id, session_ids)
                queue_s += time.perf_counter() - started
    drop_database(DB_NAME)
    redis.Redis.from_url(REDIS_URL).flushdb()
    print(
        f"{rounds} rounds of {visitors} visitors' 10 events: {events:,} events, {sessions_scored:,} session updates\n"
    )
    print("| work | seconds | per 1,000 events | against the writer's own |")
    print("|---|---|---|---|")
    for name, seconds in (
        ("the writer storing the events (`store_batches`)", writer_s),
        ("scoring in the writer's process (`on_sessions_updated`)", scoring_s),
        ("queueing the scoring (`enqueue_scoring`, Redis broker)", queue_s),
    ):
        print(
            f"| {name} | {seconds:.2f} | {seconds / events * 1000 * 1000:.1f} ms | {seconds / writer_s:.1%} |"
        )
