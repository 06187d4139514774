"""Ingest over HTTP (commit before ack) beside the raw DuckDB Arrow append rate, in the same run."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

from api.ingest import to_rows, validate_batch
from api.store.duckdb import DuckDBStore as Database
from bench.load import post_all
from tests.factories import create_user, make_event
from tests.server import ApiServer


def raw_append_rate(rows: int = 200_000, batch: int = 10_000) -> float:
    """Rows/s for DuckDB alone: pre-built Arrow batches appended with one INSERT each, committed."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(str(Path(tmp) / "raw.duckdb"))
        body = json.dumps({"events": [make_event() for _ in range(batch)]}).encode()
        table, _ = to_rows("user_raw", validate_batch(body, max_events=batch).events)
        cur = db.cursor()
        started = time.perf_counter()
        for _ in range(rows // batch):
            cur.execute("BEGIN")
            cur.register("pending", table)
            cur.execute("INSERT INTO events BY NAME SELECT * EXCLUDE (cost_pico) FROM pending").fetchall()
            cur.unregister("pending")
            cur.execute("COMMIT")
        elapsed = time.perf_counter() - started
        db.close()
    return rows / elapsed


def http_rate(api: ApiServer, key: str, *, batch_size: int, batches: int, clients: int) -> dict[str, float]:
    """Events/s acknowledged (= committed) over HTTP, bodies encoded before the clock starts."""
    bodies = [json.dumps({"events": [make_event(id=str(uuid.uuid4())) for _ in range(batch_size)]}).encode()
              for _ in range(batches)]
    load = post_all([api.url], "/v1/events", bodies, clients=clients, check=accepted_all(batch_size),
                    headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    return {"events_per_s": load.per_second(batch_size * batches), "p50_ms": load.p50_ms, "p95_ms": load.p95_ms}


def accepted_all(batch_size: int) -> Callable[[httpx.Response], bool]:
    return lambda answer: answer.status_code == 200 and answer.json()["accepted"] == batch_size


def run(rounds: int = 3) -> dict[str, object]:
    results: dict[str, list[float]] = {"raw_append": [], "http_100": [], "http_1000": []}
    with tempfile.TemporaryDirectory() as tmp:
        api = ApiServer(Path(tmp)).start()
        try:
            user = create_user(api)
            http_rate(api, user.api_key, batch_size=100, batches=50, clients=4)  # warm-up
            for _ in range(rounds):  # interleaved, so machine noise hits every figure alike
                results["raw_append"].append(raw_append_rate())
                results["http_100"].append(http_rate(api, user.api_key, batch_size=100, batches=600, clients=8)["events_per_s"])
                results["http_1000"].append(http_rate(api, user.api_key, batch_size=1000, batches=60, clients=4)["events_per_s"])
        finally:
            api.stop()
    return {name: statistics.median(values) for name, values in results.items()} | {"rounds": rounds}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
