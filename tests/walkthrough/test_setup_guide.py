"""The setup guide, followed end to end against the processes the `Procfile` declares (as `make run` starts them).

1. Clerk sends a signed `user.created`: the API creates the user and a key, and logs the guide's two lines.
2. In a real headless chromium: set a dashboard password, log in, open Settings: profile and the new key,
   revealed once (a reload shows only its prefix).
3. The guide's `test_clerk_user.py`, run as its own process: the module-level `openai` client, pointed at
   the bundled fake provider, with `llmobserve.observe(api_key=<the key from Settings>, customer_id=...)`.
4. The dashboard shows the total cost, the provider breakdown and the recent run.

Screenshots go to tests/artifacts/walkthrough-*.png. The Procfile's ports are used as written when they are
plain numbers (the test skips if they are taken); a `${VAR:-8000}` default is given a free port instead.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import clerk_event, svix_headers
from tests.server import ROOT, free_port, wait_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "tests" / "artifacts"
EMAIL, FIRST, LAST = "ada@example.com", "Ada", "Lovelace"
PASSWORD = "walkthrough-pass-1"
PORT_OPTION = re.compile(r"--(?:server\.)?port[ =](\S+)")
PORT_DEFAULT = re.compile(r"^\$\{(\w+):-(\d+)\}$")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at "
                                "/usr/bin/chromium (apt-get install -y chromium, or `make chromium`)")

# The guide's check script, as a user would save it with the key pasted from Settings.
GUIDE_SCRIPT = '''\
import llmobserve
import openai

llmobserve.observe(api_key="{api_key}", customer_id="test_customer_123")

response = openai.chat.completions.create(
    model="gpt-4",
    messages=[{{"role": "user", "content": "Hello! This is a test of llmobserve."}}],
)
print(response.choices[0].message.content)
print("tokens:", response.usage.total_tokens)
'''


# -- the processes of the Procfile --------------------------------------------------------------------
def procfile() -> dict[str, str]:
    """name → command, read by honcho's own parser (what `make run` runs)."""
    from honcho.environ import parse_procfile

    return dict(parse_procfile((ROOT / "Procfile").read_text()).processes)


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def choose_port(command: str, env: dict[str, str]) -> int:
    """The port a Procfile command will listen on: a `${VAR:-n}` default gets a free port through `env`;
    a plain number is used as written, if it is free."""
    found = PORT_OPTION.search(command)
    assert found, f"no --port / --server.port in the Procfile command: {command}"
    value = found.group(1)
    if default := PORT_DEFAULT.match(value):
        port = free_port()
        env[default.group(1)] = str(port)
        return port
    if not value.isdigit():
        pytest.fail(f"cannot tell which port this Procfile command uses: {value!r}")
    port = int(value)
    if port_in_use(port):
        pytest.skip(f"port {port} is in use (is `make run` running?). The Procfile hard-codes it; stop "
                    f"whatever listens there, or make the port configurable (`--port ${{PORT_API:-{port}}}`)")
    return port


