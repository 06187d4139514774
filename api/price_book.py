"""Tenants' own prices, kept in memory as one timeline per model (ingest reads them per batch, with no
lock) and written through to the store.

Where replicas share the store, each one reloads the book when the prices revision moves (polled every
250 ms, see api/lifespan.py), so a price set through one replica prices events on all within 1 s."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from api.models import CustomPriceIn
from api.pricing import CustomPrice, Timeline
from api.reprice import discount_micro
from api.store import Store, prices, revisions
from api.store.base import Queries, utc_naive, utcnow

EPOCH = datetime(1970, 1, 1)
Book = dict[str, dict[tuple[str, str], Timeline]]


def _epoch_us(naive_utc: datetime) -> int:
    delta = naive_utc - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _custom(row: dict[str, Any]) -> CustomPrice:
    start = _epoch_us(row["effective_from"])
    if row["discount_percent"] is not None:
        return CustomPrice(row["version"], start, None, discount_micro(row["discount_percent"]))
    return CustomPrice.per_mtok(version=row["version"], effective_from_us=start,
                                input_per_mtok=row["input_per_mtok"],
                                cached_input_per_mtok=row["cached_input_per_mtok"],
                                cache_write_per_mtok=row["cache_write_per_mtok"],
                                output_per_mtok=row["output_per_mtok"])


def new_version_name(now: datetime) -> str:
    """Unique per model in practice (µs), readable, and ordered by when it was set."""
    return "v" + now.strftime("%Y%m%dT%H%M%S%f")


def _book(rows: list[dict[str, Any]]) -> Book:
    grouped: dict[str, dict[tuple[str, str], list[CustomPrice]]] = {}
    for row in rows:
        grouped.setdefault(row["tenant_id"], {}).setdefault((row["provider"], row["model"]), []).append(_custom(row))
    return {tenant: {key: Timeline.of(versions) for key, versions in models.items()}
            for tenant, models in grouped.items()}


class PriceBook:
    def __init__(self, db: Store) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._by_tenant: Book = {}
        self._revision: int | None = None
        self.reload()

    def reload(self, revision: int | None = None) -> None:
        by_tenant = _book(prices.all_versions(self.db))
        with self._lock:
            self._by_tenant, self._revision = by_tenant, revision

    def refresh(self, revision: int) -> bool:
        """Reload when another replica changed a price."""
        if revision == self._revision:
            return False
        self.reload(revision)
        return True

    def for_tenant(self, tenant_id: str) -> dict[tuple[str, str], Timeline] | None:
        return self._by_tenant.get(tenant_id)

    def _reload(self, tenant_id: str, provider: str, model: str) -> None:
        versions = [_custom(r) for r in prices.list_versions(self.db, tenant_id=tenant_id, provider=provider,
                                                              model=model)]
        with self._lock:  # copy-on-write: ingest reads the old dict without locking
            book = dict(self._by_tenant.get(tenant_id, {}))
            if versions:
                book[(provider, model)] = Timeline.of(versions)
            else:
                book.pop((provider, model), None)
            self._by_tenant[tenant_id] = book

    def set(self, *, tenant_id: str, provider: str, model: str, price: CustomPriceIn) -> dict[str, Any]:
        now = utcnow()
        effective_from = utc_naive(price.effective_from) if price.effective_from else now
        per_mtok = price.discount_percent is None
        fallback = price.input_per_mtok if per_mtok else None
        version = new_version_name(now)
        with self.db.transaction() as tx:
            prices.put_version(
                tx, tenant_id=tenant_id, provider=provider, model=model, effective_from=effective_from,
                version=version, input_per_mtok=price.input_per_mtok, output_per_mtok=price.output_per_mtok,
                cached_input_per_mtok=price.cached_input_per_mtok if price.cached_input_per_mtok is not None
                else fallback,
                cache_write_per_mtok=price.cache_write_per_mtok if price.cache_write_per_mtok is not None
                else fallback,
                discount_percent=price.discount_percent)
            self._changed(tx)
        self._reload(tenant_id, provider, model)
        [row] = [r for r in prices.list_versions(self.db, tenant_id=tenant_id, provider=provider, model=model)
                 if r["version"] == version]
        return row

    def delete(self, *, tenant_id: str, provider: str, model: str, version: str | None = None) -> int:
        with self.db.transaction() as tx:
            removed = prices.delete_versions(tx, tenant_id=tenant_id, provider=provider, model=model,
                                             version=version)
            self._changed(tx)
        self._reload(tenant_id, provider, model)
        return removed

    def _changed(self, tx: Queries) -> None:
        if self.db.shared:
            revisions.bump(tx, name=revisions.PRICES)
