"""The app configuration and the theme extension keep their contracts with Shopify and the widgets."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import Flask
from liquid import Environment

from tests.conftest import REPO_ROOT
from webhooks.handlers import HANDLERS

THEME = REPO_ROOT / "extensions" / "clickstream-theme" / "blocks"


def _app_toml() -> dict[str, Any]:
    return tomllib.loads((REPO_ROOT / "shopify.app.toml").read_text())


def test_every_handled_topic_is_subscribed_to_an_existing_endpoint(app: Flask) -> None:
    subscriptions = _app_toml()["webhooks"]["subscriptions"]
    routes = {rule.rule for rule in app.url_map.iter_rules() if "POST" in (rule.methods or set())}
    subscribed = {}
    for subscription in subscriptions:
        for topic in subscription.get("topics", []) + subscription.get("compliance_topics", []):
            subscribed[topic] = subscription["uri"]
    assert set(subscribed) == set(HANDLERS)
    assert all(uri in routes for uri in subscribed.values())
    compliance = {t for s in subscriptions for t in s.get("compliance_topics", [])}
    assert compliance == {"customers/data_request", "customers/redact", "shop/redact"}


def test_app_config_scopes_cover_the_app_and_the_pixel(app: Flask) -> None:
    config = _app_toml()
    scopes = set(config["access_scopes"]["scopes"].split(","))
    assert set(app.config["SHOPIFY_SCOPES"].split(",")) <= scopes
    assert {"write_pixels", "read_customer_events"} <= scopes
    # Shopify: "Configuring an app proxy requires the write_app_proxy access scope."
    assert "write_app_proxy" in scopes
    assert "write_app_proxy" in app.config["SHOPIFY_SCOPES"].split(",")
    assert config["app_proxy"]["url"].endswith("/proxy")
    assert config["embedded"] is True


def _render(filename: str, **context: Any) -> str:
    source = (THEME / filename).read_text()
    source = re.sub(r"{% schema %}.*?{% endschema %}", "", source, flags=re.S)
    return Environment().from_string(source).render(**context)


def test_the_recommendations_block_renders_the_widget_mount_point() -> None:
    html = _render(
        "recommendations.liquid",
        block={
            "settings": {
                "widget": "also_bought",
                "title": "Bought <together>",
                "product_count": 6,
                "collection": None,
            },
            "shopify_attributes": "",
        },
        shop={"permanent_domain": "demo-shop.myshopify.com"},
        product={"id": 1003461},
        collection={"id": 77},
    )
    for attribute in (
        'data-clickstream-widget="also_bought"',
        'data-shop="demo-shop.myshopify.com"',
        'data-product-id="1003461"',
        'data-collection-id="77"',
        'data-limit="6"',
        'data-title="Bought &lt;together&gt;"',
    ):
        assert attribute in html


def test_the_recommendations_block_offers_every_widget() -> None:
    source = (THEME / "recommendations.liquid").read_text()
    schema = json.loads(re.search(r"{% schema %}(.*?){% endschema %}", source, flags=re.S).group(1))  # type: ignore[union-attr]
    widget = next(s for s in schema["settings"] if s["id"] == "widget")
    assert [o["value"] for o in widget["options"]] == [
        "crowd_favorites",
        "featured_collection",
        "pick_up",
        "also_viewed",
        "also_bought",
    ]


def test_the_web_pixel_subscribes_to_standard_events_and_requires_analytics_consent() -> None:
    pixel = REPO_ROOT / "extensions" / "clickstream-pixel"
    config = tomllib.loads((pixel / "shopify.extension.toml").read_text())
    assert config["type"] == "web_pixel_extension"
    assert config["customer_privacy"]["analytics"] is True
    source = (pixel / "src" / "index.js").read_text()
    assert "analytics.subscribe('all_standard_events'" in source
    assert "checkout_completed: 'purchase'" in source
    assert "visitorConsentCollected" in source


def test_relative_urls_in_the_app_config_resolve_to_the_apps_routes(app: Flask) -> None:
    """The CLI appends relative webhook and app proxy URLs to application_url: it must be the app's root."""
    config = _app_toml()
    application_url = config["application_url"]
    assert urlsplit(application_url).path in ("", "/")
    assert config["app_proxy"]["url"] == "/proxy"
    assert all(s["uri"].startswith("/") for s in config["webhooks"]["subscriptions"])


def test_shopify_admin_opening_the_app_at_its_root_goes_on_to_the_embedded_app(client: Any) -> None:
    launch = {"embedded": "1", "host": "YWRtaW4", "shop": "cool-shop.myshopify.com", "id_token": "x.y.z"}
    response = client.get("/", query_string=launch)
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == "/admin/app"
    assert dict(parse_qsl(target.query)) == launch
    assert client.get("/").status_code == 200  # a person opening the root still gets the start page
