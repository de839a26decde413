"""Every admin route (pages and JSON APIs) refuses an expired token, a token for another shop and
a token signed by someone else, and answers those with 401/403 and no data of the shop."""

from __future__ import annotations

import re
import time
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from analytics.reconcile import reconcile_day
from analytics.segments.saved import create_segment
from shopify_app.core.auth import mint_session_token
from tests.support.factories import make_event, make_session, make_shop, make_visitor

PREFIXES = ("/admin/", "/analytics/", "/segments/")
PUBLIC = ("/admin/app", "/admin/assets/")  # the install document load (platform) and static files
MARKER = "Secret Widgets Emporium"


def admin_routes(app: Flask) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIXES) or rule.rule.startswith(PUBLIC):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, rule.rule))
    return routes


def fill(rule: str, values: dict[str, Any]) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values.get(m.group(1), "1")), rule)


def forged(domain: str) -> str:
    now = int(time.time())
    claims = {
        "iss": f"https://{domain}/admin",
        "dest": f"https://{domain}",
        "aud": "someone-else",
        "sub": "1",
        "exp": now + 60,
        "nbf": now,
        "iat": now,
        "jti": "x",
        "sid": "y",
    }
    return jwt.encode(claims, "not-our-secret-not-our-secret-0123456789", algorithm="HS256")


@pytest.fixture
def victim(db: Any) -> Any:
    shop = make_shop(name=MARKER)
    visitor = make_visitor(shop)
    visit = make_session(shop, visitor, product_views=1, purchases=1, revenue=99)
    make_event(visit, "product_view", product_id=5)
    # rows made directly, not by the writer: rebuild the day's rollups as reconciliation does
    reconcile_day(shop, visit.day, repair=True)
    segment = create_segment(shop.id, f"{MARKER} buyers", {"type": "cart_abandoners", "days": 30})
    return shop, segment


def test_every_admin_route_is_covered(app: Flask) -> None:
    rules = {rule for _, rule in admin_routes(app)}
    for expected in (
        "/admin/",
        "/admin/products",
        "/admin/segments",
        "/admin/settings",
        "/admin/status",
        "/admin/api/settings",
        "/analytics/session_count/",
        "/segments/identified-users-list",
    ):
        assert expected in rules


def test_every_admin_route_refuses_expired_foreign_and_forged_tokens(
    app: Flask, client: FlaskClient, victim: Any
) -> None:
    shop, segment = victim
    other = make_shop()
    gone = make_shop()
    gone.uninstalled_at = gone.installed_at
    tokens = {
        "expired": mint_session_token(shop.domain, lifetime=-3600),
        "forged": forged(shop.domain),
        "uninstalled shop": mint_session_token(gone.domain),
        "never installed": mint_session_token("stranger.myshopify.com"),
    }
    values = {"segment_id": segment.id, "key": "widgets"}
    routes = admin_routes(app)
    assert len(routes) > 20
    for method, rule in routes:
        url = fill(rule, values)
        for name, token in tokens.items():
            for how in ("header", "query"):
                headers = {"Authorization": f"Bearer {token}"} if how == "header" else {}
                query = {"shop": shop.domain, **({"id_token": token} if how == "query" else {})}
                response = client.open(url, method=method, headers=headers, query_string=query, json={})
                where = (method, url, name, how, response.status_code)
                assert response.status_code in (401, 403), where
                if name in ("expired", "forged"):
                    assert response.status_code == 401, where
                assert MARKER not in response.get_data(as_text=True), where
                assert set(response.get_json()) <= {"error", "message", "field"}, where
        # a valid token of another installed shop: the page load for this shop is refused ...
        if rule.startswith("/admin/") and not rule.startswith("/admin/api/") and method == "GET":
            response = client.get(
                url, query_string={"shop": shop.domain, "id_token": mint_session_token(other.domain)}
            )
            assert response.status_code == 401, (url, response.status_code)
            assert MARKER not in response.get_data(as_text=True)


def test_another_shops_token_sees_none_of_this_shops_data(client: FlaskClient, victim: Any) -> None:
    shop, segment = victim
    other = make_shop()
    headers = {"Authorization": f"Bearer {mint_session_token(other.domain)}"}
    assert client.get(f"/segments/{segment.id}", headers=headers).status_code == 404
    assert client.get(f"/segments/{segment.id}/export.csv", headers=headers).status_code == 404
    assert client.post(f"/segments/{segment.id}/refresh", headers=headers).status_code == 404
    listed = client.get("/segments/", headers=headers).get_json()
    assert listed == {"segments": []}
    day = {"start": shop.installed_at.date().isoformat(), "end": shop.installed_at.date().isoformat()}
    theirs = client.get("/analytics/user_count/", headers=headers, query_string=day)
    assert theirs.get_json()["visitors"] == 0
    own = {"Authorization": f"Bearer {mint_session_token(shop.domain)}"}
    assert client.get("/analytics/user_count/", headers=own, query_string=day).get_json()["visitors"] == 1
    page = client.get("/admin/", query_string={"id_token": mint_session_token(other.domain)})
    assert page.status_code == 200
    assert MARKER not in page.get_data(as_text=True)


def test_a_session_token_without_exp_is_refused_by_admin_routes(
    app: Flask, client: FlaskClient, victim: Any
) -> None:
    shop, _ = victim
    now = int(time.time())
    claims = {"iss": f"https://{shop.domain}/admin", "dest": f"https://{shop.domain}",
              "aud": app.config["SHOPIFY_API_KEY"], "sub": "1", "nbf": now, "iat": now, "jti": "j", "sid": "s"}  # fmt: skip
    endless = jwt.encode(claims, app.config["SHOPIFY_API_SECRET"], algorithm="HS256")
    response = client.get("/analytics/session_count/", headers={"Authorization": f"Bearer {endless}"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_session_token"
    assert response.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"
    good = jwt.encode({**claims, "exp": now + 60}, app.config["SHOPIFY_API_SECRET"], algorithm="HS256")
    assert (
        client.get("/analytics/session_count/", headers={"Authorization": f"Bearer {good}"}).status_code
        == 200
    )
