"""The ingest stream: Redis Streams of checked batches between the collector and the writers.

The stream is split in `PARTITIONS` by visitor: a batch's events go to their visitors'
partitions (a tracker's batch is one visitor's, so usually to one), and each writer process
reads its own share of the partitions (`Assignment`). Writers then rarely want the same
visitor's rows, and can store at the same time instead of waiting on each other's locks. The
share is for speed only: each writer still locks the visitors it stores (`analytics.writer`), so
a partition read by two writers while they agree on a new share is stored correctly.

Each entry holds one batch (`b`, JSON) and its event count (`n`). A counter of events not yet
stored (`cs:ingest:pending`) goes up when a batch is appended and down when a writer
acknowledges it, atomically with the acknowledgement, so /healthz can report the backlog.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import orjson
import redis

log = logging.getLogger(__name__)

PARTITIONS = 8
# Partition 0 keeps the name of the single stream there was before partitions, so entries queued
# then are still read.
STREAMS = ("cs:ingest", *(f"cs:ingest:{number}" for number in range(1, PARTITIONS)))
GROUP = "writers"
PENDING = "cs:ingest:pending"
WRITERS = "cs:ingest:writers"  # live writer processes, scored by their last heartbeat
WRITER_TTL_S = 5.0  # a writer silent this long is taken for dead


class Part(NamedTuple):
    """The events of a batch that go to one partition, serialized."""

    partition: int
    body: bytes
    events: int  # how many


def partition_of(visitor_key: str) -> int:
    """The partition of a visitor's events (the same in every process)."""
    return zlib.crc32(visitor_key.encode()) % PARTITIONS


def parts(batch: dict[str, Any]) -> list[Part]:
    """A checked batch split by its events' partitions, each part a batch of its own."""
    grouped: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
    for event in batch["events"]:
        grouped[partition_of(event["visitor_id"])].append(event)
    if len(grouped) == 1:
        return [Part(next(iter(grouped)), orjson.dumps(batch), len(batch["events"]))]
    return [
        Part(partition, orjson.dumps({**batch, "events": events}), len(events))
        for partition, events in sorted(grouped.items())
    ]


# ARGV: the group, then (entry id, event count) pairs; only entries still pending lower the backlog,
# so an entry acknowledged twice (a reclaimed read) is taken off once.
_ACK = """
local stored = 0
for i = 2, #ARGV, 2 do
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[i]) == 1 then stored = stored + tonumber(ARGV[i + 1]) end
end
if stored > 0 then redis.call('DECRBY', KEYS[2], stored) end
return stored
"""


# One round trip for the collector: count this request against its IP's rate limit and, only when
# that admits it, against its shop's (an address flooding a shop must not use up the shop's
# allowance for its other shoppers); when both admit it, append the batch's parts, raise the backlog
# counter and take the batch's visitors off the shop's set of visitors with a reply waiting
# (returned after the verdict).
# KEYS: the two rate-limit keys, the backlog counter, the reply set, then the partitions' streams.
# ARGV: the two limits, the number of parts, then (partition, batch, event count) per part, then
# the visitors.
_ADMIT = """
local ip = redis.call('INCR', KEYS[1])
if ip == 1 then redis.call('EXPIRE', KEYS[1], 120) end
if ip > tonumber(ARGV[1]) then return {-1} end
local shop = redis.call('INCR', KEYS[2])
if shop == 1 then redis.call('EXPIRE', KEYS[2], 120) end
if shop > tonumber(ARGV[2]) then return {-2} end
local a, events = 4, 0
for i = 1, tonumber(ARGV[3]) do
  redis.call('XADD', KEYS[5 + tonumber(ARGV[a])], '*', 'b', ARGV[a + 1], 'n', ARGV[a + 2])
  events = events + tonumber(ARGV[a + 2])
  a = a + 3
end
redis.call('INCRBY', KEYS[3], events)
local answer = {1}
if redis.call('EXISTS', KEYS[4]) == 1 then
  for i = a, #ARGV do
    if redis.call('SREM', KEYS[4], ARGV[i]) == 1 then table.insert(answer, ARGV[i]) end
  end
end
return answer
"""
IP_LIMITED = -1
SHOP_LIMITED = -2
_ADMIT_SHA = hashlib.sha1(_ADMIT.encode(), usedforsecurity=False).hexdigest()  # Redis names scripts by SHA-1


def _run_admit(client: redis.Redis, keys: list[str], args: list[Any]) -> Any:
    """EVALSHA of the admit script, loading it once per Redis server (the collector's hot path)."""
    try:
        return client.evalsha(_ADMIT_SHA, len(keys), *keys, *args)
    except redis.exceptions.NoScriptError:
        client.script_load(_ADMIT)
        return client.evalsha(_ADMIT_SHA, len(keys), *keys, *args)


def replies_key(shop_id: int) -> str:
    """The shop's set of visitors with a reply waiting for the collector's next answer."""
    return f"cs:ingest:replies:{shop_id}"


