"""By-tag analytics over 10M stored events for one tenant (DESIGN §13 with §8's budget): warm p95 of the
by-tag breakdown and timeseries, the tag filter and the tag list, beside the same queries by model.

    python -m bench.bench_tags [--rows 10000000] [--store duckdb|postgresql]

Same method as bench_analytics (DuckDB: seeded straight into the file, one API process) and
bench_postgres (PostgreSQL on this machine, two replicas, alternating): the real API over HTTP, 20
interleaved rounds. Two calls in three carry two tags (`feature`: 8 values, `team`: 5), the rest none.
"""

from __future__ import annotations

import argparse
import json

from bench import bench_analytics

QUERIES = [
    ("breakdown by model (reference)", "/v1/analytics/breakdown", {"by": "model"}),
    ("breakdown by tag:feature", "/v1/analytics/breakdown", {"by": "tag:feature"}),
    ("breakdown by tag:team", "/v1/analytics/breakdown", {"by": "tag:team"}),
    ("breakdown by run_name", "/v1/analytics/breakdown", {"by": "run_name"}),
    ("timeseries day by model (reference)", "/v1/analytics/timeseries", {"interval": "day", "group_by": "model"}),
    ("timeseries day by tag:feature", "/v1/analytics/timeseries", {"interval": "day", "group_by": "tag:feature"}),
    ("timeseries hour by tag:team, last 7 days", "/v1/analytics/timeseries",
     {"interval": "hour", "group_by": "tag:team", "start": "2026-10-24T00:00:00Z"}),
    ("summary, tag=team:t1", "/v1/analytics/summary", {"tag": "team:t1"}),
    ("summary, compare=previous, last 7 days", "/v1/analytics/summary",
     {"start": "2026-10-24T00:00:00Z", "compare": "previous"}),
    ("breakdown by model, tag=feature:f3", "/v1/analytics/breakdown", {"by": "model", "tag": "feature:f3"}),
    ("tag keys", "/v1/analytics/tags", {}),
]


def run(rows: int) -> dict[str, object]:
    """DuckDB, one API process."""
    return bench_analytics.run(rows, queries=QUERIES, tags=True)


def run_postgres(rows: int) -> dict[str, object]:
    """PostgreSQL on this machine, two API replicas."""
    from bench import bench_postgres

    return bench_postgres.analytics(rows, queries=QUERIES, tags=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--store", choices=("duckdb", "postgresql"), default="duckdb")
    args = parser.parse_args()
    print(json.dumps((run if args.store == "duckdb" else run_postgres)(args.rows), indent=2))
