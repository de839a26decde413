"""A widget request from start to answer: settings, experiment arm, inputs, cache, products.

Answers that do not depend on the visitor (crowd favourites, also viewed, also bought) are cached
in Redis under the shop's catalog version and the model version this process holds, so a catalog
change or a model refresh makes a new key and stale answers simply expire. Featured collection
and pick up where you left off read the visitor's recent products on every request.

The shop's `recommendations` experiment splits visitors: the holdout arm sees no widget (or,
when the merchant chooses, plain crowd favourites), and the first exposure of each visitor per
hour is logged for the experiment results.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from analytics.experiments import HOLDOUT, arm_for, default_arms, get_or_create_experiment, record_exposure
from analytics.identity import get_or_create_visitor
from analytics.models import Event, Visitor
from recommend.catalog import ShopCatalog, current_catalog
from recommend.feed import PRODUCT_EVENTS, purchased_products
from recommend.live import current_model
from recommend.settings import RecommendationSettings
from recommend.widgets import MerchantRules, Placement, VisitorHistory, choose
from shopify_app.core.extensions import db, get_redis
from shopify_app.core.models import Customer
from shopify_app.core.types import utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")
RACE_ATTEMPTS = 3
EXPERIMENT_KEY = "recommendations"
HISTORY_DAYS = 60
HISTORY_EVENTS = 200
CACHE_SECONDS = 300
EXPOSURE_DEDUP_SECONDS = 3600
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


def _committed(work: Callable[[], T]) -> T:
    """Run `work` and commit; when a concurrent request inserted the same row first, read it again."""
    for attempt in range(RACE_ATTEMPTS):
        try:
            result = work()
            db.session.commit()
            return result
        except (IntegrityError, OperationalError):  # a duplicate key, or a deadlock between the inserts
            db.session.rollback()
            if attempt == RACE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _experiment(
    shop_id: int, catalog: ShopCatalog, settings: RecommendationSettings
) -> tuple[int, list[Any]]:
    """The shop's widget experiment (id, arms), looked up once per catalog snapshot."""
    if catalog.experiment is None:
        arms = default_arms(settings.holdout_share)
        experiment = _committed(
            lambda: get_or_create_experiment(
                shop_id, EXPERIMENT_KEY, name="Recommendation widgets", arms=arms
            )
        )
        catalog.experiment = (experiment.id, list(experiment.arms))
    return catalog.experiment


def _log_exposure(shop_id: int, experiment_id: int, visitor_key: str) -> None:
    """Record the visitor's exposure (once an hour per visitor with Redis); commits.

    A widget's first requests often arrive together with the visitor's first events: whoever
    inserts the visitor or the assignment first wins and the others count on that row. A failure
    here is logged and never costs the shopper the widget.
    """
    client = get_redis()
    if client is not None and not client.set(
        f"cs:rec:exposed:{experiment_id}:{visitor_key}", 1, nx=True, ex=EXPOSURE_DEDUP_SECONDS
    ):
        return
    try:
        _committed(
            lambda: record_exposure(
                get_or_create_experiment(shop_id, EXPERIMENT_KEY), get_or_create_visitor(shop_id, visitor_key)
            )
        )
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("exposure of %s not recorded", visitor_key, exc_info=True)


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
        experiment_id, arms = _experiment(shop_id, catalog, settings)
        _log_exposure(shop_id, experiment_id, visitor_key)
        arm = arm_for(EXPERIMENT_KEY, visitor_key, arms)
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
