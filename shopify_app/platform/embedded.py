"""The embedded app's document loads: first load with `id_token`, the bounce page, CSP, App Bridge.

A document load carries `shop`, `host` and (Shopify-managed install) an `id_token`. Without a
valid token the page goes to the bounce page, which loads App Bridge; App Bridge fetches a fresh
session token and reloads the page with it (`shopify-reload`).
"""

from __future__ import annotations

import base64
import binascii
import html
import logging
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, redirect, request

from shopify_app.core.auth import InvalidSessionToken, decode_session_token, shop_domain_from_claims
from shopify_app.core.errors import AppError
from shopify_app.core.extensions import db
from shopify_app.core.logging import bind_log_context
from shopify_app.core.models import Shop
from shopify_app.core.shops import require_shop_domain, sanitize_shop_domain
from shopify_app.platform.install import install_from_session_token

bp = Blueprint("embedded", __name__)
log = logging.getLogger(__name__)

APP_BRIDGE_SRC = "https://cdn.shopify.com/shopifycloud/app-bridge.js"


def decode_host(host: str | None) -> str | None:
    """The admin host from the base64 `host` parameter (padding restored), or None if not Shopify's."""
    if not host:
        return None
    try:
        decoded = base64.urlsafe_b64decode(host + "=" * (-len(host) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    hostname = decoded.split("/", 1)[0]
    if hostname == "admin.shopify.com" or sanitize_shop_domain(hostname) == hostname:
        return decoded
    return None


def frame_ancestors(domain: str) -> str:
    """The CSP that lets only this shop's admin frame the app."""
    return f"frame-ancestors https://{domain} https://admin.shopify.com;"


def app_bridge_head() -> str:
    """The App Bridge tags Shopify requires: the API key meta, then the script first, not deferred."""
    api_key = html.escape(current_app.config["SHOPIFY_API_KEY"])
    return f'<meta name="shopify-api-key" content="{api_key}">\n<script src="{APP_BRIDGE_SRC}"></script>'


def embedded_page(domain: str, title: str, body: str) -> Response:
    """An HTML page for the admin iframe, with App Bridge and the shop's frame-ancestors CSP."""
    page = (
        "<!doctype html>\n<html><head><meta charset='utf-8'>\n"
        f"{app_bridge_head()}\n<title>{html.escape(title)}</title></head>\n<body>{body}</body></html>"
    )
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = frame_ancestors(domain)
    return response


def bounce_url(domain: str) -> str:
    """The bounce page for the current document load (App Bridge reloads it with a fresh token)."""
    args = {k: v for k, v in request.args.items() if k not in {"id_token", "hmac"}}
    args["shop"] = domain
    reload_target = request.path + "?" + urlencode(args)
    return "/auth/session-token?" + urlencode({**args, "shopify-reload": reload_target})


@bp.get("/auth/session-token")
def bounce() -> Response:
    """The bounce page: App Bridge only; it fetches a session token and reloads `shopify-reload`."""
    domain = require_shop_domain(request.args.get("shop"))
    return embedded_page(domain, "Loading", "")


@bp.get("/admin/app")
def app_home() -> Response:
    """The embedded app's first load: verify `id_token`, install by token exchange, show sync state."""
    domain = require_shop_domain(request.args.get("shop"))
    bind_log_context(shop=domain)
    id_token = request.args.get("id_token")
    if not id_token:
        return redirect(bounce_url(domain))  # type: ignore[return-value]
    try:
        claims = decode_session_token(id_token)
    except InvalidSessionToken:
        return redirect(bounce_url(domain))  # type: ignore[return-value]
    if shop_domain_from_claims(claims) != domain:
        raise InvalidSessionToken("session token rejected: it was issued for another shop")
    shop_id, installed = install_from_session_token(
        domain, id_token, required_scopes=current_app.config["SHOPIFY_SCOPES"]
    )
    if installed:
        start_set_up(shop_id)
    shop = db.session.get(Shop, shop_id)
    assert shop is not None
    if not installed:
        refresh_web_pixel(shop)
    g.shop = shop
    status = html.escape(f"{shop.catalog_sync_status} ({shop.catalog_sync_progress}%)")
    body = (
        f"<h1>{html.escape(shop.name or shop.domain)}</h1>"
        f"<p id='catalog-sync'>Catalog sync: {status}</p>"
        + (f"<p class='error'>{html.escape(shop.catalog_sync_error)}</p>" if shop.catalog_sync_error else "")
    )
    return embedded_page(domain, "Clickstream", body)


def start_set_up(shop_id: int) -> None:
    """Queue the post-install work; in embedded mode it runs here, and its failure is shown, not raised."""
    from shopify_app.platform.tasks import set_up_shop

    try:
        set_up_shop.delay(shop_id)
    except AppError as exc:
        log.warning("setting up the shop failed: %s", exc.message)


def refresh_web_pixel(shop: Shop) -> None:
    """Queue a `webPixelUpdate` when the pixel's settings are not the app's current ones (a new
    app URL); a pixel Shopify refused waits for the merchant's "connect" in admin."""
    from shopify_app.platform.tasks import connect_web_pixel_task
    from shopify_app.platform.web_pixel import ERROR, settings_changed

    if shop.web_pixel_status == ERROR or not settings_changed(shop):
        return
    try:
        connect_web_pixel_task.delay(shop.id)
    except AppError as exc:
        log.warning("connecting the web pixel failed: %s", exc.message)


def add_frame_ancestors(response: Response) -> Response:
    """Every HTML answer about a known shop may be framed by that shop's admin only."""
    if response.mimetype != "text/html" or "Content-Security-Policy" in response.headers:
        return response
    shop = getattr(g, "shop", None)
    domain = shop.domain if shop is not None else sanitize_shop_domain(request.args.get("shop"))
    if domain:
        response.headers["Content-Security-Policy"] = frame_ancestors(domain)
    return response
