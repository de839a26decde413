"""Lighthouse on the demo storefront, app on and off: `python -m bench storefront [--runs N]`.

The demo shop's catalog in a SQLite database of its own (`bench/out/storefront/`), its widgets fed
with shoppers' product views through the collector, served by `clickstream serve` (embedded mode).
Lighthouse (mobile defaults: emulated Moto G Power, simulated slow 4G and 4x CPU slowdown, the
performance category only) loads the home page, a collection and a product page, each with the
app (the app embed and the Recommendations blocks, whose widgets load products) and with
`?app=off` (the same theme without the app), alternating, `--runs` times each; the table shows
medians. The holdout is set to 0 so every run shows the widgets (a holdout visitor would see none).

Lighthouse is not a dependency of the app: install it outside the repository
(`npm install --prefix /work/tools/lighthouse lighthouse@12.8.2`) and pass `--lighthouse` or set
`LIGHTHOUSE`; Chromium comes from `CHROME_PATH` (default /usr/bin/chromium). Other work on the
machine disturbs the numbers: run it under `flock /work/bench.lock`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
OUT = REPO_ROOT / "bench" / "out" / "storefront"
DEFAULT_LIGHTHOUSE = "/work/tools/lighthouse/node_modules/.bin/lighthouse"
SHOP = "demo-shop.myshopify.com"
BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
)
METRICS = {
    "cumulative-layout-shift": ("CLS", "{:.3f}"),
    "total-blocking-time": ("TBT ms", "{:.0f}"),
    "largest-contentful-paint": ("LCP ms", "{:.0f}"),
    "first-contentful-paint": ("FCP ms", "{:.0f}"),
    "speed-index": ("SI ms", "{:.0f}"),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(database_url: str) -> dict[str, str]:
    """Create the database, seed the demo catalog with no holdout; the pages to measure."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from shopify_app import create_app
    from shopify_app.core.extensions import db
    from shopify_app.core.models import Collection, CollectionProduct, Product, Shop
    from shopify_app.demo import seed_demo_shop

    app = create_app({"ENV": {"CLICKSTREAM_ENV": "testing", "DATABASE_URL": database_url, "REDIS_URL": ""}})
    with app.app_context():
        upgrade()
        shop_id = seed_demo_shop(Path(app.config["DATA_DIR"])).shop_id
        shop = db.session.get(Shop, shop_id)
        assert shop is not None
        shop.settings = {**(shop.settings or {}), "recommendations": {"holdout_share": 0}}
        db.session.commit()
        collection = db.session.execute(
            select(Collection).where(Collection.shop_id == shop_id).order_by(Collection.title)
        ).scalar()
        assert collection is not None
        first = db.session.execute(
            select(Product)
            .join(CollectionProduct, CollectionProduct.product_id == Product.id)
            .where(CollectionProduct.collection_id == collection.id)
            .order_by(CollectionProduct.position)
        ).scalar()
        assert first is not None
        viewed = [
            first,
            *db.session.execute(select(Product).where(Product.shop_id == shop_id).limit(7)).scalars(),
        ]
        return {
            "home": "/demo/store/",
            "collection": f"/demo/store/collections/{collection.handle}",
            "product": f"/demo/store/products/{first.handle}",
            "viewed": json.dumps([[str(p.shopify_id), p.handle] for p in viewed]),
            "widgets": json.dumps(
                [
                    "crowd_favorites/?",
                    "pick_up_where_you_left_off/?",
                    f"featured_collection/?collection_id={collection.shopify_id}&",
                    f"also_viewed/?product_id={first.shopify_id}&",
                    f"also_bought/?product_id={first.shopify_id}&",
                ]
            ),
        }


def warm_up(base: str, widgets: list[str]) -> None:
    """Each widget route answered once (its first answer loads the recommenders), not measured."""
    for route in widgets:
        answer = requests.get(
            f"{base}/api/{route}shop={SHOP}&visitor_id=v-warm-up&limit=6",
            headers={"Origin": base},
            timeout=60,
        )
        answer.raise_for_status()


