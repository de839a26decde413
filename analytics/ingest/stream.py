"""The ingest stream: a Redis Stream of checked batches between the collector and the writers.

Each entry holds one batch (`b`, JSON) and its event count (`n`). A counter of events not yet
stored (`cs:ingest:pending`) goes up when a batch is appended and down when a writer
acknowledges it, atomically with the acknowledgement, so /healthz can report the backlog.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
import redis

STREAM = "cs:ingest"
GROUP = "writers"
PENDING = "cs:ingest:pending"

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


# One round trip for the collector: count this request against both rate limits and, only when
# both are under their limit, append the batch, raise the backlog counter and take the batch's
# visitors off the shop's set of visitors with a reply waiting (returned after the verdict).
_ADMIT = """
local ip = redis.call('INCR', KEYS[1])
if ip == 1 then redis.call('EXPIRE', KEYS[1], 120) end
local shop = redis.call('INCR', KEYS[2])
if shop == 1 then redis.call('EXPIRE', KEYS[2], 120) end
if ip > tonumber(ARGV[1]) then return {-1} end
if shop > tonumber(ARGV[2]) then return {-2} end
redis.call('XADD', KEYS[3], '*', 'b', ARGV[3], 'n', ARGV[4])
redis.call('INCRBY', KEYS[4], ARGV[4])
local answer = {1}
if redis.call('EXISTS', KEYS[5]) == 1 then
  for i = 5, #ARGV do
    if redis.call('SREM', KEYS[5], ARGV[i]) == 1 then table.insert(answer, ARGV[i]) end
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


def admit(client: redis.Redis, batch: dict[str, Any], admission: Admission) -> tuple[int, list[str]]:
    """Count the request against its limits and append the batch if allowed.

    The verdict (1, or a *_LIMITED code) and, when admitted, which of the visitors have a reply
    waiting (`expect_reply`), so the collector asks for replies only when there are some."""
    body = orjson.dumps(batch)
    answer = _run_admit(
        client,
        [admission.ip_key, admission.shop_key, STREAM, PENDING, replies_key(int(batch["shop_id"]))],
        [admission.per_ip, admission.per_shop, body, len(batch["events"]), *admission.visitors],
    )
    return int(answer[0]), [_text(visitor) for visitor in answer[1:]]


# One round trip for a collector's spool (analytics.ingest.spool): append the spooled batches, raise
# the backlog counter, add the requests counted since the last shipment to the rate-limit keys,
# take answered visitors off the reply sets and read the reply sets of the shops served.
# KEYS: the stream, the backlog counter, then `nl` rate-limit keys, `ns` reply sets to remove
# from (one per visitor), `nr` reply sets to read. ARGV: nb, nl, ns, nr, the keys' TTL, then nb
# (batch, event count) pairs, nl counts, ns visitors. Answers the nl totals, then the nr sets.
_SHIP = """
local nb, nl, ns, nr = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local a, events, answer = 6, 0, {}
for i = 1, nb do
  redis.call('XADD', KEYS[1], '*', 'b', ARGV[a], 'n', ARGV[a + 1])
  events = events + tonumber(ARGV[a + 1])
  a = a + 2
end
if events > 0 then redis.call('INCRBY', KEYS[2], events) end
for i = 1, nl do
  answer[i] = redis.call('INCRBY', KEYS[2 + i], ARGV[a])
  redis.call('EXPIRE', KEYS[2 + i], ARGV[5])
  a = a + 1
end
for i = 1, ns do
  redis.call('SREM', KEYS[2 + nl + i], ARGV[a])
  a = a + 1
end
for i = 1, nr do answer[nl + i] = redis.call('SMEMBERS', KEYS[2 + nl + ns + i]) end
return answer
"""
_SHIP_SHA = hashlib.sha1(_SHIP.encode(), usedforsecurity=False).hexdigest()


