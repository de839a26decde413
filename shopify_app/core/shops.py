"""Finding the tenant: shop-domain validation and lookup."""

from __future__ import annotations

from shopify.utils.shop_url import sanitize_shop_domain as _shopify_sanitize
from sqlalchemy import select

from shopify_app.core.errors import BadRequest, NotFound
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop


class InvalidShopDomain(BadRequest):
    """The shop parameter is not a myshopify.com domain."""

    code = "invalid_shop"


class UnknownShop(NotFound):
    """No installed shop has this domain."""

    code = "unknown_shop"


def sanitize_shop_domain(value: str | None) -> str | None:
    """The lower-cased `*.myshopify.com` domain, or None when `value` is not one."""
    if not value or len(value) > 255:
        return None
    try:
        domain: str | None = _shopify_sanitize(value)
    except ValueError:  # the library's URL parsing refuses brackets that hold no IP address
        return None
    return domain


def require_shop_domain(value: str | None, *, field: str = "shop") -> str:
    """The sanitized domain, or a 400 naming `field`."""
    domain = sanitize_shop_domain(value)
    if domain is None:
        raise InvalidShopDomain(f"{field} must be a *.myshopify.com domain", field=field)
    return domain


def find_shop(domain: str) -> Shop | None:
    """The shop with this domain, installed or not."""
    return db.session.execute(select(Shop).where(Shop.domain == domain)).scalar_one_or_none()


def active_shop(domain: str | None, *, field: str = "shop") -> Shop:
    """The installed shop for `domain`, or a 400/404 naming `field`."""
    shop = find_shop(require_shop_domain(domain, field=field))
    if shop is None or not shop.is_active:
        raise UnknownShop(f"{field}: no installed shop with this domain", field=field)
    return shop
