"""Settings from the environment (and `.env`), with secrets generated into `data/` on first start."""

from __future__ import annotations

import base64
import binascii
import logging
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.secret_files import MIN_SECRET_LENGTH, is_weak, load_or_create_secret

log = logging.getLogger("llmobserve.api")


def _refuse_weak(name: str, value: str) -> str:
    if is_weak(value):
        raise ValueError(f"{name} must be a random secret of at least {MIN_SECRET_LENGTH} characters")
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    llmobserve_db: str = "data/llmobserve.duckdb"
    llmobserve_admin_token: str | None = None
    llmobserve_secret_key: str | None = None  # encrypts the one-time key reveal
    clerk_webhook_secret: str | None = None
    clerk_jwt_key: str | None = None
    database_url: str | None = None
    # Ingest limits: a client that sends more gets a readable 413.
    max_body_bytes: int = 5 * 1024 * 1024
    max_events_per_batch: int = 5_000
    # OTLP exports carry prompts and completions we never store: a larger limit, raw and decompressed.
    max_trace_bytes: int = 16 * 1024 * 1024
    # Group commit: requests wait for one shared flush at most this often.
    commit_interval_ms: float = 3.0
    duckdb_memory_limit: str = "512MB"
    duckdb_threads: int = 2
    # Alerts (DESIGN §11): budgets are evaluated this often; private targets only for local work.
    llmobserve_alert_interval_s: float = Field(30.0, gt=0, le=3600)
    llmobserve_alert_allow_private_targets: bool = False
    # PostgreSQL: connections per API process for reads and short transactions (the writer has its own).
    pg_pool_size: int = 10
    # Price data without an upgrade (docs/cost-truth.md): a genai-prices data file, or a URL polled for one.
    llmobserve_prices_file: str | None = None
    llmobserve_prices_url: str | None = None
    llmobserve_prices_interval_s: float = 3600.0

    @field_validator("llmobserve_admin_token", "llmobserve_secret_key")
    @classmethod
    def _strong(cls, value: str | None, info) -> str | None:  # type: ignore[no-untyped-def]
        if value is None:
            return None
        return _refuse_weak(info.field_name.upper(), value)

    @field_validator("clerk_webhook_secret")
    @classmethod
    def _whsec(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None  # unset or empty: the webhook endpoint refuses every delivery, the rest works
        if not value.startswith("whsec_"):
            raise ValueError("CLERK_WEBHOOK_SECRET must be the Clerk signing secret, starting with whsec_")
        try:  # decoded the way svix decodes it; Clerk's secrets carry 24 random bytes
            key = base64.b64decode(value.removeprefix("whsec_") + "==")
        except (binascii.Error, ValueError):
            key = b""
        if len(key) < 16:
            raise ValueError("CLERK_WEBHOOK_SECRET is not a Clerk signing secret (whsec_ then base64 of >= 16 bytes)")
        return value

    @property
    def data_dir(self) -> Path:
        return Path(self.llmobserve_db).resolve().parent

    def check_shared_secrets(self) -> None:
        """With PostgreSQL every replica must hold the same secrets: files generated into one machine's
        data/ cannot serve several, so they must come from the environment (DESIGN §9)."""
        if not self.database_url:
            return
        for name, value in (("LLMOBSERVE_ADMIN_TOKEN", self.llmobserve_admin_token),
                            ("LLMOBSERVE_SECRET_KEY", self.llmobserve_secret_key)):
            if not value:
                raise RuntimeError(f"{name} is not set: with DATABASE_URL (PostgreSQL, shared by replicas) it must "
                                   f"come from the environment, the same value on every replica")

    def admin_token(self) -> str:
        return self.llmobserve_admin_token or load_or_create_secret(self.data_dir / "admin_token")

    def secret_key(self) -> str:
        return self.llmobserve_secret_key or load_or_create_secret(self.data_dir / "secret_key")


settings = Settings()
