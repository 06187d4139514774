"""Copy one store into another (DuckDB → PostgreSQL when moving up): every table both schemas have,
rows as they are (costs, pricing versions and ids unchanged), by each engine's bulk path. The hourly
totals are rebuilt on the target from the copied events, so they count every event exactly once."""

from __future__ import annotations

from collections.abc import Callable

from api.store.base import Store

# Bookkeeping each store keeps for itself: its own migrations, roll-up progress and change counters.
OWN_TABLES = {"schema_migrations", "usage_state", "revisions", "usage_hourly", "usage_labels_hourly", "event_labels",
              "alert_worker_lease"}


class TargetNotEmpty(Exception):
    """The target already holds events: copying would mix two histories."""


def _tables(db: Store) -> dict[str, list[str]]:
    schema = "main" if db.name == "duckdb" else "public"
    columns: dict[str, list[str]] = {}
    for table, column in db.fetchall(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c"
            " JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema"
            " WHERE c.table_schema = ? AND t.table_type = 'BASE TABLE' ORDER BY c.table_name, c.ordinal_position",
            [schema]):
        columns.setdefault(table, []).append(column)
    return columns


def _count(db: Store, table: str) -> int:
    return int(db.fetchone(f"SELECT count(*) FROM {table}")[0])  # type: ignore[index]


def copy_store(source: Store, target: Store, *, report: Callable[[str, int, int], None]) -> None:
    """Copy every shared table; `report(table, source rows, target rows)` after each."""
    if _count(target, "events"):
        raise TargetNotEmpty("the target already holds events; copy into an empty database")
    source_tables, target_tables = _tables(source), _tables(target)
    names = [t for t in source_tables if t in target_tables and t not in OWN_TABLES]
    with target.transaction() as tx:
        for table in names:
            columns = [c for c in source_tables[table] if c in target_tables[table]]
            select = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" if (table, c) == ("events", "id") else c for c in columns)
            for chunk in source.iter_arrow(f"SELECT {select} FROM {table}"):
                if chunk.num_rows:
                    target.load_arrow(tx, table, chunk)
    target.rebuild_usage_hourly()
    for table in [*names, "usage_hourly", "usage_labels_hourly", "event_labels"]:
        report(table, _count(source, table), _count(target, table))
