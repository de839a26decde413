"""The five widget routes as a storefront calls them: what they show, to whom, and who may ask."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select

from analytics.experiments import HOLDOUT, arm_for, default_arms
from analytics.models import ExperimentAssignment, Visitor
from recommend.catalog import bump_catalog_version
from shopify_app.core.app_proxy import app_proxy_signature
from tests.recommend.conftest import Store

NEVER = {"hidden", "sold-out", "gone"}


def _co_viewing(store: Store) -> None:
    """Shirt is viewed with shorts most, then socks; shirt is bought with socks; boots is popular."""
    for _ in range(3):
        store.browse("shirt", "shorts", "hidden", "sold-out", "gone")
    store.browse("shirt", "socks")
    store.browse("socks", "shirt", carted=("shirt", "socks"), bought=("shirt", "socks"))
    for _ in range(6):
        store.browse("boots")


def test_also_viewed_and_bought_rank_co_occurring_products_and_never_unsellable_ones(store: Store) -> None:
    _co_viewing(store)
    viewed = store.shown("also_viewed", product_id=store.id("shirt"), limit=3)
    assert viewed[:2] == ["shorts", "socks"]
    assert "shirt" not in viewed
    assert not NEVER & set(viewed)
    bought = store.shown("also_bought", product_id=store.id("shirt"), limit=3)
    assert bought[0] == "socks"
    card = store.ask("also_viewed", product_id=store.id("shirt")).get_json()["products"][0]
    shorts = store.p["shorts"]
    assert card == {"product_id": str(shorts.shopify_id), "handle": "shorts", "title": "Shorts",
                    "price": f"{shorts.price:.2f}", "image": "https://cdn.example/shorts.jpg",
                    "url": "/products/shorts"}  # fmt: skip


def test_a_product_nobody_co_viewed_falls_back_to_its_collection_then_the_shop(store: Store) -> None:
    _co_viewing(store)
    shown = store.shown("also_viewed", product_id=store.id("cap"), limit=5)
    assert shown[:2] == ["shorts", "scarf"], "cap's collection first, most popular first"
    assert shown[2:] == ["shirt", "socks", "boots"], "then the shop's favourites"


def test_crowd_favourites_rank_by_recent_weighted_signals_overall_and_per_collection(store: Store) -> None:
    _co_viewing(store)
    store.browse("scarf", minutes_ago=60 * 24 * 60)  # two months ago: decayed
    # view 1, cart 4, purchase 8: shirt 5+4+8, socks 2+4+8, boots 6, shorts 3, scarf ~0 (decayed)
    assert store.shown("crowd_favorites", limit=4) == ["shirt", "socks", "boots", "shorts"]
    summer = str(store.collection.shopify_id)
    assert store.shown("crowd_favorites", collection_id=summer) == ["shorts", "scarf", "cap"]


def test_pick_up_shows_what_the_visitor_carted_or_viewed_and_did_not_buy(store: Store) -> None:
    visitor = store.browse("cap", "scarf", minutes_ago=90)
    store.browse("boots", "hidden", visitor=visitor, carted=("boots",), minutes_ago=30)
    store.browse("socks", visitor=visitor, bought=("socks",), minutes_ago=10)
    assert store.shown("pick_up_where_you_left_off", visitor_id=visitor) == ["boots", "scarf", "cap"]
    assert store.shown("pick_up_where_you_left_off", visitor_id="v-never-seen") == []


def test_featured_collection_is_ranked_by_the_visitors_taste(store: Store, db: Any) -> None:
    store.p["scarf"].vendor = "Northwind"
    store.p["scarf"].category = "winter"
    db.session.flush()
    for _ in range(4):
        store.browse("shorts")
    summer = str(store.collection.shopify_id)
    assert store.shown("featured_collection", collection_id=summer)[0] == "shorts", "new visitor: popularity"
    winter_fan = store.browse("scarf", "scarf")
    from recommend import catalog

    catalog.forget()
    ranked = store.shown("featured_collection", collection_id=summer, visitor_id=winter_fan)
    assert ranked[0] == "scarf"
    assert sorted(ranked) == ["cap", "scarf", "shorts"]


def test_holdout_visitors_see_no_widget_and_every_exposure_is_logged(store: Store, db: Any) -> None:
    """Asking writes nothing; the tracker's impressions (both arms) become the exposures, each in
    the visitor's own arm whatever arm the event claims."""
    _co_viewing(store)
    store.shop.settings = {"recommendations": {"holdout_share": 0.5}}
    bump_catalog_version(store.shop.id)  # as the admin's settings route does
    arms = default_arms(0.5)
    keys = [f"v-arm-{n}" for n in range(40)]
    holdout = next(k for k in keys if arm_for("recommendations", k, arms) == HOLDOUT)
    treated = next(k for k in keys if arm_for("recommendations", k, arms) != HOLDOUT)
    hidden = store.ask("crowd_favorites", visitor_id=holdout).get_json()
    shown = store.ask("crowd_favorites", visitor_id=treated).get_json()
    assert (hidden["arm"], hidden["products"], hidden["experiment"]) == (HOLDOUT, [], "recommendations")
    assert shown["arm"] == "treatment"
    assert len(shown["products"]) == 6
    logged = select(ExperimentAssignment.visitor_id, ExperimentAssignment.arm).where(
        ExperimentAssignment.shop_id == store.shop.id
    )
    assert db.session.execute(logged).all() == [], "a widget request records nothing"

    store.impression(holdout, hidden)
    store.impression(treated, shown, arm=HOLDOUT)  # a forged arm claim: the visitor's own arm counts
    store.impression(treated, shown)
    arm_of = dict(db.session.execute(
        select(Visitor.visitor_key, ExperimentAssignment.arm).join(
            Visitor, Visitor.id == ExperimentAssignment.visitor_id
        ).where(ExperimentAssignment.shop_id == store.shop.id)
    ).all())  # fmt: skip
    assert arm_of == {holdout: HOLDOUT, treated: "treatment"}

    store.shop.settings = {"recommendations": {"holdout_share": 0.5, "holdout_mode": "popularity"}}
    bump_catalog_version(store.shop.id)
    plain = store.ask("also_viewed", product_id=store.id("shirt"), visitor_id=holdout, limit=2).get_json()
    assert [c["handle"] for c in plain["products"]] == ["socks", "boots"], "holdout: plain favourites"


