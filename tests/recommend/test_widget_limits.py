"""The widget routes' bounds: ids as ASCII digits within 64 bits, and rate limits per IP and per shop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis as redis_lib

from analytics.ingest import limits
from shopify_app.core.extensions import db
from tests.pipeline.test_rate_limits import fresh_minute
from tests.recommend.conftest import Store
from tests.support.factories import make_shop

BIG = str(2**63)


@pytest.mark.parametrize(
    ("widget", "params", "field"),
    [
        ("also_viewed", {"product_id": "²"}, "product_id"),
        ("also_bought", {"product_id": "١٢"}, "product_id"),
        ("also_viewed", {"product_id": BIG}, "product_id"),
        ("also_viewed", {"product_id": "9" * 40}, "product_id"),
        ("also_viewed", {"product_id": "-3"}, "product_id"),
        ("featured_collection", {"collection_id": "²"}, "collection_id"),
        ("featured_collection", {"collection_id": BIG}, "collection_id"),
        ("crowd_favorites", {"limit": "²"}, "limit"),
        ("pick_up_where_you_left_off", {"visitor_id": "v 1"}, "visitor_id"),
        ("pick_up_where_you_left_off", {"visitor_id": "v-é"}, "visitor_id"),
    ],
)
def test_hostile_ids_are_a_400_naming_the_parameter(
    store: Store, widget: str, params: dict[str, str], field: str
) -> None:
    answer = store.ask(widget, **params)
    assert (answer.status_code, answer.get_json()["field"]) == (400, field)
    assert store.ask("also_viewed", product_id=str(2**63 - 1)).status_code == 200, "the largest id is fine"


@pytest.fixture
def redis_store(make_app: Any, redis_url: str) -> Iterator[tuple[Any, str]]:
    """A client of an app with Redis, and a committed shop's domain."""
    redis_lib.Redis.from_url(redis_url).flushdb()
    limits.forget_all_shops()
    app = make_app(
        ENV={"REDIS_URL": redis_url, "WIDGET_PER_IP_PER_MINUTE": "3", "WIDGET_PER_SHOP_PER_MINUTE": "5"}
    )
    shop = make_shop(settings={"recommendations": {"holdout_share": 0}})
    db.session.commit()
    yield app.test_client(), shop.domain
    limits.forget_all_shops()


def _ask(client: Any, domain: str, ip: str) -> Any:
    return client.get(
        "/api/crowd_favorites/",
        query_string={"shop": domain},
        headers={"Origin": f"https://{domain}"},
        environ_base={"REMOTE_ADDR": ip},
    )


@pytest.mark.committed
@pytest.mark.redis
def test_widget_routes_answer_429_past_their_limits_and_one_address_cannot_use_up_the_shops(
    redis_store: tuple[Any, str],
) -> None:
    client, domain = redis_store
    fresh_minute()
    flood = [_ask(client, domain, "192.0.2.66") for _ in range(8)]
    assert [answer.status_code for answer in flood] == [200] * 3 + [429] * 5
    assert flood[-1].get_json()["error"] == "rate_limited"
    assert int(flood[-1].headers["Retry-After"]) <= 60
    others = [_ask(client, domain, f"192.0.2.{n}").status_code for n in (1, 2)]
    assert others == [200, 200], "the flooding address used only its own three of the shop's five"
    over = _ask(client, domain, "192.0.2.3")
    assert (over.status_code, over.get_json()["field"]) == (429, "shop")
    # Rotating a forged X-Forwarded-For does not help (no trusted proxy: the socket's address counts).
    forged = client.get(
        "/api/crowd_favorites/",
        query_string={"shop": domain},
        headers={"Origin": f"https://{domain}", "X-Forwarded-For": "10.1.1.1"},
        environ_base={"REMOTE_ADDR": "192.0.2.66"},
    )
    assert forged.status_code == 429
