"""The authorization-code grant (non-embedded installs) and app proxy verification."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from flask import Flask, g
from sqlalchemy import func, select

from shopify_app.core.models import Shop
from shopify_app.platform.proxy import InvalidProxySignature, verify_app_proxy_request
from shopify_app.platform.signatures import app_proxy_signature, oauth_hmac
from shopify_app.standin import ShopifyStandin

pytestmark = pytest.mark.committed  # install and token refresh commit for real


def _start(client: Any, domain: str) -> dict[str, str]:
    response = client.get("/auth/install", query_string={"shop": domain})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == f"/{domain}/admin/oauth/authorize"
    return dict(parse_qsl(location.query))


def _callback_params(app: Flask, standin: ShopifyStandin, domain: str, state: str) -> dict[str, str]:
    url = standin.authorize_redirect(domain, "http://app/auth/callback", state)
    return dict(parse_qsl(urlsplit(url).query))


def _shops(db: Any, domain: str) -> int:
    return int(
        db.session.execute(select(func.count()).select_from(Shop).where(Shop.domain == domain)).scalar_one()
    )


def test_authorization_code_grant_installs_the_shop(
    app: Flask, client: Any, db: Any, standin: ShopifyStandin
) -> None:
    domain = "oauth-ok.myshopify.com"
    authorize = _start(client, domain)
    assert authorize["scope"] == app.config["SHOPIFY_SCOPES"]
    assert authorize["state"]
    params = _callback_params(app, standin, domain, authorize["state"])
    response = client.get("/auth/callback", query_string=params)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/app?shop=")
    shop = db.session.execute(select(Shop).where(Shop.domain == domain)).scalar_one()
    assert shop.is_active
    assert shop.access_token_encrypted
    assert shop.catalog_sync_status == "done"
    # the code is one-time: replaying the callback is refused by Shopify
    again = _start(client, domain)
    params["state"] = again["state"]
    params["hmac"] = oauth_hmac(
        app.config["SHOPIFY_API_SECRET"], [(k, v) for k, v in params.items() if k != "hmac"]
    )
    assert client.get("/auth/callback", query_string=params).status_code == 401


@pytest.mark.parametrize("attack", ["bad_hmac", "stale_timestamp", "wrong_state", "no_cookie", "bad_shop"])
def test_a_forged_or_replayed_callback_installs_nothing(
    app: Flask, db: Any, standin: ShopifyStandin, attack: str
) -> None:
    client = app.test_client()
    domain = "oauth-attack.myshopify.com"
    state = _start(client, domain)["state"]
    params = _callback_params(app, standin, domain, state)
    secret = app.config["SHOPIFY_API_SECRET"]
    if attack == "no_cookie":
        client = app.test_client()
    if attack == "bad_hmac":
        params["hmac"] = "0" * 64
    if attack in {"stale_timestamp", "wrong_state", "bad_shop"}:
        params.update(
            {
                "stale_timestamp": {"timestamp": str(int(time.time()) - 3600)},
                "wrong_state": {"state": "guessed"},
                "bad_shop": {"shop": "evil.example.com"},
            }[attack]
        )
        params["hmac"] = oauth_hmac(secret, [(k, v) for k, v in params.items() if k != "hmac"])
    response = client.get("/auth/callback", query_string=params)
    expected = {
        "bad_hmac": 401,
        "stale_timestamp": 401,
        "wrong_state": 403,
        "no_cookie": 403,
        "bad_shop": 400,
    }
    assert response.status_code == expected[attack]
    assert _shops(db, domain) == 0


def test_missing_scopes_are_refused(app: Flask, client: Any, db: Any, standin: ShopifyStandin) -> None:
    domain = "oauth-scopes.myshopify.com"
    standin.scopes = "read_products"
    state = _start(client, domain)["state"]
    response = client.get("/auth/callback", query_string=_callback_params(app, standin, domain, state))
    assert response.status_code == 403
    assert response.get_json()["error"] == "missing_scopes"
    assert _shops(db, domain) == 0


def test_app_proxy_requests_are_verified_by_signature(app: Flask, shop: Any) -> None:
    secret = app.config["SHOPIFY_API_SECRET"]
    pairs = [
        ("shop", shop.domain),
        ("path_prefix", "/apps/clickstream"),
        ("timestamp", str(int(time.time()))),
        ("logged_in_customer_id", "42"),
    ]
    signed = urlencode([*pairs, ("signature", app_proxy_signature(secret, pairs))])
    with app.test_request_context("/proxy/widgets?" + signed):
        verify_app_proxy_request()
        assert g.shop.id == shop.id
        assert g.logged_in_customer_id == "42"
    with (
        app.test_request_context("/proxy/widgets?" + signed + "&logged_in_customer_id=7"),
        pytest.raises(InvalidProxySignature),
    ):
        verify_app_proxy_request()
    old = [(k, "1000" if k == "timestamp" else v) for k, v in pairs]
    replay = urlencode([*old, ("signature", app_proxy_signature(secret, old))])
    with app.test_request_context("/proxy/widgets?" + replay), pytest.raises(InvalidProxySignature):
        verify_app_proxy_request()
