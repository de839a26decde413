"""Shopify app proxy signatures, for any layer: is this storefront request really from Shopify?

Shopify signs an app proxy request by sorting its query parameters (all but `signature`), joining
each as `key=value` (repeated keys' values joined with commas) with no separator, and putting the
hex HMAC-SHA256 of that with the app secret in `signature`. `timestamp` guards against replays.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask import request

from shopify_app.core.auth import app_secrets
from shopify_app.core.errors import Unauthorized

TIMESTAMP_TOLERANCE_SECONDS = 300
SHOPIFY_ADDS = ("shop", "logged_in_customer_id", "path_prefix", "timestamp", "signature")


def app_proxy_message(pairs: Iterable[tuple[str, str]]) -> str:
    """The text Shopify signs for these query parameters."""
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        if key != "signature":
            grouped.setdefault(key, []).append(value)
    return "".join(f"{key}={','.join(values)}" for key, values in sorted(grouped.items()))


def app_proxy_signature(secret: str, pairs: Iterable[tuple[str, str]]) -> str:
    """The hex `signature` Shopify puts on an app proxy request with these parameters."""
    return hmac.new(secret.encode(), app_proxy_message(pairs).encode(), hashlib.sha256).hexdigest()


def timestamp_is_fresh(pairs: Sequence[tuple[str, str]], *, now: float | None = None) -> bool:
    """True when the query's `timestamp` is within the tolerance of now (replay protection)."""
    raw = next((value for key, value in pairs if key == "timestamp"), "")
    if not raw.isdigit():
        return False
    current = time.time() if now is None else now
    return abs(current - int(raw)) <= TIMESTAMP_TOLERANCE_SECONDS


def app_proxy_signature_matches(pairs: Sequence[tuple[str, str]], secrets: Sequence[str]) -> bool:
    """True when one of `secrets` made the query's `signature` (constant-time compare)."""
    given = next((value for key, value in pairs if key == "signature"), "")
    if not given:
        return False
    found = False
    for secret in secrets:
        found |= hmac.compare_digest(app_proxy_signature(secret, pairs).encode(), given.encode())
    return found


def is_signed_app_proxy_query(
    pairs: Sequence[tuple[str, str]], secrets: Sequence[str], *, now: float | None = None
) -> bool:
    """True when one of `secrets` made the query's `signature` and its `timestamp` is fresh."""
    return app_proxy_signature_matches(pairs, secrets) and timestamp_is_fresh(pairs, now=now)


class InvalidProxySignature(Unauthorized):
    """An app proxy request whose signature does not verify (or is stale)."""

    code = "invalid_proxy_signature"


@dataclass(frozen=True)
class ProxyRequest:
    """What Shopify vouches for on a signed app proxy request."""

    shop_domain: str
    logged_in_customer_id: int | None


def signed_proxy_request() -> ProxyRequest:
    """The current request's signed shop and logged-in customer; InvalidProxySignature unless
    Shopify signed it (current or previous app secret) within the tolerance."""
    pairs = list(request.args.items(multi=True))
    if not is_signed_app_proxy_query(pairs, app_secrets()):
        raise InvalidProxySignature("the app proxy signature does not verify", field="signature")
    for key in SHOPIFY_ADDS:
        # A storefront URL may carry its own `logged_in_customer_id=` or `shop=`; Shopify adds
        # and signs its own beside it, so a repeated key is someone speaking for Shopify.
        if len(request.args.getlist(key)) > 1:
            raise InvalidProxySignature(f"{key} appears more than once", field=key)
    customer = request.args.get("logged_in_customer_id", "")
    # Shopify sends digits or nothing (a visitor who is not logged in).
    signed_in = int(customer) if customer.isascii() and customer.isdigit() and len(customer) <= 19 else None
    return ProxyRequest(request.args.get("shop", ""), signed_in)
