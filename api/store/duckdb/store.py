"""The DuckDB backend: one file, opened once by the API process (DESIGN §2)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from api.store.base import Dialect, GroupCommit, Params, Store, Transaction, Writer, sql_literal, utcnow
from api.store.duckdb import events
from api.store.duckdb.migrations import MIGRATIONS
from api.store.id_index import IdIndex

log = logging.getLogger("llmobserve.store")
CLOSE_ATTEMPTS = 200  # 10 s


class DuckDBDialect(Dialect):
    def quantiles(self, column: str, fractions: Sequence[float]) -> str:
        return f"quantile_cont({column}, [{', '.join(str(f) for f in fractions)}])"

    def sample(self, percent: float) -> str:
        return f"TABLESAMPLE {percent:.4f}% (system)"

    def epoch_ms(self, column: str) -> str:
        return f"epoch_ms({column})"

    def any_value(self, column: str) -> str:
        return f"any_value({column})"

    def json_text(self, column: str) -> str:
        return f"json_extract_string({column}, ?)"

    def json_text_param(self, key: str) -> str:
        return "/" + key.replace("~", "~0").replace("/", "~1")  # a JSON Pointer (RFC 6901)

    wide_int = "HUGEINT"

    def slot(self, column: str) -> str:
        return f"CAST(epoch_us({column}) // 900000000 AS BIGINT)"

    def int_div(self, numerator: str, denominator: str) -> str:
        return f"(({numerator}) // ({denominator}))"

    def json_text_at(self, column: str, key: str) -> str:
        return f"json_extract_string({column}, {sql_literal(self.json_text_param(key))})"

    def json_each_text(self, column: str) -> tuple[str, str, str]:
        return f"json_each({column}) AS t", "t.key", "t.value ->> '$'"


class DuckDBTransaction(Transaction):
    """A cursor inside BEGIN … COMMIT (or any cursor, for statements run on their own)."""

    def __init__(self, cur: duckdb.DuckDBPyConnection) -> None:
        self.raw = cur

    def _run(self, sql: str, params: Params) -> tuple[list[str], list[tuple[Any, ...]]]:
        cur = self.raw.execute(sql, params)
        rows = cur.fetchall()  # read every result fully: DuckDB refuses new work while one is open
        return ([d[0] for d in cur.description] if cur.description else []), rows

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self.raw.executemany(sql, rows)


def _noop(tx: Transaction, items: list[None], flush_seq: int) -> list[None]:
    return [None] * len(items)


class DuckDBStore(Store):
    """DuckDB connections are not safe to share between threads, so each thread reads through its own
    cursor. Event inserts go through one writer thread (group commit). Other transactions (users, keys,
    webhooks: short and rare) take one process-wide lock: DuckDB does not wait on a conflicting write,
    it fails it, and two identical webhook deliveries at once must not fail either."""

    name = "duckdb"
    shared = False
    dialect = DuckDBDialect()
    write_conflicts = (duckdb.TransactionException, duckdb.ConstraintException)

    def __init__(self, path: str, *, memory_limit: str = "512MB", threads: int = 2,
                 commit_interval_ms: float = 3.0) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._con = duckdb.connect(path, config={"memory_limit": memory_limit, "threads": threads})
        self._local = threading.local()
        self._tx_lock = threading.RLock()
        self._rewrite_lock = threading.Lock()  # one re-pricing at a time: two would update the same rows
        self._rollup_holds = 0
        self._migrate()
        # Every group commit gets the next number; events carry theirs (flush_seq), so the rollup can
        # take "everything committed since" without depending on clocks. Numbering resumes above both the
        # newest event and the roll-up's progress: an idle roll-up takes numbers too, and an event numbered
        # at or below rolled_up_to would never be counted (DESIGN §15).
        last = int(self._con.execute(
            "SELECT greatest((SELECT coalesce(max(flush_seq), 0) FROM events), "
            "(SELECT coalesce(max(rolled_up_to), 0) FROM usage_state))").fetchone()[0])
        # The hashes of every stored (tenant, id), for the ingest-time idempotency check (~1 s at 10M events).
        self.id_index = IdIndex(events.stored_hashes(self._con))
        self._insert_writer = partial(events.write_batches, self.id_index)  # one writer: requests share flushes
        self._roll_up_writer = partial(events.roll_up, self.dialect)
        writer_cur = self._con.cursor()
        self._writer = GroupCommit(begin=lambda: self._begin(writer_cur), commit=self._commit,
                                   rollback=self._rollback, interval_ms=commit_interval_ms, flush_seq=last)

    # -- connections -------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's own cursor onto the shared database."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._con.cursor()
        return cur

    def _run(self, sql: str, params: Params) -> tuple[list[str], list[tuple[Any, ...]]]:
        return DuckDBTransaction(self.cursor())._run(sql, params)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self.cursor().executemany(sql, rows)

    def fetch_arrow(self, sql: str, params: Params = ()) -> pa.Table:
        return self.cursor().execute(sql, params).to_arrow_table()

    def iter_arrow(self, sql: str, rows: int = 200_000) -> Iterator[pa.Table]:
        reader = self._con.cursor().execute(sql).to_arrow_reader(rows)
        for batch in reader:
            yield pa.Table.from_batches([batch])

    def load_arrow(self, tx: Transaction, table: str, data: pa.Table) -> None:
        tx.raw.register("incoming", data)
        try:
            tx.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
        finally:
            tx.raw.unregister("incoming")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._tx_lock:
            cur = self.cursor()
            tx = self._begin(cur)
            try:
                yield tx
            except BaseException:
                self._rollback(tx)
                raise
            self._commit(tx)

    @staticmethod
    def _begin(cur: duckdb.DuckDBPyConnection) -> DuckDBTransaction:
        cur.execute("BEGIN")
        return DuckDBTransaction(cur)

    @staticmethod
    def _commit(tx: Transaction) -> None:
        try:
            tx.raw.execute("COMMIT")
        except duckdb.Error:
            DuckDBStore._rollback(tx)  # a failed COMMIT leaves the cursor inside the transaction
            raise

    @staticmethod
    def _rollback(tx: Transaction) -> None:
        try:
            tx.raw.execute("ROLLBACK")
        except duckdb.Error:
            pass  # no transaction was open any more

    def ping(self) -> bool:
        return self.fetchone("SELECT 1") == (1,)

    def describe(self) -> str:
        return f"DuckDB file {self.path}"

    # -- scratch tables ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def reading(self) -> Iterator[Transaction]:
        cur = self._con.cursor()  # a connection of its own: the names it registers are its own
        try:
            yield self._begin(cur)
        finally:
            self._rollback(DuckDBTransaction(cur))
            cur.close()

    @contextlib.contextmanager
    def rewriting(self) -> Iterator[Transaction]:
        """Beside the writer, not inside it: ingest keeps committing (appends never conflict with the
        update of older rows). Roll-ups are held, and none is running once the transaction begins."""
        with self._rewrite_lock:
            self._rollup_holds += 1
            try:
                self.submit(_noop, None).result()  # the writer runs jobs in order: an earlier roll-up is done
                cur = self._con.cursor()
                try:
                    tx = self._begin(cur)
                    try:
                        yield tx
                    except BaseException:
                        self._rollback(tx)
                        raise
                    self._commit(tx)
                finally:
                    cur.close()
            finally:
                self._rollup_holds -= 1

    @contextlib.contextmanager
    def scratch(self, tx: Transaction, tables: dict[str, pa.Table]) -> Iterator[None]:
        for name, table in tables.items():
            tx.raw.register(name, table)
        try:
            yield
        finally:
            for name in tables:
                tx.raw.unregister(name)

    # -- schema --------------------------------------------------------------------------------
    def _migrate(self) -> None:
        con = self._con
        con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
        done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
        for version, sql in MIGRATIONS:
            if version in done:
                continue
            con.execute("BEGIN")
            try:
                con.execute(sql)
                con.execute("INSERT INTO schema_migrations VALUES (?, ?)", [version, utcnow()])
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
            log.info("applied schema migration %d", version)

    # -- group commit and the engine-specific event paths --------------------------------------
    @property
    def flush_seq(self) -> int:
        return self._writer.flush_seq

    def submit(self, writer: Writer, item: Any) -> Future:
        return self._writer.submit(writer, item)

    def insert_events(self, batch: pa.Table) -> Future:
        return self.submit(self._insert_writer, batch)

    def roll_up(self) -> Future:
        if self._rollup_holds:  # a re-pricing is rewriting hourly totals; reads stay exact meanwhile
            skipped: Future = Future()
            skipped.set_result(0)
            return skipped
        return self.submit(self._roll_up_writer, None)

    def unrolled_condition(self) -> str:
        return events.UNROLLED

    def settle_relink(self, old_id: str, new_id: str) -> None:
        self.submit(partial(events.settle_relink, self.dialect, self.id_index), (old_id, new_id)).result()

    def purge_tenant_events(self, tenant_id: str) -> Future:
        return self.submit(events.purge, tenant_id)

    def rebuild_usage_hourly(self) -> None:
        with self.transaction() as tx:
            events.rebuild_usage_hourly(self.dialect, tx)
            self.id_index.reset(events.stored_hashes(tx.raw))

    def backup(self) -> tuple[Path, Future]:
        """An online, consistent copy of the database into a new file under backups/ beside it;
        the future resolves once the copy is complete."""
        target = Path(self.path).resolve().parent / "backups" / f"llmobserve-{utcnow():%Y%m%dT%H%M%S%fZ}.duckdb"
        target.parent.mkdir(parents=True, exist_ok=True)
        return target, self.submit(events.backup, str(target).replace("'", "''"))

    def close(self) -> None:
        self._writer.close()
        # A request thread can still be inside a query as the server stops (its client gone): wait for it
        # instead of failing the shutdown. Every commit is in the WAL already; close only checkpoints.
        for _ in range(CLOSE_ATTEMPTS):
            try:
                self._con.close()
                return
            except duckdb.ResourceInUseException:
                time.sleep(0.05)
        log.warning("DuckDB still busy after %.1f s at shutdown: left to the WAL", CLOSE_ATTEMPTS * 0.05)
