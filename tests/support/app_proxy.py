"""Requests as Shopify's app proxy forwards them, signed by Shopify's documented recipe.

Spelled out here, independently of `shopify_app.core.app_proxy`: the parameters other than
`signature`, grouped by key (repeated keys' values joined with commas), sorted, written `key=value`
and concatenated with nothing between them; the signature is the hex HMAC-SHA256 of that text
with the app secret (checked against Shopify's published vectors in tests/recommend/test_app_proxy.py).
"""

from __future__ import annotations

import hashlib
import hmac
import time

PROXY_PREFIX = "/apps/clickstream"


def shopify_signed_pairs(pairs: list[tuple[str, str]], secret: str) -> list[tuple[str, str]]:
    """`pairs` with the `signature` Shopify would add."""
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    message = "".join(f"{key}={','.join(values)}" for key, values in sorted(grouped.items()))
    return [*pairs, ("signature", hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest())]


def shopify_signed(
    secret: str, shop: str, customer: int | None, *, timestamp: int | None = None, **params: str
) -> list[tuple[str, str]]:
    """The query Shopify forwards for a storefront request with `params`: its own parameters
    (shop, the logged-in customer or empty, path prefix, time) added, then signed."""
    added = [("shop", shop), ("logged_in_customer_id", str(customer or "")), ("path_prefix", PROXY_PREFIX),
             ("timestamp", str(int(time.time()) if timestamp is None else timestamp))]  # fmt: skip
    return shopify_signed_pairs([*params.items(), *added], secret)
