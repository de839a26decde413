"""The shared app proxy signature check the recommendation routes and the platform rely on, and
every storefront route as Shopify's app proxy forwards it."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from flask import Flask

from recommend.widgets import WIDGETS
from shopify_app.core.app_proxy import is_signed_app_proxy_query
from shopify_app.demo import DEMO_SHOP_DOMAIN
from tests.conftest import SHARED
from tests.recommend.conftest import Store
from tests.support.app_proxy import shopify_signed, shopify_signed_pairs
from tests.support.factories import make_shop

SECRET = "hush"
NOW = 1_700_000_000


def _signed(params: list[tuple[str, str]], secret: str = SECRET) -> list[tuple[str, str]]:
    # Shopify's documented recipe, spelled out independently of the code under test.
    message = "".join(sorted(f"{key}={value}" for key, value in params))
    signature = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return [*params, ("signature", signature)]


def _query(**extra: str) -> list[tuple[str, str]]:
    return [("shop", "a.myshopify.com"), ("path_prefix", "/apps/cs"), ("timestamp", str(NOW)), *extra.items()]


def test_a_query_shopify_signed_is_accepted_with_the_current_or_previous_secret() -> None:
    assert is_signed_app_proxy_query(_signed(_query(limit="8")), [SECRET], now=NOW + 10)
    assert is_signed_app_proxy_query(_signed(_query()), ["new-secret", SECRET], now=NOW)


def test_a_tampered_wrongly_signed_or_stale_query_is_refused() -> None:
    signed = _signed(_query(limit="8"))
    tampered = [(key, "a-lot" if key == "limit" else value) for key, value in signed]
    assert not is_signed_app_proxy_query(tampered, [SECRET], now=NOW)
    assert not is_signed_app_proxy_query(_signed(_query(), "other"), [SECRET], now=NOW)
    assert not is_signed_app_proxy_query(_query(), [SECRET], now=NOW)
    assert not is_signed_app_proxy_query(signed, [SECRET], now=NOW + 3600)


def test_repeated_parameters_are_signed_comma_joined() -> None:
    params = [*_query(), ("ids", "1"), ("ids", "2")]
    message = "".join(sorted([*(f"{k}={v}" for k, v in _query()), "ids=1,2"]))
    signature = hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    assert is_signed_app_proxy_query([*params, ("signature", signature)], [SECRET], now=NOW)


def test_the_recipe_these_tests_sign_with_matches_shopifys_published_vectors() -> None:
    vectors = json.loads((SHARED / "shopify" / "test_vectors.json").read_text())["app_proxy_signature_hex"]
    for vector in vectors:
        if "query" not in vector:
            continue
        pairs = [(k, v) for k, v in parse_qsl(vector["query"], keep_blank_values=True) if k != "signature"]
        assert shopify_signed_pairs(pairs, vector["secret"])[-1] == ("signature", vector["expected"])


def test_every_storefront_route_answers_through_the_app_proxy_and_refuses_a_tampered_request(
    app: Flask, store: Store
) -> None:
    """Shopify forwards /apps/clickstream/X to {app}/proxy/X with its parameters, signed."""
    store.browse("shirt", "shorts", visitor="v-proxy")
    secret = app.config["SHOPIFY_API_SECRET"]
    routes = {f"/proxy/api/{widget}/": {"product_id": store.id("shirt"), "collection_id":
              str(store.collection.shopify_id), "visitor_id": "v-proxy"} for widget in WIDGETS}  # fmt: skip
    routes["/proxy/identity"] = {"visitor_id": "v-proxy"}
    routes["/proxy/session"] = {}
    for path, params in routes.items():
        query = shopify_signed(secret, store.shop.domain, 42, **params)
        answer = store.client.get(f"{path}?{urlencode(query)}")
        assert answer.status_code == 200, (path, answer.get_json())
        tampered = [(k, "v-someone-else" if k == "visitor_id" else v) for k, v in query]
        if path == "/proxy/session":
            tampered = [(k, "43" if k == "logged_in_customer_id" else v) for k, v in query]
        refused = store.client.get(f"{path}?{urlencode(tampered)}")
        assert (refused.status_code, refused.get_json()["error"]) == (401, "invalid_proxy_signature"), path
        unsigned = [(k, v) for k, v in query if k != "signature"]
        origin = {"Origin": f"https://{store.shop.domain}"}
        assert store.client.get(f"{path}?{urlencode(unsigned)}", headers=origin).status_code == 401
        stale = shopify_signed(secret, store.shop.domain, 42, timestamp=int(time.time()) - 3600, **params)
        assert store.client.get(f"{path}?{urlencode(stale)}").status_code == 401, (path, "a replayed request")
    other = make_shop()
    signed_for_other = shopify_signed(secret, other.domain, 42, visitor_id="v-proxy")
    crossed = [(k, store.shop.domain if k == "shop" else v) for k, v in signed_for_other]
    assert store.client.get(f"/proxy/api/crowd_favorites/?{urlencode(crossed)}").status_code == 401


def test_the_demo_stores_simulated_proxy_signs_the_demo_login_and_never_in_production(
    app: Flask, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_shop(domain=DEMO_SHOP_DOMAIN)
    client = app.test_client()
    signed_in = client.get("/demo/store/apps/clickstream/session?customer=42&logged_in_customer_id=7")
    assert signed_in.get_json() == {"shop": DEMO_SHOP_DOMAIN, "customer_id": "42"}
    monkeypatch.setitem(app.config, "PROFILE", "production")
    assert client.get("/demo/store/apps/clickstream/session?customer=42").status_code == 404
