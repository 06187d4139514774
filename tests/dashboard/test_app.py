"""The dashboard from its entry point (AppTest), against the real API process on a temporary DuckDB file."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import auth, ui
from tests.dashboard.conftest import PASSWORD, DashboardUser, app, click, deactivate, log_in, signed_up
from tests.factories import create_user, make_event, post_events
from tests.server import ApiServer

PAGES = ["views/overview.py", "views/runs.py", "views/customers.py", "views/models.py", "views/tags.py",
         "views/budgets.py", "views/settings.py"]


def texts(at: AppTest) -> str:
    """Everything a person can read on the page, as one string."""
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "error", "success")
             for e in getattr(at, kind)]
    parts += [m.label + " " + str(m.value) for m in at.metric]
    parts += [str(c.value) for c in at.code]
    return "\n".join(map(str, parts))


def summary(api: ApiServer, member: DashboardUser) -> dict:
    return httpx.get(f"{api.url}/v1/analytics/summary", headers=api.admin(member.id)).json()


# -- login gate ---------------------------------------------------------------------------------------
def test_only_the_login_and_signup_forms_show_before_login(dashboard_env: ApiServer) -> None:
    at = app().run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Email", "Password", "Email", "Password (8+ characters)",
                                                "Repeat password"]
    assert [b.label for b in at.button] == ["Log in", "Sign up"]
    assert not at.sidebar.children  # no page list, no filters, no user
    assert not at.metric and not at.dataframe and not at.code
    assert "Overview" not in texts(at)


def test_wrong_password_is_refused_and_the_lockout_is_server_side(new_user: DashboardUser) -> None:
    for _ in range(5):
        at = log_in(new_user, password="not-the-password")
        assert [e.value for e in at.error] == ["wrong email or password"]
    at = log_in(new_user)  # the right password, but the API has locked the account for 15 minutes
    assert "too many failed logins" in at.error[0].value
    assert not at.metric and "Log in" in [b.label for b in at.button]


def test_sign_up_only_for_an_email_the_api_knows(dashboard_env: ApiServer) -> None:
    user = create_user(dashboard_env)
    at = app().run()
    at.text_input(key="signup_email").input("stranger@example.com")
    at.text_input(key="signup_password").input(PASSWORD)
    at.text_input(key="signup_confirm").input(PASSWORD)
    click(at, "Sign up").run()
    assert "no account for stranger@example.com" in at.error[0].value

    at.text_input(key="signup_email").input(user.email)
    at.text_input(key="signup_password").input(PASSWORD)
    at.text_input(key="signup_confirm").input(PASSWORD)
    click(at, "Sign up").run()
    assert not at.error and "Password set" in at.success[0].value
    at = log_in(DashboardUser(user))
    assert not at.exception and at.title[0].value == "Overview"


def test_log_out_shows_the_login_form_again_on_any_page(seeded_user: DashboardUser) -> None:
    at = log_in(seeded_user)
    at.switch_page("views/settings.py").run()
    assert at.title[0].value == "Settings"
    click(at, "Log out").run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Log in", "Sign up"] and not at.metric and not at.code
    assert "llmo_user" not in at.session_state


def test_cookie_key_is_generated_private_and_reused(new_user: DashboardUser) -> None:
    log_in(new_user)
    path = ui.client.data_dir() / "dashboard_cookie_key"
    key = path.read_text().strip()
    assert len(key) >= 32 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    log_in(new_user)
    assert path.read_text().strip() == key


def test_a_short_cookie_key_is_refused(new_user: DashboardUser, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOBSERVE_COOKIE_KEY", "some_key")
    at = app().run()
    assert "LLMOBSERVE_COOKIE_KEY must be a random secret" in at.error[0].value
    assert not at.text_input


def test_api_down_is_a_clear_message(new_user: DashboardUser, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOBSERVE_API_URL", "http://127.0.0.1:9")
    ui.client.credentials.clear()
    at = app().run()
    assert not at.exception
    assert "Cannot reach the llmobserve API at http://127.0.0.1:9" in at.error[0].value


# -- pages ------------------------------------------------------------------------------------------
def test_overview_shows_totals_charts_and_unpriced_apart(dashboard_env: ApiServer, seeded_user: DashboardUser
                                                         ) -> None:
    at = log_in(seeded_user)
    assert not at.exception
    expected = summary(dashboard_env, seeded_user)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Total cost"] == ui.usd(expected["total_cost_usd"]) and Decimal(expected["total_cost_usd"]) > 0
    assert metrics["Calls"] == "5"
    assert metrics["Unpriced calls"] == "1"
    assert "1 call (550 tokens)" in at.warning[0].value and "not** included" in at.warning[0].value
    assert metrics["Error rate"] == "20.0%"
    shown = texts(at)
    for heading in ("Cost over time", "By provider", "Cost by model", "Recent runs", "Top customers"):
        assert heading in shown
    recent = at.dataframe[0].value  # newest first: the two-call run, then the three single calls
    assert list(recent.columns) == ["run", "customer_id", "calls", "cost_usd", "status", "started_at"]
    assert recent.iloc[0][["run", "customer_id", "calls", "status"]].tolist() == ["summarise-ticket", "acme", 2, "ok"]
    assert recent["started_at"].is_monotonic_decreasing and len(recent) == 4
    assert recent.set_index("customer_id").loc["initech", "status"] == "error"
    assert recent["cost_usd"].isna().sum() == 1  # the call to an unknown model: blank, never $0
    assert "All runs (select one to see its calls)" in [link.proto.label for link in at.get("page_link")]
    customers = at.dataframe[1].value
    assert list(customers["key"]) == ["globex", "acme", "initech"] or set(customers["key"]) == {"acme", "globex",
                                                                                              "initech"}
    assert "Models: cost, tokens, latency and errors per model" in [link.proto.label
                                                                           for link in at.get("page_link")]


def test_models_page_has_cost_latency_errors_and_savings_per_model(dashboard_env: ApiServer,
                                                                   seeded_user: DashboardUser) -> None:
    at = log_in(seeded_user)
    at.switch_page("views/models.py").run()
    assert not at.exception
    by_model = at.dataframe[0].value.set_index("key")
    api_rows = {r["key"]: r for r in httpx.get(f"{dashboard_env.url}/v1/analytics/breakdown",
                                               headers=seeded_user.user.headers, params={"by": "model"}).json()["data"]}
    assert set(by_model.index) == set(api_rows)
    assert by_model.loc["my-private-finetune", "unpriced_calls"] == 1
    assert pd.isna(by_model.loc["my-private-finetune", "cost_usd"])  # unknown price: blank, never $0
    assert by_model.loc["gpt-4o-mini-2024-07-18", "latency_p95_ms"] == api_rows["gpt-4o-mini-2024-07-18"]["latency_p95_ms"]
    assert by_model.loc["gpt-4o-mini-2024-07-18", "calls"] == 3
    assert {"error_rate", "tokens", "cached_input_tokens", "latency_p50_ms"} <= set(by_model.columns)


def test_tags_page_breaks_down_by_a_tag_with_untagged_calls_apart(dashboard_env: ApiServer,
                                                                 new_user: DashboardUser) -> None:
    post_events(dashboard_env, new_user.user, [make_event(tags={"team": "search"}), make_event(tags={"team": "search"}),
                                               make_event(tags={"team": "ads"}), make_event()]).raise_for_status()
    at = log_in(new_user)
    at.switch_page("views/tags.py").run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("value")
    assert table["calls"].to_dict() == {"search": 2, "ads": 1, "(no team)": 1}
    assert at.query_params["by"] == ["tag:team"] or at.query_params["by"] == "tag:team"
    at.selectbox(key="f_tag_key").select("team").run()
    at.selectbox(key="f_tag_value").select("search").run()
    assert at.dataframe[0].value.set_index("value")["calls"].to_dict() == {"search": 2}


def test_overview_shows_changes_against_the_previous_period(dashboard_env: ApiServer,
                                                           new_user: DashboardUser) -> None:
    now = datetime.now(UTC)
    post_events(dashboard_env, new_user.user, [
        make_event(timestamp=(now - timedelta(days=40)).isoformat()),                  # previous 30 days
        *[make_event(timestamp=(now - timedelta(days=d)).isoformat()) for d in (1, 2, 3)],  # these 30 days
    ]).raise_for_status()
    at = log_in(new_user)
    deltas = {m.label: m.proto.delta for m in at.metric}
    assert deltas["Calls"] == "+2 (+200%) vs previous"
    assert deltas["Total cost"].startswith("+$") and deltas["Total cost"].endswith("(+200%) vs previous")


def test_every_table_has_a_csv_download(seeded_user: DashboardUser) -> None:
    at = log_in(seeded_user)
    for page in ("views/overview.py", "views/runs.py", "views/customers.py", "views/models.py", "views/tags.py"):
        at.switch_page(page).run()
        assert not at.exception, page
        downloads = [e for e in at.get("download_button")]
        assert len(downloads) == len(at.dataframe) > 0, page


def test_filters_live_in_the_url_and_a_link_opens_the_same_view(seeded_user: DashboardUser) -> None:
    at = log_in(seeded_user)
    at.selectbox(key="f_customer_id").select("acme").run()
    at.selectbox(key="f_range").select("Last 7 days").run()
    params = {k: at.query_params[k] for k in at.query_params}
    flat = {k: v[0] if isinstance(v, list) else v for k, v in params.items()}
    assert flat == {"range": "7days", "customer": "acme"}
    calls = {m.label: m.value for m in at.metric}["Calls"]
    # a new session (a colleague opening the link) starts from the URL's filters
    link = app()
    for key, value in flat.items():
        link.query_params[key] = value
    link.run()
    link.text_input(key="login_email").input(seeded_user.email)
    link.text_input(key="login_password").input(seeded_user.password)
    click(link, "Log in").run()
    assert link.selectbox(key="f_customer_id").value == "acme" and link.selectbox(key="f_range").value == "Last 7 days"
    assert {m.label: m.value for m in link.metric}["Calls"] == calls == "2"


def test_overview_filters_narrow_every_widget(seeded_user: DashboardUser) -> None:
    at = log_in(seeded_user)
    at.selectbox(key="f_customer_id").select("acme").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Calls"] == "2" and metrics["Unpriced calls"] == "0"
    assert list(at.dataframe[0].value["run"]) == ["summarise-ticket"]  # recent runs: acme's only
    at.selectbox(key="f_range").select("Last 24 hours").run()
    at.selectbox(key="f_customer_id").select("All").run()
    assert {m.label: m.value for m in at.metric}["Calls"] == "4"  # the anthropic call was two days ago


def test_overview_lists_the_five_latest_runs(dashboard_env: ApiServer, new_user: DashboardUser) -> None:
    now = datetime.now(UTC)
    events = [make_event(customer_id=f"cust_{i}", run_id=f"run-{i}", run_name=f"job-{i}",
                         timestamp=(now - timedelta(minutes=10 * i)).isoformat()) for i in range(7)]
    events.append(make_event(customer_id="solo", timestamp=(now - timedelta(minutes=25)).isoformat()))
    assert post_events(dashboard_env, new_user.user, events).json()["accepted"] == len(events)
    at = log_in(new_user)
    assert not at.exception
    recent = at.dataframe[0].value
    single = events[-1]["id"]  # a call outside any run is a run of its own, named by its id
    assert list(recent["run"]) == ["job-0", "job-1", "job-2", single, "job-3"]
    assert list(recent["customer_id"]) == ["cust_0", "cust_1", "cust_2", "solo", "cust_3"]


def test_overview_empty_state_says_what_to_do_next(new_user: DashboardUser) -> None:
    at = log_in(new_user)
    shown = texts(at)
    assert "No LLM calls recorded yet" in shown and "Settings" in shown
    assert "pip install llmobserve" in shown
    assert 'llmobserve.observe(api_key="llmo_…", customer_id="cust_1")' in shown
    assert "chat.completions.create" in shown


def test_runs_list_and_drill_down(seeded_user: DashboardUser) -> None:
    at = log_in(seeded_user)
    at.switch_page("views/runs.py").run()
    assert not at.exception
    runs = at.dataframe[0].value
    assert "summarise-ticket" in list(runs["name"]) and len(runs) == 4
    unpriced = runs[runs["unpriced_calls"] == runs["calls"]]
    assert len(unpriced) == 1 and unpriced["cost_usd"].isna().all()  # blank, never $0
    at.query_params["run"] = "run-summarise-1"
    at.run()
    assert at.title[0].value == "summarise-ticket"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Calls"] == "2" and metrics["Status"] == "ok"
    assert len(at.dataframe[0].value) == 2
    click(at, "All runs").run()
    assert "run" not in at.query_params and at.title[0].value == "Runs"


def test_unknown_run_is_named_never_undefined(seeded_user: DashboardUser) -> None:
    at = log_in(seeded_user)
    at.switch_page("views/runs.py")
    at.query_params["run"] = "nope-123"
    at.run()
    assert [e.value for e in at.error] == ["run nope-123 not found"]
    assert "undefined" not in texts(at)


def test_customers_sortable_with_trends_and_csv(dashboard_env: ApiServer, seeded_user: DashboardUser) -> None:
    at = log_in(seeded_user)
    at.switch_page("views/customers.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert set(table["customer"]) == {"acme", "globex", "initech"}
    assert list(table["cost_usd"]) == sorted(table["cost_usd"], reverse=True)
    assert all(len(t) == 3 for t in table["trend"])  # one point per day of the period that has data
    assert sum(table.set_index("customer").loc["globex", "trend"]) > 0
    assert {m.label: m.value for m in at.metric}["Customers"] == "3"
    assert at.get("download_button")


def test_settings_reveals_the_initial_key_once(dashboard_env: ApiServer, new_user: DashboardUser) -> None:
    at = log_in(new_user)
    at.switch_page("views/settings.py").run()
    assert not at.exception
    shown = texts(at)
    assert new_user.email in [t.value for t in at.text_input] and "Ada Lovelace" in [t.value for t in at.text_input]
    assert "individual" in [t.value for t in at.text_input]
    assert [c.value for c in at.code][0] == new_user.user.api_key
    assert "shown only once" in shown
    at.run()  # a rerun keeps it for the session
    assert [c.value for c in at.code][0] == new_user.user.api_key

    again = log_in(new_user)  # a new session: the API will not hand it out again
    again.switch_page("views/settings.py").run()
    assert new_user.user.api_key not in texts(again)
    assert "already been shown once" in texts(again)


def test_settings_generate_and_revoke_keys(dashboard_env: ApiServer, new_user: DashboardUser) -> None:
    at = log_in(new_user)
    at.switch_page("views/settings.py").run()
    [name] = [t for t in at.text_input if t.label == "Key name"]
    name.input("staging")
    [scopes] = [m for m in at.multiselect if m.label == "Scopes"]
    assert scopes.value == ["ingest"]  # the default: a key inside an app sends calls only
    click(at, "Generate New API Key").run()
    assert not at.exception
    new_key = [c.value for c in at.code if c.value.startswith("llmo_") and not c.value.endswith("…")
               and c.value != new_user.user.api_key]
    assert len(new_key) == 1
    headers = {"Authorization": f"Bearer {new_key[0]}"}
    assert httpx.post(f"{dashboard_env.url}/v1/events", headers=headers, json={"events": []}).status_code == 200
    assert httpx.get(f"{dashboard_env.url}/v1/analytics/summary", headers=headers).status_code == 403
    assert "staging" in texts(at)

    click(at, "I have copied it").run()
    assert new_key[0] not in texts(at)
    click(at, "Revoke", index=1).run()  # the second key, "staging" (keys are listed oldest first)
    click(at, "Confirm revoke").run()
    assert not at.exception and "Key revoked" in texts(at)
    assert httpx.get(f"{dashboard_env.url}/v1/analytics/summary",
                     headers={"Authorization": f"Bearer {new_key[0]}"}).status_code == 401
    assert len([b for b in at.button if b.label == "Revoke"]) == 1


def test_settings_chooses_scopes_and_lists_them(dashboard_env: ApiServer, new_user: DashboardUser) -> None:
    at = log_in(new_user)
    at.switch_page("views/settings.py").run()
    [name] = [t for t in at.text_input if t.label == "Key name"]
    name.input("notebook")
    [scopes] = [m for m in at.multiselect if m.label == "Scopes"]
    scopes.set_value(["read"])
    click(at, "Generate New API Key").run()
    assert not at.exception
    [new_key] = [c.value for c in at.code if c.value.startswith("llmo_") and c.value != new_user.user.api_key]
    headers = {"Authorization": f"Bearer {new_key}"}
    assert httpx.get(f"{dashboard_env.url}/v1/analytics/summary", headers=headers).status_code == 200
    assert httpx.post(f"{dashboard_env.url}/v1/events", headers=headers, json={"events": []}).status_code == 403
    shown = texts(at)
    assert "ingest, read" in shown  # the initial key's scopes, in the list
    assert [k["scopes"] for k in httpx.get(f"{dashboard_env.url}/clerk/api-keys",
                                           headers=dashboard_env.admin(new_user.id)).json()["data"]] == \
        [["ingest", "read"], ["read"]]


def test_one_user_never_sees_another_users_data(dashboard_env: ApiServer, seeded_user: DashboardUser) -> None:
    other = signed_up(dashboard_env)
    at = log_in(other)
    assert "No LLM calls recorded yet" in texts(at)
    at.switch_page("views/customers.py").run()
    assert not at.dataframe


# -- deactivated accounts -----------------------------------------------------------------------------
def test_a_deactivated_user_is_logged_out_and_cannot_log_in(dashboard_env: ApiServer, seeded_user: DashboardUser
                                                           ) -> None:
    at = log_in(seeded_user)
    assert at.title[0].value == "Overview"
    deactivate(dashboard_env, seeded_user.id)
    at.run()  # the very next run re-checks /v1/me
    assert "no longer active" in at.warning[0].value
    assert [b.label for b in at.button] == ["Log in", "Sign up"] and not at.metric
    at = log_in(seeded_user)
    assert [e.value for e in at.error] == ["this account has been deactivated"]


def test_an_old_cookie_does_not_let_a_deactivated_user_in(dashboard_env: ApiServer, new_user: DashboardUser,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """AppTest cannot send cookies, so stand in for the browser: a valid signed cookie naming the user."""
    from streamlit_authenticator.controllers import CookieController

    deleted: list[bool] = []
    monkeypatch.setattr(auth, "_cookie_token",
                        lambda: {"username": new_user.email.lower(), "exp_date": 4102444800.0})
    monkeypatch.setattr(CookieController, "delete_cookie", lambda self: deleted.append(True))
    at = app().run()
    assert not at.exception and at.title[0].value == "Overview"  # the cookie logs the user back in

    deactivate(dashboard_env, new_user.id)
    at = app().run()
    assert [b.label for b in at.button] == ["Log in", "Sign up"] and not at.metric and not at.code
    assert deleted, "the stale cookie is deleted"
