"""The group commit: requests queued together share one transaction, yet one request's bad row never
fails another's (DESIGN §15). On both stores."""

from __future__ import annotations

import duckdb
import psycopg
import pytest

from api.store import Store, Transaction, open_store
from tests.postgres import shared_server


def _insert_numbers(tx: Transaction, items: list[int], flush_seq: int) -> list[int]:
    tx.execute("CREATE TABLE IF NOT EXISTS numbers (n INTEGER NOT NULL, flush_seq BIGINT)")
    for item in items:
        tx.execute("INSERT INTO numbers VALUES (?, ?)", [item, flush_seq])  # None fails NOT NULL
    return [flush_seq] * len(items)


@pytest.fixture
def slow_store(store: Store, tmp_path) -> Store:  # type: ignore[no-untyped-def]
    """The same engine as `store`, with a 50 ms commit interval so the test's requests share a flush."""
    store.close()
    if store.name == "postgresql":
        db = open_store(database_url=shared_server().create_database(), duckdb_path="", commit_interval_ms=50)
    else:
        db = open_store(database_url=None, duckdb_path=str(tmp_path / "group.duckdb"), commit_interval_ms=50)
    yield db
    db.close()


def test_a_failing_request_is_retried_apart_and_the_others_commit(slow_store: Store) -> None:
    futures = [slow_store.submit(_insert_numbers, item) for item in (1, None, 3)]  # queued within one interval
    assert futures[0].result(timeout=10) != futures[2].result(timeout=10)  # each committed on its own
    with pytest.raises((duckdb.ConstraintException, psycopg.errors.NotNullViolation)):
        futures[1].result(timeout=10)
    assert sorted(row[0] for row in slow_store.fetchall("SELECT n FROM numbers")) == [1, 3]


def test_requests_queued_together_share_one_commit(slow_store: Store) -> None:
    futures = [slow_store.submit(_insert_numbers, item) for item in (1, 2, 3)]
    assert len({future.result(timeout=10) for future in futures}) == 1
