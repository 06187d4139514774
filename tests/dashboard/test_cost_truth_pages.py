"""Prices, Re-price, Reconcile and the what-if picker, from the entry point against the real API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from tests.dashboard.conftest import DashboardUser, click, log_in, signed_up
from tests.factories import make_event, post_events
from tests.server import ApiServer

EXPORTS = Path(__file__).parent.parent / "fixtures" / "provider-exports"
MINI = "gpt-4o-mini-2024-07-18"


def with_history(api: ApiServer) -> DashboardUser:
    member = signed_up(api)
    start = datetime.now(UTC) - timedelta(days=3)
    events = [make_event(timestamp=(start + timedelta(hours=i)).isoformat()) for i in range(6)]
    assert post_events(api, member.user, events).json()["accepted"] == 6
    return member


def total(api: ApiServer, member: DashboardUser) -> Decimal:
    return Decimal(httpx.get(f"{api.url}/v1/analytics/summary", headers=api.admin(member.id)).json()["total_cost_usd"])


def test_a_back_dated_price_is_added_on_the_prices_page(dashboard_env: ApiServer) -> None:
    member = with_history(dashboard_env)
    at = log_in(member)
    at.switch_page("views/prices.py").run()
    assert not at.exception
    at.text_input(key="price_model").input(MINI)
    at.date_input(key="price_from_day").set_value((datetime.now(UTC) - timedelta(days=10)).date())
    at.radio(key="price_kind").set_value("Discount off the list price")
    at.text_input(key="price_discount").input("30")
    click(at, "Save price").run()
    assert not at.exception and "Saved version" in at.success[0].value
    versions = httpx.get(f"{dashboard_env.url}/v1/prices", headers=dashboard_env.admin(member.id)).json()
    assert [(v["model"], v["discount_percent"]) for v in versions] == [(MINI, "30.000000")]
    assert "gpt-4o-mini" in at.dataframe[-1].value["model"].tolist()  # the catalog lookup


def test_re_pricing_shows_the_preview_then_applies_it(dashboard_env: ApiServer) -> None:
    member = with_history(dashboard_env)
    before = total(dashboard_env, member)
    httpx.put(f"{dashboard_env.url}/v1/prices/openai/{MINI}", headers=dashboard_env.admin(member.id),
              json={"discount_percent": "50", "effective_from": (datetime.now(UTC) - timedelta(days=30)).isoformat()})
    at = log_in(member)
    at.switch_page("views/reprice.py").run()
    click(at, "Preview").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Calls that change"] == "6"
    assert len(at.dataframe) >= 1 and at.dataframe[0].value["events"].tolist() == [6]
    assert total(dashboard_env, member) == before  # nothing applied yet
    click(at, "Apply re-pricing").run()
    assert not at.exception and "Re-priced 6 calls" in at.success[0].value
    assert total(dashboard_env, member) == (before / 2).quantize(Decimal("1e-12"))


def test_the_reconcile_page_shows_rows_and_mismatches(dashboard_env: ApiServer) -> None:
    member = signed_up(dashboard_env)
    export = json.loads((EXPORTS / "openai_usage_completions.json").read_text())
    answer = httpx.post(f"{dashboard_env.url}/v1/reconciliation/imports", params={"provider": "openai"}, json=export,
                        headers=dashboard_env.admin(member.id))
    assert answer.status_code == 200
    at = log_in(member)
    at.switch_page("views/reconcile.py").run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["untracked"] == "3"
    assert set(at.dataframe[0].value["status"]) == {"untracked"}


def test_the_what_if_picker_on_the_overview(dashboard_env: ApiServer) -> None:
    member = with_history(dashboard_env)
    at = log_in(member)
    at.selectbox(key="whatif_model").set_value("gpt-4.1-nano").run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert "At gpt-4.1-nano's list price" in labels
