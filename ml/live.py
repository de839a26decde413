"""Live sessions: score what the writer just stored, decide, and hand the decision to the tracker.

After every writer commit the `sessions_updated` hook (`enqueue_scoring`) only queues
`on_sessions_updated` as a task (in process when embedded): each updated session still without
a purchase is scored by the shop's serving model (or the global one), the rules pick a
notification, and the visitor's arm of the shop's notification experiment decides whether it is
shown (treatment) or only recorded (holdout). `reply_for` is the `ingest_reply` hook: the
collector's answer carries the waiting notification once.

Every promise in a notification is true: the per-session cap is kept with the session in the
database (`delivery.claim_slot`); "only N left" appears only when a carted product's stock in
the synced catalog is low (1 to `LOW_STOCK_UNITS` units; unknown stock is never low); a
discount code is single-use and bound to the session it is shown to (`ml.discounts`).
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from analytics.experiments import HOLDOUT, arm_for, default_arms, get_or_create_experiment, record_exposure
from analytics.models import Order, OrderLine, Visitor
from ml import delivery, discounts
from ml.rules import Decision, NotificationSettings, SessionSituation, decide
from ml.scorer import Scorer
from ml.sessions import StoredSession, load_session_inputs
from ml.training import serving_version
from shopify_app.core.extensions import db
from shopify_app.core.models import Product, Shop
from shopify_app.core.types import utcnow

log = logging.getLogger(__name__)
EXPERIMENT_KEY = "notifications"
MAX_SESSIONS_PER_CALL = 500
# A carted product is "low in stock" when the catalog (synced from Shopify's inventory) says
# 1 to this many units are left across its variants; no stock figure or none left is not low.
LOW_STOCK_UNITS = 5
_scorers: dict[str, Scorer] = {}


def notification_settings(shop: Shop) -> NotificationSettings:
    """The shop's notification settings (defaults until the merchant changes them)."""
    return NotificationSettings.from_settings((shop.settings or {}).get("notifications"))


def update_notification_settings(shop: Shop, changes: dict[str, Any]) -> NotificationSettings:
    """Apply the merchant's checked changes and save them (SettingsError names a bad field)."""
    settings = NotificationSettings.validated(changes, notification_settings(shop))
    shop.settings = {**(shop.settings or {}), "notifications": settings.as_dict()}
    db.session.commit()
    return settings


def scorer_for(shop_id: int) -> Scorer | None:
    """The serving model of the shop (or the global one), loaded once per version."""
    version = serving_version(shop_id)
    if version is None:
        return None
    scorer = _scorers.get(version.path)
    if scorer is None:
        scorer = _scorers[version.path] = Scorer.load(Path(version.path))
    return scorer


def _buyers_today(shop_id: int, product_id: int | None) -> int:
    if product_id is None:
        return 0
    since = utcnow() - timedelta(hours=24)
    count = db.session.execute(
        select(func.count(func.distinct(Order.id)))
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(
            Order.shop_id == shop_id,
            OrderLine.product_id == product_id,
            Order.processed_at >= since,
            Order.cancelled_at.is_(None),
        )
    ).scalar()
    return int(count or 0)


def low_stock(shop_id: int, product_ids: tuple[int, ...]) -> tuple[str, int] | None:
    """The carted product with the fewest units left, when that is low (title, units); else None."""
    if not product_ids:
        return None
    rows = db.session.execute(
        select(Product.title, Product.total_inventory).where(
            Product.shop_id == shop_id,
            Product.shopify_id.in_(list(product_ids)),
            Product.deleted_at.is_(None),
            Product.total_inventory.between(1, LOW_STOCK_UNITS),
        )
    ).all()
    if not rows:
        return None
    title, units = min(rows, key=lambda row: int(row.total_inventory or 0))
    return str(title), int(units or 0)


