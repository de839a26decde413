"""Erasure that erases: after a signed `customers/redact` (or `shop/redact`) goes through the real
route and task, no table, file under the instance folder or log line holds the customer (or the
shop), while other shoppers and other shops keep everything."""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Table, func, inspect, select

from analytics import dead_letters
from analytics.data_requests import purge_expired_data_requests
from analytics.experiments import get_or_create_experiment, record_exposure
from analytics.models import DeadLetter, Event, Visitor, VisitSession
from analytics.privacy import owner_columns, refers_to
from analytics.segment_models import SegmentMember
from analytics.segments.saved import create_segment
from ml import delivery
from recommend.feed import feed_sessions
from recommend.models import RecommendationSession
from shopify_app.core.extensions import db as database
from shopify_app.core.models import Customer
from shopify_app.standin import ShopifyStandin
from tests.pipeline.test_counts import BROWSER
from tests.support.factories import make_shop

pytestmark = pytest.mark.committed  # deliveries are committed before their task runs

CUSTOMER_ID = 115310627314723954  # the customer of Shopify's example order
EMAIL = "erase.me@example.com"


def _order(number: int, visitor: str) -> dict[str, Any]:
    payload = ShopifyStandin.sample("orders/create")
    payload.update({"id": number, "admin_graphql_api_id": f"gid://shopify/Order/{number}"})
    payload["customer"] = {**payload["customer"], "email": EMAIL}
    payload["note_attributes"] = [{"name": "_clickstream_visitor", "value": visitor}]
    return payload


def _event(visitor: str, kind: str = "page_view", **fields: Any) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {"id": str(uuid.uuid4()), "type": kind, "ts": now, "visitor_id": visitor,
            "url": "https://shop.example/pages/about", **fields}  # fmt: skip


def _send(client: FlaskClient, shop: Store, events: list[dict[str, Any]]) -> None:
    payload = {"shop": shop.domain, "sent_at": int(time.time() * 1000), "events": events}
    response = client.post(
        "/events/",
        data=json.dumps(payload),
        headers={"Content-Type": "text/plain", "User-Agent": BROWSER, "Origin": f"https://{shop.domain}"},
    )
    assert response.status_code in (200, 202), response.get_data(as_text=True)


def _browse(client: FlaskClient, shop: Store, visitor: str, *, product: int = 101) -> None:
    """A visit whose links carry the customer's email (a newsletter's tracking link, a form)."""
    _send(
        client,
        shop,
        [
            _event(visitor, url=f"https://shop.example/?email={quote(EMAIL, safe='')}", utm_source="newsletter",
                   utm_campaign=f"welcome-{EMAIL}", referrer=f"https://mail.example/?to={EMAIL}"),
            _event(visitor, url=f"https://shop.example/account?e={EMAIL}"),
            _event(visitor, "product_view", product_id=product, url=f"https://shop.example/products/{product}"),
            _event(visitor, "add_to_cart", product_id=product, url=f"https://shop.example/products/{product}"),
        ],
    )  # fmt: skip


def _tables() -> list[Table]:
    present = set(inspect(database.engine).get_table_names())
    return [table for table in database.metadata.sorted_tables if table.name in present]


def _rows_as_text(*, except_shop: Store | None = None) -> Iterator[tuple[str, str]]:
    """(table, row) for every row of every table (but `except_shop`'s), all columns as text."""
    database.session.remove()
    for table in _tables():
        query = select(table)
        if except_shop is not None and "shop_id" in table.c:
            query = query.where(table.c.shop_id != except_shop.id)
        for row in database.session.execute(query).all():
            yield (
                table.name,
                " ".join(
                    value.decode("latin-1") if isinstance(value, bytes) else str(value) for value in row
                ),
            )


