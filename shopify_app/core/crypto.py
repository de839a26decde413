"""Encryption at rest for Shopify access and refresh tokens.

`TOKEN_ENCRYPTION_KEY` holds one or more comma-separated Fernet keys: the first encrypts, all
decrypt, so keys can be rotated without a migration. Outside production, a key is derived from
`SECRET_KEY` so development needs no setup.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

from shopify_app.core.config import ConfigError
from shopify_app.core.errors import AppError


class TokenDecryptError(AppError):
    """A stored token cannot be decrypted with any configured key."""

    code = "token_decrypt_failed"


def _fernet() -> MultiFernet:
    configured = current_app.config.get("TOKEN_ENCRYPTION_KEY")
    if configured:
        try:
            keys = [Fernet(key.strip().encode()) for key in configured.split(",") if key.strip()]
        except ValueError:
            raise ConfigError(
                "TOKEN_ENCRYPTION_KEY: expected comma-separated Fernet keys (32 url-safe base64 bytes)"
            ) from None
    else:
        digest = hashlib.sha256(("token-key:" + current_app.config["SECRET_KEY"]).encode()).digest()
        keys = [Fernet(base64.urlsafe_b64encode(digest))]
    return MultiFernet(keys)


def encrypt_token(token: str) -> str:
    """Encrypt a token for storage."""
    return _fernet().encrypt(token.encode()).decode()


def decrypt_token(stored: str) -> str:
    """Decrypt a stored token; raises TokenDecryptError when no key fits."""
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken:
        raise TokenDecryptError("stored token cannot be decrypted with the configured keys") from None
