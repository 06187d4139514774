"""Tenants' own prices, kept in memory (ingest reads them per batch) and written through to the store.

Where replicas share the store, each one reloads the book when the prices revision moves (polled every
250 ms, see api/lifespan.py), so a price set through one replica prices events on all within 1 s."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from api.pricing import CustomPrice
from api.store import Store, prices, revisions


def _custom(row: dict[str, Any]) -> CustomPrice:
    return CustomPrice(input_per_mtok=row["input_per_mtok"], cached_input_per_mtok=row["cached_input_per_mtok"],
                       cache_write_per_mtok=row["cache_write_per_mtok"], output_per_mtok=row["output_per_mtok"],
                       version=row["updated_at"].isoformat(timespec="seconds"))


class PriceBook:
    def __init__(self, db: Store) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._by_tenant: dict[str, dict[tuple[str, str], CustomPrice]] = {}
        self._revision: int | None = None
        self.reload()

    def reload(self, revision: int | None = None) -> None:
        by_tenant: dict[str, dict[tuple[str, str], CustomPrice]] = {}
        for row in prices.all_prices(self.db):
            by_tenant.setdefault(row["tenant_id"], {})[(row["provider"], row["model"])] = _custom(row)
        with self._lock:
            self._by_tenant, self._revision = by_tenant, revision

    def refresh(self, revision: int) -> bool:
        """Reload when another replica changed a price."""
        if revision == self._revision:
            return False
        self.reload(revision)
        return True

    def for_tenant(self, tenant_id: str) -> dict[tuple[str, str], CustomPrice] | None:
        return self._by_tenant.get(tenant_id)

    def set(self, *, tenant_id: str, provider: str, model: str, input_per_mtok: Decimal,
            cached_input_per_mtok: Decimal, cache_write_per_mtok: Decimal, output_per_mtok: Decimal) -> dict[str, Any]:
        with self.db.transaction() as tx:
            row = prices.upsert_price(tx, tenant_id=tenant_id, provider=provider, model=model,
                                      input_per_mtok=input_per_mtok, cached_input_per_mtok=cached_input_per_mtok,
                                      cache_write_per_mtok=cache_write_per_mtok, output_per_mtok=output_per_mtok)
            self._changed(tx)
        with self._lock:  # copy-on-write: ingest threads read the old dict without locking
            book = dict(self._by_tenant.get(tenant_id, {}))
            book[(provider, model)] = _custom(row)
            self._by_tenant[tenant_id] = book
        return row

    def delete(self, *, tenant_id: str, provider: str, model: str) -> bool:
        with self.db.transaction() as tx:
            existed = prices.delete_price(tx, tenant_id=tenant_id, provider=provider, model=model)
            self._changed(tx)
        with self._lock:
            book = dict(self._by_tenant.get(tenant_id, {}))
            book.pop((provider, model), None)
            self._by_tenant[tenant_id] = book
        return existed

    def _changed(self, tx: Any) -> None:
        if self.db.shared:
            revisions.bump(tx, name=revisions.PRICES)
