"""The merchant sees experiment results and notification settings as admin pages."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from shopify_app.core.auth import mint_session_token
from tests.ml.test_experiment_results import _simulate


def test_the_experiments_page_shows_each_arm_and_the_uplift(client: FlaskClient, shop: Any) -> None:
    _simulate(shop, "notifications", {"treatment": 0.15, "holdout": 0.10}, visitors=4000, seed=3)
    page = client.get(
        "/admin/experiments", query_string={"shop": shop.domain, "id_token": mint_session_token(shop.domain)}
    )
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-arm="treatment"' in html
    assert 'data-arm="holdout"' in html
    assert "95 % interval" in html
    assert "a real difference" in html


def test_the_notifications_page_shows_the_settings(client: FlaskClient, shop: Any) -> None:
    page = client.get(
        "/admin/notifications",
        query_string={"shop": shop.domain, "id_token": mint_session_token(shop.domain)},
    )
    assert page.status_code == 200
    assert 'data-setting="high_intent">0.5<' in page.get_data(as_text=True)


def test_the_pages_refuse_a_foreign_or_missing_token(client: FlaskClient, shop: Any) -> None:
    for path in ("/admin/experiments", "/admin/notifications"):
        expired = client.get(
            path,
            query_string={"shop": shop.domain, "id_token": mint_session_token(shop.domain, lifetime=-120)},
        )
        assert expired.status_code in (302, 401, 403) or "bounce" in expired.get_data(as_text=True).lower()
        assert "data-setting" not in expired.get_data(as_text=True)
        assert "data-arm" not in expired.get_data(as_text=True)
