"""A widget request from start to answer: settings, experiment arm, inputs, cache, products.

Answers that do not depend on the visitor (crowd favourites, also viewed, also bought) are cached
in Redis under the shop's catalog version and the model version this process holds, so a catalog
change or a model refresh makes a new key and stale answers simply expire. Featured collection
and pick up where you left off read the visitor's recent products on every request.

The shop's `recommendations` experiment splits visitors: the holdout arm sees no widget (or,
when the merchant chooses, plain crowd favourites). A widget request writes nothing: the arm is a
hash of the visitor, and exposures reach the experiment results as the tracker's
`widget_impression` events, through the stream and the writer (`record_widget_exposures`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from analytics.experiments import (
    HOLDOUT,
    arm_for,
    default_arms,
    experiment_arms,
    record_exposures_from_events,
)
from analytics.models import Event, Visitor
from recommend.catalog import ShopCatalog, current_catalog
from recommend.feed import PRODUCT_EVENTS, purchased_products
from recommend.live import current_model
from recommend.settings import RecommendationSettings
from recommend.widgets import MerchantRules, Placement, VisitorHistory, choose
from shopify_app.core.extensions import db, get_redis
from shopify_app.core.models import Customer, Shop
from shopify_app.core.types import utcnow

log = logging.getLogger(__name__)
EXPERIMENT_KEY = "recommendations"
HISTORY_DAYS = 60
HISTORY_EVENTS = 200
CACHE_SECONDS = 300
VISITOR_SPECIFIC = ("featured_collection", "pick_up_where_you_left_off")


def visitor_history(
    shop_id: int, visitor_key: str | None, signed_in_customer: int | None = None
) -> VisitorHistory:
    """The visitor's recent products, newest first; with `signed_in_customer` (a Shopify customer
    id the app proxy signed), also those of the customer's other devices. A visitor's own link to
    a customer never widens the history: the request naming the visitor proves nothing."""
    visitor_ids: list[int] = []
    if visitor_key:
        own = db.session.execute(
            select(Visitor.id).where(Visitor.shop_id == shop_id, Visitor.visitor_key == visitor_key)
        ).scalar_one_or_none()
        visitor_ids += [own] if own is not None else []
    if signed_in_customer is not None:
        visitor_ids += db.session.execute(
            select(Visitor.id)
            .join(Customer, Customer.id == Visitor.customer_id)
            .where(
                Visitor.shop_id == shop_id,
                Customer.shop_id == shop_id,
                Customer.shopify_id == signed_in_customer,
            )
        ).scalars()
    if not visitor_ids:
        return VisitorHistory()
    rows = db.session.execute(
        select(Event.type, Event.product_id, Event.props)
        .where(
            Event.shop_id == shop_id,
            Event.visitor_id.in_(visitor_ids),
            Event.occurred_at >= utcnow() - timedelta(days=HISTORY_DAYS),
            Event.type.in_(PRODUCT_EVENTS),
        )
        .order_by(Event.occurred_at.desc())
        .limit(HISTORY_EVENTS)
    ).all()
    viewed: list[int] = []
    carted: list[int] = []
    bought: set[int] = set()
    for kind, product_id, props in rows:
        if kind == "purchase":
            bought.update(purchased_products(product_id, props))
        elif product_id is not None:
            (viewed if kind == "product_view" else carted).append(int(product_id))
    return VisitorHistory(list(dict.fromkeys(viewed)), list(dict.fromkeys(carted)), frozenset(bought))


def _arms(shop_id: int, catalog: ShopCatalog, settings: RecommendationSettings) -> list[Any]:
    """The widget experiment's arms (the stored experiment's, else from the settings), read once
    per catalog snapshot; never written here."""
    if catalog.experiment_arms is None:
        catalog.experiment_arms = experiment_arms(shop_id, EXPERIMENT_KEY) or default_arms(
            settings.holdout_share
        )
    return catalog.experiment_arms


def record_widget_exposures(shop_id: int, session_ids: list[int]) -> int:
    """The widget experiment's first exposures from the `widget_impression` events the writer
    stored in these sessions (flushes); the experiment row is made with the first of them."""
    stored = db.session.execute(select(Shop.settings).where(Shop.id == shop_id)).scalar_one_or_none()
    settings = RecommendationSettings.from_stored(stored)
    return record_exposures_from_events(
        shop_id,
        session_ids,
        event_type="widget_impression",
        experiment_key=EXPERIMENT_KEY,
        name="Recommendation widgets",
        arms=default_arms(settings.holdout_share),
    )


def _cache_key(catalog: ShopCatalog, model_version: int, placement: Placement, rules: Any) -> str:
    rules_hash = hashlib.sha1(repr(rules).encode(), usedforsecurity=False).hexdigest()[:12]
    return (
        f"cs:rec:{catalog.shop_id}:{catalog.version}:{model_version}:{placement.widget}:"
        f"{placement.product_id}:{placement.collection_id}:{placement.limit}:{rules_hash}"
    )


def products_for(
    catalog: ShopCatalog,
    placement: Placement,
    visitor_key: str | None,
    rules: MerchantRules,
    signed_in_customer: int | None = None,
) -> list[int]:
    """The products of a placement (cached when the answer is the same for every visitor)."""
    model = current_model(catalog.shop_id)
    ttl = int(current_app.config.get("RECOMMENDATIONS_CACHE_SECONDS", CACHE_SECONDS))
    client = get_redis() if ttl and placement.widget not in VISITOR_SPECIFIC else None
    key = _cache_key(catalog, model.version, placement, rules) if client else ""
    if client is not None:
        cached = client.get(key)
        if cached is not None:
            return [int(p) for p in json.loads(cached)]
    visitor_specific = placement.widget in VISITOR_SPECIFIC
    history = (
        visitor_history(catalog.shop_id, visitor_key, signed_in_customer)
        if visitor_specific
        else VisitorHistory()
    )
    chosen = choose(placement, catalog, model.recommender, history, rules)
    if client is not None:
        client.set(key, json.dumps(chosen), ex=ttl)
    return chosen


def recommend(
    shop_id: int, placement: Placement, visitor_key: str | None, *, signed_in_customer: int | None = None
) -> dict[str, Any]:
    """The widget's answer: its products as cards, and the visitor's arm of the experiment
    (`signed_in_customer`: the customer the app proxy signed, whose other devices count too)."""
    catalog = current_catalog(shop_id)
    settings = RecommendationSettings.from_stored(catalog.shop_settings)
    arm = "treatment"
    if visitor_key and settings.holdout_share > 0:
        arm = arm_for(EXPERIMENT_KEY, visitor_key, _arms(shop_id, catalog, settings))
    if arm == HOLDOUT and settings.holdout_mode == "hide":
        chosen: list[int] = []
    elif arm == HOLDOUT:
        plain = Placement("crowd_favorites", placement.limit, product_id=placement.product_id)
        chosen = products_for(catalog, plain, None, settings.rules)
    else:
        chosen = products_for(catalog, placement, visitor_key, settings.rules, signed_in_customer)
    return {
        "widget": placement.widget,
        "arm": arm,
        "experiment": EXPERIMENT_KEY,
        "products": [catalog.cards[p].as_json() for p in chosen if p in catalog.cards],
    }
