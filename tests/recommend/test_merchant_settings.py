"""The merchant pins and excludes products and sets the holdout from the admin; widgets follow."""

from __future__ import annotations

from typing import Any

from shopify_app.core.auth import mint_session_token
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
