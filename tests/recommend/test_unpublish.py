"""A product the merchant unpublishes leaves every widget at once, even answers cached in Redis."""

from __future__ import annotations

import json
from typing import Any

import redis

from shopify_app.standin import ShopifyStandin
from tests.recommend.conftest import Store


def _everywhere(store: Store, client: Any, visitor: str) -> dict[str, list[str]]:
    origin = {"Origin": f"https://{store.shop.domain}"}
    asks = {
        "crowd_favorites": {"limit": 8},
        "also_viewed": {"product_id": store.id("shirt")},
        "also_bought": {"product_id": store.id("shirt")},
        "featured_collection": {"collection_id": str(store.collection.shopify_id)},
        "pick_up_where_you_left_off": {},
    }
    shown = {}
    for widget, params in asks.items():
        query = {"shop": store.shop.domain, "visitor_id": visitor, **params}
        answer = client.get(f"/api/{widget}/", query_string=query, headers=origin)
        assert answer.status_code == 200, answer.get_json()
        shown[widget] = [card["handle"] for card in answer.get_json()["products"]]
    return shown


def test_unpublishing_by_webhook_removes_the_product_from_every_widget_at_once(
    store: Store, app: Any, make_app: Any, redis_url: str
) -> None:
    for _ in range(3):
        store.browse("shirt", "shorts")
    store.browse("shirt", "socks", carted=("shirt", "socks"), bought=("shirt", "socks"))
    visitor = store.browse("cap", "shorts")
    served = make_app(ENV={"REDIS_URL": redis_url}).test_client()  # widgets answered from the Redis cache
    before = _everywhere(store, served, visitor)
    assert all("shorts" in handles for handles in before.values()), before
    assert _everywhere(store, served, visitor) == before
    cache = redis.Redis.from_url(redis_url)
    assert any(cache.scan_iter(f"cs:rec:{store.shop.id}:*")), "visitor-independent answers are cached"

    shopify = ShopifyStandin(app.config["SHOPIFY_API_KEY"], app.config["SHOPIFY_API_SECRET"])
    payload = ShopifyStandin.sample("products/update")
    shorts = store.p["shorts"]
    payload.update(id=shorts.shopify_id, admin_graphql_api_id=f"gid://shopify/Product/{shorts.shopify_id}",
                   handle="shorts", title="Shorts", status="draft", published_at=None)  # fmt: skip
    body = json.dumps(payload).encode()
    headers = shopify.webhook_headers("products/update", store.shop.domain, body)
    with app.app_context():  # the embedded app's Celery again: the webhook's task runs in process
        assert store.client.post("/webhooks/products/update", data=body, headers=headers).status_code == 200

    after = _everywhere(store, served, visitor)
    assert all("shorts" not in handles for handles in after.values()), after
    assert after["pick_up_where_you_left_off"] == ["cap"]
