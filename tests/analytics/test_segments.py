"""Segments: the builder's rules pick the right customers, saved segments keep their size over
time, export as CSV and put (and take off) a customer tag in Shopify (the local stand-in)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient

from shopify_app.core.auth import mint_session_token
from shopify_app.core.extensions import db
from shopify_app.core.models import Customer
from shopify_app.core.types import utcnow
from shopify_app.standin import ShopifyStandin
from tests.platform.conftest import install
from tests.support.factories import make_event, make_session, make_visitor


def customer(shop: Any, number: int, email: str) -> Customer:
    person = Customer(shop_id=shop.id, shopify_id=900 + number, email=email, first_name=f"C{number}")
    db.session.add(person)
    db.session.flush()
    return person


def visit(shop: Any, person: Customer, days_ago: int, **counts: int) -> Any:
    visitor = make_visitor(shop, customer_id=person.id)
    started = utcnow() - timedelta(days=days_ago)
    session = make_session(shop, visitor, started, customer_id=person.id, **counts)
    for kind in ("product_view", "add_to_cart", "purchase"):
        key = {"product_view": "product_views", "add_to_cart": "carts", "purchase": "purchases"}[kind]
        for _ in range(counts.get(key, 0)):
            make_event(session, kind, product_id=42, customer_id=person.id)
    return session


class Api:
    def __init__(self, client: FlaskClient, domain: str) -> None:
        self.client, self.headers = client, {"Authorization": f"Bearer {mint_session_token(domain)}"}

    def __call__(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.client.open(path, method=method, headers=self.headers, **kwargs)
        assert response.status_code == status, response.get_data(as_text=True)
        return response


def test_segments_from_builder_to_shopify_tags(client: FlaskClient, standin: ShopifyStandin) -> None:
    domain = "segments-shop.myshopify.com"
    standin.shop(domain)
    shop = install(domain)
    abandoner = customer(shop, 1, "=HYPERLINK(evil)")
    buyer = customer(shop, 2, "buyer@example.com")
    browser = customer(shop, 3, "browser@example.com")
    visit(shop, abandoner, 2, product_views=2, carts=1)
    visit(shop, buyer, 3, product_views=1, carts=1, purchases=1, revenue=30)
    visit(shop, browser, 1, product_views=3)
    visit(shop, browser, 60, product_views=1, carts=1)  # an old cart, outside the window
    api = Api(client, domain)

    preview = api("POST", "/segments/preview", json={"rule": {"type": "viewed_without_buying", "days": 30}})
    assert preview.get_json()["size"] == 2  # the abandoner and the browser, not the buyer
    one_product = {"type": "viewed_without_buying", "days": 30, "product_id": 42}
    assert api("POST", "/segments/preview", json={"rule": one_product}).get_json()["size"] == 2
    bad = api("POST", "/segments/", 400, json={"name": "x", "rule": {"type": "cart_abandoners", "days": 0}})
    assert bad.get_json()["field"] == "rule.days"

    created = api(
        "POST",
        "/segments/",
        201,
        json={
            "name": "Abandoners",
            "rule": {"type": "cart_abandoners", "days": 30},
            "customer_tag": "cs-abandoner",
        },
    ).get_json()
    assert created["size"] == 1
    api("POST", "/segments/", 409, json={"name": "Abandoners", "rule": {"type": "cart_abandoners"}})

    exported = api("GET", f"/segments/{created['id']}/export.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [row["shopify_customer_id"] for row in rows] == [str(abandoner.shopify_id)]
    assert rows[0]["email"] == "'=HYPERLINK(evil)", "a formula is neutralised for spreadsheets"
    abandoner.first_name, abandoner.last_name = "\t=1+2", "\r@SUM(A1)"  # hidden behind a tab or a return
    db.session.flush()
    exported = api("GET", f"/segments/{created['id']}/export.csv").get_data(as_text=True)
    (row,) = csv.DictReader(io.StringIO(exported))
    assert (row["first_name"], row["last_name"]) == ("'\t=1+2", "'\r@SUM(A1)")

    assert api("POST", f"/segments/{created['id']}/sync").get_json() == {"added": 1, "removed": 0}
    gid = f"gid://shopify/Customer/{abandoner.shopify_id}"
    assert standin.shop(domain).customer_tags[gid] == ["cs-abandoner"]

    visit(shop, abandoner, 0, purchases=1, revenue=12)  # the abandoner comes back and buys
    assert api("POST", f"/segments/{created['id']}/refresh").get_json()["size"] == 0
    assert api("POST", f"/segments/{created['id']}/sync").get_json() == {"added": 0, "removed": 1}
    assert standin.shop(domain).customer_tags[gid] == []
    shown = api("GET", f"/segments/{created['id']}").get_json()
    assert [point["size"] for point in shown["sizes"]] == [1, 0]

    users = api("GET", "/segments/identified-users-list").get_json()
    by_email = {user["email"]: user for user in users["users"]}
    assert users["total"] == 3
    assert by_email["buyer@example.com"]["orders"] == 1
    assert by_email["buyer@example.com"]["revenue"] == 30
    assert by_email["browser@example.com"]["sessions"] == 2
    assert by_email["browser@example.com"]["views"] == 4
    sessions = api("GET", "/segments/identified-users-sessions", query_string={"customer_id": browser.id})
    events = [event["type"] for s in sessions.get_json()["sessions"] for event in s["events"]]
    assert sorted(events) == ["add_to_cart", "product_view", "product_view", "product_view", "product_view"]

    api("DELETE", f"/segments/{created['id']}", 204)
    assert api("GET", "/segments/").get_json() == {"segments": []}


def test_rfm_groups_split_buyers_by_recency_and_frequency(client: FlaskClient, shop: Any) -> None:
    champion, lapsed, fresh = (customer(shop, n, f"c{n}@example.com") for n in (11, 12, 13))
    for days in (1, 5, 9):
        visit(shop, champion, days, purchases=1, revenue=10)
    for days in (120, 130):
        visit(shop, lapsed, days, purchases=1, revenue=10)
    visit(shop, fresh, 2, purchases=1, revenue=10)
    api = Api(client, shop.domain)

    def size(group: str) -> int:
        return int(
            api("POST", "/segments/preview", json={"rule": {"type": "rfm", "group": group}}).get_json()[
                "size"
            ]
        )

    assert (size("champions"), size("at_risk"), size("new_buyers"), size("loyal")) == (1, 1, 1, 0)
