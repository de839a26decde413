"""The demo storefront under /demo/store/ (rendering the real app embed block), and /storefront/ assets."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response, abort, send_from_directory

STOREFRONT_DIST = Path(__file__).resolve().parents[2] / "storefront_script" / "dist"
assets = Blueprint("storefront_assets", __name__)


@assets.get("/storefront/<path:filename>")
def storefront_file(filename: str) -> Response:
    """The built storefront scripts (tracker, widgets, notifications), cached for a day."""
    if not (STOREFRONT_DIST / filename).is_file():
        abort(404, description=f"{filename} is not built: run `make storefront`")
    response = send_from_directory(STOREFRONT_DIST, filename, max_age=86400)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def init_app(app: Flask) -> None:
    """Register the demo storefront pages and the storefront script route."""
    from shopify_app.demo_store import views

    app.register_blueprint(views.bp)
    app.register_blueprint(assets)
