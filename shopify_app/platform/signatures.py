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
import time
from collections.abc import Iterable
from urllib.parse import parse_qsl

TIMESTAMP_TOLERANCE_SECONDS = 300

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


def app_proxy_message(pairs: Pairs) -> str:
    """The string the app proxy `signature` is computed over."""
    grouped = _grouped(pairs, without="signature")
    return "".join(f"{key}={','.join(values)}" for key, values in sorted(grouped.items()))


def app_proxy_signature(secret: str, pairs: Pairs) -> str:
    """The hex `signature` Shopify puts on an app proxy request with these params."""
    return _hex_hmac(secret, app_proxy_message(pairs))


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
    """True when the app proxy request's `signature` was made with one of `secrets`."""
    given = next((value for key, value in pairs if key == "signature"), None)
    return _matches((app_proxy_signature(secret, pairs) for secret in secrets), given)


def timestamp_is_fresh(pairs: list[tuple[str, str]], *, now: float | None = None) -> bool:
    """True when the query's `timestamp` is within the tolerance of now (replay protection)."""
    raw = next((value for key, value in pairs if key == "timestamp"), "")
    if not raw.isdigit():
        return False
    current = time.time() if now is None else now
    return abs(current - int(raw)) <= TIMESTAMP_TOLERANCE_SECONDS