def expect_reply(
    client: redis.Redis | redis.client.Pipeline, shop_id: int, visitor_key: str, ttl: int
) -> None:
    """Note that the visitor has something waiting for the collector's next answer (see `admit`)."""
    client.sadd(replies_key(shop_id), visitor_key)
    client.expire(replies_key(shop_id), ttl)


@dataclass(frozen=True)
class Admission:
    """What a batch is admitted against: this minute's rate-limit keys for its client IP and shop
    and their limits, and the batch's visitors to look up waiting replies for."""

    ip_key: str
    shop_key: str
    per_ip: int
    per_shop: int
    visitors: list[str]


def admit(
    client: redis.Redis, batch_parts: Sequence[Part], shop_id: int, admission: Admission
) -> tuple[int, list[str]]:
    """Count the request against its limits and append the batch (its `parts`) if allowed.

    The verdict (1, or a *_LIMITED code) and, when admitted, which of the visitors have a reply
    waiting (`expect_reply`), so the collector asks for replies only when there are some."""
    args: list[Any] = [admission.per_ip, admission.per_shop, len(batch_parts)]
    for part in batch_parts:
        args += part
    answer = _run_admit(
        client,
        [admission.ip_key, admission.shop_key, PENDING, replies_key(shop_id), *STREAMS],
        [*args, *admission.visitors],
    )
    return int(answer[0]), [_text(visitor) for visitor in answer[1:]]


# One round trip for a collector's spool (analytics.ingest.spool): append the spooled batches, raise
# the backlog counter, add the requests counted since the last shipment to the rate-limit keys,
# take answered visitors off the reply sets and read the reply sets of the shops served.
# KEYS: the backlog counter, then `nl` rate-limit keys, `ns` reply sets to remove from (one per
# visitor), `nr` reply sets to read, then the partitions' streams. ARGV: nb, nl, ns, nr, the
# keys' TTL, then nb (partition, batch, event count) triples, nl counts, ns visitors. Answers
# the nl totals, then the nr sets.
_SHIP = """
local nb, nl, ns, nr = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local a, events, answer = 6, 0, {}
local streams = 1 + nl + ns + nr
for i = 1, nb do
  redis.call('XADD', KEYS[streams + 1 + tonumber(ARGV[a])], '*', 'b', ARGV[a + 1], 'n', ARGV[a + 2])
  events = events + tonumber(ARGV[a + 2])
  a = a + 3
end
if events > 0 then redis.call('INCRBY', KEYS[1], events) end
for i = 1, nl do
  answer[i] = redis.call('INCRBY', KEYS[1 + i], ARGV[a])
  redis.call('EXPIRE', KEYS[1 + i], ARGV[5])
  a = a + 1
end
for i = 1, ns do
  redis.call('SREM', KEYS[1 + nl + i], ARGV[a])
  a = a + 1
end
for i = 1, nr do answer[nl + i] = redis.call('SMEMBERS', KEYS[1 + nl + ns + i]) end
return answer
"""
_SHIP_SHA = hashlib.sha1(_SHIP.encode(), usedforsecurity=False).hexdigest()


def ship(
    client: redis.Redis,
    batches: Sequence[Part],
    *,
    counted: dict[str, int] | None = None,
    counted_ttl: int = 120,
    answered: Sequence[tuple[int, str]] = (),
    reply_shops: Sequence[int] = (),
) -> tuple[list[int], list[set[str]]]:
    """Append serialized batches to their partitions in one atomic round trip, with the spool's
    bookkeeping: Redis's totals of the `counted` keys and the reply sets of `reply_shops`."""
    counted = counted or {}
    keys = [PENDING, *counted, *(replies_key(shop) for shop, _ in answered),
            *(replies_key(shop) for shop in reply_shops), *STREAMS]  # fmt: skip
    args: list[Any] = [len(batches), len(counted), len(answered), len(reply_shops), counted_ttl]
    for part in batches:
        args += part
    args += counted.values()
    args += (visitor for _, visitor in answered)
    try:
        answer = client.evalsha(_SHIP_SHA, len(keys), *keys, *args)
    except redis.exceptions.NoScriptError:
        client.script_load(_SHIP)
        answer = client.evalsha(_SHIP_SHA, len(keys), *keys, *args)
    totals = [int(total) for total in answer[: len(counted)]]
    return totals, [{_text(visitor) for visitor in members} for members in answer[len(counted) :]]


def append(client: redis.Redis, batch: dict[str, Any]) -> None:
    """Add a checked batch to the stream (its parts to their partitions)."""
    pipe = client.pipeline(transaction=True)
    queue(pipe, batch)
    pipe.execute()


def queue(pipe: redis.client.Pipeline, batch: dict[str, Any]) -> None:
    """`append`'s commands, added to a pipeline (to append many batches in one round trip)."""
    for part in parts(batch):
        pipe.xadd(STREAMS[part.partition], {"b": part.body, "n": part.events})
    pipe.incrby(PENDING, len(batch["events"]))


