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

TIMESTAMP_TOLERANCE_SECONDS = 300


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


def is_signed_app_proxy_query(
    pairs: Sequence[tuple[str, str]], secrets: Sequence[str], *, now: float | None = None
) -> bool:
    """True when one of `secrets` made the query's `signature` and its `timestamp` is fresh."""
    given = next((value for key, value in pairs if key == "signature"), "")
    raw_time = next((value for key, value in pairs if key == "timestamp"), "")
    if not given or not raw_time.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(raw_time)) > TIMESTAMP_TOLERANCE_SECONDS:
        return False
    found = False
    for secret in secrets:
        found |= hmac.compare_digest(app_proxy_signature(secret, pairs).encode(), given.encode())
    return found
