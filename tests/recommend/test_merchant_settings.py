"""The merchant pins and excludes products and sets the holdout from the admin; widgets follow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from analytics.models import ExperimentAssignment
from shopify_app.core.auth import mint_session_token
from shopify_app.core.extensions import db
from shopify_app.core.types import utcnow
from tests.recommend.conftest import Store


def test_merchant_settings_are_checked_saved_and_applied_to_the_widgets(store: Store, app: Any) -> None:
    for _ in range(3):
        store.browse("shirt", "shorts")
    store.browse("boots")
    token = mint_session_token(store.shop.domain)
    headers = {"Authorization": f"Bearer {token}"}
    path = "/admin/api/recommendations/settings"
    assert store.client.get(path, headers=headers).get_json()["settings"] == {
        "pinned": [], "excluded": [], "holdout_share": 0, "holdout_mode": "hide"}  # fmt: skip

    for bad, field in (({"pinned": ["x"]}, "pinned"), ({"holdout_share": 0.9}, "holdout_share"),
                       ({"holdout_mode": "maybe"}, "holdout_mode"), ({"colour": "red"}, "colour")):  # fmt: skip
        answer = store.client.put(path, headers=headers, json=bad)
        assert (answer.status_code, answer.get_json()["field"]) == (400, field)
    assert store.client.get(path, headers=headers).get_json()["settings"]["pinned"] == [], "nothing saved"

    change = {"pinned": [int(store.id("cap"))], "excluded": [int(store.id("shorts"))]}
    saved = store.client.put(path, headers=headers, json=change).get_json()["settings"]
    assert (saved["pinned"], saved["excluded"]) == (change["pinned"], change["excluded"])
    assert store.shown("crowd_favorites", limit=3) == ["cap", "shirt", "boots"]
    assert store.shown("also_viewed", product_id=store.id("shirt"), limit=1) == ["cap"]


def test_the_merchant_sees_what_the_widgets_earn_against_the_holdout(store: Store, app: Any) -> None:
    from analytics.experiments import HOLDOUT, arm_for, default_arms
    from recommend.catalog import bump_catalog_version

    store.browse("shirt", "shorts")
    store.shop.settings = {"recommendations": {"holdout_share": 0.5}}
    bump_catalog_version(store.shop.id)
    arms = default_arms(0.5)
    keys = [f"v-earn-{n}" for n in range(60)]
    treated = [k for k in keys if arm_for("recommendations", k, arms) != HOLDOUT][:3]
    held_out = [k for k in keys if arm_for("recommendations", k, arms) == HOLDOUT][:3]
    for visitor in treated + held_out:
        answer = store.ask("crowd_favorites", visitor_id=visitor)
        assert answer.status_code == 200
        store.impression(visitor, answer.get_json())  # what the tracker reports of each arm
    an_hour_ago = utcnow() - timedelta(hours=1)  # they saw the widgets an hour before they came back
    db.session.execute(update(ExperimentAssignment).values(first_exposed_at=an_hour_ago))
    for visitor in treated[:2]:  # two treated shoppers buy, 10.00 each
        store.browse("shirt", visitor=visitor, bought=("shirt",), minutes_ago=0)

    token = mint_session_token(store.shop.domain)
    shown = store.client.get(
        "/admin/api/experiments/recommendations", headers={"Authorization": f"Bearer {token}"}
    )
    assert shown.status_code == 200, shown.get_json()
    by_arm = {row["arm"]: row for row in shown.get_json()["arms"]}
    assert (by_arm["treatment"]["visitors"], by_arm["treatment"]["converted"]) == (3, 2)
    assert (by_arm[HOLDOUT]["visitors"], by_arm[HOLDOUT]["converted"]) == (3, 0)
    assert by_arm["treatment"]["revenue"] == 20.0
