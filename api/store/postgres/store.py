"""The PostgreSQL backend: psycopg 3 with a connection pool, shared by any number of API replicas."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from api.store.base import BadValue, GroupCommit, Params, Store, Transaction, Writer
from api.store.postgres import events
from api.store.postgres.dialect import PostgresDialect
from api.store.postgres.migrations import MIGRATIONS, MIGRATIONS_LOCK

log = logging.getLogger("llmobserve.store")


@functools.lru_cache(maxsize=1024)
def pg_sql(sql: str) -> str:
    """The shared SQL's `?` placeholders in psycopg's style (a literal % doubled). Shared SQL therefore
    never uses `?` otherwise (e.g. a JSONB `?` operator: use jsonb_exists())."""
    return sql.replace("%", "%%").replace("?", "%s")


def _execute(conn: psycopg.Connection, sql: str, params: Params) -> psycopg.Cursor[Any]:
    try:
        return conn.execute(pg_sql(sql), params)
    except psycopg.DataError as exc:  # the value, not the query: e.g. a NUL character in a filter
        raise BadValue(str(exc).splitlines()[0]) from None


def _run_on(conn: psycopg.Connection, sql: str, params: Params) -> tuple[list[str], list[tuple[Any, ...]]]:
    cur = _execute(conn, sql, params)
    if cur.description is None:
        return [], []
    return [d.name for d in cur.description], cur.fetchall()


class PostgresTransaction(Transaction):
    def __init__(self, conn: psycopg.Connection) -> None:
        self.raw = conn

    def _run(self, sql: str, params: Params) -> tuple[list[str], list[tuple[Any, ...]]]:
        return _run_on(self.raw, sql, params)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        with self.raw.cursor() as cur:
            cur.executemany(pg_sql(sql), rows)


# Arrow types for exports, by PostgreSQL type OID (anything else is exported as text).
ARROW_TYPES = {16: pa.bool_(), 20: pa.int64(), 21: pa.int16(), 23: pa.int32(), 700: pa.float32(),
               701: pa.float64(), 1114: pa.timestamp("us"), 1184: pa.timestamp("us", "UTC"),
               25: pa.string(), 1043: pa.string()}


def _arrow_type(column: psycopg.Column) -> pa.DataType:
    if column.type_code == 1700:  # numeric: keep it exact
        return pa.decimal128(column.precision or 38, column.scale if column.scale is not None else 12)
    return ARROW_TYPES.get(column.type_code, pa.string())


def _arrow(description: Sequence[psycopg.Column], rows: list[tuple[Any, ...]]) -> pa.Table:
    columns = list(zip(*rows)) if rows else [() for _ in description]
    arrays = {}
    for column, values in zip(description, columns):
        kind = _arrow_type(column)
        if kind == pa.string():
            values = [None if v is None else str(v) for v in values]
        arrays[column.name] = pa.array(values, kind)
    return pa.table(arrays)


def _pg_type(kind: pa.DataType) -> str:
    if pa.types.is_integer(kind):
        return "BIGINT"
    if pa.types.is_timestamp(kind):
        return "TIMESTAMP"
    if pa.types.is_decimal(kind):
        return f"NUMERIC({kind.precision}, {kind.scale})"
    return "VARCHAR"


def _configure(conn: psycopg.Connection) -> None:
    conn.execute("SET TIME ZONE 'UTC'")  # every TIMESTAMP column holds naive UTC


class PostgresStore(Store):
    """Reads and short transactions take a connection from the pool; event writes go through this
    process's group-commit writer on a connection of its own. Nothing here assumes it is the only
    process: other replicas write the same tables at the same time."""

    name = "postgresql"
    shared = True
    dialect = PostgresDialect()
    write_conflicts = (errors.UniqueViolation, errors.SerializationFailure, errors.DeadlockDetected)

    def __init__(self, url: str, *, commit_interval_ms: float = 3.0, pool_size: int = 10) -> None:
        self.url = url
        migrate(url)
        self._pool = ConnectionPool(url, min_size=1, max_size=pool_size, kwargs={"autocommit": True},
                                    configure=_configure, name="llmobserve", open=True)
        self._pool.wait(timeout=30)
        self._writer_conn: psycopg.Connection | None = None
        self._writer = GroupCommit(begin=self._begin_writer, commit=lambda tx: tx.raw.commit(),
                                   rollback=self._rollback_writer, interval_ms=commit_interval_ms)

    # -- connections -------------------------------------------------------------------------
    def _run(self, sql: str, params: Params) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self._pool.connection() as conn:
            return _run_on(conn, sql, params)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        with self._pool.connection() as conn, conn.transaction():
            PostgresTransaction(conn).executemany(sql, rows)

    def fetch_arrow(self, sql: str, params: Params = ()) -> pa.Table:
        with self._pool.connection() as conn:
            cur = _execute(conn, sql, params)
            rows = cur.fetchall()
            return _arrow(cur.description or [], rows)

    def iter_arrow(self, sql: str, rows: int = 200_000) -> Iterator[pa.Table]:
        with self._pool.connection() as conn, conn.transaction():
            with conn.cursor(name="llmobserve_copy") as cur:  # server-side: never the whole table in memory
                cur.execute(sql)
                while chunk := cur.fetchmany(rows):
                    yield _arrow(cur.description or [], chunk)

    def load_arrow(self, tx: Transaction, table: str, data: pa.Table) -> None:
        sink = pa.BufferOutputStream()
        pacsv.write_csv(data, sink, events.CSV)
        with tx.raw.cursor() as cur, cur.copy(
                f"COPY {table} ({', '.join(data.column_names)}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(sink.getvalue().to_pybytes())

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._pool.connection() as conn, conn.transaction():
            yield PostgresTransaction(conn)

    def ping(self) -> bool:
        return self.fetchone("SELECT 1") == (1,)

    # -- scratch tables ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def reading(self) -> Iterator[Transaction]:
        with self.transaction() as tx:
            yield tx

    @contextlib.contextmanager
    def rewriting(self) -> Iterator[Transaction]:
        """Holds the roll-up lock (other replicas' roll-ups skip their turn, a second re-pricing waits);
        inserts of new events go on: they never touch the rows being rewritten."""
        with self.transaction() as tx:
            self.exclude_roll_up(tx)
            yield tx

    @contextlib.contextmanager
    def scratch(self, tx: Transaction, tables: dict[str, pa.Table]) -> Iterator[None]:
        for name, table in tables.items():
            columns = ", ".join(f"{field.name} {_pg_type(field.type)}" for field in table.schema)
            tx.execute(f"CREATE TEMP TABLE {name} ({columns}) ON COMMIT DROP")
            if table.num_rows:
                self.load_arrow(tx, name, table)
            # Temp tables have no statistics until analysed: without them the planner joins millions of
            # events to a price table of thousands of rows by nested loop (minutes instead of seconds).
            tx.execute(f"ANALYZE {name}")
        try:
            yield
        finally:
            for name in tables:  # ON COMMIT DROP, but a second scratch in the same transaction may reuse the name
                with contextlib.suppress(psycopg.Error):
                    tx.execute(f"DROP TABLE IF EXISTS {name}")

    def describe(self) -> str:
        info = conninfo_to_dict(self.url)
        return f"PostgreSQL database {info.get('dbname', '?')} on {info.get('host', 'localhost')}:{info.get('port', 5432)}"

    # -- group commit --------------------------------------------------------------------------
    def _begin_writer(self) -> Transaction:
        conn = self._writer_conn
        if conn is None or conn.closed or conn.broken:
            conn = self._writer_conn = psycopg.connect(self.url)  # not autocommit: one transaction per flush
            _configure(conn)
            conn.execute(events.STAGING)
            conn.commit()
        return PostgresTransaction(conn)

    def _rollback_writer(self, tx: Transaction) -> None:
        if not tx.raw.closed:
            tx.raw.rollback()

    def submit(self, writer: Writer, item: Any) -> Future:
        return self._writer.submit(writer, item)

    def insert_events(self, batch: pa.Table) -> Future:
        return self.submit(events.write_batches, batch)

    def roll_up(self) -> Future:
        return self.submit(events.roll_up, None)

    def unrolled_condition(self) -> str:
        return events.UNROLLED

    def purge_tenant_events(self, tenant_id: str) -> Future:
        return self.submit(events.purge, tenant_id)

    def exclude_roll_up(self, tx: Transaction) -> None:
        events.take_rollup_lock(tx, wait=True)

    def rebuild_usage_hourly(self) -> None:
        with self.transaction() as tx:
            events.rebuild_usage_hourly(tx)

    def close(self) -> None:
        self._writer.close()
        if self._writer_conn is not None:
            self._writer_conn.close()
        self._pool.close()


def migrate(url: str) -> None:
    """Apply the migrations not yet applied, holding an advisory lock: replicas starting at the same
    moment apply each one once (the others wait, then find it done)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [MIGRATIONS_LOCK])
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                         "(version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL)")
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations").fetchall()}
            for version, sql in MIGRATIONS:
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(sql)
                    conn.execute("INSERT INTO schema_migrations VALUES (%s, now() AT TIME ZONE 'UTC')", [version])
                log.info("applied schema migration %d (postgresql)", version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [MIGRATIONS_LOCK])
