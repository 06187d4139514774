"""Run every benchmark and write docs/benchmarks.md (`make bench`).

    python bench/run_all.py [--only sdk,ingest,analytics,tags,dashboard,pg_ingest,pg_analytics,pg_tags,budgets,otlp,reprice,
        pg_reprice] [--rows 10000000]

Each benchmark writes bench/results/<name>.json (git-ignored); this script renders each section found
there, with the machine it ran on, into its own marked block of docs/benchmarks.md. A section not run
this time (and without a result file, as in a fresh clone) keeps the block the document already has. Figures are medians (and p95 where noted) of
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
    if "tags" in selected:
        from bench import bench_tags
        save("tags", bench_tags.run(rows))
    if "pg_tags" in selected:
        from bench import bench_tags
        save("pg_tags", bench_tags.run_postgres(rows))
    if "dashboard" in selected:
        from bench import bench_dashboard
        save("dashboard", bench_dashboard.run())
    if "pg_ingest" in selected:
        from bench import bench_postgres
        save("pg_ingest", bench_postgres.ingest())
    if "pg_analytics" in selected:
        from bench import bench_postgres
        save("pg_analytics", bench_postgres.analytics(rows))
    if "otlp" in selected:
        from bench import bench_otlp
        save("otlp", bench_otlp.run())
    if "budgets" in selected:
        from bench import bench_budgets
        save("budgets", bench_budgets.run())
    if "reprice" in selected:
        from bench import bench_reprice
        save("reprice", bench_reprice.run(rows))
    if "pg_reprice" in selected:
        from bench import bench_reprice
        save("pg_reprice", bench_reprice.run(rows, store="postgresql"))


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


START, END = "<!-- results:start -->", "<!-- results:end -->"
SECTIONS = ("sdk", "ingest", "analytics", "tags", "dashboard", "pg_ingest", "pg_analytics", "pg_tags", "budgets", "otlp", "reprice",
            "pg_reprice")


def _block(name: str) -> tuple[str, str]:
    return f"<!-- results:{name}:start -->", f"<!-- results:{name}:end -->"


# How each section's heading starts, to adopt a document written before the per-section markers.
HEADINGS = {"### SDK overhead": "sdk", "### Ingest (": "ingest", "### Analytics over": "analytics",
            "### Dashboard pages": "dashboard", "### PostgreSQL ingest": "pg_ingest",
            "### PostgreSQL analytics": "pg_analytics", "### By tag over": "tags", "### PostgreSQL by tag": "pg_tags", "### Budget check": "budgets",
            "### OTLP ingest": "otlp", "### Re-pricing": "reprice",
            "### PostgreSQL re-pricing": "pg_reprice"}


def _existing_blocks(generated: str) -> dict[str, str]:
    """Each section's block as the document has it now (marked, or found by its heading)."""
    blocks = {}
    for name in SECTIONS:
        start, end = _block(name)
        if start in generated and end in generated:
            blocks[name] = generated[generated.index(start):generated.index(end) + len(end)]
    if blocks:
        return blocks
    for part in ("\n" + generated).split("\n### ")[1:]:
        part = "### " + part.strip()
        name = next((n for heading, n in HEADINGS.items() if part.startswith(heading)), None)
        if name:
            start, end = _block(name)
            blocks[name] = f"{start}\n{part}\n{end}"
    return blocks


def write_doc() -> Path:
    """Replace the generated part of docs/benchmarks.md, section by section: a section with a result file
    is rendered afresh; one without keeps its block as it was. The prose around it is kept."""
    from bench.report import render_section

    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text() if doc.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    head, _, rest = text.partition(START)
    current, _, tail = rest.partition(END)
    old = _existing_blocks(current)
    blocks = []
    for name in SECTIONS:
        result = load(name)
        if result:
            start, end = _block(name)
            blocks.append(f"{start}\n{render_section(name, result)}\n{end}")
        elif name in old:
            blocks.append(old[name])
    doc.write_text(f"{head}{START}\n" + "\n".join(blocks) + f"\n{END}{tail}")
    return doc


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default=",".join(SECTIONS))
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    run(set(args.only.split(",")), args.rows)
    print(f"wrote {write_doc()}")
