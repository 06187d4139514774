"""Which genai-prices data is in force, and its version (DESIGN §10: price data without an upgrade).

- Bundled (default): the snapshot inside the installed package; its version is the package's.
- `LLMOBSERVE_PRICES_FILE`: a genai-prices data file (the `data.json` the project publishes, a list of
  providers), read at start through genai-prices' own parser and installed with `set_custom_snapshot`.
- `LLMOBSERVE_PRICES_URL`: the same file polled with genai-prices' own `UpdatePrices` (every
  `LLMOBSERVE_PRICES_INTERVAL_S`, default 3600 s); until the first fetch lands, the bundled data serves.

A snapshot from a file or URL is named by its content, `data sha256:<12 hex>`, so two replicas that load
the same file record the same version, and events record the one they were priced with.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import genai_prices
import httpx2
from genai_prices import UpdatePrices, data_snapshot
from genai_prices.types import TieredPrices
from genai_prices.types import _providers_from_raw  # genai-prices' own parser, as UpdatePrices uses it

from api.outbound import RefusedTarget, check_url

log = logging.getLogger("llmobserve.prices")
BUNDLED_VERSION = genai_prices.__version__


class PriceDataError(ValueError):
    """The prices file cannot be used; says which file and why."""


def _version_of(content: bytes) -> str:
    return f"data sha256:{hashlib.sha256(content).hexdigest()[:12]}"


def snapshot_from_bytes(content: bytes, *, source: str, from_auto_update: bool) -> data_snapshot.DataSnapshot:
    try:
        raw = json.loads(content)
        if not isinstance(raw, list):
            raise ValueError("expected a list of providers (genai-prices' data.json)")
        providers = _providers_from_raw(raw)
    except ValueError as exc:  # JSONDecodeError and pydantic's ValidationError are ValueErrors
        raise PriceDataError(f"{source} is not a genai-prices data file: {str(exc)[:500]}") from None
    snapshot = data_snapshot.DataSnapshot(providers, from_auto_update=from_auto_update)
    snapshot.llmobserve_version = _version_of(content)  # type: ignore[attr-defined]
    return snapshot


def snapshot_version(snapshot: data_snapshot.DataSnapshot | None = None) -> str:
    """The version of the snapshot in force (or of the one given)."""
    snapshot = snapshot or data_snapshot.get_snapshot()
    return getattr(snapshot, "llmobserve_version", BUNDLED_VERSION)


def load_file(path: str) -> str:
    """Install the data file as genai-prices' snapshot; answers its version."""
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        raise PriceDataError(f"LLMOBSERVE_PRICES_FILE={path}: {exc.strerror}") from None
    snapshot = snapshot_from_bytes(content, source=f"LLMOBSERVE_PRICES_FILE={path}", from_auto_update=False)
    data_snapshot.set_custom_snapshot(snapshot)
    return snapshot_version(snapshot)


@dataclass
class VersionedUpdatePrices(UpdatePrices):
    """genai-prices' UpdatePrices, with each fetched snapshot named by its content."""

    def fetch(self) -> data_snapshot.DataSnapshot | None:
        answer = httpx2.get(self.url, timeout=self.request_timeout)
        answer.raise_for_status()
        snapshot = snapshot_from_bytes(answer.content, source=f"LLMOBSERVE_PRICES_URL={self.url}",
                                       from_auto_update=True)
        log.info("price data from %s: %s", self.url, snapshot_version(snapshot))
        return snapshot


def start(*, file: str | None, url: str | None, interval_s: float) -> UpdatePrices | None:
    """Put the configured price data in force; answers the updater to stop at shut-down, if any."""
    if file:
        log.info("price data: %s from %s", load_file(file), file)
    if not url:
        return None
    try:  # the operator's own setting, so a private mirror is allowed; but only plain http(s), no credentials
        check_url(url, allow_private=True)
    except RefusedTarget as exc:
        raise PriceDataError(f"LLMOBSERVE_PRICES_URL={url!r}: {exc}") from None
    updater = VersionedUpdatePrices(url=url, update_interval=interval_s)
    updater.start()
    return updater


def _base(price: object) -> Decimal | None:
    if price is None:
        return None
    return price.base if isinstance(price, TieredPrices) else price  # type: ignore[return-value]


def catalog(*, provider: str | None, q: str | None, when: datetime, limit: int = 500) -> list[dict[str, Any]]:
    """Known models and their list prices (USD per million tokens, standard tier) in force at `when`."""
    needle = (q or "").lower()
    entries = []
    for found in data_snapshot.get_snapshot().providers:
        if provider and found.id != provider:
            continue
        for model in found.models:
            if needle and needle not in model.id.lower() and needle not in (model.name or "").lower():
                continue
            price = model.get_prices(when)
            entries.append({
                "provider": found.id, "model": model.id, "name": model.name,
                "input_per_mtok": _base(price.input_mtok), "cached_input_per_mtok": _base(price.cache_read_mtok),
                "cache_write_per_mtok": _base(price.cache_write_mtok), "output_per_mtok": _base(price.output_mtok),
                "tiered": any(isinstance(p, TieredPrices) for p in price.__dict__.values()),
            })
            if len(entries) >= limit:
                return entries
    return entries
