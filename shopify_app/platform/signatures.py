"""Shopify's query-string signatures: the OAuth callback `hmac` and the app proxy `signature`.

Both are HMAC-SHA256 hex digests made with the app secret over the query parameters without the
signature itself, sorted by key. They differ in how the parameters are joined:

- OAuth (`hmac`): `k=v` pairs joined with `&`; `%` and `&` escaped in keys and values, `=` in keys.
- App proxy (`signature`): `k=v` pairs concatenated with no separator; repeated keys have their
  values joined with commas; nothing is escaped.

We accept the current and the previous secret so the secret can be rotated.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import parse_qsl

from shopify_app.core.app_proxy import (
    app_proxy_message,
    app_proxy_signature,
    app_proxy_signature_matches,
    timestamp_is_fresh,
)

__all__ = ["app_proxy_message", "app_proxy_signature", "timestamp_is_fresh", "verify_app_proxy_query"]

Pairs = Iterable[tuple[str, str]]


def _hex_hmac(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def _grouped(pairs: Pairs, *, without: str) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        if key != without:
            grouped.setdefault(key, []).append(value)
    return grouped


def parse_query(query: str) -> list[tuple[str, str]]:
    """The decoded `(key, value)` pairs of a query string, blank values kept."""
    return parse_qsl(query, keep_blank_values=True)


def _escape_oauth(text: str, *, is_key: bool) -> str:
    text = text.replace("%", "%25").replace("&", "%26")
    return text.replace("=", "%3D") if is_key else text


def oauth_message(pairs: Pairs) -> str:
    """The string the OAuth `hmac` is computed over."""
    parts = []
    for key, values in _grouped(pairs, without="hmac").items():
        if key == "signature":
            continue
        name = key[:-2] if key.endswith("[]") else key
        if key.endswith("[]") or len(values) > 1:
            value = "[" + ", ".join(f'"{v}"' for v in values) + "]"
        else:
            value = values[0]
        parts.append(f"{_escape_oauth(name, is_key=True)}={_escape_oauth(value, is_key=False)}")
    return "&".join(sorted(parts))


def oauth_hmac(secret: str, pairs: Pairs) -> str:
    """The hex `hmac` Shopify puts on an OAuth callback (or on an admin link) with these params."""
    return _hex_hmac(secret, oauth_message(pairs))


def _matches(expected: Iterable[str], given: str | None) -> bool:
    if not given:
        return False
    found = False
    for candidate in expected:
        found |= hmac.compare_digest(candidate.encode(), given.encode())
    return found


def verify_oauth_query(pairs: list[tuple[str, str]], secrets: list[str]) -> bool:
    """True when the query's `hmac` was made with one of `secrets` (constant-time compare)."""
    given = next((value for key, value in pairs if key == "hmac"), None)
    return _matches((oauth_hmac(secret, pairs) for secret in secrets), given)


def verify_app_proxy_query(pairs: list[tuple[str, str]], secrets: list[str]) -> bool:
    """True when the app proxy request's `signature` was made with one of `secrets` (core's check)."""
    return app_proxy_signature_matches(pairs, secrets)
