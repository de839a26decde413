"""Hostile input at the collector's door: each a 400 naming the field, with good traffic around it landing.

Embedded mode (the in-process writer on the suite's backend, MariaDB or SQLite): a batch the
collector accepts is stored before the answer, so each test can count what landed. A batch with
one bad event is refused whole (the collector's contract since the start), naming the event's index.
"""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from analytics.ingest.validation import MAX_ITEMS, MAX_PROPS_DEPTH
from analytics.models import DailyShopMetric, Event
from shopify_app.core.extensions import db
from tests.pipeline.test_counts import BROWSER
from tests.support.factories import make_shop

pytestmark = pytest.mark.committed

BIG = 2**63  # one past the largest id a signed BIGINT column holds


def _event(**fields: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": "page_view", "ts": int(time.time() * 1000),
            "visitor_id": f"v-{uuid.uuid4()}", "url": "https://shop.example/", **fields}  # fmt: skip


def _purchase(**props: Any) -> dict[str, Any]:
    return _event(type="purchase", props=props)


def _nested(depth: int) -> dict[str, Any]:
    props: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        props = {"n": props}
    return props


def _send(client: FlaskClient, domain: str, events: list[Any], path: str = "/events/") -> Any:
    # Sent as raw JSON text: the hostile values must reach the collector exactly as written.
    body = json.dumps({"shop": domain, "sent_at": int(time.time() * 1000), "events": events})
    return client.post(path, data=body, headers={"Content-Type": "text/plain", "User-Agent": BROWSER})


def _shops(count: int) -> list[tuple[int, str]]:
    """(id, domain) of `count` new installed shops, committed for the collector to see."""
    shops = [make_shop() for _ in range(count)]
    db.session.commit()
    return [(shop.id, shop.domain) for shop in shops]


def _stored(shop_id: int) -> int:
    db.session.remove()
    query = select(func.count()).select_from(Event).where(Event.shop_id == shop_id)
    return int(db.session.execute(query).scalar() or 0)


HOSTILE = [
    # numbers that are not finite, as strings (JSON itself has no NaN or Infinity)
    (_purchase(value="NaN"), "events[1].props.value"),
    (_purchase(value="Infinity"), "events[1].props.value"),
    (_purchase(value="-inf"), "events[1].props.value"),
    (_purchase(value="1e400"), "events[1].props.value"),
    (_purchase(items=[{"product_id": "1", "quantity": 1, "price": "NaN"}]), "events[1].props.items[0].price"),
    (_event(type="product_view", props={"price": "NaN"}), "events[1].props.price"),
    # money and quantities beyond their documented bounds
    (_purchase(value=10**12), "events[1].props.value"),
    (_purchase(value="9999999999.99"), "events[1].props.value"),
    (_purchase(value=1_000_000_000.01), "events[1].props.value"),
    (_purchase(value=-5), "events[1].props.value"),
    (_purchase(value="19.9999"), "events[1].props.value"),
    (_purchase(items=[{"product_id": "1", "price": "1000000000.01"}]), "events[1].props.items[0].price"),
    (
        _purchase(items=[{"product_id": "1", "price": "100001", "quantity": 10_000}]),
        "events[1].props.items[0].price",
    ),
    (_purchase(items=[{"product_id": "1", "quantity": 0}]), "events[1].props.items[0].quantity"),
    (_purchase(items=[{"product_id": "1", "quantity": 10_001}]), "events[1].props.items[0].quantity"),
    (_purchase(items=[{"product_id": "1"}] * (MAX_ITEMS + 1)), "events[1].props.items"),
    (_purchase(items=["shoe"]), "events[1].props.items[0]"),
    (_event(type="add_to_cart", props={"quantity": 10**9}), "events[1].props.quantity"),
    # props nested past the cap (32: MariaDB's JSON limit; 300: orjson's own)
    (_event(props=_nested(MAX_PROPS_DEPTH + 1)), "events[1].props"),
    (_event(props=_nested(32)), "events[1].props"),
    (_event(props=_nested(300)), "events[1].props"),
    # ids: ASCII digits within the signed 64-bit range
    (_event(product_id="²"), "events[1].product_id"),
    (_event(product_id="١٢٣"), "events[1].product_id"),
    (_event(product_id=BIG), "events[1].product_id"),
    (_event(product_id=str(BIG)), "events[1].product_id"),
    (_event(product_id=-1), "events[1].product_id"),
    (_event(customer_id=BIG), "events[1].customer_id"),
    (_event(customer_id="²"), "events[1].customer_id"),
    (_purchase(items=[{"product_id": "²"}]), "events[1].props.items[0].product_id"),
    (_purchase(items=[{"product_id": BIG}]), "events[1].props.items[0].product_id"),
    # times
    (_event(ts=2**64), "events[1].ts"),
    (_event(ts=-1), "events[1].ts"),
    # visitor keys outside the safe form
    (_event(visitor_id="v-1 "), "events[1].visitor_id"),
    (_event(visitor_id="v-Ä"), "events[1].visitor_id"),
    (_event(visitor_id="v\t1"), "events[1].visitor_id"),
    (_event(visitor_id="v" * 65), "events[1].visitor_id"),
]


