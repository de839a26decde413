"""The merchant's consent mode reaches the storefront: an app-data metafield the embed block reads."""

from __future__ import annotations

import json
import re
from typing import Any

from flask.testing import FlaskClient

from shopify_app.core.auth import mint_session_token
from shopify_app.demo_store.theme import render_block, settings_of
from shopify_app.platform.tasks import set_up_shop
from shopify_app.standin import ShopifyStandin
from tests.platform.conftest import install


def _tracker_config(**context: Any) -> dict[str, Any]:
    html = render_block("app-embed", shop={"permanent_domain": "x.myshopify.com"},
                        block={"settings": settings_of("app-embed")}, **context)  # fmt: skip
    found = re.search(r'<script id="clickstream-config" type="application/json">(.*?)</script>', html, re.S)
    assert found is not None
    config: dict[str, Any] = json.loads(found.group(1))
    return config


def test_consent_mode_is_published_on_install_and_on_change(
    client: FlaskClient, standin: ShopifyStandin
) -> None:
    domain = "consent-shop.myshopify.com"
    standin.shop(domain)
    set_up_shop(install(domain).id)  # what the install flow schedules
    assert standin.shop(domain).metafields[("clickstream", "consent_mode")] == "required"

    headers = {"Authorization": f"Bearer {mint_session_token(domain)}"}
    changed = client.put("/admin/api/settings", headers=headers, json={"consent_mode": "not_required"})
    assert changed.status_code == 200
    assert standin.shop(domain).metafields[("clickstream", "consent_mode")] == "not_required"


def test_the_embed_block_hands_the_tracker_the_published_consent_mode() -> None:
    assert _tracker_config()["consentMode"] == "required", "nothing published yet: the safe default"
    published = {"metafields": {"clickstream": {"consent_mode": "not_required"}}}
    assert _tracker_config(app=published)["consentMode"] == "not_required"
