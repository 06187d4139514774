"""The group commit: requests queued together share one transaction, yet one request's bad row never
fails another's (DESIGN §15)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from api.store.db import Database


def _insert_numbers(cur: duckdb.DuckDBPyConnection, items: list[int], flush_seq: int) -> list[int]:
    cur.execute("CREATE TABLE IF NOT EXISTS numbers (n INTEGER NOT NULL, flush_seq BIGINT)").fetchall()
    for item in items:
        cur.execute("INSERT INTO numbers VALUES (?, ?)", [item, flush_seq]).fetchall()  # None fails NOT NULL
    return [flush_seq] * len(items)


def test_a_failing_request_is_retried_apart_and_the_others_commit(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "group.duckdb"), commit_interval_ms=50)
    try:
        futures = [db.submit(_insert_numbers, item) for item in (1, None, 3)]  # queued within one interval
        assert futures[0].result(timeout=10) != futures[2].result(timeout=10)  # each committed on its own
        with pytest.raises(duckdb.ConstraintException):
            futures[1].result(timeout=10)
        assert sorted(row[0] for row in db.fetchall("SELECT n FROM numbers")) == [1, 3]
    finally:
        db.close()


def test_requests_queued_together_share_one_commit(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "group.duckdb"), commit_interval_ms=50)
    try:
        futures = [db.submit(_insert_numbers, item) for item in (1, 2, 3)]
        assert len({future.result(timeout=10) for future in futures}) == 1
    finally:
        db.close()
