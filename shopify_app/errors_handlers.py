"""Rendering errors as JSON `{"error", "message"}` with the right status."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from shopify_app.core.errors import AppError
from shopify_app.core.extensions import db
from shopify_app.core.logging import describe_error, error_frames

log = logging.getLogger(__name__)


def _render(error: AppError) -> tuple[Response, int, dict[str, str]]:
    return jsonify(error.to_dict()), error.status, error.headers


def init_app(app: Flask) -> None:
    """Install the handlers: our errors, HTTP errors and anything unexpected."""

    @app.errorhandler(AppError)
    def app_error(error: AppError) -> tuple[Response, int, dict[str, str]]:
        if error.status >= 500:
            db.session.rollback()
            log.error("request failed: %s", error.message)
        return _render(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        code = (error.name or "error").lower().replace(" ", "_")
        response = jsonify({"error": code, "message": error.description or error.name})
        return response, error.code or 500

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int]:
        db.session.rollback()
        # the class and the frames, not the message: a database error's quotes the row's values
        log.error("unhandled error: %s", describe_error(error), extra={"where": error_frames(error)})
        return jsonify({"error": "internal_error", "message": "internal server error"}), 500
