"""Rate limits that protect a shop instead of hurting it (real Redis).

The client's address is the socket's peer, or the hop the trusted proxies saw: a forged
`X-Forwarded-For` changes nothing. An address over its limit is refused without using up its
shop's allowance, so the shop's other shoppers are still admitted. Unknown shop domains cost a
bounded number of queries and cache entries, however many are sent.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from flask import Flask
from sqlalchemy import event

from analytics.ingest import limits, stream
from shopify_app.core.config import ConfigError
from shopify_app.core.extensions import db
from tests.pipeline.test_counts import BROWSER
from tests.pipeline.test_stream_writer import tracker_batch
from tests.support.factories import make_shop
from tests.support.processes import wait_until

pytestmark = [pytest.mark.committed, pytest.mark.redis, pytest.mark.usefixtures("db")]
SPOOLED = pytest.mark.parametrize("spooled", [False, True], ids=["one round trip", "spooled"])


def fresh_minute(needed_s: float = 15) -> None:
    """Wait, if need be, so the test's requests fall in one rate-limit window (a minute)."""
    left = 60 - time.time() % 60
    if left < needed_s:
        time.sleep(left + 0.05)


@pytest.fixture(autouse=True)
def _empty_redis_and_cache(redis_url: str) -> Iterator[None]:
    redis_lib.Redis.from_url(redis_url).flushdb()
    limits.forget_all_shops()
    yield
    limits.forget_all_shops()


@pytest.fixture
def shop_domain() -> str:
    shop = make_shop()
    db.session.commit()
    return shop.domain


def _app(make_app: Any, redis_url: str, tmp_path: Path, spooled: bool, **env: str) -> Flask:
    spool_dir = str(tmp_path) if spooled else "off"
    return make_app(ENV={"REDIS_URL": redis_url, "INGEST_SPOOL_DIR": spool_dir, **env})


def _post(client: Any, domain: str, ip: str, forwarded: str | None = None) -> Any:
    headers = {"User-Agent": BROWSER}
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    return client.post(
        "/events/",
        json=tracker_batch(domain, 1, visitor=f"v-{uuid.uuid4()}"),
        headers=headers,
        environ_base={"REMOTE_ADDR": ip},
    )


@SPOOLED
def test_a_forged_forwarded_for_does_not_get_round_the_per_ip_limit(
    make_app: Any, redis_url: str, tmp_path: Path, shop_domain: str, spooled: bool
) -> None:
    app = _app(make_app, redis_url, tmp_path, spooled, INGEST_PER_IP_PER_MINUTE="3")
    client = app.test_client()
    fresh_minute()
    answers = [
        _post(client, shop_domain, "198.51.100.7", forwarded=f"10.9.{n}.1").status_code for n in range(6)
    ]
    assert answers == [202, 202, 202, 429, 429, 429], "no proxy trusted: the socket's address counts"
    assert _post(client, shop_domain, "198.51.100.8").status_code == 202, "another address is admitted"
    redis = redis_lib.Redis.from_url(redis_url)
    wait_until(lambda: len(redis.keys("cs:rl:ip:*")) == 2, timeout=5, message="two addresses counted")
    assert not redis.keys("cs:rl:ip:10.9.*"), "no key for a forged address"


@SPOOLED
def test_behind_one_trusted_proxy_the_address_it_saw_counts(
    make_app: Any, redis_url: str, tmp_path: Path, shop_domain: str, spooled: bool
) -> None:
    app = _app(make_app, redis_url, tmp_path, spooled, INGEST_PER_IP_PER_MINUTE="2", TRUSTED_PROXY_COUNT="1")
    client = app.test_client()
    proxy = "10.0.0.2"
    fresh_minute()
    # The client writes what it likes in front; the proxy appends the address it saw.
    answers = [
        _post(client, shop_domain, proxy, forwarded=f"1.2.3.{n}, 203.0.113.5").status_code for n in range(4)
    ]
    assert answers == [202, 202, 429, 429]
    assert _post(client, shop_domain, proxy, forwarded="203.0.113.6").status_code == 202, (
        "another shopper behind the same proxy is admitted"
    )
    redis = redis_lib.Redis.from_url(redis_url)
    wait_until(lambda: len(redis.keys("cs:rl:ip:*")) == 2, timeout=5, message="two addresses counted")
    assert {key.decode().split(":")[3] for key in redis.keys("cs:rl:ip:*")} == {"203.0.113.5", "203.0.113.6"}


