"""The store seam: what every backend provides, and the parts they share.

Callers (routes, accounts, pricing) hold a `Store` and call the concern modules beside this file
(`analytics`, `users`, `keys`, …) or the few engine-specific methods below; they never know which
engine runs. A backend lives in its own folder (`duckdb/`, `postgres/`) and supplies:

- query primitives (`fetchall`, `fetchdicts`, `execute`, `transaction`, …) over SQL written with `?`
  placeholders, in the subset both engines speak (see docs/architecture.md, "Adding a store function");
- a `Dialect` for the few fragments that differ (percentiles, sampling, epoch arithmetic);
- its own migrations, and the engine-specific fast paths: the bulk event write, the roll-up, purge.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

log = logging.getLogger("llmobserve.store")

Params = Sequence[Any]


def utcnow() -> datetime:
    """Naive UTC: every TIMESTAMP column holds UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def utc_naive(value: datetime) -> datetime:
    """Any datetime as naive UTC; a naive one is taken to be UTC already."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def sql_literal(text: str) -> str:
    """A string literal both engines read. Never a '?' inside (the shared SQL's placeholder, turned into
    psycopg's by the PostgreSQL store): it is spelled chr(63)."""
    parts = ["'" + part.replace("'", "''") + "'" for part in text.split("?")]
    return parts[0] if len(parts) == 1 else "(" + " || chr(63) || ".join(parts) + ")"


class BadValue(ValueError):
    """The database refused a value a request carried (a NUL in text, a number out of range): the
    caller's mistake, answered 422 with the engine's reason, never a 500."""


class StoreUnsupported(Exception):
    """An operation this engine does not offer (e.g. an in-process file backup on PostgreSQL)."""


class Queries(ABC):
    """Run SQL: the store itself (each statement on its own) or an open transaction. Store functions
    take either, so one function serves a caller with or without a transaction of its own."""

    @abstractmethod
    def _run(self, sql: str, params: Params) -> tuple[list[str], list[tuple[Any, ...]]]:
        """(column names, rows) of one statement; no rows for a statement that returns none."""

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Params]) -> None: ...

    def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return self._run(sql, params)[1]

    def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        rows = self.fetchall(sql, params)
        return rows[0] if rows else None

    def fetchdicts(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        names, rows = self._run(sql, params)
        return [dict(zip(names, row)) for row in rows]

    def execute(self, sql: str, params: Params = ()) -> None:
        self._run(sql, params)


class Transaction(Queries):
    """An open transaction; `raw` is the engine's own handle, for a backend's engine-specific writers."""

    raw: Any


class Dialect:
    """SQL fragments that differ between engines (Django's `DatabaseOperations`, in small)."""

    def quantiles(self, column: str, fractions: Sequence[float]) -> str:
        """An aggregate giving a list of continuous percentiles of `column`."""
        raise NotImplementedError

    def sample(self, percent: float) -> str:
        """A block-sample clause, written after a table name."""
        raise NotImplementedError

    def epoch_ms(self, column: str) -> str:
        """Milliseconds since the epoch of a TIMESTAMP column, as a number."""
        raise NotImplementedError

    def any_value(self, column: str) -> str:
        """Any one value of the group (PostgreSQL 15 has no any_value)."""
        raise NotImplementedError

    def json_text(self, column: str) -> str:
        """The text value of one top-level key of a JSON-text column; one `?`, given json_text_param(key)."""
        raise NotImplementedError

    def json_text_param(self, key: str) -> str:
        raise NotImplementedError

    def json_text_at(self, column: str, key: str) -> str:
        """The text value of one top-level key of a JSON-text column, the key written into the SQL (for
        an expression used in several places of one statement, where a parameter would be awkward)."""
        raise NotImplementedError

    def json_each_text(self, column: str) -> tuple[str, str, str]:
        """(a FROM item exploding a JSON string map, its key expression, its text value expression)."""
        raise NotImplementedError

    #: Appended to a SELECT inside a transaction that will update the rows it read.
    for_update: str = ""

    #: An integer type wide enough for token counts times pico-dollar prices (re-pricing's arithmetic).
    wide_int: str = "NUMERIC(38, 0)"

    def slot(self, column: str) -> str:
        """The 15-minute price slot of a TIMESTAMP column (api.pricing.SLOT_SECONDS), as a BIGINT."""
        raise NotImplementedError

    def int_div(self, numerator: str, denominator: str) -> str:
        """Integer division of non-negative whole numbers, rounded down."""
        raise NotImplementedError


# A group-commit writer: (the open transaction, the queued items, this flush's number) → one result per item.
Writer = Callable[[Transaction, list[Any], int], list[Any]]


class Store(Queries):
    """One database, opened once per process; every backend subclasses this."""

    name: ClassVar[str]  # "duckdb" | "postgresql": what GET /health reports
    #: True when other processes may write the same database (replicas): in-memory state must be refreshed.
    shared: ClassVar[bool]
    dialect: Dialect
    #: Exceptions meaning "a concurrent transaction wrote the same key first; nothing was written": retry.
    write_conflicts: tuple[type[Exception], ...] = ()

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Transaction]:
        """BEGIN … COMMIT (ROLLBACK on an exception) on one connection."""

    @abstractmethod
    def fetch_arrow(self, sql: str, params: Params = ()) -> pa.Table:
        """A query's result as an Arrow table (exports, data frames)."""

    @abstractmethod
    def iter_arrow(self, sql: str, rows: int = 200_000) -> Iterator[pa.Table]:
        """A large query's result in Arrow chunks of about `rows` rows (copying a whole store)."""

    @abstractmethod
    def load_arrow(self, tx: Transaction, table: str, data: pa.Table) -> None:
        """Append `data` (columns named as the table's) to `table` by the engine's bulk path."""

    @abstractmethod
    def ping(self) -> bool: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def describe(self) -> str:
        """Where the data is, for the start-up log (never a password)."""

    # -- group commit (shared machinery; each backend supplies the transaction) ----------------------
    @abstractmethod
    def submit(self, writer: Writer, item: Any) -> Future:
        """Queue `item` for `writer(tx, items, flush_seq)`, run in one transaction with every other item
        queued for the same writer meanwhile; the future resolves after the commit."""

    # -- engine-specific event operations --------------------------------------------------------
    @abstractmethod
    def insert_events(self, batch: pa.Table) -> Future:
        """Queue one request's events; the future gives (accepted, duplicates) once committed."""

    @abstractmethod
    def roll_up(self) -> Future:
        """Fold committed events into usage_hourly; the future gives how much was taken in."""

    @abstractmethod
    def unrolled_condition(self) -> str:
        """A WHERE condition on `events` selecting the rows not yet in usage_hourly (no parameters)."""

    @abstractmethod
    def purge_tenant_events(self, tenant_id: str) -> Future:
        """Delete every event of one tenant; the future gives how many."""

    @abstractmethod
    def rebuild_usage_hourly(self) -> None:
        """Recompute the hourly totals from the events (after a bulk load)."""

    def exclude_roll_up(self, tx: Transaction) -> None:
        """Call first in a transaction that changes stored events or usage_hourly (relink, purge,
        re-pricing): no roll-up runs beside it, so none can fold rows it is rewriting under the old
        values. DuckDB takes no lock: a roll-up beside it that updates a row it updates fails and is retried,
        and what one adds without a conflict is settled after the commit (`settle_relink`)."""

    def settle_relink(self, old_id: str, new_id: str) -> None:
        """Once a relink has committed, whatever the engine still needs to make it exact. PostgreSQL needs
        nothing (the relink held the roll-up lock); DuckDB recounts what a roll-up beside it may have
        folded under the old id."""

    # -- scratch tables (re-pricing and what-if join stored events against small price tables) -----
    @abstractmethod
    def reading(self) -> AbstractContextManager[Transaction]:
        """A transaction for a long read that needs scratch tables; it never blocks the other writers."""

    @abstractmethod
    def rewriting(self) -> AbstractContextManager[Transaction]:
        """A transaction that rewrites stored events and their hourly totals (re-pricing): no roll-up
        runs beside it, ingest goes on, and a failure anywhere changes nothing."""

    @abstractmethod
    def scratch(self, tx: Transaction, tables: dict[str, pa.Table]) -> AbstractContextManager[None]:
        """Make Arrow tables readable by name inside `tx` until the block ends."""

    def backup(self) -> tuple[Path, Future]:
        """An online copy of the whole database into a new file (single-machine stores only)."""
        raise StoreUnsupported(f"{self.name} has no built-in file backup")


