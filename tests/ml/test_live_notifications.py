"""Live scoring after each writer commit: the right notification, the holdout, caps and quiet pages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from analytics.experiments import arm_for, default_arms
from analytics.models import ExperimentAssignment, Visitor
from ml.live import EXPERIMENT_KEY, on_sessions_updated, reply_for
from ml.rules import NotificationSettings, SessionSituation, decide
from tests.ml.conftest import make_sessions

HIGH = 4.0  # sigmoid(4) = 0.98: every session looks like a buyer
LOW = -6.0  # sigmoid(-6) = 0.0025: every session looks like it is leaving


def _visitor_key(session_id: int) -> str:
    from analytics.models import VisitSession
    from shopify_app.core.extensions import db

    visit = db.session.get(VisitSession, session_id)
    return db.session.get(Visitor, visit.visitor_id).visitor_key  # type: ignore[union-attr]


def _cart(session_id: int) -> bool:
    from analytics.models import Event
    from shopify_app.core.extensions import db

    return (
        db.session.execute(
            select(Event.id).where(Event.session_id == session_id, Event.type == "add_to_cart")
        ).first()
        is not None
    )


def test_a_hesitating_cart_gets_a_reminder_and_the_holdout_only_an_exposure(
    shop: Any, serving_model: Any
) -> None:
    serving_model(HIGH)
    sessions = make_sessions(shop, 400, seed=5, buy_rate=0.0)
    carting = [s for s in sessions if _cart(s)]
    arms = {s: arm_for(EXPERIMENT_KEY, _visitor_key(s), default_arms()) for s in carting}
    treated = [s for s in carting if arms[s] == "treatment"]
    held = [s for s in carting if arms[s] == "holdout"]
    assert treated, "the simulated sessions cover the treatment arm"
    assert held, "the simulated sessions cover the holdout arm"

    decisions = on_sessions_updated(shop.id, carting)

    assert {d["kind"] for d in decisions} == {"cart_reminder"}
    reply = reply_for(shop, _visitor_key(treated[0]))
    assert reply is not None
    assert reply["notification"]["kind"] == "cart_reminder"
    assert reply["notification"]["arm"] == "treatment"
    assert reply["notification"]["title"] == "Your cart is waiting"
    assert reply_for(shop, _visitor_key(treated[0])) is None, "delivered once"
    assert reply_for(shop, _visitor_key(held[0])) is None, "the holdout sees nothing"
    exposed = {row.visitor_id: row.arm for row in ExperimentAssignment.query.filter_by(shop_id=shop.id).all()}
    assert len(exposed) == len(carting), "treatment and holdout exposures are both recorded"
    assert set(exposed.values()) == {"treatment", "holdout"}

    assert on_sessions_updated(shop.id, carting) == [], "one notification per session"


def test_no_model_means_no_notifications(shop: Any) -> None:
    sessions = make_sessions(shop, 30, seed=2, buy_rate=0.0)
    assert on_sessions_updated(shop.id, sessions) == []


def test_merchant_can_switch_notifications_off(shop: Any, serving_model: Any) -> None:
    serving_model(HIGH)
    shop.settings = {"notifications": {"enabled": False}}
    sessions = make_sessions(shop, 60, seed=4, buy_rate=0.0)
    assert on_sessions_updated(shop.id, sessions) == []


def test_rules_keep_checkout_quiet_and_offer_a_discount_only_to_leavers() -> None:
    settings = NotificationSettings()
    base = SessionSituation(
        probability=0.9,
        events=5,
        page_type="product_view",
        cart_value=50.0,
        reached_checkout=False,
        shown_this_session=0,
    )
    assert decide(base, settings).kind == "cart_reminder"  # type: ignore[union-attr]
    quiet = SessionSituation(**{**base.__dict__, "page_type": "checkout_started"})
    assert decide(quiet, settings) is None
    leaving = SessionSituation(**{**base.__dict__, "probability": 0.01, "cart_value": 0.0})
    assert decide(leaving, settings).kind == "discount"  # type: ignore[union-attr]
    too_early = SessionSituation(**{**leaving.__dict__, "events": 2})
    assert decide(too_early, settings) is None
    proof = SessionSituation(
        **{**base.__dict__, "cart_value": 0.0, "product_id": 7, "product_buyers_today": 12}
    )
    assert decide(proof, settings).details == {"product_id": 7, "buyers_today": 12}  # type: ignore[union-attr]
    nudge = NotificationSettings(free_shipping_threshold=60.0)
    assert decide(base, nudge).details == {"amount_left": 10.0}  # type: ignore[union-attr]


def test_settings_from_storage_ignore_nothing_the_merchant_set() -> None:
    stored = {"high_intent": "0.7", "kinds": ["discount"], "max_per_session": 2}
    settings = NotificationSettings.from_settings(stored)
    assert settings.high_intent == 0.7
    assert settings.kinds == ("discount",)
    assert settings.max_per_session == 2
    assert NotificationSettings.from_settings(settings.as_dict()) == settings
