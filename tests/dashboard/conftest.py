"""Fixtures for the dashboard: AppTest pointed at the real API process, and users who can log in."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from tests.factories import TestUser, create_user, make_event, post_events
from tests.server import ApiServer

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
PASSWORD = "correct-horse-42"


@dataclass
class DashboardUser:
    user: TestUser
    password: str = PASSWORD

    @property
    def id(self) -> str:
        return self.user.id

    @property
    def email(self) -> str:
        return self.user.email


@pytest.fixture
def dashboard_env(api: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ApiServer:
    monkeypatch.setenv("LLMOBSERVE_API_URL", api.url)
    monkeypatch.setenv("LLMOBSERVE_ADMIN_TOKEN", api.admin_token)
    monkeypatch.setenv("LLMOBSERVE_DB", str(tmp_path / "data" / "llmobserve.duckdb"))  # cookie key goes here
    monkeypatch.delenv("LLMOBSERVE_COOKIE_KEY", raising=False)
    return api


def signed_up(api: ApiServer, **fields: str) -> DashboardUser:
    user = create_user(api, first_name="Ada", last_name="Lovelace", **fields)
    answer = httpx.post(f"{api.url}/admin/dashboard/signup", headers=api.admin(),
                        json={"email": user.email, "password": PASSWORD})
    answer.raise_for_status()
    return DashboardUser(user)


@pytest.fixture
def new_user(dashboard_env: ApiServer) -> DashboardUser:
    """A user with a dashboard password and no events yet."""
    return signed_up(dashboard_env)


@pytest.fixture
def seeded_user(dashboard_env: ApiServer) -> DashboardUser:
    """A user with a dashboard password and a few priced, unpriced, failed and grouped calls."""
    member = signed_up(dashboard_env)
    now = datetime.now(UTC)
    events = [
        make_event(customer_id="acme", run_id="run-summarise-1", run_name="summarise-ticket",
                   timestamp=(now - timedelta(minutes=5)).isoformat()),
        make_event(customer_id="acme", run_id="run-summarise-1", run_name="summarise-ticket",
                   timestamp=(now - timedelta(minutes=4)).isoformat(), latency_ms=900.0),
        make_event(customer_id="globex", provider="anthropic", model="claude-3-5-haiku-20241022",
                   timestamp=(now - timedelta(days=2)).isoformat(), latency_ms=1200.0),
        make_event(customer_id="globex", model="my-private-finetune", input_tokens=500, output_tokens=50,
                   timestamp=(now - timedelta(hours=3)).isoformat()),
        make_event(customer_id="initech", status="error", error_type="RateLimitError", http_status=429,
                   input_tokens=0, output_tokens=0, timestamp=(now - timedelta(hours=1)).isoformat()),
    ]
    answer = post_events(dashboard_env, member.user, events)
    assert answer.status_code == 200 and answer.json()["accepted"] == len(events), answer.text
    return member


def app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=30)


def log_in(member: DashboardUser, password: str | None = None) -> AppTest:
    """Fill in the login form, as a person would."""
    at = app().run()
    at.text_input(key="login_email").input(member.email)
    at.text_input(key="login_password").input(password or member.password)
    return click(at, "Log in").run()


def click(at: AppTest, label: str, index: int = 0) -> AppTest:
    """Click the index-th button (form submit buttons included) whose label is `label`."""
    matches = [b for b in at.button if b.label == label]
    assert len(matches) > index, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    matches[index].click()
    return at


def deactivate(api: ApiServer, user_id: str) -> None:
    """Deactivate a user the way production does: a signed Clerk `user.deleted` delivery."""
    from svix.webhooks import Webhook

    body = json.dumps({"type": "user.deleted", "object": "event", "data": {"id": user_id, "deleted": True,
                                                                          "object": "user"}})
    msg_id = f"msg_{uuid.uuid4().hex}"
    signature = Webhook(api.webhook_secret).sign(msg_id, datetime.now(UTC), body)
    answer = httpx.post(f"{api.url}/webhooks/clerk", content=body, headers={
        "svix-id": msg_id, "svix-timestamp": str(int(datetime.now(UTC).timestamp())), "svix-signature": signature,
        "content-type": "application/json"})
    if answer.status_code == 404 and "Not Found" in answer.text:
        pytest.skip("this API has no POST /webhooks/clerk yet, so a user cannot be deactivated")
    answer.raise_for_status()


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """One API on the embedded store: these tests exercise the client side; tests/api runs both stores."""
    server = ApiServer(tmp_path_factory.mktemp("api")).start()
    yield server
    server.stop()
