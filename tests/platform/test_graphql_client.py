"""The GraphQL Admin client against the stand-in: throttling, retries, errors, token refresh."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from shopify_app.core.auth import AccessTokenError, access_token_for
from shopify_app.core.crypto import decrypt_token
from shopify_app.core.graphql import (
    GraphQLErrors,
    ShopifyThrottled,
    ShopifyUnreachable,
    UserErrors,
    graphql,
    graphql_url,
)
from shopify_app.core.models import Shop
from shopify_app.core.types import utcnow
from shopify_app.standin import ShopifyStandin
from tests.platform.conftest import install

pytestmark = pytest.mark.committed  # install and token refresh commit for real

SHOP_QUERY = "query { shop { name currencyCode ianaTimezone plan { displayName } } }"
DISCOUNT = """
mutation Create($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) { codeDiscountNode { id } userErrors { field message } }
}
"""


def test_query_returns_data_from_the_versioned_endpoint(app: Flask, standin: ShopifyStandin) -> None:
    shop = install("graphql-a.myshopify.com")
    assert graphql_url(shop.domain).endswith(f"/admin/api/{app.config['SHOPIFY_API_VERSION']}/graphql.json")
    data = graphql(shop, SHOP_QUERY)
    assert data["shop"]["currencyCode"] == "EUR"
    assert data["shop"]["plan"]["displayName"] == "Basic"


def test_throttled_answers_wait_for_the_bucket_then_succeed(
    standin: ShopifyStandin, waits: list[float]
) -> None:
    shop = install("graphql-b.myshopify.com")
    standin.throttle_next = 2
    assert graphql(shop, SHOP_QUERY)["shop"]["name"] == "Stand-in Shop"
    # requestedQueryCost 10, currentlyAvailable 0, restoreRate 100 -> 0.1 s each time
    assert waits == [pytest.approx(0.1), pytest.approx(0.1)]


def test_throttling_that_never_ends_is_raised_not_swallowed(
    standin: ShopifyStandin, waits: list[float]
) -> None:
    shop = install("graphql-c.myshopify.com")
    standin.throttle_next = 50
    with pytest.raises(ShopifyThrottled):
        graphql(shop, SHOP_QUERY)
    assert len(waits) == 4


def test_server_errors_are_retried_with_growing_backoff(standin: ShopifyStandin, waits: list[float]) -> None:
    shop = install("graphql-d.myshopify.com")
    standin.fail_next = 2
    assert graphql(shop, SHOP_QUERY)["shop"]["ianaTimezone"] == "Europe/Berlin"
    assert waits == [0.5, 1.0]


def test_unreachable_shopify_raises_after_retries(
    app: Flask, standin: ShopifyStandin, waits: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = install("graphql-e.myshopify.com")
    standin.stop()
    with pytest.raises(ShopifyUnreachable, match="network error"):
        graphql(shop, SHOP_QUERY)
    assert len(waits) == 4


def test_graphql_errors_raise_instead_of_returning_nothing(standin: ShopifyStandin) -> None:
    shop = install("graphql-f.myshopify.com")
    with pytest.raises(GraphQLErrors, match="doesn't exist"):
        graphql(shop, "query { nonsense }")


def test_user_errors_of_a_mutation_are_raised(standin: ShopifyStandin) -> None:
    shop = install("graphql-g.myshopify.com")
    variables = {"basicCodeDiscount": {"code": "WELCOME10"}}
    assert graphql(shop, DISCOUNT, variables)["discountCodeBasicCreate"]["codeDiscountNode"]["id"]
    with pytest.raises(UserErrors, match="Code must be unique") as raised:
        graphql(shop, DISCOUNT, variables)
    assert raised.value.errors[0]["field"] == ["basicCodeDiscount", "code"]


def test_a_401_refreshes_the_token_once_and_retries(db: Any, standin: ShopifyStandin) -> None:
    shop = install("graphql-h.myshopify.com")
    old_token = decrypt_token(shop.access_token_encrypted)
    standin.expire_access_tokens(shop.domain)
    assert graphql(shop, SHOP_QUERY)["shop"]["name"]
    assert standin.refresh_count == 1
    stored = db.session.execute(select(Shop).where(Shop.id == shop.id)).scalar_one()
    db.session.refresh(stored)
    assert decrypt_token(stored.access_token_encrypted) not in {old_token, ""}
    assert stored.access_token_encrypted != decrypt_token(stored.access_token_encrypted)


def test_a_token_about_to_expire_is_refreshed_before_the_call(db: Any, standin: ShopifyStandin) -> None:
    shop = install("graphql-i.myshopify.com")
    shop.access_token_expires_at = utcnow() + timedelta(minutes=1)
    db.session.flush()
    graphql(shop, SHOP_QUERY)
    assert standin.refresh_count == 1


def test_a_spent_refresh_token_is_refused_clearly(db: Any, standin: ShopifyStandin) -> None:
    shop = install("graphql-j.myshopify.com")
    standin.shop(shop.domain).refresh_token = "shprt_revoked"
    standin.expire_access_tokens(shop.domain)
    with pytest.raises(AccessTokenError):
        graphql(shop, SHOP_QUERY)


def test_two_workers_refreshing_at_once_spend_the_refresh_token_once(
    app: Flask, db: Any, standin: ShopifyStandin
) -> None:
    shop = install("graphql-race.myshopify.com")
    shop.access_token_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    shop_id = shop.id
    barrier = threading.Barrier(2)
    tokens: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        with app.app_context():
            try:
                mine = db.session.get(Shop, shop_id)
                barrier.wait()
                tokens.append(access_token_for(mine))
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert standin.refresh_count == 1
    assert len(set(tokens)) == 1
