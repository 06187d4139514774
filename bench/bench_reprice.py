"""Re-pricing N stored events (DESIGN §14: preview ≤ 10 s, apply ≤ 120 s over 10M on DuckDB), over HTTP.

    python -m bench.bench_reprice [--rows 10000000] [--store duckdb|postgresql]

The seeded events carry made-up costs (bench/seed.py, bench/bench_postgres.py's seed), so re-pricing them
with genai-prices' list prices changes every priced one (~86%): the worst case for apply. While the apply
runs, a second client keeps posting 100-event batches into today, and their answer times are recorded
(ingest must keep flowing). Reference, measured in the same run on the same data: one bare statement
that rewrites the cost of every event (`UPDATE events SET cost_usd = cost_usd + 0`), the floor for any
apply that touches each row.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import httpx

from bench.seed import seed
from tests.factories import make_event
from tests.server import ApiServer

TENANT = "user_bench0000000000000000"
SCOPE = {"start": "2026-10-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"}


def _ingest_while(api: ApiServer, stop: threading.Event, latencies: list[float]) -> None:
    with httpx.Client(base_url=api.url, headers=api.admin(TENANT), timeout=300) as client:
        while not stop.is_set():
            batch = {"events": [make_event(customer_id="live") for _ in range(100)]}
            started = time.perf_counter()
            client.post("/v1/events", json=batch).raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.05)


def _duckdb_update(path: Path) -> float:
    con = duckdb.connect(str(path), config={"memory_limit": "512MB", "threads": 2})
    try:
        started = time.perf_counter()
        con.execute("UPDATE events SET cost_usd = cost_usd + 0").fetchall()
        return time.perf_counter() - started
    finally:
        con.close()


def _postgres_update(url: str) -> float:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute("UPDATE events SET cost_usd = cost_usd + 0")
        return time.perf_counter() - started


def _measure(api: ApiServer, repeats: int) -> dict[str, object]:
    """Previews (median of `repeats`), then one apply with ingest running beside it."""
    with httpx.Client(base_url=api.url, headers=api.admin(TENANT), timeout=1200) as client:
        previews = []
        for _ in range(repeats):
            started = time.perf_counter()
            shown = client.post("/v1/reprice/preview", json=SCOPE)
            shown.raise_for_status()
            previews.append(time.perf_counter() - started)
        preview = shown.json()
        stop, latencies = threading.Event(), []
        sender = threading.Thread(target=_ingest_while, args=(api, stop, latencies))
        sender.start()
        time.sleep(1)
        during_from = len(latencies)
        started = time.perf_counter()
        applied = client.post("/v1/reprice", json={**SCOPE, "expected_new_cost_usd": preview["new_cost_usd"]})
        apply_seconds = time.perf_counter() - started
        during = latencies[during_from:]
        stop.set()
        sender.join()
        applied.raise_for_status()
        total = client.get("/v1/analytics/summary", params=SCOPE).json()["total_cost_usd"]
    return {"changed_events": applied.json()["changed_events"],
            "preview_s": {"median": statistics.median(previews), "runs": previews}, "apply_s": apply_seconds,
            "totals_match": total == preview["new_cost_usd"],
            "ingest_during_apply": {"batches": len(during), "p50_ms": statistics.median(during) if during else None,
                                    "max_ms": max(during) if during else None}}


def run(rows: int, repeats: int = 3, store: str = "duckdb") -> dict[str, object]:
    if store == "postgresql":
        return run_postgres(rows, repeats)
    with tempfile.TemporaryDirectory() as tmp:
        api = ApiServer(Path(tmp))
        seed_seconds = seed(str(api.db_path), tenant_id=TENANT, rows=rows)
        api.start()
        load_average = os.getloadavg()[0]
        try:
            measured = _measure(api, repeats)
        finally:
            api.stop()
        reference = _duckdb_update(api.db_path)
    return {"rows": rows, "store": "duckdb", "load_average": load_average, "seed_seconds": seed_seconds,
            **measured, "reference_update_s": reference}


def run_postgres(rows: int, repeats: int = 3) -> dict[str, object]:
    """The same on PostgreSQL (a throwaway server on this machine, fsync on), one API replica."""
    from api.store import open_store
    from bench import bench_postgres
    from common.local_postgres import PostgresServer

    with tempfile.TemporaryDirectory() as tmp:
        server = PostgresServer(durable=True).start()
        try:
            url = server.create_database()
            open_store(database_url=url, duckdb_path="", pool_size=1).close()  # migrate
            seed_seconds = bench_postgres.seed(url, rows)
            db = open_store(database_url=url, duckdb_path="", pool_size=1)
            db.rebuild_usage_hourly()
            db.close()
            api = ApiServer(Path(tmp), backend="postgresql", database_url=url).start()
            load_average = os.getloadavg()[0]
            try:
                measured = _measure(api, repeats)
            finally:
                api.stop()
            reference = _postgres_update(url)
        finally:
            server.stop()
    return {"rows": rows, "store": "postgresql", "load_average": load_average, "seed_seconds": seed_seconds,
            **measured, "reference_update_s": reference}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--store", choices=["duckdb", "postgresql"], default="duckdb")
    args = parser.parse_args()
    print(json.dumps(run(args.rows, store=args.store), indent=2))
