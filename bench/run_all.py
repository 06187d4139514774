"""Run every benchmark and write docs/benchmarks.md (`make bench`).

    python bench/run_all.py [--only sdk,ingest,analytics,dashboard] [--rows 10000000]

Each benchmark writes bench/results/<name>.json; this script then renders all results found there,
with the machine they ran on, into docs/benchmarks.md. Figures are medians (and p95 where noted) of
interleaved runs: these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))


def machine() -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next((line.split(":", 1)[1].strip() for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), "?")
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": mem, "python": platform.python_version(),
            "os": platform.platform(), "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}


def save(name: str, result: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps({"machine": machine(), **result}, indent=2, default=str))


def run(selected: set[str], rows: int) -> None:
    if "sdk" in selected:
        subprocess.run([sys.executable, str(ROOT / "bench" / "bench_sdk.py")], check=True, cwd=ROOT)
        sdk = load("sdk") or {}
        save("sdk", {**sdk, "machine": {**sdk.get("machine", {}), **machine()}})
    if "ingest" in selected:
        from bench import bench_ingest
        save("ingest", bench_ingest.run())
    if "analytics" in selected:
        from bench import bench_analytics
        save("analytics", bench_analytics.run(rows))
    if "dashboard" in selected:
        from bench import bench_dashboard
        save("dashboard", bench_dashboard.run())


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


START, END = "<!-- results:start -->", "<!-- results:end -->"


def write_doc() -> Path:
    """Replace the generated block of docs/benchmarks.md; the prose around it is kept."""
    from bench.report import render_markdown

    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text() if doc.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    generated = render_markdown({name: load(name) for name in ("sdk", "ingest", "analytics", "dashboard")})
    doc.write_text(f"{head}{START}\n{generated}\n{END}{tail}")
    return doc


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="sdk,ingest,analytics,dashboard")
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    run(set(args.only.split(",")), args.rows)
    print(f"wrote {write_doc()}")
