"""Notifications keep their promises: the cap holds across processes, urgency only when stock is
really low, a discount code is single-use and given to one session only."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from analytics.experiments import HOLDOUT, arm_for, default_arms
from analytics.models import VisitSession
from ml.discounts import POOL_SIZE, codes_left
from ml.live import EXPERIMENT_KEY, LOW_STOCK_UNITS, on_sessions_updated
from ml.models import DiscountCode, ModelVersion
from ml.tasks import top_up_discount_codes
from ml.training import KIND
from shopify_app.core.extensions import db
from shopify_app.standin import ShopifyStandin
from tests.ml.conftest import make_sessions, write_constant_model
from tests.ml.test_live_notifications import HIGH, LOW, _cart, _visitor_key
from tests.pipeline.test_counts import BROWSER
from tests.platform.conftest import install, standin  # noqa: F401 - the stand-in fixture
from tests.support.databases import TestDatabase
from tests.support.factories import make_product, make_shop
from tests.support.processes import clickstream, free_port, process_env

URGENT = ("sell out", "Only ", "left of", "in stock")


def _treated(sessions: list[int]) -> list[int]:
    arms = default_arms()
    return [s for s in sessions if arm_for(EXPERIMENT_KEY, _visitor_key(s), arms) != HOLDOUT]


@pytest.mark.parametrize("stock", [100, None, 0, LOW_STOCK_UNITS + 1])
def test_a_cart_reminder_claims_no_scarcity_when_stock_is_plentiful_or_unknown(
    shop: Any, serving_model: Any, stock: int | None
) -> None:
    serving_model(HIGH)
    for number in range(1000, 1006):  # the products the simulated sessions view and cart
        make_product(shop, shopify_id=number, title=f"Item {number}", total_inventory=stock)
    carting = _treated([s for s in make_sessions(shop, 200, seed=5, buy_rate=0.0) if _cart(s)])
    assert carting, "the simulated sessions cover the treatment arm"

    shown = [d for d in on_sessions_updated(shop.id, carting) if d["kind"] == "cart_reminder"]

    assert shown
    for decision in shown:
        assert not any(word in decision["message"] for word in URGENT), decision["message"]
        assert decision["title"] == "Your cart is waiting"


def test_a_cart_reminder_names_the_carted_item_that_is_really_low(shop: Any, serving_model: Any) -> None:
    serving_model(HIGH)
    for number in range(1000, 1006):
        make_product(shop, shopify_id=number, title=f"Item {number}", total_inventory=3)
    carting = _treated([s for s in make_sessions(shop, 200, seed=5, buy_rate=0.0) if _cart(s)])

    shown = [d for d in on_sessions_updated(shop.id, carting) if d["kind"] == "cart_reminder"]

    assert shown
    for decision in shown:
        assert decision["message"].startswith("Only 3 left of Item 10"), decision["message"]
        assert "sell out" not in decision["message"]


def test_a_discount_code_is_single_use_and_shown_to_one_session_only(
    standin: ShopifyStandin,  # noqa: F811 - the fixture imported above
    model_dir: Path,
) -> None:
    shop = install("discounts-shop.myshopify.com")
    shop.settings = {"notifications": {"kinds": ["discount"], "min_events_before_leaving": 1}}
    write_constant_model(model_dir / "leaving", LOW)
    db.session.add(
        ModelVersion(shop_id=shop.id, kind=KIND, version=1, path=str(model_dir / "leaving"), status="active")
    )
    db.session.flush()
    assert top_up_discount_codes(shop.id, 10) == POOL_SIZE, "the task fills the pool ahead of time"
    created = standin.shop(shop.domain).discount_codes
    assert len(created) == POOL_SIZE
    assert set(standin.shop(shop.domain).discount_limits.values()) == {1}, "usage limit 1 on Shopify's side"

    sessions = _treated(make_sessions(shop, 8, seed=9, buy_rate=0.0))
    calls_before = len(standin.calls)
    decisions = on_sessions_updated(shop.id, sessions)
    assert len(standin.calls) == calls_before, "deciding never calls Shopify"

    codes = [d["code"] for d in decisions]
    assert len(codes) == len(sessions), "every treated session was offered a code"
    assert len(set(codes)) == len(codes), "no code offered to two sessions"
    for decision in decisions:
        assert "just for you" not in decision["title"].lower()
        assert decision["code"] in decision["message"]
    bound = dict(
        db.session.execute(
            select(DiscountCode.code, DiscountCode.session_id).where(DiscountCode.shop_id == shop.id)
        ).all()
    )
    assert sorted(bound[code] for code in codes) == sorted(sessions), "each code bound to its session"
    assert codes_left(shop.id, 10) == POOL_SIZE - len(codes)
    assert on_sessions_updated(shop.id, sessions) == [], "the cap: no second code for a session"

    assert standin.redeem_discount(shop.domain, codes[0]) is True
    assert standin.redeem_discount(shop.domain, codes[0]) is False, "a second order cannot use it"


def _batch(domain: str, visitor: str, product_id: int, *kinds: str) -> dict[str, Any]:
    now = int(time.time() * 1000)
    events = [
        {"id": str(uuid.uuid4()), "type": kind, "ts": now - 100 + i, "visitor_id": visitor,
         "product_id": str(product_id), "url": f"https://{domain}/products/p", "props": {"price": 25.0}}
        for i, kind in enumerate(kinds)
    ]  # fmt: skip
    return {"shop": domain, "sent_at": now, "events": events}


@pytest.mark.committed
def test_the_cap_holds_across_two_app_processes_on_one_database(
    test_database: TestDatabase, db: Any, tmp_path: Path
) -> None:
    """Two web processes (gunicorn workers are separate processes, each running the embedded
    writer): the session's second batch reaches the other process, which must not show the
    notification again (`max_per_session` = 1)."""
    shop = make_shop()
    product = make_product(shop, total_inventory=100)
    write_constant_model(tmp_path / "model", HIGH)
    db.session.add(
        ModelVersion(shop_id=shop.id, kind=KIND, version=1, path=str(tmp_path / "model"), status="active")
    )
    db.session.commit()
    visitor = next(
        key
        for key in (f"v-cap-{n}" for n in range(100))
        if arm_for(EXPERIMENT_KEY, key, default_arms()) != HOLDOUT
    )
    ports = [free_port(), free_port()]
    envs = [process_env(DATABASE_URL=test_database.url, REDIS_URL="", PORT=str(port)) for port in ports]
    with (
        clickstream("serve", "--workers", "1", env=envs[0], ready="serving on"),
        clickstream("serve", "--workers", "1", env=envs[1], ready="serving on"),
    ):
        answers = []
        for number, kinds in enumerate(
            [("product_view", "add_to_cart"), ("product_view",), ("product_view",), ("page_view",)]
        ):
            port = ports[number % 2]
            response = requests.post(
                f"http://127.0.0.1:{port}/events/",
                json=_batch(shop.domain, visitor, product.shopify_id, *kinds),
                headers={"User-Agent": BROWSER},
                timeout=30,
            )
            assert response.status_code == 202, response.text
            answers.append(response.json())
    shown = [answer["notification"] for answer in answers if "notification" in answer]
    assert [n["kind"] for n in shown] == ["cart_reminder"], answers
    db.session.remove()
    counts = (
        db.session.execute(select(VisitSession.notifications_shown).where(VisitSession.shop_id == shop.id))
        .scalars()
        .all()
    )
    assert counts == [1]
