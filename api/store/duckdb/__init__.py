"""The embedded backend: one DuckDB file, one API process (the default of `make run`)."""

from __future__ import annotations

from api.store.duckdb.store import DuckDBStore

__all__ = ["DuckDBStore"]
