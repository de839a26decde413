"""Where the writer's time goes: `python -m bench writer_profile [--top N]`.

Imports the REES46 sample (`../shared/data/rees46_2019-Oct_head.csv.gz`) through the writer code
into a fresh MariaDB database `cs_writer_profile` under cProfile and prints the writer's and the
rollups' functions by cumulative time, next to the total: a profile, not a throughput number
(`bench ingest` is that).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from pathlib import Path

from bench._database import drop_database, recreate_database

DB_NAME = "cs_writer_profile"
DB_URL = f"mysql+pymysql://root@127.0.0.1:3306/{DB_NAME}?charset=utf8mb4"
SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "rees46_2019-Oct_head.csv.gz"
SHOP = "profile-shop.myshopify.com"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench writer_profile")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    from flask_migrate import upgrade

    from analytics.importer import import_events
    from shopify_app import create_app
    from shopify_app.core.extensions import db
    from shopify_app.core.models import Shop
    from shopify_app.core.types import utcnow

    recreate_database(DB_NAME)
    app = create_app({"ENV": {"CLICKSTREAM_ENV": "testing", "DATABASE_URL": DB_URL, "REDIS_URL": ""}})
    with app.app_context():
        upgrade()
        db.session.add(Shop(domain=SHOP, name="Profile", timezone="UTC", installed_at=utcnow(), settings={}))
        db.session.commit()
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        result = import_events(SAMPLE, SHOP, "rees46")
        profile.disable()
        print(f"{result.stored:,} events stored in {time.perf_counter() - started:.1f} s (under cProfile)\n")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumtime").print_stats(
        r"analytics/(writer|rollup)", args.top
    )
    print("```\n" + out.getvalue().strip() + "\n```")
    drop_database(DB_NAME)
