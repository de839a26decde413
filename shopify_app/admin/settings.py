"""The merchant's settings (stored in Shop.settings) and the admin API that reads and changes them.

consent_mode                 `required`: track only after the visitor consents (Customer Privacy API);
                             `not_required`: track without waiting (regions without a consent law)
retention_months             raw events older than this are purged (the rollups stay)
session_timeout_minutes      inactivity that ends a session
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from analytics.retention import DEFAULT_RETENTION_MONTHS
from shopify_app.core.auth import admin_api, current_shop
from shopify_app.core.errors import BadRequest
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop

CONSENT_MODES = ("required", "not_required")
SETTINGS = ("consent_mode", "retention_months", "session_timeout_minutes")
LIMITS = {"retention_months": (1, 60), "session_timeout_minutes": (5, 240)}

bp = Blueprint("admin_settings", __name__, url_prefix="/admin/api")


def current_settings(shop: Shop) -> dict[str, Any]:
    """The shop's settings with defaults filled in."""
    defaults = {
        "consent_mode": "required",
        "retention_months": DEFAULT_RETENTION_MONTHS,
        "session_timeout_minutes": int(current_app.config.get("SESSION_TIMEOUT_MINUTES", 30)),
    }
    return {**defaults, **{key: value for key, value in (shop.settings or {}).items() if key in SETTINGS}}


def update_settings(shop: Shop, changes: Any) -> dict[str, Any]:
    """Validate and store changed settings (one unit of work; commits)."""
    if not isinstance(changes, dict):
        raise BadRequest("send a JSON object", field="body")
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        raise BadRequest(f"unknown setting {sorted(unknown)[0]}", field=sorted(unknown)[0])
    clean: dict[str, Any] = {}
    if "consent_mode" in changes:
        if changes["consent_mode"] not in CONSENT_MODES:
            raise BadRequest("consent_mode must be required or not_required", field="consent_mode")
        clean["consent_mode"] = changes["consent_mode"]
    for key, (low, high) in LIMITS.items():
        if key in changes:
            value = changes[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise BadRequest(f"{key} must be a whole number from {low} to {high}", field=key)
            clean[key] = value
    shop.settings = {**(shop.settings or {}), **clean}
    db.session.commit()
    if "consent_mode" in clean:
        from shopify_app.platform.tasks import publish_storefront_settings_task

        publish_storefront_settings_task.delay(shop.id)
    return current_settings(shop)


@bp.get("/settings")
@admin_api
def get_settings() -> Response:
    """The shop's settings."""
    return jsonify({"settings": current_settings(current_shop())})


@bp.put("/settings")
@admin_api
def put_settings() -> Response:
    """Change some settings."""
    return jsonify({"settings": update_settings(current_shop(), request.get_json(silent=True))})


@bp.get("/status")
@admin_api
def get_status() -> Response:
    """Installation status (tracking arriving, catalog sync progress)."""
    from shopify_app.admin.pages import installation_status

    return jsonify(installation_status(current_shop()))