@dataclass
class Stack:
    api_url: str
    dashboard_url: str
    admin_token: str
    webhook_secret: str
    logs: dict[str, Path]
    procs: dict[str, subprocess.Popen]

    def log(self, name: str) -> str:
        return self.logs[name].read_text(errors="replace")

    def admin(self, user_id: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        return headers | ({"X-LLMObserve-User": user_id} if user_id else {})


def stop(proc: subprocess.Popen) -> None:
    """Stop a process group this test started (honcho does the same on Ctrl-C)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    commands = procfile()
    assert set(commands) >= {"api", "dashboard"}, f"the Procfile must declare api and dashboard: {commands}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMOBSERVE_", "CLERK_", "OPENAI_"))}
    api_port, dashboard_port = choose_port(commands["api"], env), choose_port(commands["dashboard"], env)
    data = tmp_path / "data"
    data.mkdir()
    admin_token = secrets.token_urlsafe(32)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    api_url = f"http://127.0.0.1:{api_port}"
    env.update(LLMOBSERVE_DB=str(data / "llmobserve.duckdb"), LLMOBSERVE_ADMIN_TOKEN=admin_token,
               CLERK_WEBHOOK_SECRET=secret, LLMOBSERVE_API_URL=api_url, PYTHONUNBUFFERED="1")
    procs: dict[str, subprocess.Popen] = {}
    logs = {name: tmp_path / f"{name}.log" for name in ("api", "dashboard")}
    try:
        for name in ("api", "dashboard"):
            with open(logs[name], "wb") as out:  # through the shell, as honcho runs Procfile lines
                procs[name] = subprocess.Popen(["/bin/sh", "-c", commands[name]], cwd=ROOT, env=env, stdout=out,
                                               stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(api_url + "/health", timeout=60, proc=procs["api"])
        wait_for(f"http://127.0.0.1:{dashboard_port}/_stcore/health", timeout=60, proc=procs["dashboard"])
        yield Stack(api_url, f"http://127.0.0.1:{dashboard_port}", admin_token, secret, logs, procs)
    finally:
        for proc in procs.values():
            stop(proc)


def wait_until(check: Any, what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


# -- the walkthrough ----------------------------------------------------------------------------------
def test_setup_guide_walkthrough(stack: Stack, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)  # a first Streamlit run (imports, charts) can take seconds
    user_id, prefix = clerk_sign_up(stack)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.set_default_timeout(30_000)
        try:
            api_key = copy_key_from_settings(page, stack, prefix)
            run_guide_script(stack, tmp_path, api_key, user_id)
            see_costs_on_dashboard(page, stack, user_id)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "walkthrough-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert api_key not in stack.log("api") + stack.log("dashboard"), "the full key must never be logged"


def clerk_sign_up(stack: Stack) -> tuple[str, str]:
    """Step 1: a signed user.created → the user, its key, and the guide's two log lines."""
    event = clerk_event("user.created", email=EMAIL, first_name=FIRST, last_name=LAST)
    body = json.dumps(event)
    answer = httpx.post(f"{stack.api_url}/webhooks/clerk", content=body, timeout=30,
                        headers={**svix_headers(stack.webhook_secret, body), "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "created"
    user_id = event["data"]["id"]

    created = re.compile(rf"\[Clerk Webhook\] Created user {re.escape(EMAIL)} with API key (llmo_\S{{4}})…")
    found = wait_until(lambda: created.search(stack.log("api")), "the '[Clerk Webhook] Created user …' log line")
    assert "[Clerk Webhook] Received event: user.created" in stack.log("api")
    prefix = found.group(1)

    keys = httpx.get(f"{stack.api_url}/clerk/api-keys", headers=stack.admin(user_id)).json()["data"]
    assert [(k["prefix"], k["revoked"]) for k in keys] == [(prefix, False)]
    return user_id, prefix


def copy_key_from_settings(page: Any, stack: Stack, prefix: str) -> str:
    """Step 2: sign up and log in on the dashboard; Settings shows the profile and reveals the key once."""
    from playwright.sync_api import expect

    page.goto(stack.dashboard_url + "/settings")
    page.get_by_role("tab", name="Sign up").click()
    form = page.locator("[data-testid='stForm']").filter(has=page.get_by_role("button", name="Sign up"))
    form.get_by_label("Email").fill(EMAIL)
    form.get_by_label("Password (8+ characters)").fill(PASSWORD)
    form.get_by_label("Repeat password").fill(PASSWORD)
    form.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text(f"Password set for {EMAIL}")).to_be_visible()

    page.get_by_role("tab", name="Log in").click()
    form = page.locator("[data-testid='stForm']").filter(has=page.get_by_role("button", name="Log in"))
    form.get_by_label("Email").fill(EMAIL)
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    expect(page.get_by_label("Email", exact=True)).to_have_value(EMAIL)
    expect(page.get_by_label("Name", exact=True)).to_have_value(f"{FIRST} {LAST}")
    expect(page.get_by_label("User type", exact=True)).to_have_value("individual")

    shown = page.get_by_text(re.compile(r"^llmo_[A-Za-z0-9_-]{20,}$"))
    expect(shown).to_be_visible()
    api_key = shown.inner_text().strip()
    assert api_key.startswith(prefix)
    page.screenshot(path=str(ARTIFACTS / "walkthrough-settings-key.png"), full_page=True)

    page.reload()  # a new session (the signed cookie logs it in) on the same page: the key is not shown again
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/settings$"))
    expect(page.get_by_text("already been shown once")).to_be_visible()
    expect(page.get_by_text(api_key)).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "walkthrough-settings-after-reload.png"), full_page=True)
    return api_key


