"""PostgreSQL (DESIGN §14): ingest over HTTP through two replicas beside raw psycopg COPY measured in the
same run; dashboard queries over N stored events for one tenant (warm p50/p95); replica RSS.

    python -m bench.bench_postgres [--rows 10000000] [--only ingest,analytics]

PostgreSQL runs on the same machine (a throwaway server, common/local_postgres.py, with fsync on:
acknowledged = committed = on disk).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv

from api.ingest import to_rows, validate_batch
from bench.bench_analytics import QUERIES, TENANT, rss_mib
from bench.bench_ingest import accepted_all
from bench.load import post_all
from common.local_postgres import PostgresServer
from tests.factories import create_user, make_event
from tests.server import ApiServer

CSV = pacsv.WriteOptions(include_header=False, quoting_style="needed")


def replicas(url: str, root: Path) -> list[ApiServer]:
    first = ApiServer(root / "a", backend="postgresql", database_url=url)
    second = ApiServer(root / "b", backend="postgresql", database_url=url, admin_token=first.admin_token,
                       secret_key=first.secret_key)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(ApiServer.start, (first, second)))
    return [first, second]


def raw_copy_rate(url: str, rows: int = 200_000, batch: int = 10_000) -> float:
    """Rows/s for PostgreSQL alone: pre-built batches COPYed (CSV) straight into events, committed each."""
    body = json.dumps({"events": [make_event() for _ in range(batch)]}).encode()
    table, _ = to_rows("user_raw", validate_batch(body, max_events=batch).events)
    table = table.drop(["cost_pico"])
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        for _ in range(rows // batch):
            fresh = table.set_column(0, "id", pa.array([str(uuid.uuid4()) for _ in range(batch)]))
            sink = pa.BufferOutputStream()
            pacsv.write_csv(fresh, sink, CSV)
            with conn.cursor() as cur, cur.copy(f"COPY events ({', '.join(fresh.column_names)}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(sink.getvalue().to_pybytes())
            conn.commit()
        return rows / (time.perf_counter() - started)


def http_rate(servers: list[ApiServer], key: str, *, batch_size: int, batches: int, clients: int) -> float:
    """Events/s acknowledged over HTTP, requests spread over the replicas (as a load balancer would)."""
    bodies = [json.dumps({"events": [make_event() for _ in range(batch_size)]}).encode() for _ in range(batches)]
    load = post_all([api.url for api in servers], "/v1/events", bodies, clients=clients,
                    check=accepted_all(batch_size),
                    headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    return load.per_second(batch_size * batches)


def ingest(rounds: int = 3) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        server = PostgresServer(durable=True).start()
        try:
            url = server.create_database()
            servers = replicas(url, Path(tmp))
            try:
                user = create_user(servers[0])
                http_rate(servers, user.api_key, batch_size=1000, batches=10, clients=4)  # warm-up
                raw, http = [], []
                for _ in range(rounds):  # interleaved: noise hits both alike
                    raw.append(raw_copy_rate(url))
                    http.append(http_rate(servers, user.api_key, batch_size=1000, batches=60, clients=6))
                rss = [rss_mib(s.proc.pid) for s in servers if s.proc]
            finally:
                for s in servers:
                    s.stop()
        finally:
            server.stop()
    return {"raw_copy": statistics.median(raw), "http_1000_two_replicas": statistics.median(http),
            "rounds": rounds, "replica_rss_mib": rss}


# With tags=True, as bench/seed.py: two calls in three carry {"feature": one of 8, "team": one of 5}.
TAGS_SQL = """CASE WHEN i %% 3 = 2 THEN NULL
                   ELSE '{"feature": "f' || (i %% 8) || '", "team": "t' || (customer %% 5) || '"}' END"""


def seed(url: str, rows: int, tags: bool = False) -> float:
    """`rows` events for one tenant over 30 days, shaped like bench/seed.py's, written by SQL in chunks."""
    started = time.perf_counter()
    models = "ARRAY['gpt-4o-mini-2024-07-18','claude-3-5-haiku-20241022','gpt-4.1-nano-2025-04-14'," \
             "'claude-sonnet-4-5-20250929','gpt-5-nano-2025-08-07','acme-finetune-v2']"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO users (id, email, source, created_at, updated_at) VALUES (%s, %s, 'admin', now(), now())"
                     " ON CONFLICT DO NOTHING", [TENANT, f"{TENANT}@bench.invalid"])
        chunk = 1_000_000
        for offset in range(0, rows, chunk):
            n = min(chunk, rows - offset)
            conn.execute(f"""
                INSERT INTO events (id, tenant_id, timestamp, provider, model, operation, customer_id, run_id, run_name,
                    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, latency_ms,
                    stream, status, sdk_version, cost_usd, pricing_status, pricing_source, pricing_version, received_at,
                    tags)
                SELECT gen_random_uuid(), %s, TIMESTAMP '2026-10-01' + (i * {30 * 86400}::bigint / {rows}) * INTERVAL '1 second',
                       CASE WHEN m %% 2 = 1 THEN 'anthropic' ELSE 'openai' END, ({models})[m + 1], 'chat',
                       'cust_' || customer, 'run_' || (i / 3), 'bench-run', 1000 + i %% 700, (i %% 4) * 100, 0,
                       200 + i %% 300, 0, 300 + (i %% 1000), i %% 5 = 0,
                       CASE WHEN i %% 50 = 0 THEN 'error' ELSE 'ok' END, 'bench',
                       CASE WHEN m = 5 THEN NULL ELSE 0.000123 + (i %% 97) * 0.000001 END,
                       CASE WHEN m = 5 THEN 'unpriced' ELSE 'priced' END, 'genai-prices', 'bench', now(),
                       {TAGS_SQL if tags else 'NULL'}
                FROM (SELECT i, customer, (customer + (i %% 10 = 0)::int) %% 6 AS m
                      FROM (SELECT i, floor(500 * power(((i * 2654435761) %% 4294967296) / 4294967296.0, 3))::int AS customer
                            FROM generate_series(%s::bigint, %s::bigint) i) c) s
                """, [TENANT, offset, offset + n - 1])
        conn.execute("VACUUM ANALYZE events")
    return time.perf_counter() - started


