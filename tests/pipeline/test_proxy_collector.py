"""The tracker sends through Shopify's app proxy: `POST /proxy/events/`, the shop signed in the query."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from analytics.models import Event
from shopify_app.core.extensions import db
from tests.pipeline.test_counts import BROWSER
from tests.support.app_proxy import shopify_signed
from tests.support.factories import make_shop

pytestmark = pytest.mark.committed


def _batch(domain: str, visitor: str = "v-proxy") -> str:
    event = {"id": str(uuid.uuid4()), "type": "page_view", "ts": int(time.time() * 1000),
             "visitor_id": visitor, "url": f"https://{domain}/"}  # fmt: skip
    return json.dumps({"shop": domain, "sent_at": int(time.time() * 1000), "events": [event]})


def _post(client: FlaskClient, body: str, query: list[tuple[str, str]]) -> Any:
    # Shopify forwards the storefront's custom-domain Origin; the signature, not the Origin, vouches.
    headers = {
        "Content-Type": "text/plain",
        "User-Agent": BROWSER,
        "Origin": "https://www.custom-domain.example",
    }
    return client.post("/proxy/events/", query_string=query, data=body, headers=headers)


def _stored(shop_id: int) -> list[Event]:
    db.session.remove()
    return list(db.session.execute(select(Event).where(Event.shop_id == shop_id)).scalars())


def test_a_signed_batch_through_the_app_proxy_is_stored(app: Flask, client: FlaskClient, shop: Any) -> None:
    secret = app.config["SHOPIFY_API_SECRET"]
    shop_id = shop.id
    answer = _post(client, _batch(shop.domain), shopify_signed(secret, shop.domain, None))
    assert answer.status_code == 202, answer.get_data(as_text=True)
    assert [e.type for e in _stored(shop_id)] == ["page_view"]


def test_unsigned_stale_or_another_shops_batches_are_refused(
    app: Flask, client: FlaskClient, shop: Any
) -> None:
    secret = app.config["SHOPIFY_API_SECRET"]
    shop_id, domain = shop.id, shop.domain
    other = make_shop(domain="proxy-other.myshopify.com")
    unsigned = _post(client, _batch(domain), [("shop", domain), ("timestamp", str(int(time.time())))])
    assert (unsigned.status_code, unsigned.get_json()["field"]) == (401, "signature")
    stale = _post(
        client, _batch(domain), shopify_signed(secret, domain, None, timestamp=int(time.time()) - 3600)
    )
    assert stale.status_code == 401
    forged = _post(client, _batch(domain), shopify_signed("not-the-app-secret", domain, None))
    assert forged.status_code == 401
    # signed for another shop: the body cannot name a shop Shopify did not forward for
    borrowed = _post(client, _batch(domain), shopify_signed(secret, other.domain, None))
    assert (borrowed.status_code, borrowed.get_json()["field"]) == (401, "shop")
    assert _stored(shop_id) == []
