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

When a read fails to store, it is split in halves and each half retried: an entry that fails on
its own is a poison batch, moved to `dead_letters` and acknowledged, so it never blocks the
rest. A database that is down is not poison: the entries stay pending and the loop waits and
retries.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import socket
import time
from collections.abc import Sequence
from typing import Any

import redis
from flask import Flask
from sqlalchemy.exc import DBAPIError, OperationalError

from analytics.ingest import stream
from analytics.models import DeadLetter
from analytics.writer import server_settings
from analytics.writer.store import StoreResult, store_batches
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


def _unavailable(exc: BaseException) -> bool:
    """True when the database could not be reached (wait and retry, it is not the batch's fault)."""
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


def announce(result: StoreResult) -> None:
    """Tell the hooks (scoring, recommendations) which sessions just changed."""
    for shop_id, session_ids in result.session_ids.items():
        run_hooks("sessions_updated", shop_id, session_ids)


def _dead_letter(entry: stream.Entry, error: BaseException) -> None:
    db.session.rollback()
    batch = entry.batch
    db.session.add(
        DeadLetter(
            shop_domain=str(batch.get("shop_domain") or batch.get("shop_id")),
            stream_id=entry.id,
            payload=json.dumps(batch),
            error=f"{type(error).__name__}: {error}"[:4000],
        )
    )
    db.session.commit()
    log.error("moved poison batch %s aside: %s", entry.id, error)


def store_entries(client: redis.Redis, entries: list[stream.Entry]) -> int:
    """Store and acknowledge entries; the number of events newly stored."""
    if not entries:
        return 0
    with uninterrupted():  # a writer asked to stop acknowledges what it committed first
        try:
            result = store_batches(entry.batch for entry in entries)
        except Exception as exc:
            if _unavailable(exc):
                raise
            if len(entries) == 1:
                _dead_letter(entries[0], exc)
                stream.acknowledge(client, entries)
                return 0
            half = len(entries) // 2
            return store_entries(client, entries[:half]) + store_entries(client, entries[half:])
        stream.acknowledge(client, entries)
    announce(result)
    return result.accepted


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
        except Exception as exc:
            # Cleaning up after a database that went away can fail too; the writer must outlive it.
            with contextlib.suppress(Exception):
                db.session.rollback()
            if not _unavailable(exc) and not isinstance(exc, redis.ConnectionError):
                log.exception("writer round failed; retrying")
            else:
                log.warning("writer waiting for the database or Redis: %s", str(exc).splitlines()[0])
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
