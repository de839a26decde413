"""Only Shopify's signed, first deliveries are processed; everything else writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from analytics.models import Order
from shopify_app.standin import ShopifyStandin
from webhooks.handlers import HANDLERS
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.committed  # deliveries are committed before their task runs


def _count(db: Any, model: Any, shop: Any = None) -> int:
    query = select(func.count()).select_from(model)
    if model is WebhookDelivery and shop is not None:
        query = query.where(WebhookDelivery.shop_domain == shop.domain)
    elif shop is not None:
        query = query.where(model.shop_id == shop.id)
    return int(db.session.execute(query).scalar_one())


def _order(number: int = 5001) -> dict[str, Any]:
    payload = ShopifyStandin.sample("orders/create")
    payload.update({"id": number, "admin_graphql_api_id": f"gid://shopify/Order/{number}"})
    return payload


@pytest.mark.parametrize(
    "topic", ["orders/create", "customers/data_request", "customers/redact", "shop/redact", "app/uninstalled"]
)
def test_a_bad_hmac_gets_401_and_writes_nothing(deliver: Any, db: Any, shop: Any, topic: str) -> None:
    response = deliver(topic, shop.domain, _order(), secret="not-the-app-secret")
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_webhook_hmac"
    assert _count(db, WebhookDelivery, shop) == 0
    assert _count(db, Order, shop) == 0
    db.session.refresh(shop)
    assert shop.is_active


def test_a_tampered_body_gets_401(client: Any, db: Any, shop: Any, shopify: ShopifyStandin) -> None:
    body = json.dumps(_order()).encode()
    headers = shopify.webhook_headers("orders/create", shop.domain, body)
    tampered = body.replace(b'"total_price": "', b'"total_price": "1')
    assert client.post("/webhooks/orders/create", data=tampered, headers=headers).status_code == 401
    assert _count(db, WebhookDelivery, shop) == 0
    assert _count(db, Order, shop) == 0


def test_a_webhook_signed_with_the_previous_secret_is_accepted_during_rotation(
    app: Flask, deliver: Any, db: Any, shop: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_secret = app.config["SHOPIFY_API_SECRET"]
    monkeypatch.setitem(app.config, "SHOPIFY_API_SECRET", "rotated-secret")
    monkeypatch.setitem(app.config, "SHOPIFY_API_SECRET_PREVIOUS", old_secret)
    assert deliver("orders/create", shop.domain, _order()).status_code == 200
    assert _count(db, Order, shop) == 1


def test_a_webhook_delivered_twice_is_processed_once(deliver: Any, db: Any, shop: Any) -> None:
    first = deliver("orders/create", shop.domain, _order(), webhook_id="wh-1")
    replay = deliver("orders/create", shop.domain, _order(), webhook_id="wh-1")
    assert first.get_json() == {"status": "accepted"}
    assert replay.status_code == 200
    assert replay.get_json() == {"status": "duplicate"}
    delivery = db.session.execute(
        select(WebhookDelivery).where(WebhookDelivery.webhook_id == "wh-1")
    ).scalar_one()
    assert (delivery.status, delivery.attempts) == ("processed", 1)
    assert delivery.payload is None  # the body (personal data) is not kept once processed
    assert _count(db, Order, shop) == 1


def test_a_failed_delivery_is_processed_again_when_shopify_retries(
    deliver: Any, db: Any, shop: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_shop: Any, _payload: Any) -> None:
        raise RuntimeError("database hiccup")

    monkeypatch.setitem(HANDLERS, "orders/create", broken)
    # embedded mode processes in the request: the failure answers 500, so Shopify retries
    assert deliver("orders/create", shop.domain, _order(), webhook_id="wh-retry").status_code == 500
    failed = db.session.execute(
        select(WebhookDelivery).where(WebhookDelivery.webhook_id == "wh-retry")
    ).scalar_one()
    assert (failed.status, failed.payload is not None) == ("failed", True)
    monkeypatch.undo()
    assert deliver("orders/create", shop.domain, _order(), webhook_id="wh-retry").get_json() == {
        "status": "accepted"
    }
    db.session.expire_all()
    assert (failed.status, failed.attempts, failed.payload) == ("processed", 2, None)
    assert _count(db, Order, shop) == 1


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"X-Shopify-Shop-Domain": "evil.example.com"}, 400, "X-Shopify-Shop-Domain"),
        ({"X-Shopify-Topic": "orders/paid"}, 400, "X-Shopify-Topic"),
        ({"X-Shopify-Webhook-Id": ""}, 400, "X-Shopify-Webhook-Id"),
    ],
)
def test_malformed_headers_are_refused_and_write_nothing(
    client: Any, db: Any, shop: Any, shopify: ShopifyStandin, change: dict[str, str], status: int, field: str
) -> None:
    body = json.dumps(_order()).encode()
    headers = {**shopify.webhook_headers("orders/create", shop.domain, body), **change}
    response = client.post("/webhooks/orders/create", data=body, headers=headers)
    assert response.status_code == status
    assert response.get_json()["field"] == field
    assert _count(db, WebhookDelivery, shop) == 0
    assert _count(db, Order, shop) == 0


def test_webhooks_for_an_unknown_shop_are_acknowledged_and_ignored(deliver: Any, db: Any, shop: Any) -> None:
    response = deliver("orders/create", "never-installed.myshopify.com", _order())
    assert response.status_code == 200
    assert response.get_json() == {"status": "ignored"}
    query = select(func.count()).where(WebhookDelivery.shop_domain == "never-installed.myshopify.com")
    assert db.session.execute(query).scalar_one() == 0


def test_the_purchase_endpoint_takes_any_order_topic(deliver: Any, db: Any, shop: Any) -> None:
    response = deliver("orders/paid", shop.domain, _order(), path="/events/shopify_webhook_purchase/")
    assert response.status_code == 200
    assert _count(db, Order, shop) == 1
    refused = deliver("products/update", shop.domain, {"id": 1}, path="/events/shopify_webhook_purchase/")
    assert refused.status_code == 400


def test_a_body_naming_another_shop_than_the_header_gets_401_and_writes_nothing(
    deliver: Any, db: Any, shop: Any
) -> None:
    """The HMAC covers the body, not the headers: a shop/redact signed for one shop, re-sent with
    another shop's header, must not delete that other shop."""
    from tests.support.factories import make_shop

    victim = make_shop()
    db.session.commit()
    for topic, body in [
        ("shop/redact", {"shop_id": 1, "shop_domain": shop.domain}),
        ("customers/redact", {"shop_domain": shop.domain.upper(), "customer": {"id": 1}}),
        ("app/uninstalled", {"myshopify_domain": shop.domain, "domain": "www.example.com"}),
        ("app/uninstalled", {"myshopify_domain": None, "domain": shop.domain}),
        ("customers/data_request", {"shop_domain": ["not", "a", "domain"], "customer": {"id": 1}}),
    ]:
        response = deliver(topic, victim.domain, body)
        assert response.status_code == 401, (topic, body)
        assert response.get_json()["error"] == "webhook_shop_mismatch"
        assert response.get_json()["field"] == "X-Shopify-Shop-Domain"
    assert _count(db, WebhookDelivery, victim) == 0
    db.session.expire_all()
    assert db.session.get(type(victim), victim.id).is_active


