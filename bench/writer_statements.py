"""What one writer's transaction costs per event: `python -m bench writer_statements [--reads N]
[--batch-events N]`.

Prefills the ingest stream as `bench ingest` does (10-event batches unless told, one visitor each, 2,000
visitors, 50,000 products), lets one writer in this process store a first read (its start-up),
then times N more reads of about 20,000 events each: the writer's own CPU per event, and the
wall time of each kind of SQL statement per event (MariaDB's work plus the round trip). A
profile of where the time goes, not a throughput number (`bench ingest --writer-only` is that).
Uses database `clickstream_bench` and Redis db 9, both emptied first.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from collections import defaultdict
from typing import Any

from bench import ingest

READ_EVENTS = 20_000  # events per transaction, as a writer's grown reads


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench writer_statements")
    parser.add_argument("--reads", type=int, default=6)
    parser.add_argument(
        "--batch-events", type=int, default=10, help="events per tracker batch (stream entry)"
    )
    args = parser.parse_args(argv)
    os.environ.update(ingest.env())
    ingest.setup()
    ingest.prefill(READ_EVENTS * (args.reads + 1), args.batch_events)
    read = READ_EVENTS // args.batch_events  # entries
    from sqlalchemy.engine import Connection

    from analytics.ingest import stream
    from analytics.writer import consumer
    from shopify_app import create_app
    from shopify_app.core.extensions import get_redis

    timings: defaultdict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    run_sql = Connection.exec_driver_sql

    def timed(self: Connection, statement: str, *rest: Any, **options: Any) -> Any:
        found = re.match(r"\s*(INSERT IGNORE INTO|INSERT INTO|SELECT .*? FROM)\s*`?(\w+)", statement, re.S)
        kind = f"{found.group(1).split()[0]} {found.group(2)}" if found else statement[:40]
        started = time.perf_counter()
        result = run_sql(self, statement, *rest, **options)
        timings[kind][0] += 1
        timings[kind][1] += time.perf_counter() - started
        return result

    Connection.exec_driver_sql = timed  # type: ignore[method-assign]
    app = create_app()
    with app.app_context():
        client = get_redis()
        assert client is not None, "REDIS_URL is set by bench.ingest.env()"
        partitions = range(stream.PARTITIONS)
        consumer.run_once(client, "bench", partitions, pending=False, count=read)
        timings.clear()
        events, started, cpu = 0, time.perf_counter(), time.process_time()
        for _ in range(args.reads):
            for entry in consumer.run_once(client, "bench", partitions, pending=False, count=read):
                events += entry.events
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    Connection.exec_driver_sql = run_sql  # type: ignore[method-assign]
    sql = sum(seconds for _, seconds in timings.values())
    print(f"{events:,} events in {wall:.1f} s ({events / wall:,.0f} events/s, one writer)\n")
    print("| per event | µs |")
    print("|---|---|")
    print(f"| the writer's CPU (Python, driver) | {cpu / events * 1e6:.1f} |")
    print(f"| SQL statements, wall (all) | {sql / events * 1e6:.1f} |")
    for kind, (count, seconds) in sorted(timings.items(), key=lambda item: -item[1][1]):
        if seconds / events * 1e6 >= 0.5:
            print(f"| {kind} ({int(count)} statements) | {seconds / events * 1e6:.1f} |")