def _signed(app: Any, store: Store, timestamp: int, **params: str) -> str:
    pairs = [("shop", store.shop.domain), ("path_prefix", "/apps/clickstream"), ("timestamp", str(timestamp)),
             *params.items()]  # fmt: skip
    signature = app_proxy_signature(app.config["SHOPIFY_API_SECRET"], pairs)
    return urlencode([*pairs, ("signature", signature)])


def test_only_the_app_proxy_or_the_shops_storefront_may_ask(store: Store, app: Any, client: Any) -> None:
    _co_viewing(store)
    path = "/api/crowd_favorites/"
    query = {"shop": store.shop.domain}
    refused = client.get(path, query_string=query)
    assert refused.status_code == 403
    assert refused.get_json()["field"] == "signature"
    foreign = client.get(path, query_string=query, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    own = store.ask("crowd_favorites")
    assert own.status_code == 200
    assert own.headers["Access-Control-Allow-Origin"] == f"https://{store.shop.domain}"
    now = int(time.time())
    assert client.get(f"{path}?{_signed(app, store, now, limit='2')}").get_json()["products"]
    tampered = _signed(app, store, now, limit="2").replace("limit=2", "limit=3")
    assert client.get(f"{path}?{tampered}").status_code == 401
    assert client.get(f"{path}?{_signed(app, store, now - 3600)}").status_code == 401, (
        "a replayed old request"
    )
    other = client.get(path, query_string={"shop": "nobody.myshopify.com"}, headers={"Origin": "https://x"})
    assert other.status_code == 404


def test_bad_parameters_get_a_400_naming_the_parameter(store: Store) -> None:
    cases = [
        ("crowd_favorites", {"limit": "0"}, "limit"),
        ("crowd_favorites", {"limit": "many"}, "limit"),
        ("also_viewed", {}, "product_id"),
        ("also_bought", {"product_id": "12ab"}, "product_id"),
        ("featured_collection", {}, "collection_id"),
        ("pick_up_where_you_left_off", {"visitor_id": "v" * 65}, "visitor_id"),
    ]
    for widget, params, field in cases:
        answer = store.ask(widget, **params)
        assert (answer.status_code, answer.get_json()["field"]) == (400, field), widget
