"""The collector's spool: a batch is written to a file of this process before the 202, and a
thread of the same process ships it to the ingest stream within about `GATHER_S` (50 ms).

Why: a request that waits on a Redis round trip costs its server worker about 200 µs more CPU
than one that does not (the worker sleeps and is woken: context switches), more than everything
else the collector does together (bench/README.md, "ingest"). Writing to the spool never waits;
the shipper sends what several requests spooled in one atomic round trip (`stream.ship`).

Nothing accepted is lost:

- The batch is in the kernel's page cache when the request answers: a process that crashes or
  is killed leaves its file behind, holding every batch not yet shipped.
- Each file is held with an exclusive `flock` by the process writing it. A collector process
  (pointed at the same Redis: the directory is named after it) that can take the lock of a file
  knows its owner is gone, ships what is left in it and deletes it: when it starts, and then every
  `ADOPT_EVERY_S`.
- The file's header says how far it has been shipped, saved after each shipment. A crash between
  a shipment and saving the header ships those batches again, which stores nothing twice: the
  writer inserts events idempotently on (shop_id, event_id).

What the spool changes for the collector's answers:

- Redis unreachable: the shipment fails and the collector answers 503 until one succeeds (the
  shipper retries, and pings when idle, so it notices within `HEARTBEAT_S`); what was spooled stays
  and is shipped then.
- Rate limits count requests in the same Redis keys, reported with each shipment; a request is
  checked against the totals Redis returned at the last shipment plus what this process counted
  since, so processes together may let through what the others accepted since their last shipment.
  A request refused by its IP's limit is not counted toward its shop's.
- Which visitors have a notification waiting (`stream.expect_reply`) is read with each shipment
  for the shops this process served in the last minute; a visitor found there is taken off the set
  with the next shipment.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import logging
import os
import socket
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import redis

from analytics.ingest import stream

log = logging.getLogger(__name__)

HEADER = struct.Struct("<Q")  # how far the file has been shipped (bytes from the start)
RECORD = struct.Struct("<IIB")  # a record: the batch's length, event count and partition, then the batch
SUFFIX = ".spool2"
# Files from before the stream had partitions: records without one, shipped to partition 0.
FORMER_RECORD, FORMER_SUFFIX = struct.Struct("<II"), ".spool"
ROTATE_BYTES = 16 * 1024 * 1024  # a file shipped to its end and this long starts again empty
GATHER_S = 0.05  # after the first new batch, how long the shipper lets others join the shipment
HEARTBEAT_S = 0.5  # an idle shipper pings Redis (and reads waiting replies) this often
RETRY_S = 0.5  # after a failed shipment
ADOPT_EVERY_S = 5.0
REPLY_SHOPS_S = 60.0  # read waiting replies for shops served this recently
LIMIT_TTL_S = 120
SHIPMENT_BYTES = 4 * 1024 * 1024  # at most this much per round trip (a backlog ships in several)


def directory_for(base: str, redis_url: str) -> Path:
    """The spool directory for this Redis: files are adopted only by collectors that ship to it."""
    digest = hashlib.sha1(redis_url.encode(), usedforsecurity=False).hexdigest()[:12]
    return Path(base) / digest


def records(data: bytes, record: struct.Struct = RECORD) -> Iterator[tuple[int, stream.Part]]:
    """(end offset within `data`, batch) of each complete record (a torn tail is left)."""
    at = 0
    while at + record.size <= len(data):
        length, count, *partition = record.unpack_from(data, at)
        end = at + record.size + length
        if end > len(data):
            return
        yield end, stream.Part(partition[0] if partition else 0, data[at + record.size : end], count)
        at = end


def _record_of(path: Path) -> struct.Struct:
    return RECORD if path.suffix == SUFFIX else FORMER_RECORD


def _spool_files(directory: Path) -> list[Path]:
    return sorted([*directory.glob("*" + SUFFIX), *directory.glob("*" + FORMER_SUFFIX)])


class SpoolFile:
    """One process's file: appended to by its requests, shipped from by its shipper."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd
        self.record = _record_of(path)
        self.end = os.fstat(fd).st_size
        if self.end < HEADER.size:
            os.pwrite(fd, HEADER.pack(HEADER.size), 0)
            self.end = HEADER.size
        self.shipped = HEADER.unpack(os.pread(fd, HEADER.size, 0))[0]

    @classmethod
    def create(cls, directory: Path) -> SpoolFile:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return cls(path, fd)

    @classmethod
    def adopt(cls, path: Path) -> SpoolFile | None:
        """The file of a process that is gone, locked for this one; None while its owner lives."""
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        if not path.exists():  # shipped and deleted by another adopter between open and lock
            os.close(fd)
            return None
        return cls(path, fd)

    def append(self, record: bytes) -> None:
        """Called with the spool's lock held."""
        os.pwrite(self.fd, record, self.end)
        self.end += len(record)

    def unshipped(self, end: int) -> list[tuple[int, stream.Part]]:
        """The complete records from the shipped mark up to `end` (at most `SHIPMENT_BYTES` of
        them, or the first one), with their end offsets."""
        length = end - self.shipped
        if length > SHIPMENT_BYTES:
            first = (
                self.record.size + self.record.unpack(os.pread(self.fd, self.record.size, self.shipped))[0]
            )
            length = max(SHIPMENT_BYTES, first)
        data = os.pread(self.fd, length, self.shipped)
        return [(self.shipped + at, part) for at, part in records(data, self.record)]

    def mark_shipped(self, offset: int) -> None:
        os.pwrite(self.fd, HEADER.pack(offset), 0)
        self.shipped = offset

    def restart_if_shipped(self) -> None:
        """Empty a long file shipped to its end (the header first: a crash in between only ships
        shipped batches again). Called with the spool's lock held."""
        if self.shipped == self.end and self.end > ROTATE_BYTES:
            self.mark_shipped(HEADER.size)
            os.ftruncate(self.fd, HEADER.size)
            self.end = HEADER.size

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
        os.close(self.fd)


