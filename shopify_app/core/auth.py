"""Embedded-admin authentication: Shopify session tokens (App Bridge `id_token`).

A token is an HS256 JWT signed with the app secret. We check the signature (the current secret,
then the previous one during rotation), `aud` == API key, `exp`/`nbf` with 10 s leeway, the
required claims, and that the `iss` and `dest` hosts are the same shop. A rejected XHR gets 401
with `X-Shopify-Retry-Invalid-Session-Request: 1` so App Bridge fetches a fresh token.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import jwt
from flask import current_app, g, request
from shopify import session_token as shopify_session_token

from shopify_app.core.errors import Forbidden, Unauthorized
from shopify_app.core.models import Shop
from shopify_app.core.shops import find_shop, sanitize_shop_domain

RETRY_HEADER = {"X-Shopify-Retry-Invalid-Session-Request": "1"}
F = TypeVar("F", bound=Callable[..., Any])


class InvalidSessionToken(Unauthorized):
    """The session token is missing, malformed, expired or not ours."""

    code = "invalid_session_token"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers=RETRY_HEADER)


class ShopNotInstalled(Forbidden):
    """The token is valid but the shop has not installed the app (or uninstalled it)."""

    code = "shop_not_installed"


def app_secrets() -> list[str]:
    """The secrets a Shopify signature may be made with: current first, then previous."""
    secrets = [current_app.config["SHOPIFY_API_SECRET"]]
    previous = current_app.config.get("SHOPIFY_API_SECRET_PREVIOUS")
    if previous:
        secrets.append(previous)
    return secrets


def decode_session_token(token: str) -> dict[str, Any]:
    """The verified claims of a session token, or InvalidSessionToken saying why not."""
    api_key = current_app.config["SHOPIFY_API_KEY"]
    last_error = "invalid session token"
    for secret in app_secrets():
        try:
            claims: dict[str, Any] = shopify_session_token.decode_from_header(
                "Bearer " + token, api_key, secret
            )
        except shopify_session_token.SessionTokenError as exc:
            last_error = str(exc) or type(exc).__name__
            if "Signature verification failed" in last_error:
                continue
            raise InvalidSessionToken(f"session token rejected: {last_error}") from None
        if urlsplit(claims["iss"]).hostname != urlsplit(claims["dest"]).hostname:
            raise InvalidSessionToken("session token rejected: iss and dest hosts differ")
        return claims
    raise InvalidSessionToken(f"session token rejected: {last_error}")


def shop_domain_from_claims(claims: dict[str, Any]) -> str:
    """The shop a verified token was issued for."""
    domain = sanitize_shop_domain(urlsplit(claims["dest"]).hostname)
    if domain is None:
        raise InvalidSessionToken("session token rejected: dest is not a shop")
    return domain


def bearer_token() -> str | None:
    """The bearer token of the current request, if any."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer ") :].strip() or None
    return None


def authenticate_admin_request() -> Shop:
    """Authenticate the current request by its session token and return its installed shop."""
    token = bearer_token()
    if token is None:
        raise InvalidSessionToken("missing Authorization: Bearer <session token>")
    claims = decode_session_token(token)
    shop = find_shop(shop_domain_from_claims(claims))
    if shop is None or not shop.is_active:
        raise ShopNotInstalled("this shop has not installed the app")
    g.session_claims = claims
    g.shop = shop
    return shop


def admin_api(view: F) -> F:
    """Decorator: the view runs only for a valid session token; `g.shop` is its shop."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        authenticate_admin_request()
        return view(*args, **kwargs)

    return cast(F, wrapper)


def current_shop() -> Shop:
    """The shop the current admin request was authenticated for."""
    shop: Shop = g.shop
    return shop


def mint_session_token(shop_domain: str, *, lifetime: int = 60, user_id: str = "1") -> str:
    """A session token as Shopify would issue it, for standalone mode and the local stand-in."""
    now = int(time.time())
    claims = {
        "iss": f"https://{shop_domain}/admin",
        "dest": f"https://{shop_domain}",
        "aud": current_app.config["SHOPIFY_API_KEY"],
        "sub": user_id,
        "exp": now + lifetime,
        "nbf": now,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "sid": uuid.uuid4().hex,
    }
    return jwt.encode(claims, current_app.config["SHOPIFY_API_SECRET"], algorithm="HS256")
