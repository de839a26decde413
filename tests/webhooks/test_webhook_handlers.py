"""What each topic does to the database, using Shopify's published example payloads."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, inspect, select

from analytics.models import Event, Order, OrderLine, Visitor, VisitorCustomer
from analytics.writer.store import store_batches
from shopify_app.core.extensions import db as database
from shopify_app.core.models import Collection, Customer, Product, Shop, Variant
from shopify_app.standin import ShopifyStandin
from tests.support.factories import make_event, make_product, make_session, make_visitor

pytestmark = pytest.mark.committed


def _rows(model: Any, shop: Any) -> list[Any]:
    return list(database.session.execute(select(model).where(model.shop_id == shop.id)).scalars())


def _order(
    number: int, *, visitor: str | None = None, updated_at: str = "2026-11-20T10:00:00Z"
) -> dict[str, Any]:
    payload = ShopifyStandin.sample("orders/create")
    payload.update(
        {"id": number, "admin_graphql_api_id": f"gid://shopify/Order/{number}", "updated_at": updated_at}
    )
    payload["note_attributes"] = [{"name": "_clickstream_visitor", "value": visitor}] if visitor else []
    return payload


def test_an_order_is_recorded_with_lines_customer_and_its_visitor(deliver: Any, db: Any, shop: Any) -> None:
    make_visitor(shop, "visitor-abc")
    assert deliver("orders/create", shop.domain, _order(7001, visitor="visitor-abc")).status_code == 200
    order = _rows(Order, shop)[0]
    assert (order.shopify_id, str(order.total_price), order.currency) == (7001, "404.95", "USD")
    assert len(_rows(OrderLine, shop)) == 5
    customer = db.session.get(Customer, order.customer_id)
    assert customer.email == "john@example.com"
    assert customer.shopify_id == 115310627314723954
    visitor = db.session.execute(select(Visitor).where(Visitor.visitor_key == "visitor-abc")).scalar_one()
    assert order.visitor_id == visitor.id
    assert visitor.customer_id == customer.id
    assert [link.source for link in _rows(VisitorCustomer, shop)] == ["order"]


def test_order_updates_are_idempotent_and_an_older_version_never_wins(
    deliver: Any, db: Any, shop: Any
) -> None:
    paid = _order(7002, updated_at="2026-11-20T10:00:00Z")
    deliver("orders/paid", shop.domain, paid)
    cancelled = {**_order(7002, updated_at="2026-11-21T10:00:00Z"), "financial_status": "refunded"}
    deliver("orders/cancelled", shop.domain, cancelled)
    deliver("orders/updated", shop.domain, paid)  # a late, older delivery
    orders = _rows(Order, shop)
    assert len(orders) == 1
    assert orders[0].financial_status == "refunded"
    assert len(_rows(OrderLine, shop)) == 5


def test_product_webhooks_mirror_the_catalog_and_fire_catalog_changed(
    deliver: Any, db: Any, shop: Any, catalog_changes: list[Any]
) -> None:
    payload = ShopifyStandin.sample("products/update")
    assert deliver("products/update", shop.domain, payload).status_code == 200
    product = _rows(Product, shop)[0]
    assert product.shopify_id == 788032119674292922  # the exact id, from admin_graphql_api_id
    assert (product.title, str(product.price), str(product.compare_at_price)) == (
        "Example T-Shirt",
        "19.99",
        "24.99",
    )
    assert product.published
    assert product.available
    assert product.total_inventory == 125
    assert sorted(v.title for v in _rows(Variant, shop)) == ["Medium", "Small"]
    payload["variants"] = payload["variants"][:1]
    payload["title"] = "Example T-Shirt v2"
    deliver("products/update", shop.domain, payload)
    db.session.expire_all()
    assert [v.title for v in _rows(Variant, shop)] == ["Small"]
    deliver(
        "products/delete",
        shop.domain,
        {"id": payload["id"], "admin_graphql_api_id": payload["admin_graphql_api_id"]},
    )
    db.session.expire_all()
    assert _rows(Product, shop)[0].deleted_at is not None
    assert catalog_changes == [(shop.id, [product.id])] * 3


def test_collection_webhooks_keep_collections(
    deliver: Any, db: Any, shop: Any, catalog_changes: list[Any]
) -> None:
    deliver("collections/create", shop.domain, {"id": 841564295, "handle": "ipods", "title": "IPods"})
    deliver("collections/update", shop.domain, {"id": 841564295, "handle": "ipods", "title": "iPods"})
    assert [(c.handle, c.title) for c in _rows(Collection, shop)] == [("ipods", "iPods")]
    deliver("collections/delete", shop.domain, {"id": 841564295})
    db.session.expire_all()
    assert _rows(Collection, shop)[0].deleted_at is not None
    assert len(catalog_changes) == 3


def test_app_uninstalled_stops_serving_the_shop_but_keeps_its_data(
    client: Any, deliver: Any, db: Any, shop: Any
) -> None:
    from shopify_app.core.auth import mint_session_token

    make_product(shop)
    deliver("orders/create", shop.domain, _order(7003))
    assert (
        deliver("app/uninstalled", shop.domain, ShopifyStandin.sample("app/uninstalled")).status_code == 200
    )
    db.session.expire_all()
    stored = db.session.get(Shop, shop.id)
    assert not stored.is_active
    assert stored.access_token_encrypted is None
    assert len(_rows(Product, shop)) == 1
    assert len(_rows(Order, shop)) == 1
    headers = {"Authorization": f"Bearer {mint_session_token(shop.domain)}"}
    assert client.get("/api/platform/catalog-sync", headers=headers).status_code == 403


def test_customers_data_request_exports_what_we_hold(app: Flask, deliver: Any, shop: Any) -> None:
    deliver("orders/create", shop.domain, _order(7004, visitor="v-export"))
    request = ShopifyStandin.sample("customers/data_request")
    request["customer"]["id"] = 115310627314723954
    request["shop_domain"] = shop.domain
    assert deliver("customers/data_request", shop.domain, request).status_code == 200
    export = json.loads(
        (Path(app.instance_path) / "exports" / shop.domain / "data_request_9999.json").read_text()
    )
    assert export["customer"]["email"] == "john@example.com"
    assert [o["shopify_id"] for o in export["orders"]] == [7004]
    assert export["visitors"] == ["v-export"]


def test_customers_redact_erases_the_customer_everywhere(deliver: Any, db: Any, shop: Any) -> None:
    deliver("orders/create", shop.domain, _order(7005, visitor="v-redact"))
    (customer,) = _rows(Customer, shop)
    visitor = make_visitor(shop, customer_id=customer.id)
    make_event(make_session(shop, visitor, customer_id=customer.id), "identify", customer_id=customer.id)
    db.session.commit()
    redact = ShopifyStandin.sample("customers/redact")
    redact.update(
        {"customer": {"id": 115310627314723954}, "orders_to_redact": [7005], "shop_domain": shop.domain}
    )
    assert deliver("customers/redact", shop.domain, redact).status_code == 200
    db.session.expire_all()
    assert _rows(Customer, shop) == []
    assert _rows(VisitorCustomer, shop) == []
    order = _rows(Order, shop)[0]
    assert (order.customer_id, order.visitor_id) == (None, None)
    assert _rows(Visitor, shop) == []  # the customer's devices and what they did go too
    assert _rows(Event, shop) == []
    assert len(_rows(OrderLine, shop)) == 5  # the sale itself stays in the shop's revenue


def test_shop_redact_deletes_the_shop_from_every_table(deliver: Any, db: Any, shop: Any) -> None:
    shop_id = shop.id
    make_product(shop)
    deliver("orders/create", shop.domain, _order(7006, visitor="v-shop"))
    make_event(make_session(shop, make_visitor(shop)), "page_view")
    db.session.commit()
    _store_product_views(shop.id)  # the writer's rollup tables, which have no keys to cascade
    rollups = ["daily_product_metrics", "monthly_product_metrics", "daily_product_viewers",
               "viewed_products", "product_activity", "daily_product_reach", "visitor_timelines"]  # fmt: skip
    assert all(_count(table, shop_id) for table in rollups)
    deliver("app/uninstalled", shop.domain, {})
    assert deliver("shop/redact", shop.domain, {"shop_domain": shop.domain}).status_code == 200
    db.session.expire_all()
    assert db.session.get(Shop, shop_id) is None
    present = set(inspect(db.engine).get_table_names())
    assert {"orders", "order_lines", "products", "visitors", "customers", "events"} <= present
    for table in database.metadata.sorted_tables:
        if "shop_id" in table.columns and table.name in present:
            assert _count(table.name, shop_id) == 0, table.name


def _store_product_views(shop_id: int) -> None:
    now = int(time.time() * 1000)
    views = [
        {"id": str(uuid.uuid4()), "type": "product_view", "ts": now + n, "client_ts": now + n,
         "visitor_id": "v-rollups", "product_id": 100 + n}
        for n in range(3)
    ]  # fmt: skip
    store_batches([{"shop_id": shop_id, "received_at": now, "events": views}])


def _count(table_name: str, shop_id: int) -> int:
    table = database.metadata.tables[table_name]
    return int(
        database.session.execute(
            select(func.count()).select_from(table).where(table.c.shop_id == shop_id)
        ).scalar_one()
    )
