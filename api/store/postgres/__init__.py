"""The production backend: PostgreSQL (15 or newer) through psycopg 3, shared by stateless replicas."""

from __future__ import annotations

from api.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
