"""The ingest stream: a Redis Stream of checked batches between the collector and the writers.

Each entry holds one batch (`b`, JSON) and its event count (`n`). A counter of events not yet
stored (`cs:ingest:pending`) goes up when a batch is appended and down when a writer
acknowledges it, atomically with the acknowledgement, so /healthz can report the backlog.
"""

from __future__ import annotations

import hashlib
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


def _replies_key(shop_id: int) -> str:
    return f"cs:ingest:replies:{shop_id}"


def expect_reply(
    client: redis.Redis | redis.client.Pipeline, shop_id: int, visitor_key: str, ttl: int
) -> None:
    """Note that the visitor has something waiting for the collector's next answer (see `admit`)."""
    client.sadd(_replies_key(shop_id), visitor_key)
    client.expire(_replies_key(shop_id), ttl)


def admit(
    client: redis.Redis,
    batch: dict[str, Any],
    *,
    ip_key: str,
    shop_key: str,
    per_ip: int,
    per_shop: int,
    visitors: list[str],
) -> tuple[int, list[str]]:
    """Count the request against its limits and append the batch if allowed.

    The verdict (1, or a *_LIMITED code) and, when admitted, which of `visitors` have a reply
    waiting (`expect_reply`), so the collector asks for replies only when there are some."""
    body = orjson.dumps(batch)
    answer = _run_admit(
        client,
        [ip_key, shop_key, STREAM, PENDING, _replies_key(int(batch["shop_id"]))],
        [per_ip, per_shop, body, len(batch["events"]), *visitors],
    )
    return int(answer[0]), [_text(visitor) for visitor in answer[1:]]


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