def message_for(
    decision: Decision,
    shop: Shop,
    settings: NotificationSettings,
    stored: StoredSession | None = None,
) -> dict[str, Any] | None:
    """The words and link the shopper sees for a decision (None when it cannot be shown).

    A discount takes one code from the shop's pool and binds it to the session (no code: None)."""
    currency = shop.currency or ""
    details = decision.details
    if decision.kind == "social_proof":
        buyers = details["buyers_today"]
        people = "person" if buyers == 1 else "people"
        return {"title": "Popular today", "message": f"{buyers} {people} bought this today."}
    if decision.kind == "cart_reminder":
        scarce = low_stock(shop.id, stored.carted) if stored is not None else None
        if scarce is None:
            message = "Your items are saved in your cart whenever you are ready."
        else:
            title, units = scarce
            message = f"Only {units} left of {title}. Complete your order while it is in stock."
        return {
            "title": "Your cart is waiting",
            "message": message,
            "cta": {"label": "View cart", "url": "/cart"},
        }
    if decision.kind == "free_shipping":
        return {
            "title": "Almost there",
            "message": f"Add {details['amount_left']:.2f} {currency} more for free shipping.".replace(
                "  ", " "
            ),
            "cta": {"label": "View cart", "url": "/cart"},
        }
    if stored is None:
        return None
    code = discounts.take_code(shop.id, settings.discount_percent, stored.id)
    if code is None:
        return None
    return {
        "title": f"{settings.discount_percent}% off your order",
        "message": f"Use code {code} at checkout. It works for one order.",
        "code": code,
    }


def _handle(
    shop: Shop, settings: NotificationSettings, stored: StoredSession, scorer: Scorer
) -> dict[str, Any] | None:
    probability = scorer.score(stored.input)
    situation = SessionSituation(
        probability=probability,
        events=len(stored.input.events),
        page_type=stored.page_type,
        cart_value=stored.cart_value,
        reached_checkout=any(e.type == "checkout_started" for e in stored.input.events),
        shown_this_session=delivery.shown_count(stored.id),
        product_id=stored.product_id,
        product_buyers_today=_buyers_today(shop.id, stored.product_id),
    )
    decision = decide(situation, settings)
    if decision is None:
        return None
    if decision.kind == "discount" and discounts.codes_left(shop.id, settings.discount_percent) == 0:
        discounts.top_up_soon(shop.id, settings.discount_percent)
        return None  # neither arm is exposed to a discount the pool cannot give yet
    experiment = get_or_create_experiment(
        shop.id, EXPERIMENT_KEY, name="Sale notifications", arms=default_arms(settings.holdout_share)
    )
    visitor = db.session.get(Visitor, stored.visitor_id)
    if visitor is None:
        return None
    if not delivery.claim_slot(stored.id, settings.max_per_session):
        return None  # another process gave this session its notifications meanwhile
    arm = arm_for(experiment.key, visitor.visitor_key, experiment.arms)
    words = None if arm == HOLDOUT else message_for(decision, shop, settings, stored)
    if arm != HOLDOUT and words is None:
        delivery.release_slot(stored.id)
        return None
    assignment = record_exposure(experiment, visitor)
    db.session.commit()
    record = {
        "kind": decision.kind,
        "reason": decision.reason,
        "probability": round(probability, 4),
        "arm": assignment.arm,
        "experiment": EXPERIMENT_KEY,
    }
    if words is None:
        return record
    payload = {"id": secrets.token_hex(8), **record, **words}
    delivery.hold(shop.id, stored.visitor_key, payload)
    return payload


def on_sessions_updated(shop_id: int, session_ids: list[int]) -> list[dict[str, Any]]:
    """Score the updated sessions and decide their notifications (one unit of work)."""
    shop = db.session.get(Shop, shop_id)
    if shop is None or not shop.is_active:
        return []
    settings = notification_settings(shop)
    scorer = scorer_for(shop_id) if settings.enabled else None
    if scorer is None:
        return []
    decisions = []
    for stored in load_session_inputs(
        shop_id, session_ids[-MAX_SESSIONS_PER_CALL:], shop.domain, scorer.spec.max_events
    ):
        if stored.bought or not stored.input.events:
            continue
        decision = _handle(shop, settings, stored, scorer)
        if decision is not None:
            decisions.append(decision)
    db.session.commit()
    return decisions


def enqueue_scoring(shop_id: int, session_ids: list[int]) -> None:
    """The writer's `sessions_updated` hook: queue the scoring (no model, no Shopify in the writer)."""
    from ml.tasks import score_sessions

    score_sessions.delay(shop_id, list(session_ids))


def reply_for(shop: Any, visitor_key: str) -> dict[str, Any] | None:
    """What the collector adds to its answer for this visitor: a waiting notification, once.

    `shop` is the collector's cached reference to the shop (it has `.id` and `.domain`)."""
    payload = delivery.take(shop.id, visitor_key)
    return {"notification": payload} if payload else None
