"""The dashboard in a real browser: Debian's chromium driven by Playwright, against real API and Streamlit processes.

Signs up and logs in through the forms, checks the overview shows the seeded total cost and recent runs, that a
reload keeps the session (stauth's signed cookie), and saves a screenshot to tests/artifacts/overview.png. Then,
with a cookie session, deep links (`/runs`, `/settings`, …) opened in fresh tabs must land on their page.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import clerk_event, create_user, make_event, post_events, send_clerk_event
from tests.server import ROOT, ApiServer, free_port, wait_for

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium "
                                                            "(apt-get install -y chromium, or `make chromium`)")


@contextmanager
def dashboard(api: ApiServer, tmp_path: Path, api_url: str | None = None) -> Iterator[str]:
    """`streamlit run dashboard/app.py` as its own process (as `make run` starts it), talking to `api_url`."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMOBSERVE_", "CLERK_"))}
    env.update(LLMOBSERVE_API_URL=api_url or api.url, LLMOBSERVE_ADMIN_TOKEN=api.admin_token,
               LLMOBSERVE_DB=str(api.db_path), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    with open(tmp_path / "dashboard.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/_stcore/health", proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[ApiServer, str]]:
    """The API and the dashboard as separate processes, as `make run` starts them."""
    api = ApiServer(tmp_path / "api").start()
    try:
        with dashboard(api, tmp_path) as url:
            yield api, url
    finally:
        api.stop()


class SlowProxy:
    """Forwards to the API, answering `/v1/me` (asked on every dashboard run, before `st.navigation`) late, as a
    remote API may. That delay is the window in which an early rerun used to send a deep link to Overview."""

    def __init__(self, target: str, delay: float) -> None:
        def forward(handler: BaseHTTPRequestHandler) -> None:
            body = handler.rfile.read(int(handler.headers.get("content-length") or 0))
            if handler.path.startswith("/v1/me"):
                time.sleep(delay)
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "content-length")}
            answer = httpx.request(handler.command, target + handler.path, content=body, headers=headers, timeout=30)
            handler.send_response(answer.status_code)
            for name, value in answer.headers.items():
                if name.lower() not in ("content-length", "content-encoding", "transfer-encoding", "connection"):
                    handler.send_header(name, value)
            handler.send_header("content-length", str(len(answer.content)))
            handler.end_headers()
            handler.wfile.write(answer.content)

        handler = type("Handler", (BaseHTTPRequestHandler,), {
            "do_GET": forward, "do_POST": forward, "do_DELETE": forward, "log_message": lambda *_: None})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> SlowProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_stack(tmp_path: Path) -> Iterator[tuple[ApiServer, str]]:
    """As `stack`, but the dashboard reaches the API through a SlowProxy."""
    api = ApiServer(tmp_path / "api").start()
    try:
        with SlowProxy(api.url, delay=0.2) as proxy, dashboard(api, tmp_path, proxy.url) as url:
            yield api, url
    finally:
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
        expect(metric(page, "Total cost")).to_contain_text("$2.25")
        expect(page.get_by_text(re.compile(r"1 call \(1,000 tokens\) used models with no known price"))).to_be_visible()
        expect(page.locator(".js-plotly-plot").first).to_be_visible()
        expect(page.get_by_role("heading", name="Recent runs")).to_be_visible()
        expect(page.get_by_role("link", name="All runs (select one to see its calls)")).to_be_visible()
        page.wait_for_timeout(1500)  # let the charts finish drawing
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)

        page.reload()  # the signed cookie logs the same browser back in
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        expect(metric(page, "Total cost")).to_contain_text("$2.25")

        # Recent runs, newest first: the unpriced single call, then run-0. Selecting a row opens its calls.
        recent = page.locator("[data-testid='stDataFrame']").first  # the first table on the Overview
        expect(recent.locator("[role='gridcell']").filter(has_text=re.compile(r"^answer-ticket$"))).to_have_count(3)
        page.wait_for_timeout(500)  # the grid's canvas finishes laying out
        box = recent.bounding_box()
        page.mouse.click(box["x"] + 15, box["y"] + 35 + 35 + 17)  # the second row's selection box (rows: 35 px)
        expect(page).to_have_url(re.compile(r"/runs\?run=run-0$"))
        expect(page.get_by_role("heading", name="answer-ticket")).to_be_visible()

        # Deleted in Clerk (a signed user.deleted): the same browser's signed cookie no longer gets in.
        deleted = clerk_event("user.deleted", user_id=user.id)
        assert send_clerk_event(api, deleted).json()["status"] == "deactivated"
        page.goto(url + "/")
        expect(page.get_by_role("tab", name="Log in")).to_be_visible()
        assert page.get_by_role("heading", name="Overview").count() == 0
        browser.close()


def settle(page: Any) -> None:
    """Wait until the app has finished its script runs, including the rerun the cookie component asks for once
    it has loaded (which is when a deep link used to jump to Overview)."""
    from playwright.sync_api import expect

    app = page.locator("[data-testid='stApp']")
    expect(app).to_have_attribute("data-test-script-state", "notRunning")
    page.wait_for_timeout(300)
    expect(app).to_have_attribute("data-test-script-state", "notRunning")


def metric(page: Any, label: str) -> Any:
    """The metric labelled exactly `label` (not one whose help or delta merely mentions it). `.first`: while a
    page re-runs, Streamlit can show the last run's element beside the new one for a moment (two "Total cost"
    metrics, a strict-mode failure seen in CI); the assertion retries until the stale one is gone."""
    return page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)).first


