"""Analytics over 10M stored events for one tenant: warm p95 of the dashboard's queries, and API RSS.

    python -m bench.bench_analytics [--rows 10000000]

The events are written straight into the DuckDB file (bench/seed.py), then the real API process is
started on it and queried over HTTP, as the dashboard does.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.seed import seed
from tests.server import ApiServer

TENANT = "user_bench0000000000000000"
QUERIES = [
    ("summary", "/v1/analytics/summary", {}),
    ("timeseries day", "/v1/analytics/timeseries", {"interval": "day"}),
    ("timeseries day by provider", "/v1/analytics/timeseries", {"interval": "day", "group_by": "provider"}),
    ("timeseries day by model", "/v1/analytics/timeseries", {"interval": "day", "group_by": "model"}),
    ("breakdown by provider", "/v1/analytics/breakdown", {"by": "provider"}),
    ("breakdown by model", "/v1/analytics/breakdown", {"by": "model"}),
    ("breakdown by customer", "/v1/analytics/breakdown", {"by": "customer_id"}),
    ("recent runs", "/v1/runs", {"limit": "50"}),
    ("summary, last 7 days", "/v1/analytics/summary", {"start": "2026-10-24T00:00:00Z"}),
]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(rows: int, repeats: int = 20, queries: list | None = None, tags: bool = False) -> dict[str, object]:
    queries = queries or QUERIES
    with tempfile.TemporaryDirectory() as tmp:
        api = ApiServer(Path(tmp))
        seconds = seed(str(api.db_path), tenant_id=TENANT, rows=rows, tags=tags)
        api.start()
        try:
            assert api.proc is not None
            results: dict[str, object] = {"rows": rows, "seed_seconds": seconds,
                                          "rss_mib_at_start": rss_mib(api.proc.pid), "queries": {}}
            with httpx.Client(base_url=api.url, headers=api.admin(TENANT), timeout=120) as client:
                for name, path, params in queries:
                    client.get(path, params=params).raise_for_status()  # warm-up
                timings: dict[str, list[float]] = {name: [] for name, _, _ in queries}
                for _ in range(repeats):  # interleaved: noise hits every query alike
                    for name, path, params in queries:
                        started = time.perf_counter()
                        client.get(path, params=params).raise_for_status()
                        timings[name].append((time.perf_counter() - started) * 1000)
            results["queries"] = {name: {"p50_ms": statistics.median(t), "p95_ms": statistics.quantiles(t, n=20)[-1]}
                                  for name, t in timings.items()}
            results["rss_mib_after_queries"] = rss_mib(api.proc.pid)
        finally:
            api.stop()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    print(json.dumps(run(parser.parse_args().rows), indent=2))