def test_a_body_naming_the_header_shop_or_a_custom_domain_is_accepted(
    deliver: Any, db: Any, shop: Any
) -> None:
    assert deliver("customers/redact", shop.domain, {"shop_domain": shop.domain.upper(),
                                                     "customer": {"id": 1}}).status_code == 200  # fmt: skip
    uninstall = {"myshopify_domain": shop.domain, "domain": "www.shop-own-domain.example"}
    assert deliver("app/uninstalled", shop.domain, uninstall).status_code == 200
    db.session.refresh(shop)
    assert not shop.is_active


def test_a_failed_delivery_keeps_no_values_from_its_error(
    deliver: Any, db: Any, shop: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy.exc import IntegrityError

    def broken(_shop: Any, payload: Any) -> None:  # fails as MariaDB does, quoting the row's value
        email = payload["customer"]["email"]
        duplicate = Exception(1062, f"Duplicate entry '{email}' for key 'uq_customers_email'")
        raise IntegrityError("INSERT INTO customers (email) VALUES (%s)", (email,), duplicate)

    monkeypatch.setitem(HANDLERS, "orders/create", broken)
    assert deliver("orders/create", shop.domain, _order(), webhook_id="wh-secretive").status_code == 500
    failed = db.session.execute(
        select(WebhookDelivery).where(WebhookDelivery.webhook_id == "wh-secretive")
    ).scalar_one()
    assert failed.error == "IntegrityError (Exception 1062)"
    email = _order()["customer"]["email"]
    assert caplog.records
    assert email not in caplog.text
    assert all(email not in str(vars(record)) for record in caplog.records)