def run_guide_script(stack: Stack, tmp_path: Path, api_key: str, user_id: str) -> None:
    """Step 3: the guide's script, in its own process, against the bundled fake provider."""
    from scripts.fake_provider import FakeProvider

    script = tmp_path / "test_clerk_user.py"
    script.write_text(GUIDE_SCRIPT.format(api_key=api_key))
    with FakeProvider() as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMOBSERVE_", "OPENAI_"))}
        env.update(OPENAI_BASE_URL=fake.openai_url, OPENAI_API_KEY="sk-walkthrough-not-real",
                   LLMOBSERVE_ENDPOINT=stack.api_url, PYTHONPATH=str(ROOT))
        done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "tokens:" in done.stdout
        assert fake.requests == 1
    def recorded() -> dict[str, Any] | None:
        summary = httpx.get(f"{stack.api_url}/v1/analytics/summary", headers=stack.admin(user_id)).json()
        return summary if summary["calls"] else None

    summary = wait_until(recorded, "the script's call to reach the API")
    assert summary["calls"] == 1 and Decimal(summary["total_cost_usd"]) > 0
    breakdown = httpx.get(f"{stack.api_url}/v1/analytics/breakdown", params={"by": "model"},
                          headers=stack.admin(user_id)).json()["data"]
    assert [row["key"] for row in breakdown] == ["gpt-4-0613"]  # the model as the provider answered


def cell(page: Any, text: str) -> Any:
    """A st.dataframe cell. The grid draws on a canvas; its cells are mirrored in a hidden accessible table,
    so they can be found (attached) but are never 'visible' to Playwright."""
    return page.locator("[role='gridcell']").filter(has_text=re.compile(rf"^{re.escape(text)}$"))


def see_costs_on_dashboard(page: Any, stack: Stack, user_id: str) -> None:
    """Step 4: the overview's total cost and provider breakdown, and the run, in the browser."""
    from playwright.sync_api import expect

    from dashboard.ui import usd

    summary = httpx.get(f"{stack.api_url}/v1/analytics/summary", headers=stack.admin(user_id)).json()
    (run,) = httpx.get(f"{stack.api_url}/v1/runs", headers=stack.admin(user_id)).json()["data"]
    total = usd(summary["total_cost_usd"])

    page.goto(stack.dashboard_url + "/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.locator("[data-testid='stMetric']").filter(has_text="Total cost")).to_contain_text(total)
    expect(page.locator("[data-testid='stMetric']").filter(has_text=re.compile(r"^Calls"))).to_have_text(re.compile(r"^Calls\s*1(?!\d)"))  # then the delta vs the previous period
    by_provider = page.locator("[data-testid='stColumn']").filter(
        has=page.get_by_role("heading", name="By provider"))
    expect(by_provider.locator(".js-plotly-plot")).to_contain_text("openai")
    page.wait_for_timeout(1000)  # let the charts finish drawing
    page.screenshot(path=str(ARTIFACTS / "walkthrough-overview.png"), full_page=True)

    page.goto(stack.dashboard_url + "/runs")  # a deep link, logged in by the cookie
    expect(page.get_by_role("heading", name="Runs", exact=True)).to_be_visible()
    expect(cell(page, "test_customer_123")).to_be_attached()
    expect(cell(page, run["run_id"])).to_be_attached()
    page.screenshot(path=str(ARTIFACTS / "walkthrough-runs.png"), full_page=True)

    # "Select a row to see its calls": the grid is a canvas, so click the first row's selection box
    grid = page.locator("[data-testid='stDataFrame']")
    page.wait_for_timeout(500)  # the canvas finishes laying out
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 15, box["y"] + 35 + 17)  # header and rows are 35 px high
    expect(page).to_have_url(re.compile(rf"[?&]run={re.escape(run['run_id'])}"))
    expect(page.locator("[data-testid='stMetric']").filter(has_text="Cost")).to_contain_text(usd(run["cost_usd"]))
    expect(cell(page, "gpt-4-0613")).to_be_attached()
    expect(cell(page, "openai")).to_be_attached()
    page.screenshot(path=str(ARTIFACTS / "walkthrough-run.png"), full_page=True)
