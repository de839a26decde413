"""The writer process: reads the ingest stream in a consumer group and stores batches.

Loop: first this consumer's own unacknowledged entries (left by a crash of this same consumer
name), then entries abandoned by dead writers (XAUTOCLAIM), then new ones. A read is stored in
one transaction and acknowledged only after the commit; a crash between commit and
acknowledgement re-reads entries whose events are already stored, which the idempotent insert
turns into no-ops.

Big reads make the writer fast (a transaction costs mostly per statement and per visitor, not per
event): a writer starts with reads of `FIRST_READ` entries, so its first commit comes quickly,
and doubles them while the stream has a backlog (reads come back full), up to about
`READ_EVENTS` events (an entry holds a tracker's batch, or the part of one in a partition: sizes
vary) and at most `READ_COUNT` entries.

Nothing in an entry can stop the writer. An entry the writer's own checks say it could not
store (`analytics.writer.checks`) goes to dead letters before any store attempt. When a read
still fails to store, the failure is classified (`analytics.writer.failures`): only the database
being away (unreachable, connection lost, read-only) leaves the entries pending while the loop
waits and retries; any other failure is narrowed down to the failing entry, which goes to dead
letters and is acknowledged. Narrowing is bounded: the read is stored again in about sqrt(N)
groups of sqrt(N) entries, and the entries of a failing group one by one, so a bad entry takes
part in three store attempts and a read of N entries with one bad entry stores about 2N + sqrt(N)
entries in all: 21 attempts and 210 entries for N = 100, where halving the read took 15 attempts
(8 of them with the bad entry) and about 3N entries, and each deadlock retry up to 5 times that
(`Narrowing` counts both; `tests/pipeline/test_hostile_input.py` holds them to it).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import os
import socket
import time
from collections.abc import Sequence
from typing import Any

import redis
from flask import Flask

from analytics import dead_letters
from analytics.ingest import stream
from analytics.writer import server_settings
from analytics.writer.checks import rejection
from analytics.writer.failures import database_unavailable, describe
from analytics.writer.store import StoreResult, store_batches
from shopify_app.core.errors import BadRequest, ServiceUnavailable
from shopify_app.core.extensions import db, get_redis
from shopify_app.core.hooks import run_hooks
from shopify_app.core.supervisor import uninterrupted

log = logging.getLogger(__name__)

FIRST_READ = 100  # entries in a new writer's first transaction
READ_EVENTS = 20_000  # events in a transaction, about, once the reads have grown with a backlog
READ_COUNT = 20_000  # entries in a transaction at most
BLOCK_MS = 1000
CLAIM_EVERY_S = 1.0
RETRY_PAUSE_S = 2.0


def consumer_name() -> str:
    """A name unique to this process (host and pid)."""
    return f"{socket.gethostname()}-{os.getpid()}"


class DatabaseUnavailable(Exception):
    """The database cannot be used now: the entries stay pending and the writer waits."""


def announce(result: StoreResult) -> None:
    """Tell the hooks (scoring, recommendations) which sessions just changed."""
    for shop_id, session_ids in result.session_ids.items():
        run_hooks("sessions_updated", shop_id, session_ids)


def _letter(entry: stream.Entry, error: str, code: str | None) -> dead_letters.Letter:
    return dead_letters.Letter(entry.batch, error, code, stream_id=f"{entry.stream}/{entry.id}")


def _merge(total: StoreResult, part: StoreResult) -> None:
    total.accepted += part.accepted
    total.duplicates += part.duplicates
    for shop_id, session_ids in part.session_ids.items():
        total.session_ids.setdefault(shop_id, []).extend(session_ids)


class Narrowing:
    """Storing a read's entries, each failure narrowed down to the entries that cause it.

    `attempts` counts store transactions and `entry_stores` the entries they held, successful or
    not (what one bad entry costs a read is measured with these)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.result = StoreResult()
        self.attempts = 0
        self.entry_stores = 0

    def store(self, entries: list[stream.Entry], *, depth: int = 0) -> None:
        """Store `entries`, acknowledging each part once committed; a part that fails is split
        (into about sqrt(N) groups, then single entries) and a single entry that fails goes to
        dead letters. Raises DatabaseUnavailable, leaving what is not stored pending."""
        if not entries:
            return
        self.attempts += 1
        self.entry_stores += len(entries)
        try:
            part = store_batches(entry.batch for entry in entries)
        except Exception as exc:
            if database_unavailable(exc):
                raise DatabaseUnavailable(describe(exc).text) from exc
            if len(entries) == 1:
                failure = describe(exc)
                dead_letters.write([_letter(entries[0], failure.text, failure.code)])
                stream.acknowledge(self.client, entries)
                return
            size = 1 if depth >= 1 or len(entries) <= 4 else math.isqrt(len(entries) - 1) + 1
            for start in range(0, len(entries), size):
                self.store(entries[start : start + size], depth=depth + 1)
            return
        stream.acknowledge(self.client, entries)
        _merge(self.result, part)


def store_entries(client: redis.Redis, entries: list[stream.Entry]) -> int:
    """Store and acknowledge entries; the number of events newly stored.

    Entries the writer's checks refuse go to dead letters first, without a store attempt."""
    if not entries:
        return 0
    narrowing = Narrowing(client)
    with uninterrupted():  # a writer asked to stop acknowledges what it committed first
        refused, storable = [], []
        for entry in entries:
            found = rejection(entry.batch)
            if found is None:
                storable.append(entry)
            else:
                refused.append((entry, found))
        if refused:
            dead_letters.write(
                [
                    _letter(entry, f"{found.check}: {found.field} {found.message}", found.check)
                    for entry, found in refused
                ]
            )
            stream.acknowledge(client, [entry for entry, _ in refused])
        narrowing.store(storable)
    announce(narrowing.result)
    return narrowing.result.accepted


