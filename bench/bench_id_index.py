"""What the cross-time idempotency check costs per flush with 10M events stored (DESIGN §15, issue 15).

Measures, for a flush of N new events against an IdIndex holding 10M hashes: the membership check
(`suspects`), recording the new hashes (`add`, with its periodic merge amortised), and the start-up
build from 10M hashes; beside it, what the exact lookup the index avoids costs in DuckDB (an anti-join of
the flush's ids against 10M stored ids). Run: `python -m bench.bench_id_index`.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from api.store.id_index import IdIndex

STORED = 10_000_000


def _median_ms(fn, repeats: int = 15) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run(flush: int = 1000) -> dict[str, float]:
    rng = np.random.default_rng(7)
    stored = rng.integers(0, 2**64 - 1, STORED, dtype=np.uint64)
    started = time.perf_counter()
    index = IdIndex(stored)
    build_s = time.perf_counter() - started
    batches = [rng.integers(0, 2**64 - 1, flush, dtype=np.uint64) for _ in range(400)]
    it = iter(batches)
    check_ms = _median_ms(lambda: index.suspects(next(it)))
    started = time.perf_counter()
    for batch in batches:  # 400k new hashes: two merges into the 10M array, amortised
        index.add(batch)
    add_ms = (time.perf_counter() - started) * 1000 / len(batches)
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(Path(tmp) / "ids.duckdb"), config={"threads": 2, "memory_limit": "512MB"})
        con.execute(f"CREATE TABLE events AS SELECT uuid() AS id, 'user_1' AS tenant_id FROM range({STORED})")
        pending = pa.table({"id": [str(uuid.uuid4()) for _ in range(flush)], "tenant_id": ["user_1"] * flush})
        con.register("pending", pending)
        anti_join_ms = _median_ms(lambda: con.execute(
            "SELECT count(*) FROM pending p WHERE NOT EXISTS (SELECT 1 FROM events e "
            "WHERE e.id = CAST(p.id AS UUID) AND e.tenant_id = p.tenant_id)").fetchall(), repeats=5)
        con.close()
    return {"flush_events": flush, "build_s_10M": round(build_s, 2), "check_ms": round(check_ms, 3),
            "add_ms_amortised": round(add_ms, 3), "anti_join_ms": round(anti_join_ms, 1),
            "index_mib": round(stored.nbytes / 2**20, 1)}


if __name__ == "__main__":
    print(run())
