"""The Budgets page from the entry point (AppTest), against the real API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from tests.dashboard.conftest import DashboardUser, click, log_in
from tests.dashboard.test_app import texts
from tests.factories import make_event, post_events
from tests.server import ApiServer


def open_budgets(member: DashboardUser):
    at = log_in(member)
    at.switch_page("views/budgets.py").run()
    assert not at.exception, at.exception
    return at


def test_budget_progress_projection_and_unpriced_calls(dashboard_env: ApiServer, new_user: DashboardUser) -> None:
    now = datetime.now(UTC)
    post_events(dashboard_env, new_user.user, [
        make_event(customer_id="acme", cost_usd="42", timestamp=(now - timedelta(minutes=2)).isoformat()),
        make_event(customer_id="acme", model="in-house-model", timestamp=(now - timedelta(minutes=1)).isoformat()),
    ])
    httpx.post(f"{dashboard_env.url}/v1/budgets", headers=new_user.user.headers,
               json={"name": "acme monthly", "amount_usd": 50, "period": "month", "scope": {"customer_id": "acme"}})
    at = open_budgets(new_user)
    page = texts(at)
    assert "acme monthly" in page and "customer acme" in page and "warning" in page
    [bar] = at.get("progress")
    assert "$42.00 of $50.00 (84.0%)" in bar.proto.text and "projected $" in bar.proto.text
    assert "1 call in scope had no known price" in page


def test_create_edit_and_delete_a_budget(dashboard_env: ApiServer, new_user: DashboardUser) -> None:
    at = open_budgets(new_user)
    assert "No budgets yet" in texts(at)
    form = [t for t in at.text_input if t.label == "Name"][0]
    form.input("team search")
    [t for t in at.text_input if t.label == "Tag (key:value)"][0].input("team:search")
    [t for t in at.text_input if t.label == "Timezone (IANA)"][0].input("Europe/Paris")
    [s for s in at.selectbox if s.label == "Period"][0].select("week")
    click(at, "Create budget").run()
    assert not at.exception, at.exception
    [budget] = httpx.get(f"{dashboard_env.url}/v1/budgets", headers=new_user.user.headers).json()["data"]
    assert (budget["name"], budget["period"], budget["timezone"], budget["scope"]["tag"]) == \
        ("team search", "week", "Europe/Paris", "team:search")
    assert "team search" in texts(at)
    [t for t in at.number_input if t.label == "Amount (USD)"][0].set_value(25.0)
    click(at, "Save").run()
    budget = httpx.get(f"{dashboard_env.url}/v1/budgets/{budget['id']}", headers=new_user.user.headers).json()
    assert Decimal(budget["amount_usd"]) == 25
    click(at, "Delete budget").run()
    assert httpx.get(f"{dashboard_env.url}/v1/budgets", headers=new_user.user.headers).json()["data"] == []


def test_a_bad_timezone_and_a_private_channel_are_explained(dashboard_env: ApiServer, new_user: DashboardUser) -> None:
    at = open_budgets(new_user)
    [t for t in at.text_input if t.label == "Timezone (IANA)"][0].input("Mars/Olympus")
    click(at, "Create budget").run()
    assert "unknown IANA timezone 'Mars/Olympus'" in texts(at)
    at = open_budgets(new_user)
    [t for t in at.text_input if t.label == "URL"][0].input("http://127.0.0.1:9/hook")
    click(at, "Add channel").run()
    assert "loopback" in texts(at)
    assert httpx.get(f"{dashboard_env.url}/v1/alert-channels", headers=new_user.user.headers).json()["data"] == []


def test_overview_shows_month_to_date_with_its_forecast(dashboard_env: ApiServer, seeded_user: DashboardUser) -> None:
    from dashboard import ui

    at = log_in(seeded_user)
    assert not at.exception, at.exception
    expected = httpx.get(f"{dashboard_env.url}/v1/analytics/forecast", headers=seeded_user.user.headers,
                         params={"period": "month"}).json()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Month to date (UTC)"] == ui.usd(expected["spent_usd"])
    assert metrics["Month forecast"] == ui.usd(expected["projected_usd"])
    assert Decimal(expected["projected_usd"]) >= Decimal(expected["spent_usd"])
    assert "Budgets and alerts" in [link.proto.label for link in at.get("page_link")]