def store_in_process(batch: dict[str, Any]) -> StoreResult:
    """Embedded mode (no Redis): store one checked batch before answering, as a writer would.

    A batch the writer's checks refuse is a 400 naming the field; one the database refuses goes
    to dead letters (nothing accepted); the database being away is a 503 (the tracker retries)."""
    found = rejection(batch)
    if found is not None:
        raise BadRequest(f"{found.field} is {found.message}", field=found.field)
    try:
        return store_batches([batch])
    except Exception as exc:  # noqa: BLE001 - classified: a 503, or a dead letter
        failure = describe(exc)
        if database_unavailable(exc):
            log.warning("database unavailable storing a batch in process: %s", failure.text)
            raise ServiceUnavailable(
                "the database is unavailable: retry later", headers={"Retry-After": "5"}
            ) from None
        dead_letters.write([dead_letters.Letter(batch, failure.text, failure.code)])
        return StoreResult()


def run_once(
    client: redis.Redis,
    consumer: str,
    partitions: Sequence[int],
    *,
    pending: bool,
    block_ms: int = BLOCK_MS,
    count: int = READ_COUNT,
) -> list[stream.Entry]:
    """One read-store-acknowledge round of up to `count` entries from `partitions`; the entries
    handled."""
    per_partition = -(-count // max(len(partitions), 1))
    entries = stream.read(
        client, consumer, partitions, count=per_partition, block_ms=block_ms, pending=pending
    )
    store_entries(client, entries)
    return entries


def next_read_count(count: int, entries: list[stream.Entry]) -> int:
    """How many entries to read next, after a read of at most `count` gave `entries`: twice as
    many while reads come back full, up to about `READ_EVENTS` events."""
    if len(entries) < count:
        return count
    per_entry = max(sum(entry.events for entry in entries) / len(entries), 1.0)
    return max(count, min(count * 2, int(READ_EVENTS / per_entry), READ_COUNT))


def run(app: Flask, *, stop_after_idle: float | None = None) -> None:
    """The writer loop (until killed, or idle for `stop_after_idle` seconds in tests and imports).

    New entries come from this writer's share of the stream's partitions (`stream.Assignment`);
    its own unacknowledged entries and dead writers' from all of them."""
    consumer = consumer_name()
    with app.app_context():
        client = get_redis()
        if client is None:
            raise RuntimeError("the writer needs REDIS_URL: without Redis events are written in process")
        stream.ensure_group(client)
        assignment = stream.Assignment(client, consumer)
        log.info("writer %s reading partitions %s", consumer, assignment.partitions)
        server_settings.warn_if_short()
        try:
            _loop(app, client, consumer, assignment, stop_after_idle)
        finally:
            assignment.close()


def _loop(
    app: Flask,
    client: redis.Redis,
    consumer: str,
    assignment: stream.Assignment,
    stop_after_idle: float | None,
) -> None:
    every = range(stream.PARTITIONS)
    last_claim = 0.0
    claim_idle_ms = int(app.config.get("WRITER_CLAIM_IDLE_SECONDS", 30)) * 1000
    idle_since = time.monotonic()
    read_count = FIRST_READ
    while True:
        try:
            handled = len(run_once(client, consumer, every, pending=True))
            if time.monotonic() - last_claim > CLAIM_EVERY_S:
                last_claim = time.monotonic()
                store_entries(
                    client, stream.claim_abandoned(client, consumer, idle_ms=claim_idle_ms, count=FIRST_READ)
                )
            owned = assignment.partitions
            if not owned:  # more writers than partitions: this one stands by
                time.sleep(BLOCK_MS / 1000)
            fresh = run_once(client, consumer, owned, pending=False, count=read_count)
            read_count = next_read_count(read_count, fresh)
            handled += len(fresh)
            if handled:
                idle_since = time.monotonic()
                stream.trim_stored(client, owned)
            elif stop_after_idle is not None and time.monotonic() - idle_since > stop_after_idle:
                return
        except Exception as exc:  # noqa: BLE001 - logged without values; the writer outlives it
            # Cleaning up after a database that went away can fail too; the writer must outlive it.
            with contextlib.suppress(Exception):
                db.session.rollback()
            if isinstance(exc, DatabaseUnavailable):
                log.warning("writer waiting for the database: %s", exc)
            elif isinstance(exc, redis.RedisError):
                log.warning("writer waiting for Redis: %s", type(exc).__name__)
            else:  # never the exception's text: a database's carries the statement and its values
                log.error("writer round failed (%s); retrying", describe(exc).text)
            time.sleep(RETRY_PAUSE_S)
        finally:
            with contextlib.suppress(Exception):
                db.session.remove()


def collect_garbage_rarely() -> None:
    """Python's cycle collector, tuned for a process that allocates ~20 objects per event.

    With the default thresholds (a young collection every 700 allocations) the collector ran
    hundreds of times per read and often walked every object alive; the writer's reads free
    their objects by reference counting anyway. What the process holds from its start (modules,
    table metadata) is frozen out of the collections; young collections come every 100,000
    allocations, full ones every 500 of those. Two writers landed 24,982 and 23,645 events/s
    against 20,969 with the defaults (`bench/README.md`, "ingest")."""
    gc.freeze()
    gc.set_threshold(100_000, 50, 10)


def writer_process(app: Flask) -> Any:
    """The target `clickstream worker` runs in its own process."""

    def target() -> None:
        with app.app_context():
            db.engine.dispose()  # connections must not be shared with the parent after fork
        collect_garbage_rarely()
        run(app)

    return target