def ensure_group(client: redis.Redis) -> None:
    """Create the writers' consumer group (and the streams) if missing."""
    for key in STREAMS:
        try:
            client.xgroup_create(key, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


class Entry(NamedTuple):
    """A stream entry: one batch (or the part of one in a partition)."""

    stream: str
    id: str
    batch: dict[str, Any]
    events: int  # how many


def _decode(key: Any, entries: list[Any]) -> list[Entry]:
    decoded = []
    for entry_id, fields in entries:
        if not fields:
            continue
        raw = fields.get(b"b") or fields.get("b")
        count = int(fields.get(b"n") or fields.get("n") or 0)
        decoded.append(Entry(_text(key), _text(entry_id), orjson.loads(raw), count))
    return decoded


def read(
    client: redis.Redis, consumer: str, partitions: Sequence[int], *, count: int, block_ms: int, pending: bool
) -> list[Entry]:
    """This consumer's own unacknowledged entries (`pending`) or new ones, from `partitions`
    (up to `count` from each)."""
    if not partitions:
        return []
    response = client.xreadgroup(
        GROUP,
        consumer,
        {STREAMS[number]: "0" if pending else ">" for number in partitions},
        count=count,
        block=None if pending else block_ms,
    )
    return [entry for key, entries in cast(list[Any], response or []) for entry in _decode(key, entries)]


def claim_abandoned(client: redis.Redis, consumer: str, *, idle_ms: int, count: int) -> list[Entry]:
    """Entries a dead writer read but never acknowledged, taken over by `consumer` (up to
    `count` from each partition)."""
    claimed = []
    for key in STREAMS:
        result = client.xautoclaim(key, GROUP, consumer, min_idle_time=idle_ms, start_id="0-0", count=count)
        claimed += _decode(key, result[1])
    return claimed


def acknowledge(client: redis.Redis, entries: list[Entry]) -> None:
    """Mark entries stored (and take their events off the backlog counter)."""
    by_stream: defaultdict[str, list[Any]] = defaultdict(list)
    for entry in entries:
        by_stream[entry.stream] += [entry.id, entry.events]
    script = client.register_script(_ACK)
    for key, args in by_stream.items():
        script(keys=[key, PENDING], args=[GROUP, *args])


def backlog(client: redis.Redis) -> int:
    """Events accepted by the collector and not yet stored."""
    return max(int(client.get(PENDING) or 0), 0)


def trim_stored(client: redis.Redis, partitions: Sequence[int]) -> None:
    """Drop entries every writer has acknowledged from the partitions' streams: those before the
    oldest unacknowledged or undelivered one."""
    for number in partitions:
        key = STREAMS[number]
        summary = client.xpending(key, GROUP)
        if summary and summary.get("pending"):
            keep_from = summary["min"]
        else:
            groups = [g for g in client.xinfo_groups(key) if _text(g.get("name")) == GROUP]
            if not groups:
                continue
            keep_from = groups[0]["last-delivered-id"]
        client.xtrim(key, minid=_text(keep_from), approximate=True)


def _redis_now(client: redis.Redis) -> float:
    """Redis's clock, in seconds: heartbeats are scored by it, as writers' hosts may disagree."""
    seconds, micros = client.time()
    return seconds + micros / 1e6


def live_writers(client: redis.Redis, ttl_s: float = WRITER_TTL_S) -> int:
    """Writer processes that beat within `ttl_s` (see `Assignment`)."""
    return int(client.zcount(WRITERS, _redis_now(client) - ttl_s, "+inf"))


class Assignment:
    """Which partitions this writer process reads: its share among the live writers.

    A thread beats every `beat_s` in the `WRITERS` sorted set; a writer silent for `ttl_s` (a
    killed process) is dropped and the others share its partitions (its unacknowledged entries are
    claimed by `claim_abandoned`). The live writers, sorted by name, take the partitions in turn."""

    def __init__(
        self, client: redis.Redis, consumer: str, *, beat_s: float = 1.0, ttl_s: float = WRITER_TTL_S
    ) -> None:
        self.client, self.consumer, self.beat_s, self.ttl_s = client, consumer, beat_s, ttl_s
        self._stop = threading.Event()
        self.partitions: list[int] = self.beat()
        self._thread = threading.Thread(target=self._run, name="ingest-assignment", daemon=True)
        self._thread.start()

    def beat(self) -> list[int]:
        """Say this writer is alive; its share of the partitions among the live writers."""
        now = _redis_now(self.client)
        pipe = self.client.pipeline(transaction=True)
        pipe.zadd(WRITERS, {self.consumer: now})
        pipe.zremrangebyscore(WRITERS, "-inf", now - self.ttl_s)
        pipe.zrange(WRITERS, 0, -1)
        writers = sorted(_text(name) for name in pipe.execute()[2])
        place = writers.index(self.consumer)
        return list(range(place, PARTITIONS, len(writers)))

    def _run(self) -> None:
        while not self._stop.wait(self.beat_s):
            try:
                self.partitions = self.beat()
            except redis.RedisError as exc:  # the writer's own reads fail too; it keeps its share
                log.warning("writer heartbeat failed: %s", exc)

    def close(self) -> None:
        """Stop beating and leave the partitions to the others at once."""
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(redis.RedisError):
            self.client.zrem(WRITERS, self.consumer)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
