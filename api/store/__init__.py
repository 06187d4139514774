"""The only code that speaks SQL. Routes call these functions; nothing else opens the database.

`Store` (base.py) is the seam: one interface, a folder per backend (`duckdb/`, `postgres/`), and the
concern modules beside this file (`analytics`, `events`, `keys`, `prices`, `users`, `webhooks`) holding
the queries both backends share. `open_store` picks the backend once, at start-up, from DATABASE_URL.
"""

from __future__ import annotations

from api.store import (alerts, analytics, budgets, events, keys, prices, reconciliation, reprice, revisions, users,
                       webhooks)
from api.store.base import BadValue, Queries, Store, StoreUnsupported, Transaction

__all__ = ["BadValue", "Queries", "Store", "StoreUnsupported", "Transaction", "alerts", "analytics", "budgets", "events",
           "keys", "open_store", "prices", "reconciliation", "reprice", "revisions", "users", "webhooks"]


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def open_store(*, database_url: str | None, duckdb_path: str, commit_interval_ms: float = 3.0,
               duckdb_memory_limit: str = "512MB", duckdb_threads: int = 2, pool_size: int = 10) -> Store:
    """PostgreSQL when DATABASE_URL is set (postgresql://…), else the DuckDB file."""
    if database_url:
        if not is_postgres_url(database_url):
            raise ValueError("DATABASE_URL must start with postgresql:// (unset it to use the DuckDB file "
                             "LLMOBSERVE_DB)")
        from api.store.postgres import PostgresStore

        return PostgresStore(database_url, commit_interval_ms=commit_interval_ms, pool_size=pool_size)
    from api.store.duckdb import DuckDBStore

    return DuckDBStore(duckdb_path, memory_limit=duckdb_memory_limit, threads=duckdb_threads,
                       commit_interval_ms=commit_interval_ms)
