"""Embedded first load (token exchange), the bounce page, CSP, App Bridge, catalog sync."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from flask import Flask
from sqlalchemy import func, select

from shopify_app.core.auth import mint_session_token
from shopify_app.core.crypto import decrypt_token
from shopify_app.core.models import Collection, CollectionProduct, Product, Shop, Variant
from shopify_app.standin import ShopifyStandin

pytestmark = pytest.mark.committed  # install and token refresh commit for real


def _count(db: Any, model: Any, **where: Any) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return int(db.session.execute(query).scalar_one())


def _expired_token(app: Flask, domain: str) -> str:
    now = int(time.time())
    claims = {
        "iss": f"https://{domain}/admin",
        "dest": f"https://{domain}",
        "aud": app.config["SHOPIFY_API_KEY"],
        "sub": "1",
        "exp": now - 60,
        "nbf": now - 120,
        "iat": now - 120,
    }
    return jwt.encode(claims, app.config["SHOPIFY_API_SECRET"], algorithm="HS256")


def test_first_load_exchanges_the_session_token_and_syncs_the_catalog(
    app: Flask, client: Any, db: Any, standin: ShopifyStandin
) -> None:
    domain = "first-load.myshopify.com"
    response = client.get("/admin/app", query_string={"shop": domain, "id_token": mint_session_token(domain)})
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == (
        f"frame-ancestors https://{domain} https://admin.shopify.com;"
    )
    page = response.get_data(as_text=True)
    assert page.index('<meta name="shopify-api-key"') < page.index(
        '<script src="https://cdn.shopify.com/shopifycloud/app-bridge.js"></script>'
    )
    shop = db.session.execute(select(Shop).where(Shop.domain == domain)).scalar_one()
    db.session.refresh(shop)
    assert shop.is_active
    token = decrypt_token(shop.access_token_encrypted)
    assert token.startswith("shpat_")
    assert token not in shop.access_token_encrypted
    assert shop.refresh_token_encrypted
    assert shop.access_token_expires_at
    assert shop.refresh_token_expires_at
    # shop details and the bulk catalog sync ran (eagerly, in embedded mode)
    assert (shop.name, shop.currency, shop.timezone, shop.plan) == (
        "Stand-in Shop",
        "EUR",
        "Europe/Berlin",
        "Basic",
    )
    assert (shop.catalog_sync_status, shop.catalog_sync_progress) == ("done", 100)
    products = {
        p.handle: p for p in db.session.execute(select(Product).where(Product.shop_id == shop.id)).scalars()
    }
    assert set(products) == {"linen-shirt", "straw-hat", "wool-coat"}
    assert products["linen-shirt"].is_sellable
    assert str(products["linen-shirt"].price) == "49.00"
    assert products["linen-shirt"].image_url == "https://cdn.example.com/linen.jpg"
    assert not products["straw-hat"].available
    assert not products["wool-coat"].published
    assert _count(db, Variant, shop_id=shop.id) == 4
    assert _count(db, Collection, shop_id=shop.id) == 2
    assert _count(db, CollectionProduct, shop_id=shop.id) == 3
    # a second load does not exchange again
    client.get("/admin/app", query_string={"shop": domain, "id_token": mint_session_token(domain)})
    db.session.refresh(shop)
    assert decrypt_token(shop.access_token_encrypted) == token


def test_the_merchant_sees_sync_progress_and_errors(
    client: Any, db: Any, standin: ShopifyStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    domain = "sync-error.myshopify.com"
    monkeypatch.setattr("shopify_app.core.graphql.sleep", lambda _s: None)
    standin.throttle_next = 1000
    response = client.get("/admin/app", query_string={"shop": domain, "id_token": mint_session_token(domain)})
    assert response.status_code == 200
    assert "failed" in response.get_data(as_text=True)
    shop = db.session.execute(select(Shop).where(Shop.domain == domain)).scalar_one()
    headers = {"Authorization": f"Bearer {mint_session_token(domain)}"}
    state = client.get("/api/platform/catalog-sync", headers=headers).get_json()
    assert state["status"] == "failed"
    assert "throttling" in state["error"]
    standin.throttle_next = 0
    assert client.post("/api/platform/catalog-sync", headers=headers).status_code == 202
    state = client.get("/api/platform/catalog-sync", headers=headers).get_json()
    assert (state["status"], state["progress"], state["error"]) == ("done", 100, None)
    assert _count(db, Product, shop_id=shop.id) == 3


def test_a_load_without_a_valid_session_token_goes_to_the_bounce_page(
    app: Flask, client: Any, db: Any, standin: ShopifyStandin
) -> None:
    domain = "bounce.myshopify.com"
    for query in ({"shop": domain, "host": "abc"}, {"shop": domain, "id_token": _expired_token(app, domain)}):
        response = client.get("/admin/app", query_string=query)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/session-token?")
        assert "shopify-reload=%2Fadmin%2Fapp" in response.headers["Location"]
    bounce = client.get(response.headers["Location"])
    assert bounce.status_code == 200
    assert "app-bridge.js" in bounce.get_data(as_text=True)
    assert domain in bounce.headers["Content-Security-Policy"]
    assert _count(db, Shop, domain=domain) == 0


def test_a_token_for_another_shop_or_a_bad_domain_installs_nothing(
    client: Any, db: Any, standin: ShopifyStandin
) -> None:
    foreign = client.get(
        "/admin/app",
        query_string={
            "shop": "victim.myshopify.com",
            "id_token": mint_session_token("attacker.myshopify.com"),
        },
    )
    assert foreign.status_code == 401
    assert foreign.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"
    malformed = client.get("/admin/app", query_string={"shop": "evil.com/x.myshopify.com", "id_token": "x"})
    assert malformed.status_code == 400
    assert malformed.get_json()["field"] == "shop"
    assert _count(db, Shop, domain="victim.myshopify.com") == 0
    assert standin.shops.get("victim.myshopify.com") is None


def test_admin_api_rejects_expired_and_foreign_tokens_with_the_retry_header(
    app: Flask, client: Any, shop: Any
) -> None:
    expired = client.get(
        "/api/platform/catalog-sync", headers={"Authorization": f"Bearer {_expired_token(app, shop.domain)}"}
    )
    assert expired.status_code == 401
    assert expired.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"
    forged = jwt.encode(
        {
            "iss": f"https://{shop.domain}/admin",
            "dest": f"https://{shop.domain}",
            "aud": app.config["SHOPIFY_API_KEY"],
            "exp": int(time.time()) + 60,
            "nbf": int(time.time()),
            "sub": "1",
        },
        "not-our-secret",
        algorithm="HS256",
    )
    assert (
        client.get("/api/platform/catalog-sync", headers={"Authorization": f"Bearer {forged}"}).status_code
        == 401
    )
    own = client.get(
        "/api/platform/catalog-sync", headers={"Authorization": f"Bearer {mint_session_token(shop.domain)}"}
    )
    assert own.status_code == 200
    assert own.get_json()["status"] == "never"
