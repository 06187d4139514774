"""`bench/run_all.py --only …` renders what ran and keeps every other section of docs/benchmarks.md,
even in a fresh clone where bench/results/ (git-ignored) holds no earlier results."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import run_all

OLD_DOC = """# Benchmarks

prose before

<!-- results:start -->
### SDK overhead (`python bench/bench_sdk.py`)

sdk figures

### Ingest (`python -m bench.bench_ingest`)

ingest figures
<!-- results:end -->

prose after
"""


def test_a_partial_run_keeps_the_sections_it_did_not_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "docs").mkdir()
    doc = tmp_path / "docs" / "benchmarks.md"
    doc.write_text(OLD_DOC)
    monkeypatch.setattr(run_all, "ROOT", tmp_path)
    monkeypatch.setattr(run_all, "RESULTS", tmp_path / "results")

    run_all.save("pg_ingest", {"raw_copy": 100_000.0, "http_1000_two_replicas": 30_000.0, "rounds": 3,
                               "replica_rss_mib": [150.0, 160.0]})
    run_all.write_doc()
    text = doc.read_text()
    assert "sdk figures" in text and "ingest figures" in text and "prose before" in text and "prose after" in text
    assert "30,000" in text and "PostgreSQL ingest" in text

    (tmp_path / "results" / "pg_ingest.json").unlink()  # a fresh clone: no result files at all
    run_all.write_doc()
    assert doc.read_text() == text
