"""Secrets generated on first start into the data directory (mode 0600) and reused, and the rule for
refusing weak ones. Shared by the API and the dashboard; no other imports, no side effects."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

MIN_SECRET_LENGTH = 32
# Values that tutorials and templates ship with (streamlit-authenticator's "some_key" among them).
PLACEHOLDER_SECRETS = {"changethis", "change-me", "changeme", "secret", "admin", "password", "some_key", "key"}


def is_weak(value: str) -> bool:
    return value.lower() in PLACEHOLDER_SECRETS or len(value) < MIN_SECRET_LENGTH


def load_or_create_secret(path: Path) -> str:
    """Read a generated secret, or create it (mode 0600) so restarts keep the same value."""
    if path.exists():
        value = path.read_text().strip()
        if not is_weak(value):
            return value
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    os.chmod(path, 0o600)
    return value
