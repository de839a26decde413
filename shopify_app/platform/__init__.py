"""Shopify platform: install and token exchange, OAuth, web pixel, catalog sync, embedded pages, app proxy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, jsonify

from shopify_app.core.auth import admin_api, current_shop
from shopify_app.core.errors import Conflict
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop
from shopify_app.core.openapi import error_response, json_response, register_openapi
from shopify_app.platform.web_pixel import check_web_pixel, connect_web_pixel, web_pixel_state

api = Blueprint("platform_api", __name__)

SYNC_SCHEMA = {
    "type": "object",
    "required": ["status", "progress"],
    "properties": {
        "status": {"type": "string", "enum": ["never", "queued", "running", "importing", "done", "failed"]},
        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
        "error": {"type": "string", "nullable": True},
        "synced_at": {"type": "string", "format": "date-time", "nullable": True},
    },
}


def sync_state() -> dict[str, Any]:
    """What the merchant sees of the current shop's catalog sync."""
    shop = current_shop()
    db.session.refresh(shop)  # the sync commits its progress from elsewhere (a worker, a task)
    return {
        "status": shop.catalog_sync_status,
        "progress": shop.catalog_sync_progress,
        "error": shop.catalog_sync_error,
        "synced_at": shop.catalog_synced_at.isoformat() + "Z" if shop.catalog_synced_at else None,
    }


@api.get("/api/platform/catalog-sync")
@admin_api
def catalog_sync_status() -> Any:
    """The catalog sync's progress and last error."""
    return jsonify(sync_state())


@api.post("/api/platform/catalog-sync")
@admin_api
def start_catalog_sync() -> Any:
    """Start a full catalog sync now."""
    from shopify_app.platform.catalog import set_progress
    from shopify_app.platform.tasks import sync_catalog_task

    shop = current_shop()
    if shop.catalog_sync_status in {"running", "importing", "queued"}:
        raise Conflict("a catalog sync is already running")
    shop_id = shop.id  # read before the commit below expires it
    set_progress(shop_id, "queued", 0)
    sync_catalog_task.delay(shop_id)
    return jsonify(sync_state()), 202


WEB_PIXEL_SCHEMA = {
    "type": "object",
    "required": ["status", "error", "checked_at"],
    "properties": {
        "status": {"type": "string", "enum": ["connected", "not_connected", "error"]},
        "error": {"type": "string", "nullable": True, "description": "Shopify's message when it refused"},
        "checked_at": {"type": "string", "format": "date-time", "nullable": True},
    },
}


def _pixel_answer(shop_id: int) -> Any:
    shop = db.session.get(Shop, shop_id)
    assert shop is not None
    return jsonify(web_pixel_state(shop))


@api.get("/api/platform/web-pixel")
@admin_api
def web_pixel_status() -> Any:
    """The shop's web pixel as Shopify last answered: connected, not connected, or its error."""
    shop = current_shop()
    db.session.refresh(shop)  # a task records the state from elsewhere
    return _pixel_answer(shop.id)


def _pixel_answer_after(step: Callable[[Shop], Any]) -> Any:
    """Run `step` (a call to Shopify) for the current shop, then answer the pixel's new state."""
    shop = current_shop()
    shop_id = shop.id  # `step` commits, which expires the shop
    step(shop)
    return _pixel_answer(shop_id)


@api.post("/api/platform/web-pixel")
@admin_api
def connect_web_pixel_now() -> Any:
    """Connect the shop's web pixel now (`webPixelCreate`, or `webPixelUpdate` when it exists)."""
    return _pixel_answer_after(connect_web_pixel)


@api.post("/api/platform/web-pixel/check")
@admin_api
def check_web_pixel_now() -> Any:
    """Ask Shopify (`webPixel`) whether the shop's web pixel is connected."""
    return _pixel_answer_after(check_web_pixel)


def _openapi_paths() -> dict[str, Any]:
    security: list[dict[str, list[str]]] = [{"sessionToken": []}]
    unauthorized = error_response("Missing or invalid session token")
    return {
        "/api/platform/catalog-sync": {
            "get": {
                "summary": "Catalog sync progress",
                "security": security,
                "responses": {
                    "200": json_response("Sync state", {"$ref": "#/components/schemas/CatalogSync"}),
                    "401": unauthorized,
                    "403": error_response("Shop not installed"),
                },
            },
            "post": {
                "summary": "Start a catalog sync",
                "security": security,
                "responses": {
                    "202": json_response("Sync queued", {"$ref": "#/components/schemas/CatalogSync"}),
                    "401": unauthorized,
                    "403": error_response("Shop not installed"),
                    "409": error_response("A sync is already running"),
                    "502": error_response("Shopify refused or failed"),
                },
            },
        },
        "/api/platform/web-pixel": {
            "get": {
                "summary": "The web pixel's state",
                "security": security,
                "responses": {
                    "200": json_response("Pixel state", {"$ref": "#/components/schemas/WebPixel"}),
                    "401": unauthorized,
                    "403": error_response("Shop not installed"),
                },
            },
            "post": {
                "summary": "Connect the web pixel now (create, or update its settings)",
                "description": "Shopify's refusal (`userErrors`, e.g. settings the deployed extension does "
                "not accept) is answered as `status: error` with Shopify's message.",
                "security": security,
                "responses": {
                    "200": json_response("Pixel state", {"$ref": "#/components/schemas/WebPixel"}),
                    "401": unauthorized,
                    "403": error_response("Shop not installed"),
                },
            },
        },
        "/api/platform/web-pixel/check": {
            "post": {
                "summary": "Ask Shopify whether the web pixel is connected (the `webPixel` query)",
                "security": security,
                "responses": {
                    "200": json_response("Pixel state", {"$ref": "#/components/schemas/WebPixel"}),
                    "401": unauthorized,
                    "403": error_response("Shop not installed"),
                },
            },
        },
    }


def init_app(app: Flask) -> None:
    """Register install, OAuth, embedded pages and the catalog sync API."""
    from shopify_app.platform import embedded, oauth, proxy
    from shopify_app.standin import standin_command

    app.cli.add_command(standin_command)

    app.register_blueprint(embedded.bp)
    app.register_blueprint(oauth.bp)
    app.register_blueprint(proxy.bp)
    app.register_blueprint(api)
    app.after_request(embedded.add_frame_ancestors)
    register_openapi(
        app,
        {**_openapi_paths(), **proxy.OPENAPI_PATHS},
        schemas={"CatalogSync": SYNC_SCHEMA, "WebPixel": WEB_PIXEL_SCHEMA},
        security_schemes={"sessionToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
    )