@pytest.mark.parametrize(
    ("hostile", "field"), HOSTILE, ids=[field + f"#{i}" for i, (_, field) in enumerate(HOSTILE)]
)
def test_a_hostile_event_is_a_400_naming_it_and_good_batches_around_it_land(
    client: FlaskClient, hostile: dict[str, Any], field: str
) -> None:
    (shop, domain), (other, other_domain) = _shops(2)
    assert _send(client, domain, [_event(), _event()]).status_code == 202
    answer = _send(client, domain, [_event(), hostile])
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert answer.get_json()["error"] == "bad_request"
    assert answer.get_json()["field"] == field
    assert _send(client, other_domain, [_event()]).status_code == 202
    assert (
        _send(client, domain, [_event(), _event(type="purchase", props={"value": "12.50"})]).status_code
        == 202
    )
    assert (_stored(shop), _stored(other)) == (4, 1), "every good event landed, none of the refused batch"


@pytest.mark.parametrize(
    ("path", "event", "field"),
    [
        ("/events/purchase/", {"props": {"value": "NaN"}}, "events[0].props.value"),
        ("/events/purchase/", {"props": {"value": 10**15}}, "events[0].props.value"),
        (
            "/events/purchase/",
            {"props": {"items": [{"product_id": str(BIG)}]}},
            "events[0].props.items[0].product_id",
        ),
        ("/events/add_cart/", {"product_id": "²"}, "events[0].product_id"),
        ("/events/add_cart/", {"product_id": BIG}, "events[0].product_id"),
        ("/events/add_cart/", {"visitor_id": "v 2"}, "events[0].visitor_id"),
    ],
)
def test_the_seeds_single_event_routes_hold_the_same_bounds(
    client: FlaskClient, path: str, event: dict[str, Any], field: str
) -> None:
    [(shop, domain)] = _shops(1)
    untyped = {key: value for key, value in _event().items() if key != "type"}  # the route names it
    answer = _send(client, domain, [{**untyped, **event}], path=path)
    assert (answer.status_code, answer.get_json()["field"]) == (400, field), answer.get_data(as_text=True)
    good = _send(client, domain, [{**untyped, "product_id": "123", "props": {"value": "5.00"}}], path=path)
    assert good.status_code == 202
    assert _stored(shop) == 1


def test_what_the_tracker_and_the_pixel_send_at_the_bounds_is_stored(client: FlaskClient) -> None:
    [(shop, domain)] = _shops(1)
    pixel_purchase = _event(
        type="purchase",
        visitor_id=str(uuid.uuid4()).upper(),  # Shopify's clientId form
        customer_id=str(BIG - 1),
        props={"order_id": "5", "value": 1_000_000_000, "currency": "VND", "source": "web_pixel",
               "items": [{"product_id": str(BIG - 1), "quantity": 10_000, "price": "99999.995"}]},
    )  # fmt: skip
    tracker_cart = _event(
        type="add_to_cart", product_id=BIG - 1, props={"quantity": 2, "page_type": "product"}
    )
    answer = _send(client, domain, [pixel_purchase, tracker_cart])
    assert answer.status_code == 202, answer.get_json()
    assert _stored(shop) == 2
    db.session.remove()
    stored = db.session.execute(select(Event).where(Event.type == "add_to_cart", Event.shop_id == shop))
    assert stored.scalar_one().product_id == BIG - 1, "the largest id is stored exactly, not clamped"
    revenue = db.session.execute(
        select(func.sum(DailyShopMetric.revenue)).where(DailyShopMetric.shop_id == shop)
    ).scalar()
    assert Decimal(revenue) == Decimal(1_000_000_000)
