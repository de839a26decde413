"""Identity only from what Shopify signs: a forged login links nothing and reads nothing.

Shoppers' events go through the collector (`POST /events/`) and the writer in process; the
widgets are asked as a storefront script would (the shop's `Origin`, or `Sec-Fetch-Site`) and
through the app proxy, with queries signed the way Shopify signs them (spelled out here, not
taken from the code under test).
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from analytics.identity_tokens import TOKEN_SECONDS, issue_identity_token
from analytics.models import Event, Visitor, VisitorCustomer
from analytics.reports import Period, user_count
from analytics.segments.rules import select_customers
from shopify_app.core.extensions import db
from shopify_app.core.models import Customer
from shopify_app.core.types import utcnow
from tests.pipeline.test_counts import BROWSER
from tests.recommend.conftest import Store
from tests.support.app_proxy import shopify_signed

VICTIM = 5001
ATTACKER = 6001
VICTIMS_OWN = {"cap", "scarf", "boots"}  # products only the victim looked at
WIDGETS = {
    "crowd_favorites": {"limit": 3},
    "featured_collection": {"limit": 1},
    "pick_up_where_you_left_off": {},
    "also_viewed": {"limit": 2},
    "also_bought": {"limit": 2},
}


def send(store: Store, visitor: str, *events: dict[str, Any]) -> None:
    """Events of one visitor through the collector, as the tracker sends them."""
    now = int(time.time() * 1000)
    batch = [{"id": str(uuid.uuid4()), "ts": now - 1000 + i, "visitor_id": visitor,
              "url": f"https://{store.shop.domain}/", **event} for i, event in enumerate(events)]  # fmt: skip
    answer = store.client.post(
        "/events/",
        json={"shop": store.shop.domain, "sent_at": now, "events": batch},
        headers={"User-Agent": BROWSER},
    )
    assert answer.status_code == 202, answer.get_json()


def identify(store: Store, visitor: str, customer: int, token: str | None = None) -> None:
    send(store, visitor, {"type": "identify", "customer_id": customer, "identity_token": token})


def linked(visitor: str) -> int | None:
    """The Shopify id of the customer the visitor is linked to, if any."""
    return db.session.execute(
        select(Customer.shopify_id)
        .join(VisitorCustomer, VisitorCustomer.customer_id == Customer.id)
        .join(Visitor, Visitor.id == VisitorCustomer.visitor_id)
        .where(Visitor.visitor_key == visitor)
    ).scalar_one_or_none()


@pytest.fixture
def victim(store: Store) -> tuple[str, str]:
    """Other shoppers make shirt, shorts and socks popular; the victim looks at cap and scarf and
    carts boots on a phone, views the shirt on a laptop, and signs in on both (valid tokens)."""
    for _ in range(6):
        store.browse("shirt", "shorts", "socks", carted=("shirt",), bought=("shirt", "socks"))
    phone = store.browse("cap", "scarf", carted=("boots",), minutes_ago=30)
    laptop = store.browse("shirt", minutes_ago=20)
    for device in (phone, laptop):
        identify(store, device, VICTIM, issue_identity_token(store.shop.domain, device, VICTIM)[0])
    assert (linked(phone), linked(laptop)) == (VICTIM, VICTIM)
    return phone, laptop


def _params(store: Store, widget: str) -> dict[str, str]:
    params = {k: str(v) for k, v in WIDGETS[widget].items()}
    if widget.startswith("also_"):
        params["product_id"] = store.id("shirt")
    if widget == "featured_collection":
        params["collection_id"] = str(store.collection.shopify_id)
    return params


def _handles(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.get_json()
    return [card["handle"] for card in answer.get_json()["products"]]


def _as_storefront(store: Store, widget: str, visitor: str, headers: dict[str, str]) -> list[str]:
    query = {"shop": store.shop.domain, "visitor_id": visitor, **_params(store, widget)}
    return _handles(store.client.get(f"/api/{widget}/", query_string=query, headers=headers))


def _through_proxy(app: Flask, store: Store, widget: str, customer: int | None, **params: str) -> list[str]:
    query = shopify_signed(app.config["SHOPIFY_API_SECRET"], store.shop.domain, customer,
                           **_params(store, widget), **params)  # fmt: skip
    return _handles(store.client.get(f"/proxy/api/{widget}/", query_string=query))


def _identified_users(store: Store) -> int:
    today = utcnow().date()
    return int(user_count(store.shop.id, Period(today - timedelta(days=7), today))["identified_users"])


def _picture(store: Store) -> tuple[int, int, int, set[int]]:
    """What a forged login must not change: customers, links, identified users, segment members."""
    links = db.session.execute(
        select(func.count()).select_from(VisitorCustomer).where(VisitorCustomer.shop_id == store.shop.id)
    ).scalar()
    members = select_customers(store.shop.id, {"type": "viewed_without_buying", "days": 30}, utcnow())
    return _customers(store), int(links or 0), _identified_users(store), members


def _customers(store: Store) -> int:
    found = db.session.execute(
        select(func.count()).select_from(Customer).where(Customer.shop_id == store.shop.id)
    )
    return int(found.scalar() or 0)


def test_a_forged_identify_links_nothing_and_shows_none_of_the_victims_products(
    store: Store, victim: tuple[str, str]
) -> None:
    phone, _ = victim
    before = _picture(store)
    assert before[2] == 1, "the victim is an identified user"
    assert before[3], "and a segment member"

    attacker, bystander = "v-attacker", "v-bystander"
    send(store, attacker, {"type": "page_view"})
    identify(store, attacker, VICTIM)
    identify(store, attacker, 777_777)  # a customer nobody has seen: must not be created either
    send(store, attacker, {"type": "page_view", "customer_id": VICTIM})
    send(store, bystander, {"type": "page_view"})

    assert _picture(store) == before, "no customer, link, identified user or segment member appeared"
    assert linked(attacker) is None
    claims = db.session.execute(
        select(Event.customer_id, Event.props).join(Visitor, Visitor.id == Event.visitor_id)
        .where(Visitor.visitor_key == attacker, Event.type == "identify")
    ).all()  # fmt: skip
    assert sorted(props["claimed_customer_id"] for _, props in claims) == [VICTIM, 777_777]
    assert {customer for customer, _ in claims} == {None}, "stored as a claim, not as the customer"

    forged_headers = ({"Origin": f"https://{store.shop.domain}"}, {"Sec-Fetch-Site": "same-origin"})
    for widget in WIDGETS:
        for headers in forged_headers:
            shown = _as_storefront(store, widget, attacker, headers)
            assert not VICTIMS_OWN & set(shown), (widget, headers, shown)
            assert shown == _as_storefront(store, widget, bystander, headers), (widget, "as any new visitor")
    assert _as_storefront(store, "pick_up_where_you_left_off", attacker, forged_headers[0]) == []
    # The control: the same question, asked for the victim's own device, shows their products.
    assert set(_as_storefront(store, "pick_up_where_you_left_off", phone, forged_headers[0])) == VICTIMS_OWN


def test_history_across_devices_only_for_the_customer_the_app_proxy_signs(
    app: Flask, store: Store, victim: tuple[str, str]
) -> None:
    _, laptop = victim
    origin = {"Origin": f"https://{store.shop.domain}"}
    pick_up = "pick_up_where_you_left_off"
    assert _as_storefront(store, pick_up, laptop, origin) == ["shirt"], (
        "an Origin header (anyone can send it) gets only the visitor's own history"
    )

    signed_in = _through_proxy(app, store, pick_up, VICTIM, visitor_id=laptop)
    assert set(signed_in) >= VICTIMS_OWN, "the signed-in customer sees the phone's products on the laptop"

    assert _through_proxy(app, store, pick_up, ATTACKER, visitor_id="v-attacker") == []
    assert _through_proxy(app, store, pick_up, None, visitor_id="v-attacker") == []
    # The attacker's storefront URL names the victim; Shopify adds (and signs) its own, empty, value.
    smuggled = shopify_signed(app.config["SHOPIFY_API_SECRET"], store.shop.domain, None,
                              logged_in_customer_id=str(VICTIM), visitor_id="v-attacker")  # fmt: skip
    refused = store.client.get(f"/proxy/api/{pick_up}/", query_string=smuggled)
    assert (refused.status_code, refused.get_json()["field"]) == (401, "logged_in_customer_id")


def test_only_a_valid_token_for_this_shop_and_visitor_links(app: Flask, store: Store) -> None:
    domain, now = store.shop.domain, time.time()
    forged = {
        "v-expired": issue_identity_token(domain, "v-expired", VICTIM, now=now - TOKEN_SECONDS - 5)[0],
        "v-other-shop": issue_identity_token("other.myshopify.com", "v-other-shop", VICTIM)[0],
        "v-other-visitor": issue_identity_token(domain, "v-someone-else", VICTIM)[0],
        "v-tampered-customer": issue_identity_token(domain, "v-tampered-customer", ATTACKER)[0].replace(
            str(ATTACKER), str(VICTIM), 1
        ),
        "v-tampered-signature": issue_identity_token(domain, "v-tampered-signature", VICTIM)[0][:-2] + "AA",
        "v-longer-expiry": _extended(issue_identity_token(domain, "v-longer-expiry", VICTIM)[0]),
        "v-garbage": "not-a-token",
    }
    for visitor, token in forged.items():
        identify(store, visitor, VICTIM, token)
        assert linked(visitor) is None, visitor
    mismatched = issue_identity_token(domain, "v-mismatch", ATTACKER)[0]
    identify(store, "v-mismatch", VICTIM, mismatched)
    assert linked("v-mismatch") is None, "the event claims another customer than the token vouches for"
    assert _customers(store) == 0

    identify(store, "v-valid", VICTIM, issue_identity_token(domain, "v-valid", VICTIM)[0])
    assert linked("v-valid") == VICTIM


def _extended(token: str) -> str:
    customer, expires, signature = token.split(".")
    return f"{customer}.{int(expires) + 86_400}.{signature}"


def test_the_handshake_gives_a_token_only_to_the_customer_shopify_signs_in(app: Flask, store: Store) -> None:
    secret = app.config["SHOPIFY_API_SECRET"]
    query = shopify_signed(secret, store.shop.domain, VICTIM, visitor_id="v-handshake")
    answer = store.client.get("/proxy/identity", query_string=query)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["customer_id"] == str(VICTIM)
    assert answer.headers["Cache-Control"] == "no-store"
    identify(store, "v-handshake", VICTIM, body["token"])
    assert linked("v-handshake") == VICTIM

    anonymous = store.client.get(
        "/proxy/identity", query_string=shopify_signed(secret, store.shop.domain, None, visitor_id="v-anon")
    ).get_json()
    assert anonymous == {"customer_id": None, "token": None, "expires_at": None}
    tampered = [(k, str(ATTACKER) if k == "logged_in_customer_id" else v) for k, v in query]
    assert store.client.get("/proxy/identity", query_string=tampered).status_code == 401
    unsigned = store.client.get(
        "/proxy/identity",
        query_string={"shop": store.shop.domain, "visitor_id": "v-x", "logged_in_customer_id": str(VICTIM)},
        headers={"Origin": f"https://{store.shop.domain}"},
    )
    assert unsigned.status_code == 401
