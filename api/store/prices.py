"""A tenant's own prices, effective-dated: each version is in force from its `effective_from` until the
next version's (see docs/cost-truth.md). Shared SQL: both backends speak it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from api.store.base import Queries, utcnow

VERSION_COLUMNS = ("tenant_id, provider, model, effective_from, version, input_per_mtok, cached_input_per_mtok, "
                   "cache_write_per_mtok, output_per_mtok, discount_percent, created_at")
# effective_to is the next version's effective_from (NULL for the latest): computed, never stored, so
# inserting a version between two others needs no update of its neighbours.
WITH_END = f"""
    SELECT {VERSION_COLUMNS},
           lead(effective_from) OVER (PARTITION BY tenant_id, provider, model ORDER BY effective_from) AS effective_to
    FROM custom_price_versions
"""


def all_versions(db: Queries) -> list[dict[str, Any]]:
    """Every tenant's versions, to fill the in-memory price book at start."""
    return db.fetchdicts(f"SELECT * FROM ({WITH_END}) AS v ORDER BY tenant_id, provider, model, effective_from")


def list_versions(db: Queries, *, tenant_id: str, provider: str | None = None,
                  model: str | None = None) -> list[dict[str, Any]]:
    clauses, params = ["tenant_id = ?"], [tenant_id]
    for column, value in (("provider", provider), ("model", model)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    return db.fetchdicts(f"SELECT * FROM ({WITH_END}) AS v WHERE {' AND '.join(clauses)} "
                         "ORDER BY provider, model, effective_from", params)


def put_version(db: Queries, *, tenant_id: str, provider: str, model: str, effective_from: datetime,
                version: str, input_per_mtok: Decimal | None, cached_input_per_mtok: Decimal | None,
                cache_write_per_mtok: Decimal | None, output_per_mtok: Decimal | None,
                discount_percent: Decimal | None) -> None:
    """Add a version; one at the same effective_from is replaced (the newer wins, under a new name)."""
    key = [tenant_id, provider, model, effective_from]
    db.execute("DELETE FROM custom_price_versions WHERE tenant_id = ? AND provider = ? AND model = ? "
               "AND effective_from = ?", key)
    db.execute(f"INSERT INTO custom_price_versions ({VERSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               [*key, version, input_per_mtok, cached_input_per_mtok, cache_write_per_mtok, output_per_mtok,
                discount_percent, utcnow()])


def delete_versions(db: Queries, *, tenant_id: str, provider: str, model: str, version: str | None = None) -> int:
    """Remove one version (by name) or every version of the model; how many went."""
    clauses, params = "tenant_id = ? AND provider = ? AND model = ?", [tenant_id, provider, model]
    if version is not None:
        clauses += " AND version = ?"
        params.append(version)
    count = db.fetchone(f"SELECT count(*) FROM custom_price_versions WHERE {clauses}", params)[0]  # type: ignore[index]
    db.execute(f"DELETE FROM custom_price_versions WHERE {clauses}", params)
    return int(count)
