"""Access tokens are encrypted at rest and keys can be rotated."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet

from shopify_app.core.crypto import TokenDecryptError, decrypt_token, encrypt_token


def test_tokens_round_trip_and_are_not_stored_in_clear(app: Any) -> None:
    stored = encrypt_token("shpat_example")
    assert "shpat_example" not in stored
    assert decrypt_token(stored) == "shpat_example"


def test_rotated_keys_still_decrypt_old_tokens(make_app: Any) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with make_app(TOKEN_ENCRYPTION_KEY=old).app_context():
        stored = encrypt_token("token-a")
    with make_app(TOKEN_ENCRYPTION_KEY=f"{new},{old}").app_context():
        assert decrypt_token(stored) == "token-a"
    with make_app(TOKEN_ENCRYPTION_KEY=new).app_context(), pytest.raises(TokenDecryptError):
        decrypt_token(stored)
