"""Ingest over HTTP (commit before ack) beside the raw DuckDB Arrow append rate, in the same run."""

from __future__ import annotations

import json
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

from api.ingest import to_rows, validate_batch
from api.store.duckdb import DuckDBStore as Database
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
    latencies: list[float] = []
    lock = threading.Lock()
    index = iter(range(batches))

    def worker() -> None:
        with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {key}",
                                                     "Content-Type": "application/json"}, timeout=60) as client:
            while True:
                with lock:
                    i = next(index, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                answer = client.post("/v1/events", content=bodies[i])
                assert answer.status_code == 200 and answer.json()["accepted"] == batch_size, answer.text
                with lock:
                    latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {"events_per_s": batch_size * batches / elapsed,
            "p50_ms": statistics.median(latencies) * 1000,
            "p95_ms": statistics.quantiles(latencies, n=20)[-1] * 1000}


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