def _files_holding(root: Path, needles: list[str]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and path.stat().st_size < 50_000_000:
            text = path.read_bytes().decode("utf-8", "replace").lower()
            found += [f"{path}: {needle}" for needle in needles if needle.lower() in text]
    return found


def _log_lines_holding(records: list[logging.LogRecord], needles: list[str]) -> list[str]:
    found = []
    for record in records:
        text = " ".join([record.getMessage(), *(str(value) for value in vars(record).values())]).lower()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info).lower()
        found += [
            f"{record.name}: {record.getMessage()[:200]}" for needle in needles if needle.lower() in text
        ]
    return found


def _count(table: Table, **where: Any) -> int:
    query = select(func.count()).select_from(table)
    for name, value in where.items():
        query = query.where(table.c[name] == value)
    return int(database.session.execute(query).scalar_one())


@dataclass(frozen=True)
class Store:
    """A shop's id and domain (its row goes away with shop/redact, and sessions are reset)."""

    id: int
    domain: str


@pytest.fixture
def stores(app: Flask, db: Any) -> tuple[Store, Store]:
    """Two installed shops; exports other tests left in the instance folder are cleared first."""
    shutil.rmtree(Path(app.instance_path) / "exports", ignore_errors=True)
    shop, other = make_shop(), make_shop()
    db.session.commit()
    return Store(shop.id, shop.domain), Store(other.id, other.domain)


def _customer_everywhere(
    app: Flask, client: FlaskClient, deliver: Any, shop: Store, other: Store
) -> tuple[list[str], dict[str, Any]]:
    """A customer seen on two devices (linked by their signed orders), browsing with links that carry
    their email, in a segment, with a widget trail, a waiting notification, an experiment exposure
    and a data-request export; a stranger and another shop browsing alongside."""
    phone, laptop, stranger = (f"v-{name}-{uuid.uuid4().hex[:8]}" for name in ("phone", "laptop", "stranger"))
    assert deliver("orders/create", shop.domain, _order(8001, phone)).status_code == 200
    assert deliver("orders/create", shop.domain, _order(8002, laptop)).status_code == 200
    for visitor in (phone, laptop):
        _browse(client, shop, visitor)
    _send(client, shop, [_event(stranger, url=f"https://shop.example/?shared-by={EMAIL}", props={"q": EMAIL}),
                         _event(stranger, "product_view", product_id=101,
                                url="https://shop.example/products/101")])  # fmt: skip
    _browse(client, other, phone)  # the same browser key in another shop is another shop's visitor
    forger = f"v-forger-{uuid.uuid4().hex[:8]}"  # claims to be the customer: a claim, kept in props
    _send(client, shop, [_event(forger, "identify", customer_id=CUSTOMER_ID)])

    customer = database.session.execute(
        select(Customer).where(Customer.shop_id == shop.id, Customer.shopify_id == CUSTOMER_ID)
    ).scalar_one()
    visitors = {
        v.visitor_key: v for v in database.session.scalars(select(Visitor).where(Visitor.shop_id == shop.id))
    }
    assert visitors[phone].customer_id == visitors[laptop].customer_id == customer.id
    sessions = list(database.session.scalars(select(VisitSession.id).where(VisitSession.shop_id == shop.id)))
    feed_sessions(shop.id, sessions)  # the widget trails
    feed_sessions(
        other.id,
        list(database.session.scalars(select(VisitSession.id).where(VisitSession.shop_id == other.id))),
    )
    experiment = get_or_create_experiment(shop.id, "widgets")
    for key in (phone, laptop, stranger):
        record_exposure(experiment, visitors[key])
    segment = create_segment(shop.id, "Carted, not bought", {"type": "cart_abandoners", "days": 30})
    database.session.commit()
    assert _count(SegmentMember.__table__, customer_id=customer.id) == 1
    assert _count(RecommendationSession.__table__, shop_id=shop.id) == 3
    delivery.hold(shop.id, phone, {"notification": "cart_reminder"})
    dead_letters.write(  # batches the writer set aside: one of the customer's phone, one of the stranger's
        [
            dead_letters.Letter(
                {
                    "shop_domain": shop.domain,
                    "shop_id": shop.id,
                    "events": [_event(key, url=f"https://shop.example/?v={key}")],
                },
                "DataError 1406 Data too long for column",
                "1406",
                stream_id=f"1-{number}",
            )
            for number, key in enumerate((phone, stranger))
        ]
    )

    request = {**ShopifyStandin.sample("customers/data_request"), "shop_domain": shop.domain}
    request["customer"] = {"id": CUSTOMER_ID, "email": EMAIL}
    assert deliver("customers/data_request", shop.domain, request).status_code == 200
    (export,) = (Path(app.instance_path) / "exports" / shop.domain).glob("*.json")
    assert EMAIL in export.read_text()
    return [phone, laptop], {"stranger": stranger, "customer": customer.id, "segment": segment.id,
                             "export": export, "visitors": {k: v.id for k, v in visitors.items()}, "forger": forger}  # fmt: skip


