"""The admin pages render the shop's own numbers; settings are validated, stored and used."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient

from analytics.models import DailyProductMetric, DailyShopMetric
from shopify_app.core.auth import mint_session_token
from shopify_app.core.extensions import db
from shopify_app.core.types import utcnow
from tests.support.factories import make_product, make_session, make_visitor


def test_pages_show_the_shops_numbers(client: FlaskClient, shop: Any) -> None:
    today = utcnow().date()
    product = make_product(shop, title="Blue Kettle")
    db.session.add(DailyShopMetric(shop_id=shop.id, day=today, sessions=1234, events=5000, revenue=10))
    db.session.add(
        DailyProductMetric(shop_id=shop.id, day=today, product_id=product.shopify_id, views=77, carts=7)
    )
    db.session.add(DailyShopMetric(shop_id=shop.id, day=today - timedelta(days=40), sessions=617, events=1))
    db.session.flush()
    token = {"id_token": mint_session_token(shop.domain), "shop": shop.domain}

    dashboard = client.get("/admin/", query_string=token)
    html = dashboard.get_data(as_text=True)
    assert dashboard.status_code == 200
    assert 'data-kpi="sessions" data-value="1234"' in html
    assert "+100.0%" in html, "1234 sessions against 617 in the previous 30 days"
    assert "Blue Kettle" in html
    assert "frame-ancestors https://" + shop.domain in dashboard.headers["Content-Security-Policy"]
    products = client.get("/admin/products", query_string={**token, "sort": "carts"})
    assert products.status_code == 200
    assert "Blue Kettle" in products.get_data(as_text=True)
    for path, text in (
        ("/admin/segments", "Build a segment"),
        ("/admin/settings", "Session timeout"),
        ("/admin/status", "no events yet"),
    ):
        page = client.get(path, query_string=token)
        assert page.status_code == 200, path
        assert text in page.get_data(as_text=True), path
    nav = client.get("/admin/", query_string=token).get_data(as_text=True)
    assert 'data-nav="experiments"' in nav
    assert 'data-nav="notifications"' in nav


def test_settings_are_validated_and_stored(client: FlaskClient, shop: Any) -> None:
    headers = {"Authorization": f"Bearer {mint_session_token(shop.domain)}"}
    assert (
        client.get("/admin/api/settings", headers=headers).get_json()["settings"]["consent_mode"]
        == "required"
    )
    bad = client.put("/admin/api/settings", headers=headers, json={"session_timeout_minutes": 1})
    assert bad.status_code == 400
    assert bad.get_json()["field"] == "session_timeout_minutes"
    assert client.put("/admin/api/settings", headers=headers, json={"colour": "red"}).status_code == 400
    saved = client.put(
        "/admin/api/settings",
        headers=headers,
        json={"consent_mode": "not_required", "retention_months": 6, "session_timeout_minutes": 45},
    )
    assert saved.status_code == 200
    db.session.refresh(shop)
    assert shop.settings["session_timeout_minutes"] == 45
    assert shop.settings["retention_months"] == 6
    assert (
        client.get("/admin/api/settings", headers=headers).get_json()["settings"]["consent_mode"]
        == "not_required"
    )


def test_status_reports_tracking_once_events_arrive(client: FlaskClient, shop: Any) -> None:
    headers = {"Authorization": f"Bearer {mint_session_token(shop.domain)}"}
    assert client.get("/admin/api/status", headers=headers).get_json()["tracking_active"] is False
    from tests.support.factories import make_event

    make_event(make_session(shop, make_visitor(shop)))
    status = client.get("/admin/api/status", headers=headers).get_json()
    assert status["tracking_active"] is True
    assert status["catalog_sync_status"] == shop.catalog_sync_status
