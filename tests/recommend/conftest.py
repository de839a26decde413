"""Fixtures for recommendation tests: a small shop whose shoppers' sessions went through the collector."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from shopify_app.core.models import Collection, CollectionProduct, Product, Shop
from tests.pipeline.test_counts import BROWSER
from tests.support.factories import make_product, make_shop

_visitors = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_process_state(app: Flask) -> Iterator[None]:
    """Each test starts with no cached catalog or model in this process (ids repeat across rollbacks)."""
    from recommend import catalog, live

    app.config["RECOMMENDATIONS_REFRESH_SECONDS"] = 0
    catalog.forget()
    live.forget()
    yield
    catalog.forget()
    live.forget()


@dataclass
class Store:
    """A shop with named products (`p["shirt"]` is the Product row) and a collection."""

    shop: Shop
    p: dict[str, Product]
    collection: Collection
    client: Any

    def id(self, name: str) -> str:
        return str(self.p[name].shopify_id)

    def browse(self, *names: str, visitor: str | None = None, bought: tuple[str, ...] = (),
               carted: tuple[str, ...] = (), minutes_ago: float = 60) -> str:  # fmt: skip
        """One session through POST /events/: views of `names`, then carts and a purchase."""
        visitor = visitor or f"v-test-{next(_visitors)}"
        start = int(time.time() * 1000 - minutes_ago * 60_000)
        events: list[dict[str, Any]] = []

        def add(kind: str, product: str | None, **props: Any) -> None:
            events.append({"id": str(uuid.uuid4()), "type": kind, "ts": start + len(events) * 1000,
                           "visitor_id": visitor, "product_id": self.id(product) if product else None,
                           "url": f"https://{self.shop.domain}/", "props": props})  # fmt: skip

        for name in names:
            add("product_view", name)
        for name in carted:
            add("add_to_cart", name)
        if bought:
            items = [{"product_id": self.id(n), "quantity": 1, "price": "10.00"} for n in bought]
            add("purchase", None, order_id=str(uuid.uuid4()), value="10.00", currency="USD", items=items)
        answer = self.client.post(
            "/events/",
            json={"shop": self.shop.domain, "sent_at": start + len(events) * 1000, "events": events},
            headers={"User-Agent": BROWSER},
        )
        assert answer.status_code == 202, answer.get_json()
        return visitor

    def impression(self, visitor: str, answer: dict[str, Any], **claims: Any) -> None:
        """The tracker's `widget_impression` for a widget answer, through POST /events/."""
        props = {"widget": answer["widget"], "arm": answer["arm"], "experiment": answer["experiment"],
                 "products": [card["product_id"] for card in answer["products"]], **claims}  # fmt: skip
        now = int(time.time() * 1000)
        event = {"id": str(uuid.uuid4()), "type": "widget_impression", "ts": now, "visitor_id": visitor,
                 "url": f"https://{self.shop.domain}/", "props": props}  # fmt: skip
        answer_ = self.client.post(
            "/events/", json={"shop": self.shop.domain, "sent_at": now, "events": [event]},
            headers={"User-Agent": BROWSER},
        )  # fmt: skip
        assert answer_.status_code == 202, answer_.get_json()

    def ask(self, widget: str, **params: Any) -> Any:
        """GET /api/<widget>/ as the shop's storefront."""
        query = {"shop": self.shop.domain, **{k: v for k, v in params.items() if v is not None}}
        return self.client.get(
            f"/api/{widget}/", query_string=query, headers={"Origin": f"https://{self.shop.domain}"}
        )

    def shown(self, widget: str, **params: Any) -> list[str]:
        """Handles of the products a widget shows."""
        answer = self.ask(widget, **params)
        assert answer.status_code == 200, answer.get_json()
        return [card["handle"] for card in answer.get_json()["products"]]


NAMES = ("shirt", "shorts", "socks", "cap", "scarf", "boots", "hidden", "sold-out", "gone")


@pytest.fixture
def store(db: Any, client: Any) -> Store:
    """Nine products (three never sellable), a 'summer' collection, no sessions yet. No holdout."""
    shop = make_shop(settings={"recommendations": {"holdout_share": 0}})
    products = {name: make_product(shop, handle=name, title=name.title(), vendor="Acme",
                                   category="apparel", image_url=f"https://cdn.example/{name}.jpg")
                for name in NAMES}  # fmt: skip
    products["hidden"].published = False
    products["sold-out"].available = False
    products["gone"].status = "archived"
    summer = Collection(shop_id=shop.id, shopify_id=4400 + shop.id, handle="summer", title="Summer")
    db.session.add(summer)
    db.session.flush()
    for position, name in enumerate(("cap", "shorts", "scarf", "hidden")):
        db.session.add(CollectionProduct(collection_id=summer.id, product_id=products[name].id,
                                         shop_id=shop.id, position=position))  # fmt: skip
    db.session.flush()
    return Store(shop, products, summer, client)
