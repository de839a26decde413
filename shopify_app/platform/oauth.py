"""The authorization-code grant, for installs outside the Shopify-managed flow.

`/auth/install?shop=...` sends the merchant to Shopify's grant screen with a random `state`
nonce, also kept in a signed, short-lived cookie. `/auth/callback` accepts the answer only when
its `hmac` verifies (constant time), its `timestamp` is recent, its `shop` is a valid domain, its
`state` equals the cookie's nonce, and the granted scopes cover what we asked for.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from shopify_app.core.auth import app_secrets, request_token
from shopify_app.core.errors import Forbidden, Unauthorized
from shopify_app.core.graphql import api_base_url
from shopify_app.core.logging import bind_log_context
from shopify_app.core.shops import require_shop_domain
from shopify_app.platform.install import install_shop
from shopify_app.platform.signatures import timestamp_is_fresh, verify_oauth_query

bp = Blueprint("oauth", __name__)

STATE_COOKIE = "shopify_oauth_state"
STATE_MAX_AGE = 600


class InvalidCallback(Unauthorized):
    """The OAuth callback is not signed by Shopify, or is too old."""

    code = "invalid_oauth_callback"


class StateMismatch(Forbidden):
    """The callback's `state` is not the nonce this browser was given."""

    code = "oauth_state_mismatch"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="shopify-oauth-state")


def redirect_uri() -> str:
    """Where Shopify sends the merchant back with the code."""
    return current_app.config["SHOPIFY_APP_URL"].rstrip("/") + "/auth/callback"


@bp.get("/auth/install")
def install() -> Response:
    """Start the authorization-code grant: redirect to Shopify with a nonce bound to a cookie."""
    domain = require_shop_domain(request.args.get("shop"))
    nonce = secrets.token_urlsafe(24)
    query = urlencode(
        {
            "client_id": current_app.config["SHOPIFY_API_KEY"],
            "scope": current_app.config["SHOPIFY_SCOPES"],
            "redirect_uri": redirect_uri(),
            "state": nonce,
        }
    )
    response: Response = redirect(f"{api_base_url(domain)}/admin/oauth/authorize?{query}")  # type: ignore[assignment]
    response.set_cookie(
        STATE_COOKIE,
        _serializer().dumps({"nonce": nonce, "shop": domain}),
        max_age=STATE_MAX_AGE,
        httponly=True,
        secure=request.is_secure,
        samesite="Lax",
        path="/auth/",
    )
    return response


def _state_from_cookie() -> dict[str, str]:
    cookie = request.cookies.get(STATE_COOKIE)
    if not cookie:
        raise StateMismatch("no OAuth state cookie; start the install again")
    try:
        state: dict[str, str] = _serializer().loads(cookie, max_age=STATE_MAX_AGE)
    except BadSignature:
        raise StateMismatch("the OAuth state cookie is invalid or expired") from None
    return state


@bp.get("/auth/callback")
def callback() -> Response:
    """Finish the grant: verify everything, trade the code for a token, install the shop."""
    pairs = list(request.args.items(multi=True))
    if not verify_oauth_query(pairs, app_secrets()):
        raise InvalidCallback("the callback's hmac does not verify")
    if not timestamp_is_fresh(pairs):
        raise InvalidCallback("the callback's timestamp is too old")
    domain = require_shop_domain(request.args.get("shop"))
    bind_log_context(shop=domain)
    state = _state_from_cookie()
    given = request.args.get("state", "")
    if state.get("shop") != domain or not hmac.compare_digest(state.get("nonce", ""), given):
        raise StateMismatch("the callback's state does not match this browser's install")
    grant = request_token(domain, {"code": request.args.get("code", "")})
    shop_id = install_shop(domain, grant, required_scopes=current_app.config["SHOPIFY_SCOPES"])
    from shopify_app.platform.tasks import set_up_shop

    set_up_shop.delay(shop_id)
    response: Response = redirect("/admin/app?" + urlencode({"shop": domain}))  # type: ignore[assignment]
    response.delete_cookie(STATE_COOKIE, path="/auth/")
    return response
