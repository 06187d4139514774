"""The dashboard in a real browser: Debian's chromium driven by Playwright, against real API and Streamlit processes.

Signs up and logs in through the forms, checks the overview shows the seeded total cost, that a reload keeps
the session (stauth's signed cookie), and saves a screenshot to tests/artifacts/overview.png.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.factories import create_user, make_event, post_events
from tests.server import ROOT, ApiServer, free_port, wait_for

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium "
                                                            "(apt-get install -y chromium, or `make chromium`)")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[ApiServer, str]]:
    """The API and the dashboard as separate processes, as `make run` starts them."""
    api = ApiServer(tmp_path / "api").start()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMOBSERVE_", "CLERK_"))}
    env.update(LLMOBSERVE_API_URL=api.url, LLMOBSERVE_ADMIN_TOKEN=api.admin_token,
               LLMOBSERVE_DB=str(api.db_path), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    log = open(tmp_path / "dashboard.log", "wb")
    dashboard = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/_stcore/health", proc=dashboard)
        yield api, f"http://127.0.0.1:{port}"
    finally:
        dashboard.terminate()
        try:
            dashboard.wait(timeout=10)
        except subprocess.TimeoutExpired:
            dashboard.kill()
        api.stop()


def test_sign_up_log_in_and_see_the_seeded_cost(stack: tuple[ApiServer, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    api, url = stack
    user = create_user(api, first_name="Grace", last_name="Hopper")
    now = datetime.now(UTC)
    events = [make_event(customer_id=f"cust_{i % 3 + 1}", cost_usd=cost, model=model,
                         provider="anthropic" if model.startswith("claude") else "openai",
                         run_id=f"run-{i // 2}", run_name="answer-ticket",
                         timestamp=(now - timedelta(days=i % 5, minutes=i)).isoformat(), latency_ms=300.0 + 40 * i)
              for i, (cost, model) in enumerate([(0.5, "gpt-4o"), (0.25, "gpt-4o-mini"), (1.0, "claude-sonnet-4"),
                                                 (0.125, "gpt-4o-mini"), (0.375, "gpt-4o")])]
    events.append(make_event(customer_id="cust_2", model="in-house-llm", input_tokens=800, output_tokens=200))
    assert post_events(api, user, events).json()["accepted"] == len(events)
    total = httpx.get(f"{api.url}/v1/analytics/summary", headers=api.admin(user.id)).json()["total_cost_usd"]
    assert Decimal(total) == Decimal("2.25")  # client-sent costs; the unpriced call is not in it
    password = "browser-pass-123"

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2000})
        page.set_default_timeout(20_000)
        page.goto(url + "/settings")  # a deep link shows the login form, nothing else
        expect(page.get_by_role("tab", name="Log in")).to_be_visible()
        assert page.get_by_text("Overview").count() == 0 and page.get_by_text("Your API key").count() == 0

        page.get_by_role("tab", name="Sign up").click()
        form = page.locator("[data-testid='stForm']").nth(1)
        form.get_by_label("Email").fill(user.email)
        form.get_by_label("Password (8+ characters)").fill(password)
        form.get_by_label("Repeat password").fill(password)
        form.get_by_role("button", name="Sign up").click()
        expect(page.get_by_text(f"Password set for {user.email}")).to_be_visible()

        page.get_by_role("tab", name="Log in").click()
        form = page.locator("[data-testid='stForm']").first
        form.get_by_label("Email").fill(user.email)
        form.get_by_label("Password", exact=True).fill(password)
        form.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Settings")).to_be_visible()  # the deep link, after login
        expect(page.get_by_text(user.api_key)).to_be_visible()

        page.goto(url + "/")
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        metric = page.locator("[data-testid='stMetric']").filter(has_text="Total cost")
        expect(metric).to_contain_text("$2.25")
        expect(page.get_by_text(re.compile(r"1 call \(1,000 tokens\) used models with no known price"))).to_be_visible()
        expect(page.locator(".js-plotly-plot").first).to_be_visible()
        page.wait_for_timeout(1500)  # let the charts finish drawing
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)

        page.reload()  # the signed cookie logs the same browser back in
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        expect(page.locator("[data-testid='stMetric']").filter(has_text="Total cost")).to_contain_text("$2.25")
        browser.close()
