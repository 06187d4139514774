"""A tenant's own prices, which take precedence over genai-prices for that provider and model."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from api.store.base import Queries, utcnow

PRICE_COLUMNS = ("tenant_id, provider, model, input_per_mtok, cached_input_per_mtok, cache_write_per_mtok, "
                 "output_per_mtok, updated_at")


def all_prices(db: Queries) -> list[dict[str, Any]]:
    """Every tenant's prices, to fill the in-memory price book at start."""
    return db.fetchdicts(f"SELECT {PRICE_COLUMNS} FROM custom_prices")


def list_prices(db: Queries, *, tenant_id: str) -> list[dict[str, Any]]:
    return db.fetchdicts(f"SELECT {PRICE_COLUMNS} FROM custom_prices WHERE tenant_id = ? ORDER BY provider, model",
                         [tenant_id])


def upsert_price(db: Queries, *, tenant_id: str, provider: str, model: str, input_per_mtok: Decimal,
                 cached_input_per_mtok: Decimal, cache_write_per_mtok: Decimal,
                 output_per_mtok: Decimal) -> dict[str, Any]:
    db.execute(
        f"INSERT INTO custom_prices ({PRICE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (tenant_id, provider, model) DO UPDATE SET input_per_mtok = excluded.input_per_mtok,"
        " cached_input_per_mtok = excluded.cached_input_per_mtok, cache_write_per_mtok = excluded.cache_write_per_mtok,"
        " output_per_mtok = excluded.output_per_mtok, updated_at = excluded.updated_at",
        [tenant_id, provider, model, input_per_mtok, cached_input_per_mtok, cache_write_per_mtok, output_per_mtok,
         utcnow()])
    rows = db.fetchdicts(f"SELECT {PRICE_COLUMNS} FROM custom_prices WHERE tenant_id = ? AND provider = ? AND model = ?",
                         [tenant_id, provider, model])
    return rows[0]


def delete_price(db: Queries, *, tenant_id: str, provider: str, model: str) -> bool:
    existed = db.fetchone("SELECT count(*) FROM custom_prices WHERE tenant_id = ? AND provider = ? AND model = ?",
                          [tenant_id, provider, model])
    db.execute("DELETE FROM custom_prices WHERE tenant_id = ? AND provider = ? AND model = ?",
               [tenant_id, provider, model])
    return bool(existed and existed[0])
