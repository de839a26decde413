"""Who is looking at an admin page: the shop of a verified session token, and the token itself.

Inside Shopify admin a document load carries `id_token` (or the page's fetches send
`Authorization: Bearer`); App Bridge keeps tokens fresh. Standalone (`make run`, not production,
no `host`), a page without a token mints one for the demo shop only, so the admin works locally.
"""

from __future__ import annotations

from flask import Response, current_app, g, redirect, request

from shopify_app.core.auth import (
    InvalidSessionToken,
    ShopNotInstalled,
    bearer_token,
    decode_session_token,
    mint_session_token,
    shop_domain_from_claims,
)
from shopify_app.core.logging import bind_log_context
from shopify_app.core.models import Shop
from shopify_app.core.shops import find_shop, sanitize_shop_domain
from shopify_app.demo import DEMO_SHOP_DOMAIN

STANDALONE_TOKEN_SECONDS = 3600


class NeedsBounce(Exception):
    """An embedded document load without a token: App Bridge must fetch one first."""

    def __init__(self, response: Response) -> None:
        super().__init__("bounce")
        self.response = response


def standalone_allowed() -> bool:
    """Minting a demo token is for local development only, never in production or inside Shopify."""
    return current_app.config.get("PROFILE") != "production" and not request.args.get("host")


def page_session() -> tuple[Shop, str]:
    """The verified shop of this page load and a session token its scripts may send to our APIs."""
    requested = sanitize_shop_domain(request.args.get("shop"))
    token = request.args.get("id_token") or bearer_token()
    if token is None:
        if standalone_allowed() and requested in (None, DEMO_SHOP_DOMAIN):
            token = mint_session_token(DEMO_SHOP_DOMAIN, lifetime=STANDALONE_TOKEN_SECONDS)
        elif requested:
            from shopify_app.platform.embedded import bounce_url

            raise NeedsBounce(redirect(bounce_url(requested)))  # type: ignore[arg-type]
        else:
            raise InvalidSessionToken("missing session token")
    domain = shop_domain_from_claims(decode_session_token(token))
    if requested and requested != domain:
        raise InvalidSessionToken("session token rejected: it was issued for another shop")
    bind_log_context(shop=domain)
    shop = find_shop(domain)
    if shop is None or not shop.is_active:
        raise ShopNotInstalled("this shop has not installed the app")
    g.shop = shop
    return shop, token