def feed_views(base: str, viewed: list[list[str]]) -> None:
    """Shoppers who viewed the same products, so every widget on the measured pages has products."""
    now = int(time.time() * 1000)
    for shopper in range(8):
        events = [
            {"id": str(uuid.uuid4()), "type": "product_view", "ts": now - 60_000 + i, "visitor_id": f"v-bench-{shopper}",
             "product_id": product_id, "url": f"https://{SHOP}/products/{handle}"}
            for i, (product_id, handle) in enumerate(viewed)
        ]  # fmt: skip
        answer = requests.post(
            f"{base}/events/",
            json={"shop": SHOP, "sent_at": now, "events": events},
            headers={"User-Agent": BROWSER_UA},
            timeout=10,
        )
        answer.raise_for_status()


@contextmanager
def server(database_url: str) -> Iterator[str]:
    """`clickstream serve` on a free port until the block ends."""
    port = _free_port()
    env = {**os.environ, "CLICKSTREAM_ENV": "testing", "DATABASE_URL": database_url, "REDIS_URL": ""}
    env.update({"PORT": str(port), "INGEST_SPOOL_DIR": "off", "RECOMMENDATIONS_REFRESH_SECONDS": "0"})
    log = (OUT / "server.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("clickstream")), "serve", "--workers", "1"],
        env=env,
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code < 600:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            raise SystemExit(f"the server did not start; see {OUT / 'server.log'}")
        yield base
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)
        log.close()


def lighthouse(binary: str, url: str, report: Path) -> dict[str, float]:
    """One Lighthouse run (mobile defaults, performance only): the score and the metrics."""
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    subprocess.run(
        [binary, url, "--only-categories=performance", "--output=json", f"--output-path={report}",
         "--chrome-flags=--headless --no-sandbox", "--quiet"],
        env=env, check=True, timeout=300,
    )  # fmt: skip
    result = json.loads(report.read_text())
    values = {"score": result["categories"]["performance"]["score"] * 100}
    for audit in METRICS:
        values[audit] = result["audits"][audit]["numericValue"]
    return values


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench storefront")
    parser.add_argument("--runs", type=int, default=3, help="Lighthouse runs per page and mode (median)")
    parser.add_argument("--pages", default="home,collection,product")
    parser.add_argument("--lighthouse", default=os.environ.get("LIGHTHOUSE", DEFAULT_LIGHTHOUSE))
    args = parser.parse_args(argv)
    if not shutil.which(args.lighthouse):
        raise SystemExit(
            f"no Lighthouse at {args.lighthouse}: npm install --prefix /work/tools/lighthouse lighthouse"
        )

    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    database_url = f"sqlite:///{OUT / 'storefront.db'}"
    pages = seed(database_url)
    viewed = json.loads(pages.pop("viewed"))
    widgets = json.loads(pages.pop("widgets"))
    chosen = args.pages.split(",")
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    with server(database_url) as base:
        feed_views(base, viewed)
        warm_up(base, widgets)
        for name in chosen:
            for mode in ("on", "off"):
                requests.get(
                    base + pages[name] + ("?app=off" if mode == "off" else ""), timeout=30
                ).raise_for_status()
        with tempfile.TemporaryDirectory() as reports:
            for run in range(args.runs):
                for name in chosen:
                    for mode in ("off", "on"):
                        url = base + pages[name] + ("?app=off" if mode == "off" else "")
                        report = Path(reports) / f"{name}-{mode}-{run}.json"
                        values = lighthouse(args.lighthouse, url, report)
                        shutil.copy(report, OUT / report.name)
                        results.setdefault((name, mode), []).append(values)
                        print(f"  {name} app {mode} run {run + 1}: score {values['score']:.0f}, "
                              f"CLS {values['cumulative-layout-shift']:.3f}, "
                              f"TBT {values['total-blocking-time']:.0f} ms", flush=True)  # fmt: skip

    header = ["page", "app", "score", *(label for label, _ in METRICS.values()), "scores (each run)"]
    print("\n| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for name in chosen:
        for mode in ("off", "on"):
            runs = results[(name, mode)]
            cells = [name, mode, f"{_median(runs, 'score'):.0f}"]
            cells += [fmt.format(_median(runs, audit)) for audit, (_, fmt) in METRICS.items()]
            cells.append(", ".join(f"{run['score']:.0f}" for run in runs))
            print("| " + " | ".join(cells) + " |")
    for name in chosen:
        drop = _median(results[(name, "off")], "score") - _median(results[(name, "on")], "score")
        print(f"\n{name}: the app costs {drop:.0f} point(s) of the performance score", end="")
    print(f"\n\nreports: {OUT}")
