"""Installing a shop: keep its token grant, fetch its details, start its catalog sync."""

from __future__ import annotations

import logging
from typing import Any

from shopify_app.core.auth import TokenGrant, access_token_for, exchange_session_token, store_grant
from shopify_app.core.errors import AppError, Forbidden
from shopify_app.core.extensions import db
from shopify_app.core.graphql import graphql
from shopify_app.core.models import Shop
from shopify_app.core.shops import find_shop
from shopify_app.core.types import utcnow

log = logging.getLogger(__name__)

SHOP_QUERY = """
query ShopDetails {
  shop {
    name
    email
    currencyCode
    ianaTimezone
    plan { displayName }
  }
}
"""


class MissingScopes(Forbidden):
    """Shopify granted fewer access scopes than the app needs."""

    code = "missing_scopes"


def check_scopes(granted: str, required: str) -> None:
    """Refuse a grant lacking a required scope (a `write_x` scope implies `read_x`)."""
    have = {scope.strip() for scope in granted.split(",") if scope.strip()}
    have |= {"read_" + scope[len("write_") :] for scope in have if scope.startswith("write_")}
    missing = sorted({s.strip() for s in required.split(",") if s.strip()} - have)
    if missing:
        raise MissingScopes(f"Shopify did not grant the scopes {', '.join(missing)}")


def needs_token(shop: Shop | None) -> bool:
    """True when the shop has no usable offline token (new, uninstalled, or refresh impossible)."""
    if shop is None or not shop.is_active or shop.access_token_encrypted is None:
        return True
    try:
        access_token_for(shop)
    except AppError:  # any refusal means: get a new grant by token exchange
        return True
    return False


def install_shop(domain: str, grant: TokenGrant, *, required_scopes: str) -> int:
    """Record a grant for `domain`, (re)activating the shop; commits and returns the shop's id."""
    check_scopes(grant.scope, required_scopes)
    shop = find_shop(domain)
    if shop is None:
        shop = Shop(domain=domain, settings={})
        db.session.add(shop)
    store_grant(shop, grant)
    if not shop.is_active:
        shop.installed_at = utcnow()
        shop.uninstalled_at = None
    db.session.flush()
    shop_id = shop.id
    db.session.commit()
    log.info("shop installed", extra={"shop": domain})
    return shop_id


def install_from_session_token(domain: str, id_token: str, *, required_scopes: str) -> tuple[int, bool]:
    """Token exchange when the shop has no usable token; returns the shop id and whether it was new."""
    shop = find_shop(domain)
    if shop is not None and not needs_token(shop):
        return shop.id, False
    grant = exchange_session_token(domain, id_token)
    return install_shop(domain, grant, required_scopes=required_scopes), True


def shop_details_from(data: dict[str, Any]) -> dict[str, Any]:
    """Our Shop fields from the GraphQL `shop` object."""
    node = data.get("shop") or {}
    return {
        "name": node.get("name"),
        "email": node.get("email"),
        "currency": node.get("currencyCode") or "USD",
        "timezone": node.get("ianaTimezone") or "UTC",
        "plan": (node.get("plan") or {}).get("displayName"),
    }


def fetch_shop_details(shop: Shop) -> Shop:
    """Fetch name, time zone, currency and plan from Shopify and keep them; commits."""
    details = shop_details_from(graphql(shop, SHOP_QUERY))
    for field, value in details.items():
        setattr(shop, field, value)
    db.session.commit()
    return shop
