"""Symmetric encryption with the server secret (`LLMOBSERVE_SECRET_KEY`, else data/secret_key), for
secrets the API must be able to use again (alert-channel signing secrets and URLs), so the database
never holds them in plain text. The same derivation as the initial key's one-time reveal."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    def __init__(self, secret_key: str) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest()))

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str | None:
        """The plain text, or None when the server secret changed since it was sealed."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None