@SPOOLED
def test_one_address_flooding_a_shop_leaves_its_other_shoppers_admitted(
    make_app: Any, redis_url: str, tmp_path: Path, shop_domain: str, spooled: bool
) -> None:
    app = _app(
        make_app, redis_url, tmp_path, spooled, INGEST_PER_IP_PER_MINUTE="3", INGEST_PER_SHOP_PER_MINUTE="6"
    )
    client = app.test_client()
    fresh_minute()
    flood = [_post(client, shop_domain, "192.0.2.66").status_code for _ in range(20)]
    assert flood == [202] * 3 + [429] * 17
    others = [_post(client, shop_domain, f"192.0.2.{n}").status_code for n in (1, 2, 3)]
    assert others == [202, 202, 202], "the flood used only its own three of the shop's six"
    over = _post(client, shop_domain, "192.0.2.4")
    assert (over.status_code, over.get_json()["field"]) == (429, "shop"), "the shop's own limit still holds"
    redis = redis_lib.Redis.from_url(redis_url)
    wait_until(lambda: stream.backlog(redis) == 6, timeout=5, message="only the admitted batches queued")


def test_made_up_shop_domains_cost_a_bounded_number_of_queries_and_cache_entries(
    make_app: Any, redis_url: str, tmp_path: Path, shop_domain: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(make_app, redis_url, tmp_path, False)
    client = app.test_client()
    monkeypatch.setattr(limits._cache, "size", 100)
    queries: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM shops" in statement:
            queries.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        fresh_minute(needed_s=30)
        assert _post(client, shop_domain, "192.0.2.1").status_code == 202
        one_address = [_post(client, f"nope-{n}.myshopify.com", "192.0.2.66").status_code for n in range(200)]
        assert one_address.count(404) == limits.LOOKUPS_PER_IP_PER_MINUTE
        assert set(one_address[limits.LOOKUPS_PER_IP_PER_MINUTE :]) == {429}
        assert len(queries) <= 1 + limits.LOOKUPS_PER_IP_PER_MINUTE
        # Many addresses, each with a few made-up domains: the process's own budget holds.
        for n in range(1000):
            _post(client, f"gone-{n}.myshopify.com", f"10.{n // 250}.{n % 250}.9")
        assert len(queries) <= 1 + limits.LOOKUPS_PER_MINUTE
        assert len(limits._cache.entries) <= 100, "the cache stays within its size"
        # The real shop is still served, even to the flooding address: it spends no budget.
        before = len(queries)
        assert _post(client, shop_domain, "192.0.2.66").status_code == 202
        assert _post(client, shop_domain, "192.0.2.67").status_code == 202
        assert len(queries) - before <= 1, "at most a refresh of the real shop, evicted by the flood"
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_trusted_proxy_count_that_is_not_a_whole_number_stops_the_app(make_app: Any) -> None:
    with pytest.raises(ConfigError, match="TRUSTED_PROXY_COUNT"):
        make_app(ENV={"TRUSTED_PROXY_COUNT": "nginx"})


def test_through_the_app_proxy_the_shoppers_address_shopify_forwarded_counts(
    make_app: Any, redis_url: str, tmp_path: Path, shop_domain: str
) -> None:
    from tests.support.app_proxy import shopify_signed

    app = _app(make_app, redis_url, tmp_path, False, INGEST_PER_IP_PER_MINUTE="2", TRUSTED_PROXY_COUNT="1")
    client = app.test_client()
    secret = app.config["SHOPIFY_API_SECRET"]

    def through_shopify(shopper: str, *, signed: bool = True) -> int:
        query = shopify_signed(secret if signed else "not-the-secret", shop_domain, None)
        # Shopify adds the shopper's address; our load balancer (10.0.0.2) appends Shopify's.
        return int(
            client.post(
                "/proxy/events/",
                query_string=query,
                json=tracker_batch(shop_domain, 1, visitor=f"v-{uuid.uuid4()}"),
                headers={"User-Agent": BROWSER, "X-Forwarded-For": f"{shopper}, 23.227.38.1"},
                environ_base={"REMOTE_ADDR": "10.0.0.2"},
            ).status_code
        )

    fresh_minute()
    assert [through_shopify("203.0.113.5") for _ in range(3)] == [202, 202, 429]
    assert through_shopify("203.0.113.6") == 202, "Shopify's address is shared; each shopper has their own"
    assert through_shopify("203.0.113.7", signed=False) == 401, "only a signed request names its shopper"
    redis = redis_lib.Redis.from_url(redis_url)
    assert {key.decode().split(":")[3] for key in redis.keys("cs:rl:ip:*")} == {"203.0.113.5", "203.0.113.6"}
