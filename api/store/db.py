"""The DuckDB connection, schema migrations and the group-commit writer."""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Callable

import duckdb

from api.store.id_index import IdIndex
from api.store.migrations import MIGRATIONS

log = logging.getLogger("llmobserve.store")

# A group-commit writer: (cursor inside the open transaction, the queued items, this flush's number)
# → one result per item.
Writer = Callable[[duckdb.DuckDBPyConnection, list[Any], int], list[Any]]


def utcnow() -> datetime:
    """Naive UTC: every TIMESTAMP column holds UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def utc_naive(value: datetime) -> datetime:
    """Any datetime as naive UTC; a naive one is taken to be UTC already."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


class Database:
    """One DuckDB file, opened once by the API process.

    DuckDB connections are not safe to share between threads, so each thread reads through its own
    cursor. Event inserts go through one writer thread that commits everything queued in the last few
    milliseconds in a single transaction (group commit); a request is answered only after its commit.
    """

    def __init__(self, path: str, *, memory_limit: str = "512MB", threads: int = 2,
                 commit_interval_ms: float = 3.0) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._con = duckdb.connect(path, config={"memory_limit": memory_limit, "threads": threads})
        self._local = threading.local()
        self._commit_interval = commit_interval_ms / 1000
        self._jobs: queue.Queue[tuple[Writer, Any, Future] | None] = queue.Queue()
        self._migrate()
        # Every group commit gets the next number; events carry theirs (flush_seq), so the rollup can
        # take "everything committed since" without depending on clocks. Numbering resumes above both the
        # newest event and the roll-up's progress: an idle roll-up takes numbers too, and an event numbered
        # at or below rolled_up_to would never be counted (DESIGN §15).
        self.flush_seq = int(self._con.execute(
            "SELECT greatest((SELECT coalesce(max(flush_seq), 0) FROM events), "
            "(SELECT coalesce(max(rolled_up_to), 0) FROM usage_state))").fetchone()[0])
        # The hashes of every stored (tenant, id), for the ingest-time idempotency check (~1 s at 10M events).
        self.id_index = IdIndex(self._con.execute("SELECT hash(tenant_id, id) AS h FROM events").fetchnumpy()["h"])
        self._writer = threading.Thread(target=self._write_loop, name="llmobserve-writer", daemon=True)
        self._writer.start()

    # -- connections -------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's own cursor onto the shared database."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._con.cursor()
        return cur

    def fetchall(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.cursor().execute(sql, params).fetchall()

    def fetchone(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        rows = self.fetchall(sql, params)
        return rows[0] if rows else None

    def fetchdicts(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cur = self.cursor().execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def execute(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> None:
        self.cursor().execute(sql, params).fetchall()

    def transaction(self) -> "_Transaction":
        return _Transaction(self.cursor())

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

    def ping(self) -> bool:
        return self.fetchone("SELECT 1") == (1,)

    # -- group commit --------------------------------------------------------------------------
    def submit(self, writer: Writer, item: Any) -> Future:
        """Queue `item` for `writer(cursor, items, flush_seq)`, which runs inside one transaction with
        every other item queued for the same writer; the future resolves after the commit."""
        future: Future = Future()
        self._jobs.put((writer, item, future))
        return future

    def _write_loop(self) -> None:
        cur = self._con.cursor()
        while True:
            first = self._jobs.get()
            if first is None:
                return
            # Let concurrent requests join this commit: one fsync serves all of them.
            deadline = time.monotonic() + self._commit_interval
            batch = [first]
            while True:
                remaining = deadline - time.monotonic()
                try:
                    job = self._jobs.get(timeout=max(remaining, 0)) if remaining > 0 else self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._jobs.put(None)
                    break
                batch.append(job)
            by_writer: dict[Callable, list[tuple[Any, Future]]] = {}
            for writer, item, future in batch:
                by_writer.setdefault(writer, []).append((item, future))
            for writer, jobs in by_writer.items():
                self._run_group(cur, writer, jobs)

    def _run_group(self, cur: duckdb.DuckDBPyConnection, writer: Writer, jobs: list[tuple[Any, Future]]) -> None:
        self.flush_seq += 1
        try:
            cur.execute("BEGIN")
            results = writer(cur, [item for item, _ in jobs], self.flush_seq)
            cur.execute("COMMIT")
        except Exception as exc:
            try:
                cur.execute("ROLLBACK")
            except duckdb.Error:
                pass
            if len(jobs) > 1:  # one request's bad row must not fail the others: retry each on its own
                log.warning("group commit of %d requests failed (%s); retrying them one by one", len(jobs), exc)
                for job in jobs:
                    self._run_group(cur, writer, [job])
                return
            log.exception("commit failed")
            jobs[0][1].set_exception(exc)
            return
        for (_, future), result in zip(jobs, results):
            future.set_result(result)

    def backup(self) -> tuple[Path, Future]:
        """An online, consistent copy of the database into a new file under backups/ beside it;
        the future resolves once the copy is complete."""
        target = Path(self.path).resolve().parent / "backups" / f"llmobserve-{utcnow():%Y%m%dT%H%M%S%fZ}.duckdb"
        target.parent.mkdir(parents=True, exist_ok=True)
        return target, self.submit(_backup, str(target).replace("'", "''"))

    def close(self) -> None:
        self._jobs.put(None)
        self._writer.join(timeout=5)
        self._con.close()


class _Transaction:
    def __init__(self, cur: duckdb.DuckDBPyConnection) -> None:
        self.cur = cur

    def __enter__(self) -> duckdb.DuckDBPyConnection:
        self.cur.execute("BEGIN")
        return self.cur

    def __exit__(self, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
        self.cur.execute("ROLLBACK" if exc_type else "COMMIT")


def _backup(cur: duckdb.DuckDBPyConnection, targets: list[str], flush_seq: int) -> list[str]:
    """Copy the whole database into a new file, inside the writer (so no write is half in, half out)."""
    source = cur.execute("SELECT current_database()").fetchone()[0]
    for target in targets:
        cur.execute(f"ATTACH '{target}' AS backup_target").fetchall()
        try:
            cur.execute(f'COPY FROM DATABASE "{source}" TO backup_target').fetchall()
        finally:
            cur.execute("DETACH backup_target").fetchall()
    return targets
