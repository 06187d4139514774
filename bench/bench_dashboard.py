"""Dashboard pages with 1M events for the tenant: script run time of each page, caches cold.

    python -m bench.bench_dashboard [--rows 1000000]

Runs the real dashboard script (Streamlit's AppTest, the same entry point as `streamlit run`) against
the real API process on a DuckDB file seeded with `rows` events, logs in through the form, then opens
each page several times with Streamlit's data cache cleared, so every render asks the API again.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import streamlit as st
from streamlit.testing.v1 import AppTest

from bench.seed import seed
from tests.server import ApiServer

ROOT = Path(__file__).resolve().parent.parent
TENANT = "user_dashbench000000000000"
PASSWORD = "bench-password-42"
PAGES = {"Overview": "views/overview.py", "Runs": "views/runs.py", "Customers": "views/customers.py",
         "Settings": "views/settings.py"}


def run(rows: int = 1_000_000, repeats: int = 5) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        api = ApiServer(Path(tmp))
        seed(str(api.db_path), tenant_id=TENANT, rows=rows, days=30, recent=True)
        api.start()
        try:
            email = f"{TENANT}@bench.invalid"
            httpx.post(f"{api.url}/admin/dashboard/signup", headers=api.admin(),
                       json={"email": email, "password": PASSWORD}).raise_for_status()
            os.environ.update(LLMOBSERVE_API_URL=api.url, LLMOBSERVE_ADMIN_TOKEN=api.admin_token,
                              LLMOBSERVE_DB=str(Path(tmp) / "dash" / "llmobserve.duckdb"))
            at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60).run()
            at.text_input(key="login_email").input(email)
            at.text_input(key="login_password").input(PASSWORD)
            next(b for b in at.button if b.label == "Log in").click()
            at.run()
            timings: dict[str, list[float]] = {name: [] for name in PAGES}
            for _ in range(repeats):
                for name, page in PAGES.items():
                    st.cache_data.clear()
                    started = time.perf_counter()
                    at.switch_page(page).run()
                    timings[name].append(time.perf_counter() - started)
                    assert not at.exception, at.exception
        finally:
            api.stop()
    return {"rows": rows, "pages": {name: {"median_s": statistics.median(t), "max_s": max(t)}
                                    for name, t in timings.items()}}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    print(json.dumps(run(parser.parse_args().rows), indent=2))
