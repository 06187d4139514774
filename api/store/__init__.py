"""The only code that speaks SQL. Routes call these functions; nothing else opens the database.

`Database` owns the DuckDB connection (the API process is its only opener); the modules beside it hold
the queries for one concern each. A PostgreSQL backend would implement the same functions.
"""

from __future__ import annotations

from api.store import alerts, analytics, budgets, events, keys, prices, users, webhooks
from api.store.db import Database

__all__ = ["Database", "alerts", "analytics", "budgets", "events", "keys", "prices", "users", "webhooks"]
