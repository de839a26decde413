"""The shop's web pixel, connected by the app itself: nothing for the merchant to type.

On install the app activates its pixel extension with `webPixelCreate`, passing the settings its
`shopify.extension.toml` defines (as a JSON string); when the pixel exists already (a reinstall)
or its settings changed (a new app URL), `webPixelUpdate`. Shopify validates the settings against
the deployed extension and answers `userErrors` when they do not match: the shop then shows the
error with Shopify's message in admin. `webPixel` re-checks what Shopify holds.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import current_app

from shopify_app.core.errors import AppError
from shopify_app.core.extensions import db
from shopify_app.core.graphql import GraphQLErrors, UserErrors, graphql
from shopify_app.core.models import Shop
from shopify_app.core.types import utcnow

log = logging.getLogger(__name__)

CONNECTED, NOT_CONNECTED, ERROR = "connected", "not_connected", "error"
PIXEL_FIELDS = "webPixel { id settings } userErrors { code field message }"
CREATE = f"""
mutation webPixelCreate($webPixel: WebPixelInput!) {{
  webPixelCreate(webPixel: $webPixel) {{ {PIXEL_FIELDS} }}
}}"""
UPDATE = f"""
mutation webPixelUpdate($id: ID!, $webPixel: WebPixelInput!) {{
  webPixelUpdate(id: $id, webPixel: $webPixel) {{ {PIXEL_FIELDS} }}
}}"""
QUERY = "query webPixel($id: ID) { webPixel(id: $id) { id settings } }"


def pixel_settings() -> dict[str, str]:
    """The pixel's settings, one per field of its `shopify.extension.toml`: where it sends events."""
    return {"appUrl": str(current_app.config["SHOPIFY_APP_URL"]).rstrip("/")}


def pixel_settings_json() -> str:
    """The settings as the JSON string the mutations take (stable key order, to compare)."""
    return json.dumps(pixel_settings(), sort_keys=True, separators=(",", ":"))


def settings_changed(shop: Shop) -> bool:
    """True when the shop's pixel is not connected with the app's current settings."""
    return shop.web_pixel_status != CONNECTED or shop.web_pixel_settings != pixel_settings_json()


def _codes(exc: UserErrors) -> set[str]:
    return {str(error.get("code")) for error in exc.errors if isinstance(error, dict)}


def _record(
    shop: Shop,
    status: str,
    *,
    pixel_id: str | None = None,
    settings: str | None = None,
    error: str | None = None,
) -> None:
    shop.web_pixel_status = status
    if pixel_id is not None or status == NOT_CONNECTED:
        shop.web_pixel_id = pixel_id
    shop.web_pixel_settings = settings
    shop.web_pixel_error = error
    shop.web_pixel_checked_at = utcnow()
    db.session.commit()


def _update(shop: Shop, pixel_id: str, settings: str) -> str:
    answer = graphql(shop, UPDATE, {"id": pixel_id, "webPixel": {"settings": settings}})
    return str(answer["webPixelUpdate"]["webPixel"]["id"])


def _create(shop: Shop, settings: str) -> str:
    answer = graphql(shop, CREATE, {"webPixel": {"settings": settings}})
    return str(answer["webPixelCreate"]["webPixel"]["id"])


def _existing_pixel(shop: Shop, pixel_id: str | None = None) -> dict[str, Any] | None:
    """The app's pixel on the shop as Shopify holds it (`id`, `settings`), or None."""
    try:
        node = graphql(shop, QUERY, {"id": pixel_id})["webPixel"]
    except GraphQLErrors as exc:
        if any((error.get("extensions") or {}).get("code") == "NOT_FOUND" for error in exc.errors):
            return None
        raise
    return node if isinstance(node, dict) and node.get("id") else None


def _canonical(settings: Any) -> str | None:
    """Settings as Shopify returns them (a JSON string or object) in our stable form."""
    try:
        value = json.loads(settings) if isinstance(settings, str) else settings
    except ValueError:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":")) if isinstance(value, dict) else None


def connect_web_pixel(shop: Shop) -> str:
    """Create (or update) the shop's pixel with the app's settings; records and returns the status.

    Shopify's refusal is recorded as an error with its message, never raised: install goes on."""
    settings = pixel_settings_json()
    try:
        pixel_id = shop.web_pixel_id
        if pixel_id is None:
            existing = _existing_pixel(shop)
            pixel_id = str(existing["id"]) if existing else None
        if pixel_id is None:
            try:
                pixel_id = _create(shop, settings)
            except UserErrors as exc:
                # One pixel per app and shop: one we did not see a moment ago exists now.
                existing = _existing_pixel(shop) if "TAKEN" in _codes(exc) else None
                if existing is None:
                    raise
                pixel_id = _update(shop, str(existing["id"]), settings)
        else:
            try:
                pixel_id = _update(shop, pixel_id, settings)
            except UserErrors as exc:
                if "NOT_FOUND" not in _codes(exc):
                    raise
                pixel_id = _create(shop, settings)  # the id we kept went with an uninstall
    except AppError as exc:
        db.session.rollback()
        log.warning("web pixel not connected for %s: %s", shop.domain, exc.message)
        _record(shop, ERROR, error=exc.message)
        return ERROR
    _record(shop, CONNECTED, pixel_id=pixel_id, settings=settings)
    log.info("web pixel connected", extra={"shop": shop.domain})
    return CONNECTED


def check_web_pixel(shop: Shop) -> str:
    """Ask Shopify whether the shop's pixel exists (`webPixel`); records and returns the status.

    A pixel whose settings are not the app's current ones stays connected but is due an update
    (`settings_changed`)."""
    try:
        existing = _existing_pixel(shop, shop.web_pixel_id)
    except AppError as exc:
        db.session.rollback()
        _record(shop, ERROR, error=exc.message)
        return ERROR
    if existing is None:
        _record(shop, NOT_CONNECTED)
        return NOT_CONNECTED
    _record(shop, CONNECTED, pixel_id=str(existing["id"]), settings=_canonical(existing.get("settings")))
    return CONNECTED


def web_pixel_state(shop: Shop) -> dict[str, Any]:
    """What the merchant sees of the shop's pixel."""
    checked = shop.web_pixel_checked_at
    return {
        "status": shop.web_pixel_status,
        "error": shop.web_pixel_error,
        "checked_at": checked.isoformat() + "Z" if checked else None,
    }
