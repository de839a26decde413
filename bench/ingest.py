"""Ingest benchmark: `python -m bench ingest [--seconds N]`.

1. Accept throughput of `POST /events/` (10-event batches) under gunicorn (the production
   server's settings) with Redis, side by side with `/noop` on the same server (the framework's
   ceiling), driven by wrk in alternating slices.
   Also the CPU each request costs the server and Redis, which a busy machine changes less
   than the rates (`--accept-only` runs this step alone).
2. Writer throughput: events per second landed in MariaDB by two writer processes draining a
   stream pre-filled with N seconds' worth of events at 30,000 events/s (1.5x the target),
   measured for N seconds from the writers' first commit (their start-up is not throughput).
3. The naive baseline: one INSERT and COMMIT per event, two processes, same events.

`--writer-only [--writers N] [--batch-events N]` measures step 2 alone (no wrk needed), with
batches of N events (10 by default; a shopper's tracker flushes 1-3 at a time while browsing).
`--hostile PERCENT` mixes that share of hostile batches into the stream (`HOSTILE_KINDS`, the
inputs of issue 16 as an older collector would have queued them) and reports the good events
landed per second; `--compare-hostile [--rounds N]` runs the writer step clean and with 1 %
hostile, alternating, side by side.

MariaDB runs with the settings `deploy/mariadb.cnf` recommends (set for the run, then put back);
`--server-defaults` leaves the server's own.

Needs MariaDB on 127.0.0.1:3306, Redis on 6379 and `wrk` (Debian package); uses database
`clickstream_bench` and Redis db 9, both emptied first.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import orjson
import pymysql
import redis

from bench._database import recreate_database, server_settings

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DB_NAME = "clickstream_bench"
DB_URL = f"mysql+pymysql://root@127.0.0.1:3306/{DB_NAME}?charset=utf8mb4"
REDIS_URL = "redis://127.0.0.1:6379/9"
SHOP = "bench-shop.myshopify.com"
PORT = 8731
# Events queued before the writers start: more than 60 s at the 20,000 events/s target can drain,
# so a window of writers faster than the target still ends on a backlog, not an empty stream.
PREFILL_PER_SECOND = 30_000


def env(**extra: str) -> dict[str, str]:
    values = {
        **os.environ,
        "DATABASE_URL": DB_URL,
        "REDIS_URL": REDIS_URL,
        "LOG_LEVEL": "WARNING",
        "INGEST_PER_IP_PER_MINUTE": "100000000",
        "INGEST_PER_SHOP_PER_MINUTE": "100000000",
        "BENCH_SHOP": SHOP,
    }
    values.update(extra)
    return values


def setup() -> None:
    recreate_database(DB_NAME)
    subprocess.run([BIN / "clickstream", "db", "upgrade"], env=env(), check=True, capture_output=True)
    code = (
        "from shopify_app import create_app\n"
        "from shopify_app.core.extensions import db\n"
        "from shopify_app.core.models import Shop\n"
        "from shopify_app.core.types import utcnow\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        f"    db.session.add(Shop(domain='{SHOP}', name='Bench', timezone='UTC', installed_at=utcnow(), settings={{}}))\n"
        "    db.session.commit()\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env(), check=True, cwd=ROOT)
    redis.Redis.from_url(REDIS_URL).flushdb()


def wrk(path: str, seconds: int) -> dict[str, float]:
    """Requests/s and latency percentiles of wrk against `path`."""
    out = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", "-s", str(ROOT / "bench" / "wrk_events.lua"),
         f"http://127.0.0.1:{PORT}{path}"],
        env=env(), capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def percentile(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {
        "rps": rate,
        "requests": float(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "p50": percentile("50"),
        "p99": percentile("99"),
        "errors": int(non2xx.group(1)) if non2xx else 0,
    }


SLICES = 4


def _cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time used so far by these processes (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _pids(*args: str) -> list[int]:
    return [
        int(pid) for pid in subprocess.run(["pgrep", *args], capture_output=True, text=True).stdout.split()
    ]


# The production server (`clickstream serve`'s gunicorn settings, shopify_app/server.py) around
# the bench app, which adds `/noop`.
SERVE = (
    "from shopify_app.server import run_gunicorn\n"
    "from bench.ingest_app import app\n"
    f"run_gunicorn(app, host='127.0.0.1', port={PORT}, workers=2 * (__import__('os').cpu_count() or 1))\n"
)


def accept(seconds: int) -> dict[str, dict[str, float]]:
    """wrk against `/noop` and `/events/` in alternating slices of `seconds / SLICES` each.

    Alternating keeps a change in the shared machine's load from landing on one side only: the
    rate is the mean over the slices, p50 their median, p99 the worst slice's. CPU per request
    (the server's workers plus redis-server, wrk left out) is the load-independent view: on a
    busy machine the rates say as much about the neighbours as about the code."""
    server = subprocess.Popen([sys.executable, "-c", SERVE], env=env(), cwd=ROOT)
    try:
        time.sleep(4)
        workers, redis_server = _pids("-P", str(server.pid)), _pids("-x", "redis-server")
        wrk("/noop", 2)
        wrk("/events/", 2)
        slices: dict[str, list[dict[str, float]]] = {"noop": [], "events": []}
        for _ in range(SLICES):
            for name, path in (("noop", "/noop"), ("events", "/events/")):
                before = _cpu_seconds(workers), _cpu_seconds(redis_server)
                run = wrk(path, max(seconds // SLICES, 1))
                run["cpu"] = _cpu_seconds(workers) - before[0]
                run["redis_cpu"] = _cpu_seconds(redis_server) - before[1]
                slices[name].append(run)
    finally:
        server.terminate()
        server.wait(timeout=20)
    return {
        name: {
            "rps": statistics.mean(run["rps"] for run in runs),
            "p50": statistics.median(run["p50"] for run in runs),
            "p99": max(run["p99"] for run in runs),
            "errors": sum(run["errors"] for run in runs),
            "cpu_us": 1e6
            * sum(run["cpu"] + run["redis_cpu"] for run in runs)
            / sum(run["requests"] for run in runs),
            "redis_us": 1e6 * sum(run["redis_cpu"] for run in runs) / sum(run["requests"] for run in runs),
        }
        for name, runs in slices.items()
    }


def _nested(levels: int) -> dict[str, object]:
    value: dict[str, object] = {"x": 1}
    for _ in range(levels - 1):
        value = {"x": value}
    return value


def _hostile_events(kind: int, number: int, now: int) -> list[dict[str, object]]:
    """The events of the `kind`-th hostile batch (in turn): five the writer must set aside
    (props 32 deep, a purchase value or an item price of "NaN", a 60-event batch over 64 KB that
    fails, a product id of 2^63) and two it must store (30 distinct 2,000-emoji URLs for one
    visitor, a visitor key differing from another only in case)."""

    def event(**fields: object) -> dict[str, object]:
        return {"id": str(uuid.uuid4()), "type": "page_view", "ts": now + number, "client_ts": now + number,
                "visitor_id": f"hostile-{number}", **fields}  # fmt: skip

    chosen = HOSTILE_CHOICE or range(len(HOSTILE_KINDS))
    choice = chosen[kind % len(chosen)]
    if choice == 0:
        return [event(type="product_view", product_id=11, props=_nested(32))]
    if choice == 1:
        return [event(type="purchase", props={"value": "NaN"})]
    if choice == 2:
        return [event(type="purchase", props={"value": 10, "items": [{"product_id": 11, "price": "NaN"}]})]
    if choice == 3:
        url = f"https://{SHOP}/pages/long?" + "q" * 1500
        return [*(event(url=url) for _ in range(59)), event(props=_nested(32))]
    if choice == 4:
        return [event(type="product_view", product_id=2**63)]
    if choice == 5:
        return [
            event(visitor_id="bench-emoji", url=f"https://{SHOP}/p/{number}/{n}/" + "😀" * 2000)
            for n in range(30)
        ]
    return [event(visitor_id=f"V-{number % 2000}", url=f"https://{SHOP}/products/p")]


HOSTILE_CHOICE: list[int] = []  # `--hostile-kinds 0,1,...`: only these of HOSTILE_KINDS (all when empty)
HOSTILE_KINDS = ("props 32 deep", "value NaN", "price NaN", "60 events over 64 KB", "product id 2^63",
                 "30 emoji URLs", "visitor key in other case")  # fmt: skip


def prefill(events: int, batch_events: int = 10, hostile: float = 0.0) -> None:
    """Queue `events` events (2,000 visitors) straight onto the ingest stream, `batch_events` per
    batch (1, 2, 5 or 10).

    Entries look like the collector's: checked events, empty optional fields left out, each
    batch one visitor's (as the tracker sends them; the visitors take turns, so a 20,000-event
    read holds every visitor). The events are the same whatever the batch size: a visitor's 10
    consecutive views, split into batches, so sizes compare the cost per entry alone."""
    if 10 % batch_events:
        raise SystemExit(f"--batch-events must divide 10, not {batch_events}")
    sys.path.insert(0, str(ROOT))
    from analytics.ingest import stream

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    stream.ensure_group(client)
    shop_id = _shop_id()
    now = int(time.time() * 1000) - 3_600_000
    pipe = client.pipeline(transaction=False)
    every = round(100 / hostile) if hostile else 0  # a hostile batch after every `every` good ones
    batches = 0
    for number in range(events // 10):
        views = [
            {"id": str(uuid.uuid4()), "type": "product_view", "ts": now + number, "client_ts": now + number,
             "visitor_id": f"v-{number % 2000}", "url": f"https://{SHOP}/products/p",
             "product_id": (number * 7 + i) % 50_000, "props": {"price": 19.5}}
            for i in range(10)
        ]  # fmt: skip
        for first in range(0, 10, batch_events):
            batch = {
                "shop_id": shop_id, "shop_domain": SHOP, "received_at": now, "device": "desktop",
                "events": views[first : first + batch_events],
            }  # fmt: skip
            stream.queue(pipe, batch)  # as the collector does: events to their visitors' partitions
            batches += 1
            if every and batches % every == 0:
                events_of = _hostile_events(batches // every, number, now)
                stream.queue(pipe, {**batch, "events": events_of})
        if number % 1000 == 999:
            pipe.execute()
    pipe.execute()


def _shop_id() -> int:
    connection = pymysql.connect(host="127.0.0.1", user="root", database=DB_NAME)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM shops WHERE domain=%s", (SHOP,))
        row = cursor.fetchone()
    connection.close()
    return int(row[0])


def _stored() -> int:
    connection = pymysql.connect(host="127.0.0.1", user="root", database=DB_NAME)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM events")
        count = int(cursor.fetchone()[0])
    connection.close()
    return count


def _backlog() -> int:
    return int(redis.Redis.from_url(REDIS_URL).get("cs:ingest:pending") or 0)


def _set_aside_events() -> int:
    """Events in dead letters (their payloads are whole here: no bench batch is cut; read in
    Python, as MariaDB's JSON functions refuse the props nested 32 deep)."""
    connection = pymysql.connect(host="127.0.0.1", user="root", database=DB_NAME)
    with connection.cursor() as cursor:
        cursor.execute("SELECT payload FROM dead_letters")
        count = sum(len(orjson.loads(payload)["events"]) for (payload,) in cursor.fetchall())
    connection.close()
    return count


def writer(
    seconds: int, events: int, processes: int = 2, batch_events: int = 10, hostile: float = 0.0
) -> dict[str, float]:
    """Writer processes draining the pre-filled stream; measured from their first commit.

    The window starts when the first events land (process start-up, mostly imports, is not
    the writer's throughput) and lasts `seconds`, or until the stream is drained. Progress is
    read from the backlog counter in Redis (a COUNT(*) every second would load MariaDB); the
    stored count is checked against it at the end."""
    prefill(events, batch_events, hostile)
    queued = _backlog()  # with hostile batches, more than `events`
    before = _stored()
    # As in production, follow-up work (the recommendation feed) goes to Celery through a broker
    # for the task workers; without one it would run inside the writer, in process.
    worker_env = env(CELERY_BROKER_URL=REDIS_URL)
    writers = [
        subprocess.Popen([BIN / "clickstream", "worker", "--without", "tasks"], env=worker_env, cwd=ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(processes)
    ]  # fmt: skip
    try:
        while _backlog() == queued:
            time.sleep(0.1)
        started, backlog_start, stored_start = time.monotonic(), _backlog(), _stored()
        backlog = backlog_start
        marks = [backlog_start]  # the backlog at the start of each THIRD of the window
        while time.monotonic() - started < seconds and backlog > 0:
            time.sleep(0.5)
            backlog = _backlog()
            if time.monotonic() - started >= len(marks) * seconds / 3:
                marks.append(backlog)
        elapsed = time.monotonic() - started
        stored_stop = _stored()  # before the writers stop (they commit what they hold first)
        marks += [backlog] * (4 - len(marks)) if backlog else []
    finally:
        for process in writers:
            process.terminate()
        for process in writers:
            process.wait(timeout=30)
    stored_end = _stored()
    stored, set_aside = stored_end - before, _set_aside_events()
    if stored + set_aside != queued - _backlog():
        raise SystemExit(
            f"stored {stored} events and set {set_aside} aside but the backlog says {queued - _backlog()}"
        )
    return {
        "events": backlog_start - backlog,
        "seconds": elapsed,
        "rate": (backlog_start - backlog) / elapsed,
        # Events stored in the window, counted in the table: the good ones and the storable
        # hostile ones, not those set aside (the backlog falls by those too).
        "stored": stored_stop - stored_start,
        "stored_rate": (stored_stop - stored_start) / elapsed,
        "set_aside": set_aside,
        "backlog_start": backlog_start,
        "backlog_left": _backlog(),
        # events/s in each third of the window: a rate that falls as the tables grow shows here
        "thirds": [(a - b) / (seconds / 3) for a, b in itertools.pairwise(marks[:4])],
    }


def _naive_worker(count: int, offset: int) -> None:
    connection = pymysql.connect(host="127.0.0.1", user="root", database=DB_NAME)
    with connection.cursor() as cursor:
        for number in range(count):
            cursor.execute(
                "INSERT INTO naive_events (event_id, shop, type, visitor, product_id, props, occurred_at) "
                "VALUES (%s, %s, 'product_view', %s, %s, %s, NOW(6))",
                (
                    str(uuid.uuid4()),
                    SHOP,
                    f"v-{(offset + number) % 2000}",
                    number % 50_000,
                    '{"price": 19.5}',
                ),
            )
            connection.commit()
    connection.close()


def naive(seconds: int) -> dict[str, float]:
    connection = pymysql.connect(host="127.0.0.1", user="root", database=DB_NAME, autocommit=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE naive_events (id BIGINT AUTO_INCREMENT PRIMARY KEY, event_id CHAR(36) NOT NULL UNIQUE, "
            "shop VARCHAR(255), type VARCHAR(64), visitor VARCHAR(64), product_id BIGINT, props JSON, occurred_at DATETIME(6))"
        )
    per_process = 2500 * seconds // 10
    started = time.monotonic()
    processes = [
        multiprocessing.Process(target=_naive_worker, args=(per_process, i * per_process)) for i in range(2)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    elapsed = time.monotonic() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM naive_events")
        landed = int(cursor.fetchone()[0])
    connection.close()
    return {"events": landed, "seconds": elapsed, "rate": landed / elapsed}


def main(argv: list[str]) -> None:
    from analytics.writer.server_settings import RECOMMENDED, describe

    if "--server-defaults" in argv:
        print("MariaDB settings: the server's own")
        _run(argv)
        return
    with server_settings(RECOMMENDED) as before:
        print(
            f"MariaDB settings: deploy/mariadb.cnf's ({describe(RECOMMENDED)}; the server's own "
            f"{describe(before)} are put back afterwards)"
        )
        _run(argv)


def _compare_hostile(seconds: int, processes: int, rounds: int = 1) -> None:
    """The writer step clean and with 1 % hostile batches, alternating for `rounds`, each run on a
    fresh database. Landed: events stored in the window, counted in the table (the backlog also
    falls by the events set aside)."""
    rows = []
    for _ in range(rounds):
        for hostile in (0.0, 1.0):
            setup()
            rows.append((hostile, writer(seconds, PREFILL_PER_SECOND * seconds, processes, hostile=hostile)))
    clean = statistics.mean(landed["stored_rate"] for hostile, landed in rows if not hostile)
    print(
        "| stream | landed events/s | backlog taken, events/s | events in dead letters | against clean (mean) |"
    )
    print("|---|---|---|---|---|")
    for hostile, landed in rows:
        print(
            f"| {hostile:g} % hostile batches | {landed['stored_rate']:,.0f} ({landed['stored']:,.0f} in"
            f" {landed['seconds']:.0f} s) | {landed['rate']:,.0f} | {landed['set_aside']:,.0f}"
            f" | {landed['stored_rate'] / clean:.0%} |"
        )


def _run(argv: list[str]) -> None:
    seconds = int(argv[argv.index("--seconds") + 1]) if "--seconds" in argv else 60
    if "--accept-only" in argv:  # the collector alone, for quick checks while working on it
        setup()
        result = accept(min(seconds, 20))
        for name, numbers in result.items():
            print(name, {key: round(value, 2) for key, value in numbers.items()})
        print(f"{result['events']['rps'] / result['noop']['rps']:.0%} of the ceiling")
        return
    if "--writer-only" in argv:  # the landed rate alone, for quick checks while working on the writer
        setup()
        processes = int(argv[argv.index("--writers") + 1]) if "--writers" in argv else 2
        # Events per tracker batch (one visitor's): 10 by default; a shopper browsing flushes 1-3.
        batch = int(argv[argv.index("--batch-events") + 1]) if "--batch-events" in argv else 10
        hostile = float(argv[argv.index("--hostile") + 1]) if "--hostile" in argv else 0.0
        if "--hostile-kinds" in argv:
            HOSTILE_CHOICE[:] = [int(k) for k in argv[argv.index("--hostile-kinds") + 1].split(",")]
        if "--compare-hostile" in argv:
            rounds = int(argv[argv.index("--rounds") + 1]) if "--rounds" in argv else 1
            _compare_hostile(seconds, processes, rounds)
            return
        landed = writer(
            seconds,
            events=PREFILL_PER_SECOND * seconds,
            processes=processes,
            batch_events=batch,
            hostile=hostile,
        )
        print(
            f"{processes} writer(s), {batch}-event batches, {hostile:g} % hostile: landed {landed['rate']:,.0f} events/s ({landed['events']:,} events in {landed['seconds']:.0f} s,"
            f" backlog {landed['backlog_start']:,} -> {landed['backlog_left']:,});"
            f" by thirds of the window: {', '.join(f'{rate:,.0f}' for rate in landed['thirds'])}"
        )
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    print(f"setting up {DB_NAME} ...", file=sys.stderr)
    setup()
    print("accept throughput (wrk, 10-event batches) ...", file=sys.stderr)
    accepted = accept(min(seconds, 20))
    print("writer throughput ...", file=sys.stderr)
    landed = writer(seconds, events=PREFILL_PER_SECOND * seconds)
    print("naive one-insert-per-event ...", file=sys.stderr)
    plain = naive(min(seconds, 20))
    noop, events = accepted["noop"], accepted["events"]
    print("| measurement | ours | baseline | ratio |")
    print("|---|---|---|---|")
    print(
        f"| accept: requests/s (10 events each) | {events['rps']:,.0f} ({events['rps'] * 10:,.0f} events/s) "
        f"| {noop['rps']:,.0f} (no-op endpoint) | {events['rps'] / noop['rps']:.0%} of the ceiling |"
    )
    print(
        f"| accept: p50 / p99 latency | {events['p50']:.2f} / {events['p99']:.2f} ms | {noop['p50']:.2f} / {noop['p99']:.2f} ms | |"
    )
    print(
        f"| accept: CPU per request (server + Redis; Redis alone) | {events['cpu_us']:.0f} µs ({events['redis_us']:.0f})"
        f" | {noop['cpu_us']:.0f} µs ({noop['redis_us']:.0f}) "
        f"| {noop['cpu_us'] / events['cpu_us']:.0%} |"
    )
    print(f"| accept: non-2xx answers | {events['errors']} | {noop['errors']} | |")
    print(
        f"| landed in MariaDB: events/s (2 writers, {landed['events']:,.0f} events in {landed['seconds']:.0f} s) "
        f"| {landed['rate']:,.0f} | {plain['rate']:,.0f} (one INSERT+COMMIT per event, 2 processes) "
        f"| {landed['rate'] / plain['rate']:.1f}x |"
    )
    print(
        f"| backlog when the window started / ended | {landed['backlog_start']:,} / {landed['backlog_left']:,} events | | |"
    )