def test_deep_links_open_their_page_with_a_cookie_session(slow_stack: tuple[ApiServer, str]) -> None:
    """Log in once, then open pages by URL in fresh tabs (new sessions, logged in by the cookie): each lands on
    the page asked for and keeps its URL, never on Overview at `/`. Regression: stauth's cookie component used to
    render before `st.navigation`; its rerun, when it reached the server before the browser had the page
    (here: always, since /v1/me answers late), ran the default page."""
    from playwright.sync_api import expect, sync_playwright

    api, url = slow_stack
    user = create_user(api, first_name="Alan", last_name="Turing")
    post_events(api, user, [make_event(run_id="run-deep-link", run_name="deep-link-run")])
    password = "deep-link-pass-1"
    httpx.post(f"{api.url}/admin/dashboard/signup", headers=api.admin(),
               json={"email": user.email, "password": password}).raise_for_status()
    pages = [("/runs", "Runs"), ("/settings", "Settings"), ("/customers", "Customers"),
             ("/runs?run=run-deep-link", "deep-link-run")]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.set_default_timeout(20_000)
        page = context.new_page()
        page.goto(url + "/")
        form = page.locator("[data-testid='stForm']").first
        form.get_by_label("Email").fill(user.email)
        form.get_by_label("Password", exact=True).fill(password)
        form.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        for _ in range(50):  # the cookie component stores the signed cookie once it has loaded
            if "llmobserve_session" in [c["name"] for c in context.cookies()]:
                break
            page.wait_for_timeout(200)
        else:
            pytest.fail("the login did not store the llmobserve_session cookie")
        page.close()

        landed = []
        for path, heading in pages * 2:
            tab = context.new_page()
            tab.goto(url + path)
            tab.get_by_role("heading", level=1).first.wait_for()
            settle(tab)
            landed.append((path, tab.get_by_role("heading", level=1).first.inner_text().strip(),
                           tab.url.removeprefix(url)))
            tab.close()
        browser.close()
    wrong = [(path, got, at) for (path, got, at), (_, heading) in zip(landed, pages * 2)
             if (got, at) != (heading, path)]
    assert not wrong, f"deep links that did not open their page (asked, heading shown, url): {wrong}"


def pick(page: Any, label: str, option: str) -> None:
    """Choose `option` in the sidebar selectbox labelled `label`, as a person does: open it, click the option."""
    page.locator("[data-testid='stSelectbox']").filter(has_text=label).first.click()
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def log_in_form(page: Any, email: str, password: str) -> None:
    form = page.locator("[data-testid='stForm']").first
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password", exact=True).fill(password)
    form.get_by_role("button", name="Log in").click()


def test_a_copied_link_opens_the_same_view_for_a_colleague(stack: tuple[ApiServer, str]) -> None:
    """Filters live in the URL (DESIGN §13): the view one person builds in the sidebar is in the address bar,
    and that link, opened in a fresh browser context (no cookie: another person), asks for a login and then
    shows the same filters and the same figures."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=45_000)  # several script runs per step; the shared machine is slow
    api, url = stack
    user = create_user(api, first_name="Ada")
    now = datetime.now(UTC)
    post_events(api, user, [
        make_event(customer_id="acme", tags={"team": "search"}, cost_usd=0.5, timestamp=(now - timedelta(days=1)).isoformat()),
        make_event(customer_id="acme", tags={"team": "ads"}, cost_usd=0.25, timestamp=(now - timedelta(days=2)).isoformat()),
        make_event(customer_id="acme", tags={"team": "search"}, cost_usd=2, timestamp=(now - timedelta(days=20)).isoformat()),
        make_event(customer_id="globex", tags={"team": "search"}, cost_usd=4, timestamp=(now - timedelta(hours=3)).isoformat()),
    ]).raise_for_status()
    password = "shared-link-pass"
    httpx.post(f"{api.url}/admin/dashboard/signup", headers=api.admin(),
               json={"email": user.email, "password": password}).raise_for_status()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        mine = browser.new_context(viewport={"width": 1400, "height": 1400})
        mine.set_default_timeout(45_000)
        page = mine.new_page()
        page.goto(url + "/")
        log_in_form(page, user.email, password)
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        settle(page)
        pick(page, "Time range", "Last 7 days")
        pick(page, "Customer", "acme")
        pick(page, "Tag", "team")
        pick(page, "team =", "search")
        expect(metric(page, "Total cost")).to_contain_text("$0.5000")  # acme, team=search, last 7 days: one call
        link = page.url
        assert "range=7days" in link and "customer=acme" in link and "tag=team%3Asearch" in link, link

        theirs = browser.new_context(viewport={"width": 1400, "height": 1400})  # a colleague: no cookie
        theirs.set_default_timeout(45_000)
        other = theirs.new_page()
        other.goto(link)
        expect(other.get_by_role("tab", name="Log in")).to_be_visible()
        log_in_form(other, user.email, password)
        expect(other.get_by_role("heading", name="Overview")).to_be_visible()
        settle(other)
        expect(metric(other, "Total cost")).to_contain_text("$0.5000")
        expect(metric(other, "Calls")).to_contain_text("1")  # not "Unpriced calls"
        for label, value in (("Time range", "Last 7 days"), ("Customer", "acme"), ("team =", "search")):
            # the chosen option is the combobox's value (its accessible value), not its text
            expect(other.get_by_role("combobox", name=label)).to_match_aria_snapshot(f'- combobox "{label}": {value}')
        assert other.url == link
        browser.close()
