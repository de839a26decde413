"""The notification and experiment admin APIs: session-token auth, own shop only, checked input."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from analytics.experiments import get_or_create_experiment
from shopify_app.core.auth import mint_session_token
from tests.support.factories import make_shop

ROUTES = [
    ("get", "/admin/api/experiments"),
    ("get", "/admin/api/experiments/notifications"),
    ("get", "/admin/api/notifications"),
    ("put", "/admin/api/notifications"),
    ("post", "/admin/api/notifications/model/train"),
    ("post", "/admin/api/notifications/model/rollback"),
]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_refuses_expired_and_missing_tokens(
    client: FlaskClient, shop: Any, method: str, path: str
) -> None:
    expired = mint_session_token(shop.domain, lifetime=-120)
    for headers in ({}, _auth(expired), _auth("not-a-jwt")):
        response = getattr(client, method)(path, headers=headers, json={})
        assert response.status_code == 401
        assert response.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"
        assert "settings" not in response.get_json()


def test_a_shop_sees_only_its_own_experiments(client: FlaskClient, shop: Any, session_token: str) -> None:
    other = make_shop()
    get_or_create_experiment(other.id, "widgets", name="Other shop's widgets")
    get_or_create_experiment(shop.id, "notifications", name="Mine")
    mine = client.get("/admin/api/experiments", headers=_auth(session_token)).get_json()
    assert [e["name"] for e in mine["experiments"]] == ["Mine"]
    assert client.get("/admin/api/experiments/widgets", headers=_auth(session_token)).status_code == 404
    theirs = client.get("/admin/api/experiments", headers=_auth(mint_session_token(other.domain))).get_json()
    assert [e["name"] for e in theirs["experiments"]] == ["Other shop's widgets"]


def test_settings_are_saved_per_shop_and_bad_values_name_their_field(
    client: FlaskClient, shop: Any, session_token: str
) -> None:
    other = make_shop()
    saved = client.put(
        "/admin/api/notifications",
        headers=_auth(session_token),
        json={"high_intent": 0.7, "kinds": ["cart_reminder"]},
    )
    assert saved.status_code == 200
    assert saved.get_json()["settings"]["high_intent"] == 0.7
    assert client.get("/admin/api/notifications", headers=_auth(session_token)).get_json()["settings"][
        "kinds"
    ] == ["cart_reminder"]
    untouched = client.get(
        "/admin/api/notifications", headers=_auth(mint_session_token(other.domain))
    ).get_json()
    assert untouched["settings"]["high_intent"] == 0.5
    for body, field in (
        ({"high_intent": 2}, "high_intent"),
        ({"kinds": ["spam"]}, "kinds"),
        ({"colour": "red"}, "colour"),
        ({"leaving": 0.9}, "leaving"),
        ({"enabled": "yes"}, "enabled"),
    ):
        response = client.put("/admin/api/notifications", headers=_auth(session_token), json=body)
        assert response.status_code == 400
        assert response.get_json()["field"] == field
    assert (
        client.get("/admin/api/notifications", headers=_auth(session_token)).get_json()["settings"][
            "high_intent"
        ]
        == 0.7
    )


def test_rollback_without_an_earlier_version_is_a_clear_404(
    client: FlaskClient, shop: Any, session_token: str
) -> None:
    response = client.post("/admin/api/notifications/model/rollback", headers=_auth(session_token))
    assert response.status_code == 404
    assert "no model" in response.get_json()["message"]