def ship(
    client: redis.Redis,
    batches: list[tuple[bytes, int]],
    *,
    counted: dict[str, int] | None = None,
    counted_ttl: int = 120,
    answered: Sequence[tuple[int, str]] = (),
    reply_shops: Sequence[int] = (),
) -> tuple[list[int], list[set[str]]]:
    """Append serialized batches (with their event counts) in one atomic round trip, with the
    spool's bookkeeping: Redis's totals of the `counted` keys and the reply sets of `reply_shops`."""
    counted = counted or {}
    keys = [STREAM, PENDING, *counted, *(replies_key(shop) for shop, _ in answered),
            *(replies_key(shop) for shop in reply_shops)]  # fmt: skip
    args: list[Any] = [len(batches), len(counted), len(answered), len(reply_shops), counted_ttl]
    for body, count in batches:
        args += (body, count)
    args += counted.values()
    args += (visitor for _, visitor in answered)
    try:
        answer = client.evalsha(_SHIP_SHA, len(keys), *keys, *args)
    except redis.exceptions.NoScriptError:
        client.script_load(_SHIP)
        answer = client.evalsha(_SHIP_SHA, len(keys), *keys, *args)
    totals = [int(total) for total in answer[: len(counted)]]
    return totals, [{_text(visitor) for visitor in members} for members in answer[len(counted) :]]


def append(client: redis.Redis, batch: dict[str, Any]) -> str:
    """Add a checked batch to the stream; its entry id."""
    pipe = client.pipeline(transaction=True)
    pipe.xadd(STREAM, {"b": orjson.dumps(batch), "n": len(batch["events"])})
    pipe.incrby(PENDING, len(batch["events"]))
    entry_id, _ = pipe.execute()
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


def ensure_group(client: redis.Redis) -> None:
    """Create the writers' consumer group (and the stream) if missing."""
    try:
        client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


Entry = tuple[str, dict[str, Any], int]


def _decode(entries: list[Any]) -> list[Entry]:
    decoded = []
    for entry_id, fields in entries:
        if not fields:
            continue
        key = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
        raw = fields.get(b"b") or fields.get("b")
        count = int(fields.get(b"n") or fields.get("n") or 0)
        decoded.append((key, orjson.loads(raw), count))
    return decoded


def read(client: redis.Redis, consumer: str, *, count: int, block_ms: int, pending: bool) -> list[Entry]:
    """This consumer's own unacknowledged entries (`pending`) or new ones."""
    response = client.xreadgroup(
        GROUP, consumer, {STREAM: "0" if pending else ">"}, count=count, block=None if pending else block_ms
    )
    if not response:
        return []
    streams = cast(list[Any], response)
    return _decode(streams[0][1])


def claim_abandoned(client: redis.Redis, consumer: str, *, idle_ms: int, count: int) -> list[Entry]:
    """Entries a dead writer read but never acknowledged, taken over by `consumer`."""
    result = client.xautoclaim(STREAM, GROUP, consumer, min_idle_time=idle_ms, start_id="0-0", count=count)
    return _decode(result[1])


def acknowledge(client: redis.Redis, entries: list[Entry]) -> None:
    """Mark entries stored (and take their events off the backlog counter)."""
    if not entries:
        return
    args: list[Any] = [GROUP]
    for entry_id, _, count in entries:
        args += [entry_id, count]
    client.register_script(_ACK)(keys=[STREAM, PENDING], args=args)


def backlog(client: redis.Redis) -> int:
    """Events accepted by the collector and not yet stored."""
    return max(int(client.get(PENDING) or 0), 0)


def trim_stored(client: redis.Redis) -> None:
    """Drop entries every writer has acknowledged: those before the oldest unacknowledged or undelivered one."""
    summary = client.xpending(STREAM, GROUP)
    if summary and summary.get("pending"):
        keep_from = summary["min"]
    else:
        groups = [g for g in client.xinfo_groups(STREAM) if _text(g.get("name")) == GROUP]
        if not groups:
            return
        keep_from = groups[0]["last-delivered-id"]
    client.xtrim(STREAM, minid=_text(keep_from), approximate=True)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
