"""Hostile input through the real path, between good traffic: nothing a request sends stops ingestion.

Each input below was found by an attacker to stall the writer (issue 16): one small request and
nothing newer was stored, for every shop. Here each goes through `POST /events/` on a live
server (spool, Redis stream, a real writer process, the database), and also straight onto the
stream as an older collector would have put it, between good batches of other visitors and of
another shop. Every good event lands, the backlog drains within seconds (with the writer killed
and restarted half way), and each hostile batch is a 400 or exactly one dead letter, naming its
shop and an error code, whose log lines carry no value. Without Redis the same inputs are stored
in process: a 400 or a dead letter, never a 500.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

import orjson
import pytest
import redis as redis_lib
import requests
from sqlalchemy import create_engine, select, text

from analytics.ingest import stream
from analytics.models import DailyShopMetric, DeadLetter, Event, Visitor, VisitSession
from analytics.writer import consumer, failures
from analytics.writer.store import MAX_PAGE_DAYS_URLS
from shopify_app.core.extensions import db
from tests.pipeline.test_counts import BROWSER
from tests.support.databases import TestDatabase
from tests.support.factories import make_shop
from tests.support.processes import CLICKSTREAM, Process, clickstream, free_port, process_env, wait_until

pytestmark = [pytest.mark.committed, pytest.mark.usefixtures("db")]
SECRET = "hostile-7f3a"  # in every hostile visitor key: no log line may ever show it
EMOJI_URLS = (26, 30, 2000)  # batches, distinct URLs each, emoji per URL
MAX_REVENUE = Decimal("999999999999.99")  # DECIMAL(14, 2)


def _now() -> int:
    return int(time.time() * 1000)


def _event(visitor: str, kind: str = "page_view", **fields: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": kind, "ts": _now(), "visitor_id": visitor, **fields}


def _nested(levels: int) -> dict[str, Any]:
    """An object nested `levels` deep."""
    value: dict[str, Any] = {"x": 1}
    for _ in range(levels - 1):
        value = {"x": value}
    return value


def _long_url(domain: str, number: int, length: int = 1500) -> str:
    head = f"https://{domain}/pages/{number}?"
    return head + "q" * (length - len(head))


# Each: a batch's events that must never land (a 400, or one dead letter).
HOSTILE: dict[str, Callable[[str, str], list[dict[str, Any]]]] = {
    "props 32 deep": lambda domain, visitor: [
        _event(visitor, "product_view", product_id=11, props=_nested(32))
    ],
    "purchase value NaN": lambda domain, visitor: [_event(visitor, "purchase", props={"value": "NaN"})],
    "item price NaN": lambda domain, visitor: [
        _event(
            visitor,
            "purchase",
            props={"value": 10, "items": [{"product_id": 11, "price": "NaN", "quantity": 1}]},
        )
    ],
    "a failing 60-event batch over 64 KB": lambda domain, visitor: [
        *(_event(visitor, url=_long_url(domain, number)) for number in range(59)),
        _event(visitor, "product_view", product_id=11, props=_nested(32)),
    ],
    "product id 2^63": lambda domain, visitor: [_event(visitor, "product_view", product_id=2**63)],
    "customer id 2^63": lambda domain, visitor: [_event(visitor, "identify", customer_id=2**63)],
}
# Visitor keys that differ only in case, accents or a trailing space: two visitors each. The
# collector refuses the accented and spaced keys (printable ASCII only); the writer, which must
# survive what an older collector queued, still stores them as visitors of their own.
LOOKALIKES = [("v-Case", "v-case"), ("v-café", "v-cafe"), ("v-1", "v-1 ")]


def _body(domain: str, events: list[dict[str, Any]]) -> bytes:
    # UTF-8 as a browser sends it: a 2,000-emoji URL is 8 KB, not 24 KB of \u escapes
    return orjson.dumps({"shop": domain, "sent_at": _now(), "events": events})


def _older_collector(shop: ShopRef, events: list[dict[str, Any]]) -> dict[str, Any]:
    """The stream entry a collector without today's checks made of these events."""
    checked = [{**event, "client_ts": event["ts"]} for event in events]
    return {"shop_id": shop.id, "shop_domain": shop.domain, "received_at": _now(), "device": "desktop",
            "events": checked}  # fmt: skip


