"""Embedded-admin authentication: Shopify session tokens (App Bridge `id_token`).

A token is an HS256 JWT signed with the app secret. We check the signature (the current secret,
then the previous one during rotation), `aud` == API key, `exp` (required)/`nbf` with 10 s leeway,
the required claims, and that the `iss` and `dest` hosts are the same shop. A rejected XHR gets 401
with `X-Shopify-Retry-Invalid-Session-Request: 1` so App Bridge fetches a fresh token.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import jwt
import requests
from flask import current_app, g, request
from shopify import session_token as shopify_session_token
from sqlalchemy import select, update

from shopify_app.core.crypto import decrypt_token, encrypt_token
from shopify_app.core.errors import Forbidden, Unauthorized
from shopify_app.core.extensions import db
from shopify_app.core.logging import bind_log_context
from shopify_app.core.models import Shop
from shopify_app.core.shops import find_shop, sanitize_shop_domain
from shopify_app.core.types import utcnow

log = logging.getLogger(__name__)

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
        # PyJWT checks `exp` only when the token has one: a token without it would never expire.
        if not isinstance(claims.get("exp"), int | float):
            raise InvalidSessionToken("session token rejected: it has no exp (expiry)")
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
    domain = shop_domain_from_claims(claims)
    bind_log_context(shop=domain)
    shop = find_shop(domain)
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


# --- Offline access tokens (expiring, obtained by token exchange, refreshed before expiry) ---

TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 - a grant type, not a secret
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"  # noqa: S105 - a grant type, not a secret
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"  # noqa: S105 - a grant type, not a secret
REFRESH_MARGIN = timedelta(minutes=5)


class AccessTokenError(Unauthorized):
    """Shopify refused to grant or refresh an access token; the shop must open the app again."""

    code = "access_token_refused"


@dataclass(frozen=True)
class TokenGrant:
    """What Shopify's token endpoint granted."""

    access_token: str
    scope: str
    expires_in: int | None = None
    refresh_token: str | None = None
    refresh_token_expires_in: int | None = None

    @classmethod
    def from_response(cls, body: dict[str, Any]) -> TokenGrant:
        """Parse the token endpoint's JSON answer."""
        if not isinstance(body.get("access_token"), str):
            raise AccessTokenError("Shopify's token answer has no access_token")
        return cls(
            access_token=body["access_token"],
            scope=str(body.get("scope", "")),
            expires_in=body.get("expires_in"),
            refresh_token=body.get("refresh_token"),
            refresh_token_expires_in=body.get("refresh_token_expires_in"),
        )


def request_token(shop_domain: str, form: dict[str, str]) -> TokenGrant:
    """POST `form` (plus our client credentials) to the shop's token endpoint."""
    from shopify_app.core.graphql import api_base_url

    fields = {
        "client_id": current_app.config["SHOPIFY_API_KEY"],
        "client_secret": current_app.config["SHOPIFY_API_SECRET"],
        **form,
    }
    try:
        response = requests.post(
            f"{api_base_url(shop_domain)}/admin/oauth/access_token",
            data=fields,
            headers={"Accept": "application/json"},
            timeout=(5, 20),
        )
    except requests.RequestException as exc:
        raise AccessTokenError(f"token endpoint unreachable: {type(exc).__name__}") from None
    if response.status_code == 400 and "invalid_subject_token" in response.text:
        raise InvalidSessionToken("Shopify refused the session token for token exchange")
    if response.status_code != 200:
        raise AccessTokenError(f"token endpoint answered HTTP {response.status_code}")
    try:
        return TokenGrant.from_response(response.json())
    except ValueError:
        raise AccessTokenError("token endpoint answered with a body that is not JSON") from None


def exchange_session_token(shop_domain: str, id_token: str) -> TokenGrant:
    """Trade a verified session token for an expiring offline access token."""
    return request_token(
        shop_domain,
        {
            "grant_type": TOKEN_EXCHANGE_GRANT,
            "subject_token": id_token,
            "subject_token_type": ID_TOKEN_TYPE,
            "requested_token_type": OFFLINE_TOKEN_TYPE,
            "expiring": "1",
        },
    )


def store_grant(shop: Shop, grant: TokenGrant) -> None:
    """Keep a grant on the shop, encrypted; a grant without expiry clears the refresh token."""
    now = utcnow()
    shop.access_token_encrypted = encrypt_token(grant.access_token)
    shop.access_token_expires_at = now + timedelta(seconds=grant.expires_in) if grant.expires_in else None
    shop.refresh_token_encrypted = encrypt_token(grant.refresh_token) if grant.refresh_token else None
    shop.refresh_token_expires_at = (
        now + timedelta(seconds=grant.refresh_token_expires_in) if grant.refresh_token_expires_in else None
    )
    shop.scopes = grant.scope


def _expiring_soon(expires_at: datetime | None) -> bool:
    return expires_at is not None and expires_at <= utcnow() + REFRESH_MARGIN


def access_token_for(shop: Shop, *, force_refresh: bool = False) -> str:
    """A usable offline access token for `shop`, refreshed first when it (nearly) expired."""
    if shop.access_token_encrypted is None:
        raise AccessTokenError(f"{shop.domain} has no access token; open the app to install it")
    current = decrypt_token(shop.access_token_encrypted)
    if not force_refresh and not _expiring_soon(shop.access_token_expires_at):
        return current
    return refresh_access_token(shop.id, stale_token=current if force_refresh else None)


def refresh_access_token(shop_id: int, *, stale_token: str | None = None) -> str:
    """Refresh the shop's access token once, even when several workers try at the same time.

    The shop row is locked (SELECT ... FOR UPDATE) and re-read, so the one-time refresh token is
    spent by exactly one worker; the others wait for the lock, then find the new token. The new
    tokens are committed at once (losing them would lock the shop out), so call this before
    writing anything else in the unit of work, as `graphql()` does.
    """
    db.session.commit()
    # A no-op UPDATE takes the row's write lock first: InnoDB locks the row, SQLite (which ignores
    # FOR UPDATE) the database, so a second worker waits here until the first one committed.
    db.session.execute(
        update(Shop).where(Shop.id == shop_id).values(updated_at=Shop.updated_at),
        execution_options={"synchronize_session": False},
    )
    row = db.session.execute(
        select(Shop).where(Shop.id == shop_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    try:
        if row.access_token_encrypted is None:
            raise AccessTokenError(f"{row.domain} has no access token")
        current = decrypt_token(row.access_token_encrypted)
        fresh = current != stale_token if stale_token else not _expiring_soon(row.access_token_expires_at)
        if fresh:
            return current
        if row.refresh_token_encrypted is None or _expiring_soon(row.refresh_token_expires_at):
            raise AccessTokenError(f"{row.domain}: the access token expired and cannot be refreshed")
        grant = request_token(
            row.domain,
            {"grant_type": "refresh_token", "refresh_token": decrypt_token(row.refresh_token_encrypted)},
        )
        store_grant(row, grant)
        log.info("access token refreshed", extra={"shop": row.domain})
        return grant.access_token
    finally:
        db.session.commit()  # releases the row lock (and keeps a new grant)