def analytics(rows: int, repeats: int = 20, queries: list | None = None, tags: bool = False) -> dict[str, object]:
    from api.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        server = PostgresServer(durable=True).start()
        try:
            url = server.create_database()
            store = open_store(database_url=url, duckdb_path="", pool_size=1)  # migrate
            store.close()
            seconds = seed(url, rows, tags=tags)
            queries = queries or QUERIES
            store = open_store(database_url=url, duckdb_path="", pool_size=1)
            store.rebuild_usage_hourly()
            store.close()
            servers = replicas(url, Path(tmp))
            try:
                result: dict[str, object] = {"rows": rows, "seed_seconds": seconds,
                                             "replica_rss_mib_at_start": [rss_mib(s.proc.pid) for s in servers if s.proc]}
                timings: dict[str, list[float]] = {name: [] for name, _, _ in queries}
                clients = [httpx.Client(base_url=s.url, headers=s.admin(TENANT), timeout=120) for s in servers]
                for name, path, params in queries:
                    for client in clients:
                        client.get(path, params=params).raise_for_status()  # warm-up, both replicas
                for r in range(repeats):
                    for name, path, params in queries:
                        started = time.perf_counter()
                        clients[r % 2].get(path, params=params).raise_for_status()
                        timings[name].append((time.perf_counter() - started) * 1000)
                for client in clients:
                    client.close()
                result["queries"] = {name: {"p50_ms": statistics.median(t), "p95_ms": statistics.quantiles(t, n=20)[-1]}
                                     for name, t in timings.items()}
                result["replica_rss_mib_after_queries"] = [rss_mib(s.proc.pid) for s in servers if s.proc]
            finally:
                for s in servers:
                    s.stop()
        finally:
            server.stop()
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--only", default="ingest,analytics")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    print(json.dumps({"ingest": ingest() if "ingest" in wanted else None,
                      "analytics": analytics(args.rows) if "analytics" in wanted else None}, indent=2))