class Traffic:
    """What the test sent and what must come of it."""

    def __init__(self, post: Callable[[bytes], int]) -> None:
        self.post = post
        self.good: list[str] = []  # event ids that must land
        self.landing: list[str] = []  # hostile-looking event ids that must land too
        self.refused: list[tuple[str, str]] = []  # (case, first event id) answered 400
        self.set_aside: list[
            tuple[str, str, int]
        ] = []  # (case, first event id, shop id): one dead letter each
        self.rounds = 0
        self.visitors: set[str] = set()  # lookalike visitor keys that must be visitors of their own

    def good_round(self, shops: list[ShopRef]) -> None:
        """A good batch from a new visitor of each shop."""
        self.rounds += 1
        for shop in shops:
            events = [
                _event(f"good-{self.rounds}", url=f"https://{shop.domain}/p/{n}", product_id=100 + n)
                for n in range(5)
            ]
            assert self.post(_body(shop.domain, events)) == 202
            self.good += [event["id"] for event in events]

    def hostile(self, case: str, shop: ShopRef, events: list[dict[str, Any]]) -> None:
        """A hostile batch through the collector: a 400, or accepted and then one dead letter."""
        status = self.post(_body(shop.domain, events))
        assert status in (202, 400), f"{case}: {status}"
        if status == 400:
            self.refused.append((case, events[0]["id"]))
        else:
            self.set_aside.append((case, events[0]["id"], shop.id))


def _stored_ids(ids: list[str]) -> set[str]:
    db.session.remove()
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        found.update(
            db.session.execute(
                select(Event.event_id).where(Event.event_id.in_(ids[start : start + 500]))
            ).scalars()
        )
    return found


def _check_outcome(traffic: Traffic) -> None:
    """Every good event landed; each hostile batch a 400 or exactly one dead letter of its shop."""
    assert not set(traffic.good) - _stored_ids(traffic.good), "every good event landed"
    assert not set(traffic.landing) - _stored_ids(traffic.landing), "the odd but storable events landed"
    letters = list(db.session.execute(select(DeadLetter)).scalars())
    for case, first_id, shop_id in traffic.set_aside:
        mine = [letter for letter in letters if first_id in letter.payload]
        assert len(mine) == 1, f"{case}: {len(mine)} dead letters"
        assert mine[0].shop_id == shop_id, case
        assert mine[0].error_code, case
        assert "INSERT" not in mine[0].error, "no SQL"
        assert "NaN" not in mine[0].error, "no values"
        assert not _stored_ids([first_id]), f"{case}: nothing of it stored"
    for case, first_id in traffic.refused:
        assert not [letter for letter in letters if first_id in letter.payload], case
        assert not _stored_ids([first_id]), case
    assert len(letters) == len(traffic.set_aside), "no other dead letter (the lookalike visitors above all)"


def _send_everything(
    traffic: Traffic, shop: ShopRef, other: ShopRef, *, older_collector: Callable[[dict[str, Any]], None] | None,
    halfway: Callable[[], None] = lambda: None,
) -> None:  # fmt: skip
    shops = [shop, other]
    for number, (case, make) in enumerate(HOSTILE.items()):
        traffic.good_round(shops)
        traffic.hostile(case, shop, make(shop.domain, f"{SECRET}-{number}"))
        traffic.good_round(shops)
        if older_collector is not None:
            events = make(shop.domain, f"{SECRET}-old-{number}")
            older_collector(_older_collector(shop, events))
            traffic.set_aside.append((f"{case}, from an older collector", events[0]["id"], shop.id))
        if number == len(HOSTILE) // 2:
            halfway()
    batches, urls, emoji = EMOJI_URLS
    for batch in range(batches):
        events = [
            _event(f"{SECRET}-emoji", url=f"https://{shop.domain}/p/{batch}/{n}/" + "😀" * emoji)
            for n in range(urls)
        ]
        status = traffic.post(_body(shop.domain, events))
        assert status in (202, 400)
        if status == 202:
            traffic.landing += [event["id"] for event in events]
        if batch % 8 == 0:
            traffic.good_round(shops)
    for pair in LOOKALIKES:
        for key in pair:
            events = [_event(key, url=f"https://{shop.domain}/"), _event(key, "product_view", product_id=7)]
            status = traffic.post(_body(shop.domain, events))
            if status == 400:  # not a key the tracker or the pixel makes: refused at the door
                assert not key.isascii() or " " in key, key
                if older_collector is None:
                    traffic.refused.append((f"visitor key {key!r}", events[0]["id"]))
                    continue
                older_collector(_older_collector(shop, events))
            else:
                assert status == 202, key
            traffic.landing += [event["id"] for event in events]
            traffic.visitors.add(key)
    traffic.good_round(shops)