class GroupCommit:
    """One writer thread that commits everything queued in the last few milliseconds in one transaction.

    A backend gives it `begin()` → Transaction, `commit(tx)`, `rollback(tx)`; requests get their answers
    only after the commit (DESIGN §7)."""

    def __init__(self, *, begin: Callable[[], Transaction], commit: Callable[[Transaction], None],
                 rollback: Callable[[Transaction], None], interval_ms: float, flush_seq: int = 0) -> None:
        self._begin, self._commit, self._rollback = begin, commit, rollback
        self._interval = interval_ms / 1000
        self._jobs: queue.Queue[tuple[Writer, Any, Future] | None] = queue.Queue()
        self.flush_seq = flush_seq
        self._thread = threading.Thread(target=self._loop, name="llmobserve-writer", daemon=True)
        self._thread.start()

    def submit(self, writer: Writer, item: Any) -> Future:
        future: Future = Future()
        self._jobs.put((writer, item, future))
        return future

    def _collect(self, first: tuple[Writer, Any, Future]) -> list[tuple[Writer, Any, Future]]:
        # Let concurrent requests join this commit: one fsync serves all of them.
        deadline = time.monotonic() + self._interval
        batch = [first]
        while True:
            remaining = deadline - time.monotonic()
            try:
                job = self._jobs.get(timeout=remaining) if remaining > 0 else self._jobs.get_nowait()
            except queue.Empty:
                return batch
            if job is None:
                self._jobs.put(None)
                return batch
            batch.append(job)

    def _loop(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            by_writer: dict[Writer, list[tuple[Any, Future]]] = {}
            for writer, item, future in self._collect(first):
                by_writer.setdefault(writer, []).append((item, future))
            for writer, jobs in by_writer.items():
                self._run_group(writer, jobs)

    def _run_group(self, writer: Writer, jobs: list[tuple[Any, Future]]) -> None:
        self.flush_seq += 1
        tx: Transaction | None = None
        try:
            tx = self._begin()
            results = writer(tx, [item for item, _ in jobs], self.flush_seq)
            self._commit(tx)
        except Exception as exc:
            if tx is not None:
                try:
                    self._rollback(tx)
                except Exception:  # noqa: BLE001 - the connection may be gone; the backend reconnects
                    log.exception("rollback after a failed group commit failed")
            if len(jobs) > 1:  # one request's bad row must not fail the others: retry each on its own
                log.warning("group commit of %d requests failed (%s); retrying them one by one", len(jobs), exc)
                for job in jobs:
                    self._run_group(writer, [job])
                return
            log.exception("commit failed")
            jobs[0][1].set_exception(exc)
            return
        for (_, future), result in zip(jobs, results):
            future.set_result(result)

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=5)
