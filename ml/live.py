"""Live sessions: score what the writer just stored, decide, and hand the decision to the tracker.

`on_sessions_updated` runs after every writer commit (the `sessions_updated` hook): each
updated session still without a purchase is scored by the shop's serving model (or the global
one), the rules pick a notification, and the visitor's arm of the shop's notification
experiment decides whether it is shown (treatment) or only recorded (holdout). `reply_for` is
the `ingest_reply` hook: the collector's answer carries the waiting notification once.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from analytics.experiments import HOLDOUT, default_arms, get_or_create_experiment, record_exposure
from analytics.models import Order, OrderLine, Visitor
from ml import delivery
from ml.rules import Decision, NotificationSettings, SessionSituation, decide
from ml.scorer import Scorer
from ml.sessions import StoredSession, load_session_inputs
from ml.training import serving_version
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop
from shopify_app.core.types import utcnow

log = logging.getLogger(__name__)
EXPERIMENT_KEY = "notifications"
MAX_SESSIONS_PER_CALL = 500
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


def _discount_code(shop: Shop, settings: NotificationSettings) -> str | None:
    """Today's limited-time code, created once through the GraphQL Admin API."""
    if not shop.access_token_encrypted:
        return None
    name = f"discount:{shop.id}:{utcnow().date().isoformat()}"
    code = delivery.recall(name)
    if code:
        return code
    from shopify_app.core.graphql import ShopifyApiError, graphql

    code = "CS-" + secrets.token_hex(3).upper()
    starts = utcnow()
    variables = {
        "basicCodeDiscount": {
            "title": f"Clickstream {settings.discount_percent}% ({code})",
            "code": code,
            "startsAt": starts.isoformat() + "Z",
            "endsAt": (starts + timedelta(days=1)).isoformat() + "Z",
            "customerSelection": {"all": True},
            "customerGets": {
                "value": {"percentage": settings.discount_percent / 100},
                "items": {"all": True},
            },
            "appliesOncePerCustomer": True,
        }
    }
    try:
        graphql(shop, DISCOUNT_MUTATION, variables)
    except ShopifyApiError:
        log.warning("could not create a discount code for %s", shop.domain, exc_info=True)
        return None
    delivery.remember(name, code, 24 * 60 * 60)
    return code


DISCOUNT_MUTATION = """
mutation CreateDiscount($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode { id }
    userErrors { field message }
  }
}
"""


def message_for(decision: Decision, shop: Shop, settings: NotificationSettings) -> dict[str, Any] | None:
    """The words and link the shopper sees for a decision (None when it cannot be shown)."""
    currency = shop.currency or ""
    details = decision.details
    if decision.kind == "social_proof":
        buyers = details["buyers_today"]
        people = "person" if buyers == 1 else "people"
        return {"title": "Popular today", "message": f"{buyers} {people} bought this today."}
    if decision.kind == "cart_reminder":
        return {
            "title": "Your cart is waiting",
            "message": "Complete your order before your items sell out.",
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
    code = _discount_code(shop, settings)
    if code is None:
        return None
    return {
        "title": f"{settings.discount_percent}% off, just for you",
        "message": f"Use code {code} in the next {settings.discount_minutes} minutes.",
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
    experiment = get_or_create_experiment(
        shop.id, EXPERIMENT_KEY, name="Sale notifications", arms=default_arms(settings.holdout_share)
    )
    visitor = db.session.get(Visitor, stored.visitor_id)
    if visitor is None:
        return None
    assignment = record_exposure(experiment, visitor)
    delivery.count_shown(stored.id)
    record = {
        "kind": decision.kind,
        "reason": decision.reason,
        "probability": round(probability, 4),
        "arm": assignment.arm,
        "experiment": EXPERIMENT_KEY,
    }
    if assignment.arm == HOLDOUT:
        return record
    words = message_for(decision, shop, settings)
    if words is None:
        return None
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


def reply_for(shop: Any, visitor_key: str) -> dict[str, Any] | None:
    """What the collector adds to its answer for this visitor: a waiting notification, once.

    `shop` is the collector's cached reference to the shop (it has `.id` and `.domain`)."""
    payload = delivery.take(shop.id, visitor_key)
    return {"notification": payload} if payload else None