def _check_lookalikes_and_sessions(shop: ShopRef, traffic: Traffic) -> None:
    keys = set(db.session.execute(select(Visitor.visitor_key).where(Visitor.shop_id == shop.id)).scalars())
    assert {"v-Case", "v-case"} <= traffic.visitors, "the collector takes keys differing only in case"
    for pair in LOOKALIKES:
        sent = set(pair) & traffic.visitors
        assert sent <= keys, f"{pair} are visitors of their own"
    widest = db.session.execute(
        select(VisitSession.page_days)
        .join(Visitor, Visitor.id == VisitSession.visitor_id)
        .where(Visitor.visitor_key == f"{SECRET}-emoji")
    ).scalars()
    for page_days in widest:
        assert len(orjson.loads(page_days or "{}")) <= MAX_PAGE_DAYS_URLS


def _fill_the_day(shop: ShopRef) -> None:
    """The shop's revenue today one short of what its column holds: any purchase overflows it."""
    db.session.add(DailyShopMetric(shop_id=shop.id, day=datetime.now(UTC).date(), revenue=MAX_REVENUE - 1))
    db.session.commit()


class ShopRef(NamedTuple):
    """A shop's id and domain (its row is read by other sessions and processes)."""

    id: int
    domain: str


@pytest.fixture
def shops(db: Any) -> tuple[ShopRef, ShopRef]:
    shop, other = make_shop(), make_shop()
    db.session.commit()
    return ShopRef(shop.id, shop.domain), ShopRef(other.id, other.domain)


def _healthz(base: str) -> dict[str, Any]:
    return dict(requests.get(f"{base}/healthz", timeout=10).json())


def _answers(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=5).status_code == 200
    except requests.ConnectionError:
        return False


@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.slow
def test_hostile_batches_through_the_live_pipeline_cost_a_400_or_one_dead_letter_and_stop_nothing(
    shops: tuple[ShopRef, ShopRef], test_database: TestDatabase, redis_url: str
) -> None:
    shop, other = shops
    raw = redis_lib.Redis.from_url(redis_url)
    raw.flushdb()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = process_env(
        DATABASE_URL=test_database.url, REDIS_URL=redis_url, PORT=str(port), WRITER_CLAIM_IDLE_SECONDS="1",
        INGEST_PER_IP_PER_MINUTE="100000", INGEST_PER_SHOP_PER_MINUTE="100000",
    )  # fmt: skip
    if test_database.backend == "mysql":  # a purchase only the database can refuse: the day is full
        _fill_the_day(shop)
    session = requests.Session()

    def post(body: bytes) -> int:
        headers = {"User-Agent": BROWSER, "Content-Type": "application/json"}
        return session.post(f"{base}/events/", data=body, headers=headers, timeout=30).status_code

    traffic = Traffic(post)
    writers: list[Process] = []

    def start_writer() -> None:
        writers.append(Process([CLICKSTREAM, "worker", "--without", "tasks"], env))
        writers[-1].wait_for("started writer", timeout=90)

    def restart_writer() -> None:  # killed mid-stream: its entries are claimed by the next one
        writers[-1].kill()
        start_writer()

    with clickstream("serve", "--workers", "1", env=env, ready="serving on") as server:
        wait_until(lambda: _answers(base), message="the server answers")
        start_writer()
        try:
            _send_everything(
                traffic,
                shop,
                other,
                older_collector=lambda batch: stream.append(raw, batch),
                halfway=restart_writer,
            )
            if test_database.backend == "mysql":
                purchase = [_event(f"{SECRET}-full-day", "purchase", props={"value": 5})]
                traffic.hostile("a purchase past the day's maximum revenue", shop, purchase)
                traffic.good_round([shop, other])
            started = time.monotonic()
            wait_until(
                lambda: _healthz(base)["pending_events"] == 0, timeout=30, message="the backlog drained"
            )
            drained = time.monotonic() - started
            _check_outcome(traffic)
            _check_lookalikes_and_sessions(shop, traffic)
            assert drained < 30
        except AssertionError:
            print("\n".join(writer.output[-3000:] for writer in writers))
            raise
        finally:
            for writer in writers:
                writer.stop()
        logs = server.output + "\n".join(writer.output for writer in writers)
    assert SECRET not in logs, "no log line carries a visitor key (nor any other value)"
    assert "dead letter: stream entry" in logs