class Spool:
    """This process's spool and its shipper thread (see the module's description)."""

    def __init__(self, directory: Path, client: redis.Redis) -> None:
        self.directory = directory
        self.client = client
        self.file = SpoolFile.create(directory)
        self.failure: str | None = None
        self._lock = threading.Lock()  # the file's end, the counts and replies (held briefly)
        self._ship_lock = threading.Lock()  # one shipment at a time
        self._wake = threading.Event()
        self._counted: dict[str, int] = {}  # rate-limit keys: requests not yet reported
        self._totals: dict[str, int] = {}  # rate-limit keys: Redis's totals at the last shipment
        self._replies: dict[int, set[str]] = {}
        self._reply_shops: dict[int, float] = {}
        self._replied: list[tuple[int, str]] = []  # to take off the shops' reply sets
        self._stopped = False
        self._last_adoption = 0.0
        self._thread = threading.Thread(target=self._run, name="ingest-spool", daemon=True)
        self._thread.start()

    # The request's side: never waits on Redis.

    def admit(
        self, batch_parts: list[stream.Part], shop_id: int, admission: stream.Admission
    ) -> tuple[int, list[str]]:
        """Count the request against its limits and spool the batch (its `stream.parts`) if
        allowed; like `stream.admit`."""
        if self.failure is not None:
            raise redis.ConnectionError(self.failure)
        with self._lock:
            # Only requests the IP's limit admits count toward the shop's (as in `stream.admit`).
            if self._count(admission.ip_key) > admission.per_ip:
                return stream.IP_LIMITED, []
            if self._count(admission.shop_key) > admission.per_shop:
                return stream.SHOP_LIMITED, []
            self.file.append(
                b"".join(RECORD.pack(len(body), count, number) + body for number, body, count in batch_parts)
            )
            self._reply_shops[shop_id] = time.monotonic()
            waiting = self._replies.get(shop_id) or set()
            found = [visitor for visitor in admission.visitors if visitor in waiting]
            for visitor in found:
                waiting.discard(visitor)
                self._replied.append((shop_id, visitor))
        if not self._wake.is_set():
            self._wake.set()
        return 1, found

    def _count(self, key: str) -> int:
        counted = self._counted.get(key, 0) + 1
        self._counted[key] = counted
        return self._totals.get(key, 0) + counted

    # The shipper's side.

    def _run(self) -> None:
        while not self._stopped:
            if self._wake.wait(HEARTBEAT_S):
                time.sleep(GATHER_S)
                self._wake.clear()
            try:
                self.ship()
                if time.monotonic() - self._last_adoption > ADOPT_EVERY_S:
                    self.adopt_orphans()
            except redis.RedisError as exc:
                if self.failure is None:
                    log.warning("ingest spool cannot ship to Redis (answering 503 until it can): %s", exc)
                self.failure = f"{type(exc).__name__}: {exc}"
                time.sleep(RETRY_S)
            except Exception:
                log.exception("ingest spool shipment failed; retrying")
                time.sleep(RETRY_S)

    def ship(self) -> int:
        """Send what was spooled since the last shipment, with the counts, in one round trip;
        the number of batches shipped."""
        with self._ship_lock:
            return self._ship()

    def _ship(self) -> int:
        with self._lock:
            end = self.file.end
            counted, self._counted = self._counted, {}
            replied, self._replied = self._replied, []
            recent = time.monotonic() - REPLY_SHOPS_S
            for shop in [shop for shop, seen in self._reply_shops.items() if seen <= recent]:
                del self._reply_shops[shop]
                self._replies.pop(shop, None)
            shops = list(self._reply_shops)
        try:
            batches = self.file.unshipped(end)
            totals, members = stream.ship(
                self.client,
                [part for _, part in batches],
                counted=counted,
                counted_ttl=LIMIT_TTL_S,
                answered=replied,
                reply_shops=shops,
            )
        except BaseException:
            with self._lock:  # counted again with the next shipment
                for key, requests in counted.items():
                    self._counted[key] = self._counted.get(key, 0) + requests
                self._replied[:0] = replied
            raise
        if batches:
            self.file.mark_shipped(batches[-1][0])
            if batches[-1][0] < end:
                self._wake.set()  # more spooled than one shipment takes: ship again at once
        window = f":{int(time.time() // 60)}"
        with self._lock:
            self._totals = {key: total for key, total in self._totals.items() if key.endswith(window)}
            self._totals.update(zip(counted, totals, strict=True))
            self._replies.update(zip(shops, members, strict=True))
            self.file.restart_if_shipped()
        self.failure = None
        return len(batches)

    def adopt_orphans(self) -> int:
        """Ship and delete the files of processes that are gone; the number of batches shipped."""
        self._last_adoption = time.monotonic()
        with self._ship_lock:
            return self._adopt_orphans()

    def _adopt_orphans(self) -> int:
        shipped = 0
        for path in _spool_files(self.directory):
            if path == self.file.path:
                continue
            orphan = SpoolFile.adopt(path)
            if orphan is None:
                continue
            try:
                found = 0
                while batches := orphan.unshipped(orphan.end):
                    stream.ship(self.client, [part for _, part in batches])
                    orphan.mark_shipped(batches[-1][0])
                    found += len(batches)
            except BaseException:
                os.close(orphan.fd)
                raise
            if found:
                log.warning("shipped %d batches left in %s by a stopped collector", found, path)
            orphan.remove()
            shipped += found
        return shipped

    def close(self) -> None:
        """Stop the shipper after a last shipment; the file goes when everything in it was shipped."""
        self._stopped = True
        self._wake.set()
        self._thread.join(timeout=5)
        try:
            if self.failure is not None:
                raise redis.ConnectionError(self.failure)
            self.ship()
        except redis.RedisError:
            os.close(self.file.fd)  # left for another collector to adopt
            return
        self.file.remove()


_lock = threading.Lock()
_spools: dict[tuple[int, str, str], Spool] = {}


def for_process(base: str, redis_url: str, client: redis.Redis) -> Spool:
    """This process's spool for that Redis (a forked server worker gets its own)."""
    key = (os.getpid(), base, redis_url)
    spool = _spools.get(key)
    if spool is None:
        with _lock:
            spool = _spools.get(key)
            if spool is None:
                spool = _spools[key] = Spool(directory_for(base, redis_url), client)
                atexit.register(spool.close)
    return spool


def unshipped_events(base: str, redis_url: str) -> int:
    """Events spooled by any collector on this machine and not yet on the stream (for /healthz)."""
    total = 0
    for path in _spool_files(directory_for(base, redis_url)):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            header = os.pread(fd, HEADER.size, 0)
            if len(header) == HEADER.size:
                shipped = HEADER.unpack(header)[0]
                data = os.pread(fd, max(os.fstat(fd).st_size - shipped, 0), shipped)
                total += sum(part.events for _, part in records(data, _record_of(path)))
        finally:
            os.close(fd)
    return total
