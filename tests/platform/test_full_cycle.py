"""The whole life of a shop over real HTTP: the app server and a Celery worker as real processes,
MariaDB, Redis, and the Shopify stand-in; the database is checked after each step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import func, inspect, select

from analytics.models import Order, OrderLine, Visitor, VisitorCustomer
from shopify_app.core.auth import mint_session_token
from shopify_app.core.crypto import decrypt_token
from shopify_app.core.extensions import db as database
from shopify_app.core.models import Customer, Product, Shop
from shopify_app.standin import ShopifyStandin
from tests.support.factories import make_visitor
from tests.support.processes import clickstream, free_port, process_env, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.redis, pytest.mark.committed, pytest.mark.slow]

DOMAIN = "full-cycle.myshopify.com"
CUSTOMER_ID = 115310627314723954  # from the sample order's customer admin_graphql_api_id


@pytest.fixture
def live(app: Flask, test_database: Any, redis_url: str) -> Iterator[tuple[str, ShopifyStandin]]:
    """The app served on a free port and a worker, both pointed at a running stand-in."""
    standin = ShopifyStandin(app.config["SHOPIFY_API_KEY"], app.config["SHOPIFY_API_SECRET"]).start()
    port = free_port()
    env = process_env(
        DATABASE_URL=test_database.url,
        REDIS_URL=redis_url,
        SHOPIFY_API_KEY=app.config["SHOPIFY_API_KEY"],
        SHOPIFY_API_SECRET=app.config["SHOPIFY_API_SECRET"],
        SHOPIFY_API_BASE_URL=standin.base_url,
        SHOPIFY_APP_URL=f"http://127.0.0.1:{port}",
        PORT=str(port),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with (
            clickstream("worker", "--concurrency", "1", "--without", "writer", env=env, ready="ready."),
            clickstream("serve", "--workers", "1", env=env, ready="serving on"),
        ):
            wait_until(lambda: _up(base), timeout=60, message="the app server to answer")
            yield base, standin
    finally:
        standin.stop()


def _up(base: str) -> bool:
    try:
        return requests.get(base + "/healthz", timeout=2).status_code in {200, 503}
    except requests.RequestException:
        return False


def _fresh() -> None:
    database.session.rollback()  # a new snapshot: see what the server and worker committed


def _shop() -> Shop | None:
    _fresh()
    return database.session.execute(select(Shop).where(Shop.domain == DOMAIN)).scalar_one_or_none()


def _count(model: Any, shop_id: int) -> int:
    _fresh()
    return int(
        database.session.execute(
            select(func.count()).select_from(model).where(model.shop_id == shop_id)
        ).scalar_one()
    )


def _webhook(base: str, standin: ShopifyStandin, topic: str, payload: dict[str, Any]) -> None:
    response = standin.send_webhook(f"{base}/webhooks/{topic}", topic, DOMAIN, payload)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted"


def test_install_sync_webhooks_refresh_uninstall_and_redact(live: tuple[str, ShopifyStandin]) -> None:
    base, standin = live

    # 1. embedded first load with an id_token: token exchange, then details + catalog sync in the worker
    page = requests.get(
        f"{base}/admin/app", params={"shop": DOMAIN, "id_token": mint_session_token(DOMAIN)}, timeout=10
    )
    assert page.status_code == 200, page.text[:500]
    assert (
        page.headers["Content-Security-Policy"]
        == f"frame-ancestors https://{DOMAIN} https://admin.shopify.com;"
    )
    shop = _shop()
    assert shop is not None
    assert shop.is_active
    first_token = decrypt_token(shop.access_token_encrypted or "")
    assert first_token.startswith("shpat_")
    assert shop.refresh_token_encrypted
    wait_until(
        lambda: (s := _shop()) is not None and s.catalog_sync_status == "done",
        timeout=60,
        message="catalog sync",
    )
    shop = _shop()
    assert shop is not None
    assert (shop.name, shop.currency, shop.plan) == ("Stand-in Shop", "EUR", "Basic")
    shop_id = shop.id
    assert _count(Product, shop_id) == 3

    # 2. a product webhook adds a product
    _webhook(base, standin, "products/update", ShopifyStandin.sample("products/update"))
    wait_until(lambda: _count(Product, shop_id) == 4, timeout=30, message="the product webhook")
    _fresh()
    product = database.session.execute(
        select(Product).where(Product.shopify_id == 788032119674292922)
    ).scalar_one()
    assert product.title == "Example T-Shirt"
    assert len(product.variants) == 2

    # 3. an order webhook naming the tracker's visitor links visitor and customer
    visitor_id = make_visitor(database.session.get(Shop, shop_id), "cycle-visitor").id  # type: ignore[arg-type]
    database.session.commit()
    order = ShopifyStandin.sample("orders/create")
    order["note_attributes"] = [{"name": "_clickstream_visitor", "value": "cycle-visitor"}]
    _webhook(base, standin, "orders/create", order)
    wait_until(lambda: _count(Order, shop_id) == 1, timeout=30, message="the order webhook")
    _fresh()
    stored = database.session.execute(select(Order).where(Order.shop_id == shop_id)).scalar_one()
    customer = database.session.execute(select(Customer).where(Customer.shop_id == shop_id)).scalar_one()
    assert stored.visitor_id == visitor_id
    assert stored.customer_id == customer.id
    assert customer.shopify_id == CUSTOMER_ID
    assert _count(OrderLine, shop_id) == 5
    assert database.session.get(Visitor, visitor_id).customer_id == customer.id  # type: ignore[union-attr]

    # 4. the access token expires at Shopify: the next sync gets a 401, refreshes once, and succeeds
    standin.expire_access_tokens(DOMAIN)
    headers = {"Authorization": f"Bearer {mint_session_token(DOMAIN)}"}
    assert requests.post(f"{base}/api/platform/catalog-sync", headers=headers, timeout=10).status_code == 202
    wait_until(
        lambda: (s := _shop()) is not None and s.catalog_sync_status == "done", timeout=60, message="re-sync"
    )
    shop = _shop()
    assert shop is not None
    assert standin.refresh_count == 1
    assert decrypt_token(shop.access_token_encrypted or "") not in {first_token, ""}
    state = requests.get(f"{base}/api/platform/catalog-sync", headers=headers, timeout=10).json()
    assert (state["status"], state["progress"]) == ("done", 100)
    # the bulk result no longer has the webhook-only product: it is marked deleted, not dropped
    _fresh()
    assert database.session.get(Product, product.id).deleted_at is not None  # type: ignore[union-attr]

    # 5. app/uninstalled: the shop is no longer served, its data stays
    _webhook(base, standin, "app/uninstalled", ShopifyStandin.sample("app/uninstalled"))
    wait_until(lambda: (s := _shop()) is not None and not s.is_active, timeout=30, message="uninstall")
    assert requests.get(f"{base}/api/platform/catalog-sync", headers=headers, timeout=10).status_code == 403
    assert _count(Order, shop_id) == 1
    assert _count(Product, shop_id) == 4

    # 6. customers/redact erases the customer everywhere
    redact = {
        "shop_id": 1,
        "shop_domain": DOMAIN,
        "customer": {"id": CUSTOMER_ID},
        "orders_to_redact": [820982911946154508],
    }
    _webhook(base, standin, "customers/redact", redact)
    wait_until(lambda: _count(Customer, shop_id) == 0, timeout=30, message="customer redaction")
    assert _count(VisitorCustomer, shop_id) == 0
    _fresh()
    assert database.session.get(Order, stored.id).customer_id is None  # type: ignore[union-attr]
    assert database.session.get(Visitor, visitor_id) is None  # the customer's device goes with them

    # 7. shop/redact deletes everything the shop had
    _webhook(base, standin, "shop/redact", {"shop_id": 1, "shop_domain": DOMAIN})
    wait_until(lambda: _shop() is None, timeout=30, message="shop redaction")
    present = set(inspect(database.engine).get_table_names())
    for table in database.metadata.sorted_tables:
        if "shop_id" in table.columns and table.name in present:
            left = database.session.execute(
                select(func.count()).select_from(table).where(table.c.shop_id == shop_id)
            )
            assert left.scalar_one() == 0, table.name