def test_hostile_batches_stored_in_process_are_a_400_or_a_dead_letter_never_a_500(
    shops: tuple[ShopRef, ShopRef], client: Any, test_database: TestDatabase
) -> None:
    shop, other = shops

    def post(body: bytes) -> int:
        headers = {"User-Agent": BROWSER}
        return int(
            client.post("/events/", data=body, content_type="application/json", headers=headers).status_code
        )

    traffic = Traffic(post)
    if test_database.backend == "mysql":  # a purchase only the database can refuse: the day is full
        _fill_the_day(shop)
        purchase = [_event(f"{SECRET}-full-day", "purchase", props={"value": 5})]
        traffic.hostile("a purchase past the day's maximum revenue", shop, purchase)
    _send_everything(traffic, shop, other, older_collector=None)
    _check_outcome(traffic)
    _check_lookalikes_and_sessions(shop, traffic)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis_lib.Redis]:
    client = redis_lib.Redis.from_url(redis_url)
    client.flushdb()
    stream.ensure_group(client)
    yield client
    client.flushdb()


@pytest.mark.redis
def test_one_entry_only_the_database_refuses_takes_part_in_three_store_attempts(
    shops: tuple[ShopRef, ShopRef], test_database: TestDatabase, redis_client: redis_lib.Redis
) -> None:
    """A read of N entries with one the checks cannot catch: about 2N + sqrt(N) entries stored in
    all, where halving the read took 3N and retries up to 10N; the bad entry is in 3 attempts."""
    if test_database.backend != "mysql":
        pytest.skip("SQLite stores any amount: nothing for the database alone to refuse")
    shop, other = shops
    _fill_the_day(shop)
    count = 100
    good: list[str] = []
    for number in range(count):
        if number == 61:
            events = [_event(f"{SECRET}-full-day", "purchase", props={"value": 5})]
            bad_id = events[0]["id"]
        else:
            events = [_event(f"v-{number}", url=f"https://{other.domain}/p/{number}")]
            good.append(events[0]["id"])
        stream.append(redis_client, _older_collector(shop if number == 61 else other, events))
    entries = stream.read(
        redis_client, "test-writer", range(stream.PARTITIONS), count=count, block_ms=0, pending=False
    )
    assert len(entries) == count
    narrowing = consumer.Narrowing(redis_client)
    narrowing.store(entries)
    group = math.isqrt(count - 1) + 1
    assert narrowing.attempts <= 1 + group + group, narrowing.attempts
    assert narrowing.entry_stores <= 2 * count + group, narrowing.entry_stores
    assert _stored_ids(good) == set(good)
    [letter] = db.session.execute(select(DeadLetter)).scalars()
    assert bad_id in letter.payload
    assert letter.error_code == "1264", "out of range: only the database could tell"
    assert letter.shop_id == shop.id
    assert stream.backlog(redis_client) == 0, "every entry acknowledged"


def test_a_statement_too_big_for_the_server_is_the_entrys_fault_and_an_unreachable_server_is_not(
    test_database: TestDatabase,
) -> None:
    if test_database.backend != "mysql":
        pytest.skip("MariaDB's packet limit and connection errors")
    with pytest.raises(Exception) as too_big:  # whatever the driver makes of it
        db.session.execute(text("SELECT :value"), {"value": "x" * 17_000_000})
    assert failures.describe(too_big.value).code in {"1153", "2006", "2013"}
    assert not failures.database_unavailable(too_big.value), "the server answers a new connection"
    assert db.session.execute(text("SELECT 1")).scalar() == 1
    nowhere = create_engine("mysql+pymysql://root@127.0.0.1:1/none")
    with pytest.raises(Exception) as unreachable:
        nowhere.connect()
    assert failures.database_unavailable(unreachable.value)
    assert failures.describe(unreachable.value).code == "2003"


def test_the_writers_limits_are_the_databases_what_fits_is_stored_exactly_and_one_more_is_refused(
    shops: tuple[ShopRef, ShopRef],
) -> None:
    from shopify_app.core.errors import BadRequest

    shop, _ = shops
    fits = [
        _event("v-edge", "product_view", product_id=2**63 - 1, props=_nested(31)),
        _event(
            "v-edge", "purchase", props={"value": "9999999999.99", "items": [{"product_id": 1, "price": 1}]}
        ),
    ]
    assert consumer.store_in_process(_older_collector(shop, fits)).accepted == 2
    stored = db.session.execute(
        select(Event.product_id, Event.props).where(Event.event_id == fits[0]["id"])
    ).one()
    assert stored.product_id == 2**63 - 1, "not clamped"
    assert stored.props == _nested(31)
    for one_more in (
        _event("v-edge", "product_view", product_id=2**63),
        _event("v-edge", "product_view", props=_nested(32)),
        _event("v-edge", "purchase", props={"value": "1e10"}),
        _event("v-edge", "purchase", props={"value": "Infinity"}),
    ):
        with pytest.raises(BadRequest):
            consumer.store_in_process(_older_collector(shop, [one_more]))
