"""The merchant's recommendation settings: pinned and excluded products, holdout share and mode.

`GET/PUT /admin/api/recommendations/settings` (session token). Changing them changes the widgets'
cache keys, so storefronts see the change on their next request.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from recommend.catalog import bump_catalog_version
from recommend.settings import HOLDOUT_MODES, RecommendationSettings
from shopify_app.core.auth import admin_api, current_shop
from shopify_app.core.extensions import db
from shopify_app.core.openapi import error_response, json_response, register_openapi

bp = Blueprint("admin_recommendations", __name__, url_prefix="/admin/api/recommendations")
SCHEMA = {
    "type": "object",
    "properties": {
        "pinned": {"type": "array", "items": {"type": "integer"}, "maxItems": 100},
        "excluded": {"type": "array", "items": {"type": "integer"}, "maxItems": 100},
        "holdout_share": {"type": "number", "minimum": 0, "maximum": 0.5},
        "holdout_mode": {"type": "string", "enum": list(HOLDOUT_MODES)},
    },
    "additionalProperties": False,
}


@bp.get("/settings")
@admin_api
def get_settings() -> Response:
    """The shop's recommendation settings."""
    return jsonify({"settings": RecommendationSettings.of(current_shop()).as_dict()})


@bp.put("/settings")
@admin_api
def put_settings() -> Response:
    """Change some recommendation settings (a 400 names a bad field; nothing is saved then)."""
    shop = current_shop()
    changes = request.get_json(silent=True)
    settings = RecommendationSettings.validated(changes, RecommendationSettings.of(shop))
    shop.settings = {**(shop.settings or {}), "recommendations": settings.as_dict()}
    bump_catalog_version(shop.id)  # every web process reloads the shop's widget snapshot
    db.session.commit()
    return jsonify({"settings": settings.as_dict()})


def init_app(app: Flask) -> None:
    """Register the routes and their OpenAPI description."""
    from shopify_app.admin import DENIED, SECURED

    app.register_blueprint(bp)
    answer = json_response("Recommendation settings", {"type": "object", "properties": {"settings": SCHEMA}})
    operations: dict[str, Any] = {
        "get": {"security": SECURED, "summary": "The shop's recommendation settings",
                "responses": {"200": answer, **DENIED}},
        "put": {"security": SECURED, "summary": "Change recommendation settings",
                "requestBody": {"required": True, "content": {"application/json": {"schema": SCHEMA}}},
                "responses": {"200": answer, "400": error_response("Invalid setting"), **DENIED}},
    }  # fmt: skip
    register_openapi(app, {"/admin/api/recommendations/settings": operations})