def test_customers_redact_leaves_no_row_file_or_log_line_holding_the_customer(
    app: Flask,
    client: FlaskClient,
    deliver: Any,
    stores: tuple[Store, Store],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    shop, other = stores
    keys, made = _customer_everywhere(app, client, deliver, shop, other)
    other_rows = {table.name: _count(table, shop_id=other.id) for table in _tables() if "shop_id" in table.c}
    stranger_id = made["visitors"][made["stranger"]]
    needles = [EMAIL, quote(EMAIL, safe=""), str(CUSTOMER_ID), *keys]
    assert any(needle in row for _, row in _rows_as_text() for needle in needles)  # the scan sees them

    redact = {
        **ShopifyStandin.sample("customers/redact"),
        "shop_domain": shop.domain,
        "orders_to_redact": [8001],
    }
    redact["customer"] = {"id": CUSTOMER_ID, "email": EMAIL, "phone": "555-625-1199"}
    assert deliver("customers/redact", shop.domain, redact).status_code == 200

    # (the other shop's visitor with the same browser key is that shop's, not this customer's)
    left = [(name, row[:160]) for name, row in _rows_as_text(except_shop=other)
            if any(needle.lower() in row.lower() for needle in needles)]  # fmt: skip
    assert left == []
    erased = {"customers": {made["customer"]}, "visitors": {made["visitors"][key] for key in keys}}
    for table in _tables():
        for column, owner in owner_columns(table):
            if owner in erased:
                named = _count_in(table, column, erased[owner])
                assert named == 0, (table.name, column.name)
        if table.name == "visitors":
            assert _count_in(table, table.c.id, erased["visitors"]) == 0
    assert _files_holding(Path(app.instance_path), needles[:3] + keys) == []
    assert not made["export"].exists()
    assert delivery.take(shop.id, keys[0]) is None
    assert _log_lines_holding(caplog.records, needles) == []

    # the stranger keeps their visit (the link they shared loses its text), the other shop everything
    stranger_events = list(database.session.scalars(select(Event).where(Event.visitor_id == stranger_id)))
    assert len(stranger_events) == 2
    assert sorted((str(event.url), str(event.props)) for event in stranger_events) == [
        ("None", "None"),  # the shared link and the search that held the email lose them
        ("https://shop.example/products/101", "None"),
    ]
    assert _count(VisitSession.__table__, visitor_id=stranger_id) == 1
    forged = database.session.scalars(
        select(Event.props).where(Event.visitor_id == made["visitors"][made["forger"]])
    )
    assert list(forged) == [None]  # the forger's login stays, without the customer's id it claimed
    kept_letters = database.session.scalars(select(DeadLetter.stream_id).where(DeadLetter.shop_id == shop.id))
    assert list(kept_letters) == ["1-1"]  # the customer's dead letter is gone
    assert _count(RecommendationSession.__table__, shop_id=shop.id) == 1
    assert {
        table.name: _count(table, shop_id=other.id) for table in _tables() if "shop_id" in table.c
    } == other_rows
    # the sale stays in the shop's revenue, detached from the customer
    orders = database.session.execute(select(func.count()).select_from(database.metadata.tables["orders"])
                                      .where(database.metadata.tables["orders"].c.shop_id == shop.id))  # fmt: skip
    assert orders.scalar_one() == 2


def _count_in(table: Table, column: Any, ids: set[int]) -> int:
    return int(
        database.session.execute(
            select(func.count()).select_from(table).where(column.in_(sorted(ids)))
        ).scalar_one()
    )


def test_shop_redact_leaves_no_row_or_file_of_the_shop_and_the_other_shop_untouched(
    app: Flask,
    client: FlaskClient,
    deliver: Any,
    stores: tuple[Store, Store],
    caplog: pytest.LogCaptureFixture,
) -> None:
    shop, other = stores
    _customer_everywhere(app, client, deliver, shop, other)
    models = Path(app.config["MODEL_DIR"]) / f"shop-{shop.id}" / "v1"
    models.mkdir(parents=True, exist_ok=True)
    (models / "weights.json").write_text("{}")
    other_rows = {table.name: _count(table, shop_id=other.id) for table in _tables() if "shop_id" in table.c}
    shop_id, domain = shop.id, shop.domain
    assert deliver("app/uninstalled", domain, {"myshopify_domain": domain}).status_code == 200
    assert deliver("shop/redact", domain, {"shop_id": 954889, "shop_domain": domain}).status_code == 200

    for table in _tables():
        if "shop_id" in table.c:
            assert _count(table, shop_id=shop_id) == 0, table.name
    assert [(name, row[:120]) for name, row in _rows_as_text() if domain in row] == []
    assert _files_holding(Path(app.instance_path), [domain, EMAIL]) == []
    assert not models.exists()
    assert {
        table.name: _count(table, shop_id=other.id) for table in _tables() if "shop_id" in table.c
    } == other_rows
    # a redelivery finds no shop: ignored, nothing recreated
    again = deliver("shop/redact", domain, {"shop_id": 954889, "shop_domain": domain})
    assert again.get_json() == {"status": "ignored"}
    assert [(name, row[:120]) for name, row in _rows_as_text() if domain in row] == []


def test_every_table_is_reached_by_shop_and_customer_erasure(app: Flask) -> None:
    """A table added later cannot be forgotten: it has a `shop_id` (shop/redact empties it), and
    every column naming a customer, visitor or session says so (customers/redact follows it)."""
    # Kept by shop domain, emptied by shop/redact itself.
    without_shop = {"shops", "webhook_deliveries"}
    owners = {"customer_id": "customers", "visitor_id": "visitors", "session_id": "sessions"}
    for table in database.metadata.sorted_tables:
        assert "shop_id" in table.c or table.name in without_shop, f"{table.name} has no shop_id"
        for column in table.columns:
            if column.name in owners:
                assert refers_to(column, owners[column.name]), (
                    f"{table.name}.{column.name}: add a foreign key or info={{REFERENCES: {owners[column.name]!r}}}"
                )
            if column.name in ("visitor_key", "email"):
                assert table.name in ("visitors", "customers", "shops"), f"{table.name}.{column.name}"


def test_a_data_request_export_is_private_and_deleted_after_the_retention_days(
    app: Flask, deliver: Any, stores: tuple[Store, Store]
) -> None:
    shop, _ = stores
    request = {**ShopifyStandin.sample("customers/data_request"), "shop_domain": shop.domain}
    request["customer"] = {"id": 4242}
    request["data_request"] = {"id": 777}
    assert deliver("customers/data_request", shop.domain, request).status_code == 200
    path = Path(app.instance_path) / "exports" / shop.domain / "data_request_777.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text())["shopify_customer_id"] == 4242

    days = app.config["DATA_REQUEST_RETENTION_DAYS"]
    assert days == 7
    assert purge_expired_data_requests(days) == 0
    assert path.exists()
    old = time.time() - timedelta(days=days, minutes=1).total_seconds()
    os.utime(path, (old, old))
    from analytics.tasks import purge_expired_data_requests_task

    assert purge_expired_data_requests_task.delay().get() == 1
    assert not path.exists()
    assert "analytics-purge-data-requests" in app.extensions["celery"].conf.beat_schedule


def test_redacting_a_customer_we_never_knew_still_clears_links_carrying_their_email(
    client: FlaskClient, deliver: Any, stores: tuple[Store, Store]
) -> None:
    shop, _ = stores
    _send(client, shop, [_event("v-anon", url=f"https://shop.example/?email={EMAIL}")])
    redact = {"shop_domain": shop.domain, "customer": {"id": 31337, "email": EMAIL}, "orders_to_redact": []}
    assert deliver("customers/redact", shop.domain, redact).status_code == 200
    assert [row for _, row in _rows_as_text() if EMAIL in row] == []
    assert _count(Event.__table__, shop_id=shop.id) == 1


def test_the_merchant_downloads_an_answer_once_and_it_is_gone(
    app: Flask, client: FlaskClient, deliver: Any, stores: tuple[Store, Store]
) -> None:
    from shopify_app.core.auth import mint_session_token

    shop, other = stores
    request = {"shop_domain": shop.domain, "customer": {"id": 4243}, "data_request": {"id": 778}}
    assert deliver("customers/data_request", shop.domain, request).status_code == 200
    mine = {"Authorization": f"Bearer {mint_session_token(shop.domain)}"}
    theirs = {"Authorization": f"Bearer {mint_session_token(other.domain)}"}
    listed = client.get("/admin/api/data-requests", headers=mine).get_json()
    assert [(item["id"], item["shopify_customer_id"]) for item in listed["data_requests"]] == [("778", 4243)]
    assert client.get("/admin/api/data-requests", headers=theirs).get_json()["data_requests"] == []
    assert client.get("/admin/api/data-requests/778", headers=theirs).status_code == 404  # another shop's
    assert client.get("/admin/api/data-requests/..%2F..%2Fsecret", headers=mine).status_code == 404
    downloaded = client.get("/admin/api/data-requests/778", headers=mine)
    assert downloaded.status_code == 200
    assert downloaded.get_json()["shopify_customer_id"] == 4243
    assert "attachment" in downloaded.headers["Content-Disposition"]
    assert client.get("/admin/api/data-requests/778", headers=mine).status_code == 404  # delivered: deleted
    assert list((Path(app.instance_path) / "exports" / shop.domain).glob("*.json")) == []


def test_redact_clears_the_kept_bodies_of_failed_deliveries_naming_the_customer_only(
    deliver: Any, stores: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    from webhooks.handlers import HANDLERS
    from webhooks.models import WebhookDelivery

    shop, _ = stores

    def down(_shop: Any, _payload: Any) -> None:
        raise RuntimeError("database hiccup")

    monkeypatch.setitem(HANDLERS, "orders/create", down)
    theirs = _order(8101, "v-other")
    theirs["customer"] = {"id": 5550001, "email": "someone.else@example.com"}
    assert deliver("orders/create", shop.domain, _order(8100, "v-x"), webhook_id="wh-mine").status_code == 500
    assert deliver("orders/create", shop.domain, theirs, webhook_id="wh-theirs").status_code == 500
    monkeypatch.undo()
    redact = {
        "shop_domain": shop.domain,
        "customer": {"id": CUSTOMER_ID, "email": EMAIL},
        "orders_to_redact": [8100],
    }
    assert deliver("customers/redact", shop.domain, redact).status_code == 200
    database.session.remove()
    kept = dict(database.session.execute(select(WebhookDelivery.webhook_id, WebhookDelivery.payload)).all())
    assert kept["wh-mine"] is None
    assert kept["wh-theirs"]["customer"]["email"] == "someone.else@example.com"
