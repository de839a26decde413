"""Admin APIs for sale notifications and experiment results (session-token authenticated).

`GET /admin/api/experiments` lists the shop's experiments with per-arm conversion, revenue per
visitor and the uplift against the holdout; `GET/PUT /admin/api/notifications` read and change
the notification settings and show which model version is scoring the shop.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from ml.experiment_results import experiment_results, shop_experiments
from ml.live import notification_settings, update_notification_settings
from ml.rules import NotificationSettings, SettingsError
from ml.tasks import train_conversion_model
from ml.training import rollback, serving_version
from shopify_app.admin.session import NeedsBounce
from shopify_app.core.auth import admin_api, current_shop
from shopify_app.core.errors import BadRequest, NotFound
from shopify_app.core.openapi import error_response, json_response, register_openapi

bp = Blueprint("admin_experiments", __name__, template_folder="templates")


@bp.errorhandler(NeedsBounce)
def _bounce(error: NeedsBounce) -> Response:
    return error.response


@bp.get("/admin/experiments")
def experiments_page() -> Response:
    """Experiment results for the merchant: per-arm conversion and the uplift with its interval."""
    from shopify_app.admin.pages import render_admin_page
    from shopify_app.admin.session import page_session

    shop, token = page_session()
    results = [experiment_results(e) for e in shop_experiments(shop.id)]
    return render_admin_page("admin/experiments.html", "experiments", shop, token, experiments=results)


@bp.get("/admin/notifications")
def notifications_page() -> Response:
    """The notification settings and the model scoring the shop."""
    from shopify_app.admin.pages import render_admin_page
    from shopify_app.admin.session import page_session

    shop, token = page_session()
    settings = notification_settings(shop).as_dict()
    return render_admin_page(
        "admin/notifications.html",
        "notifications",
        shop,
        token,
        settings=settings,
        model=_model_summary(shop.id),
    )


@bp.get("/admin/api/experiments")
@admin_api
def list_experiments() -> Response:
    """Every experiment of the shop with its results."""
    shop = current_shop()
    return jsonify({"experiments": [experiment_results(e) for e in shop_experiments(shop.id)]})


@bp.get("/admin/api/experiments/<key>")
@admin_api
def show_experiment(key: str) -> Response:
    """One experiment's results."""
    shop = current_shop()
    for experiment in shop_experiments(shop.id):
        if experiment.key == key:
            return jsonify(experiment_results(experiment))
    raise NotFound(f"no experiment {key!r} in this shop", field="key")


def _model_summary(shop_id: int) -> dict[str, Any] | None:
    version = serving_version(shop_id)
    if version is None:
        return None
    return {
        "version": version.version,
        "scope": "global" if version.shop_id is None else "shop",
        "trained_at": version.trained_at.isoformat(),
        "training_sessions": version.training_sessions,
        "metrics": version.metrics,
    }


def _settings_body(settings: NotificationSettings, shop_id: int) -> Response:
    return jsonify({"settings": settings.as_dict(), "model": _model_summary(shop_id)})


@bp.get("/admin/api/notifications")
@admin_api
def get_notifications() -> Response:
    """The notification settings and the model scoring this shop."""
    shop = current_shop()
    return _settings_body(notification_settings(shop), shop.id)


@bp.put("/admin/api/notifications")
@admin_api
def put_notifications() -> Response:
    """Change some notification settings; every field is checked before anything is saved."""
    shop = current_shop()
    changes = request.get_json(silent=True)
    if not isinstance(changes, dict):
        raise BadRequest("send a JSON object of settings to change", field="body")
    try:
        settings = update_notification_settings(shop, changes)
    except SettingsError as exc:
        raise BadRequest(exc.message, field=exc.field) from None
    return _settings_body(settings, shop.id)


@bp.post("/admin/api/notifications/model/train")
@admin_api
def train_model() -> tuple[Response, int]:
    """Queue training of a new model version for this shop."""
    shop = current_shop()
    train_conversion_model.delay(shop_id=shop.id)
    return jsonify({"queued": True}), 202


@bp.post("/admin/api/notifications/model/rollback")
@admin_api
def rollback_model() -> Response:
    """Serve the shop's previous model version again."""
    shop = current_shop()
    rollback(shop.id)
    return _settings_body(notification_settings(shop), shop.id)


SECURED: list[dict[str, list[str]]] = [{"sessionToken": []}]
DENIED = {
    "401": error_response("Missing, expired or foreign session token"),
    "403": error_response("Shop not installed"),
}
SETTINGS = {
    "type": "object",
    "properties": {"settings": {"type": "object"}, "model": {"type": "object", "nullable": True}},
}


def init_app(app: Flask) -> None:
    """Register the blueprint and its OpenAPI description."""
    app.register_blueprint(bp)
    item = {"security": SECURED}
    register_openapi(
        app,
        {
            "/admin/api/experiments": {
                "get": {
                    **item,
                    "summary": "Experiments with per-arm results and uplift",
                    "responses": {"200": json_response("Experiments", {"type": "object"}), **DENIED},
                }
            },
            "/admin/api/experiments/{key}": {
                "get": {
                    **item,
                    "summary": "One experiment's results",
                    "parameters": [
                        {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {
                        "200": json_response("Results", {"type": "object"}),
                        "404": error_response("No such experiment"),
                        **DENIED,
                    },
                }
            },
            "/admin/api/notifications": {
                "get": {
                    **item,
                    "summary": "Notification settings and the serving model",
                    "responses": {"200": json_response("Settings", SETTINGS), **DENIED},
                },
                "put": {
                    **item,
                    "summary": "Change notification settings",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "responses": {
                        "200": json_response("Settings", SETTINGS),
                        "400": error_response("A setting is invalid (named in `field`)"),
                        **DENIED,
                    },
                },
            },
            "/admin/api/notifications/model/train": {
                "post": {
                    **item,
                    "summary": "Queue training of a new model version",
                    "responses": {"202": json_response("Queued", {"type": "object"}), **DENIED},
                }
            },
            "/admin/api/notifications/model/rollback": {
                "post": {
                    **item,
                    "summary": "Serve the previous model version",
                    "responses": {
                        "200": json_response("Settings", SETTINGS),
                        "404": error_response("No earlier version"),
                        **DENIED,
                    },
                }
            },
        },
    )
