"""The app connects its web pixel itself (nothing for the merchant to type) and admin shows its state."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from shopify_app.core.auth import mint_session_token
from shopify_app.core.models import Shop
from shopify_app.core.types import utcnow
from shopify_app.standin import ShopifyStandin
from shopify_app.standin.pixels import deployed_settings_fields

pytestmark = pytest.mark.committed  # install commits for real


def _load_admin(client: Any, domain: str) -> None:
    response = client.get("/admin/app", query_string={"shop": domain, "id_token": mint_session_token(domain)})
    assert response.status_code == 200


def _shop(db: Any, domain: str) -> Shop:
    shop = db.session.execute(select(Shop).where(Shop.domain == domain)).scalar_one()
    db.session.refresh(shop)
    return shop


def _status_page(client: Any, domain: str) -> str:
    page = client.get("/admin/status", query_string={"id_token": mint_session_token(domain), "shop": domain})
    assert page.status_code == 200
    return str(page.get_data(as_text=True))


def test_install_connects_the_pixel_with_the_extensions_settings_and_admin_shows_it(
    app: Flask, client: Any, db: Any, standin: ShopifyStandin
) -> None:
    domain = "pixel-install.myshopify.com"
    _load_admin(client, domain)
    assert [(shop, name) for shop, name, _ in standin.pixel_calls] == [(domain, "webPixelCreate")]
    sent = json.loads(standin.pixel_calls[0][2])
    assert sent == {"appUrl": app.config["SHOPIFY_APP_URL"].rstrip("/")}
    assert set(sent) == set(deployed_settings_fields()), "one value per field the extension defines"
    shop = _shop(db, domain)
    assert (shop.web_pixel_status, shop.web_pixel_id) == ("connected", standin.web_pixels[domain]["id"])
    assert 'id="web-pixel" data-status="connected"' in _status_page(client, domain)
    # a later load with the same settings asks Shopify nothing more
    _load_admin(client, domain)
    assert len(standin.pixel_calls) == 1


def test_changed_settings_and_a_reinstall_update_the_pixel_never_create_a_second(
    app: Flask, client: Any, db: Any, standin: ShopifyStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    domain = "pixel-update.myshopify.com"
    _load_admin(client, domain)
    pixel_id = standin.web_pixels[domain]["id"]
    monkeypatch.setitem(app.config, "SHOPIFY_APP_URL", "https://clickstream.example.org")
    _load_admin(client, domain)  # the app moved: the pixel must send to the new address
    assert [name for _, name, _ in standin.pixel_calls] == ["webPixelCreate", "webPixelUpdate"]
    assert json.loads(standin.web_pixels[domain]["settings"]) == {"appUrl": "https://clickstream.example.org"}
    shop = _shop(db, domain)
    shop.uninstalled_at = utcnow()
    shop.web_pixel_id = None  # even without the id we kept, Shopify's own pixel is found and updated
    db.session.commit()
    _load_admin(client, domain)
    assert [name for _, name, _ in standin.pixel_calls] == [
        "webPixelCreate",
        "webPixelUpdate",
        "webPixelUpdate",
    ]
    shop = _shop(db, domain)
    assert shop.is_active
    assert (shop.web_pixel_status, shop.web_pixel_id) == ("connected", pixel_id)
    assert standin.web_pixels[domain]["id"] == pixel_id


def test_settings_shopify_refuses_show_as_an_error_with_its_message(
    client: Any, db: Any, standin: ShopifyStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    domain = "pixel-refused.myshopify.com"
    deployed = standin.pixel_fields
    # the deployed extension expects a field this version of the app does not send
    standin.pixel_fields = {**deployed, "accountId": {"name": "Account", "type": "single_line_text_field"}}
    _load_admin(client, domain)
    shop = _shop(db, domain)
    assert shop.web_pixel_status == "error"
    assert "accountId" in (shop.web_pixel_error or "")
    assert domain not in standin.web_pixels
    assert (shop.catalog_sync_status, shop.catalog_sync_progress) == ("done", 100), "install went on"
    page = _status_page(client, domain)
    assert 'data-status="error"' in page
    assert "Settings field &#39;accountId&#39; is required" in page
    headers = {"Authorization": f"Bearer {mint_session_token(domain)}"}
    assert client.get("/api/platform/web-pixel", headers=headers).get_json()["status"] == "error"
    standin.pixel_fields = deployed  # the matching extension version is deployed: connect again
    answer = client.post("/api/platform/web-pixel", headers=headers).get_json()
    assert (answer["status"], answer["error"]) == ("connected", None)
    assert [name for _, name, _ in standin.pixel_calls] == ["webPixelCreate", "webPixelCreate"]


def test_the_app_rechecks_with_shopify_whether_the_pixel_is_connected(
    client: Any, db: Any, standin: ShopifyStandin
) -> None:
    domain = "pixel-check.myshopify.com"
    _load_admin(client, domain)
    headers = {"Authorization": f"Bearer {mint_session_token(domain)}"}
    assert client.post("/api/platform/web-pixel/check", headers=headers).get_json()["status"] == "connected"
    del standin.web_pixels[domain]  # the merchant disconnected it in Shopify's customer events
    gone = client.post("/api/platform/web-pixel/check", headers=headers).get_json()
    assert gone["status"] == "not_connected"
    assert gone["checked_at"]
    assert 'data-status="not_connected"' in _status_page(client, domain)
    assert client.post("/api/platform/web-pixel", headers=headers).get_json()["status"] == "connected"
    assert [name for _, name, _ in standin.pixel_calls] == ["webPixelCreate", "webPixelCreate"]


def test_the_embed_asks_the_merchant_for_no_address() -> None:
    from shopify_app.demo_store.theme import render_block, settings_of

    settings = settings_of("app-embed")
    assert "app_url" not in settings
    assert settings["proxy_path"] == "/apps/clickstream", "the app proxy of shopify.app.toml, by default"
    page = render_block(
        "app-embed", shop={"permanent_domain": "x.myshopify.com"}, block={"settings": settings}
    )
    config = json.loads(page.split('type="application/json">', 1)[1].split("</script>", 1)[0])
    assert "appUrl" not in config
    assert (config["proxyPath"], config["assetsUrl"]) == ("/apps/clickstream", "/storefront/")


def test_a_reinstall_after_shopify_deleted_the_pixel_creates_it_again(
    client: Any, db: Any, standin: ShopifyStandin
) -> None:
    domain = "pixel-deleted.myshopify.com"
    _load_admin(client, domain)
    old_id = standin.web_pixels.pop(domain)["id"]  # Shopify removes an app's pixel with the app
    shop = _shop(db, domain)
    shop.uninstalled_at = utcnow()
    db.session.commit()
    _load_admin(client, domain)
    assert [name for _, name, _ in standin.pixel_calls] == [
        "webPixelCreate",
        "webPixelUpdate",
        "webPixelCreate",
    ]
    shop = _shop(db, domain)
    assert shop.web_pixel_status == "connected"
    assert shop.web_pixel_id == standin.web_pixels[domain]["id"] != old_id
