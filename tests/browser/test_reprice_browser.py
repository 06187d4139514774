"""Re-pricing in a real browser: preview → confirm → the Overview's total changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from tests.browser.test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, metric, pytestmark, settle, stack  # noqa: F401
from tests.factories import create_user, make_event, post_events
from tests.server import ApiServer

MINI = "gpt-4o-mini-2024-07-18"


def test_preview_then_confirm_changes_the_totals(stack: tuple[ApiServer, str]) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    api, url = stack
    user = create_user(api)
    start = datetime.now(UTC) - timedelta(days=2)
    events = [make_event(timestamp=(start + timedelta(hours=i)).isoformat(), input_tokens=1_000_000,
                         output_tokens=0) for i in range(4)]
    assert post_events(api, user, events).json()["accepted"] == 4
    # list price of gpt-4o-mini: $0.15 per million input tokens → $0.60; a back-dated $1/Mtok makes it $4.00
    httpx.put(f"{api.url}/v1/prices/openai/{MINI}", headers=user.headers, json={
        "input_per_mtok": "1", "output_per_mtok": "1", "effective_from": (start - timedelta(days=1)).isoformat()})
    password = "browser-pass-123"
    httpx.post(f"{api.url}/admin/dashboard/signup", headers=api.admin(),
               json={"email": user.email, "password": password}).raise_for_status()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2000})
        page.set_default_timeout(30_000)
        page.goto(url + "/")
        form = page.locator("[data-testid='stForm']").first
        form.get_by_label("Email").fill(user.email)
        form.get_by_label("Password", exact=True).fill(password)
        form.get_by_role("button", name="Log in").click()
        total = metric(page, "Total cost")
        expect(total).to_contain_text("$0.6000")

        page.goto(url + "/reprice")
        expect(page.get_by_role("heading", name="Re-price")).to_be_visible()
        settle(page)  # the cookie component's rerun would swallow an early click
        page.get_by_role("button", name="Preview").click()
        changed = metric(page, "Calls that change")
        expect(changed).to_contain_text("4")
        expect(metric(page, "Cost after")).to_contain_text("$4.00")
        expect(page.locator(".js-plotly-plot").first).to_be_visible()  # the by-day chart, before confirming
        assert Decimal(httpx.get(f"{api.url}/v1/analytics/summary", headers=user.headers).json()["total_cost_usd"]) \
            == Decimal("0.6")
        settle(page)
        page.get_by_role("button", name="Apply re-pricing").click()
        expect(page.get_by_text("Re-priced 4 calls")).to_be_visible()

        page.goto(url + "/")
        expect(metric(page, "Total cost")).to_contain_text("$4.00")
        browser.close()
