"""Runs: recent runs (a call outside any run is a run of its own), and one run's calls (`?run=<id>`)."""

from __future__ import annotations

import streamlit as st

from dashboard import client, ui

user_id = ui.user()["id"]
filters, _, period = ui.filters()


def close_run() -> None:
    st.query_params.pop("run", None)
    # a fresh table key: the browser would otherwise send the old row selection back and reopen the run
    st.session_state["llmo_runs_table"] = st.session_state.get("llmo_runs_table", 0) + 1


run_id = st.query_params.get("run")
if run_id:
    st.button("All runs", icon=":material/arrow_back:", on_click=close_run)
    try:
        detail = client.run(user_id, run_id)
    except client.ApiError as exc:
        if exc.status != 404:
            raise
        st.title("Run")
        st.error(exc.message)  # the API names the id: "run <id> not found"
        st.stop()
    run = detail["run"]
    st.title(run["run_name"] or "Run")
    st.caption(f"`{run['run_id']}` · customer {run['customer_id'] or '—'} · "
               f"started {ui.when(run['started_at'])} UTC")
    cols = st.columns(5)
    all_unpriced = run["unpriced_calls"] == run["calls"]
    cols[0].metric("Cost", "unpriced" if all_unpriced else ui.usd(run["cost_usd"]))
    cols[1].metric("Calls", ui.number(run["calls"]))
    cols[2].metric("Duration", ui.duration(run["duration_ms"]))
    cols[3].metric("Status", run["status"])
    cols[4].metric("Unpriced calls", ui.number(run["unpriced_calls"]))
    if run["unpriced_calls"]:
        st.warning(f"{ui.plural(run['unpriced_calls'], 'call')} in this run used a model with no known price; "
                   "they are not in the cost above.", icon=":material/warning:")
    calls = ui.frame(detail["events"])
    st.subheader("Calls")
    ui.table(
        calls[["timestamp", "provider", "model", "operation", "input_tokens", "cached_input_tokens", "output_tokens",
               "cost_usd", "pricing_status", "latency_ms", "status", "error_type"]], "run-calls",
        {"timestamp": st.column_config.DatetimeColumn("Time (UTC)", format="YYYY-MM-DD HH:mm:ss"),
                       "provider": "Provider", "model": "Model", "operation": "Operation",
                       "input_tokens": ui.count_column("Input tokens"),
                       "cached_input_tokens": ui.count_column("Cached"),
                       "output_tokens": ui.count_column("Output tokens"), "cost_usd": ui.money_column("Cost", 6),
                       "pricing_status": "Pricing",
                       "latency_ms": st.column_config.NumberColumn("Latency", format="%.0f ms"),
                       "status": "Status", "error_type": "Error"})
    st.stop()

st.title("Runs")
st.caption(f"Most recent first · {period}. Select a row to see its calls.")
runs = ui.frame(client.runs(user_id, filters, 200))
if runs.empty:
    st.info("No runs in this period. Group calls into a run with `with llmobserve.run(\"summarise-ticket\"):` — "
            "calls made outside a run each show up as a run of their own.")
    st.stop()

runs["name"] = runs["run_name"].fillna("(single call)")
runs["duration_s"] = runs["duration_ms"].fillna(0) / 1000
runs.loc[runs["calls"] == runs["unpriced_calls"], "cost_usd"] = None  # no known price: blank, never $0
table = runs[["name", "started_at", "customer_id", "calls", "cost_usd", "unpriced_calls", "duration_s", "status",
              "run_id"]]
picked = ui.table(
    table, "runs", height=min(38 + 35 * len(table), 720), on_select="rerun", selection_mode="single-row",
    key=f"runs_table_{st.session_state.get('llmo_runs_table', 0)}",
    column_config={"name": "Run", "started_at": st.column_config.DatetimeColumn("Started (UTC)",
                                                                                format="YYYY-MM-DD HH:mm:ss"),
                   "customer_id": "Customer", "calls": "Calls", "cost_usd": ui.money_column("Cost"),
                   "unpriced_calls": "Unpriced calls",
                   "duration_s": st.column_config.NumberColumn("Duration", format="%.2f s"),
                   "status": "Status", "run_id": "Run id"})
rows = picked.selection.rows if picked else []
if rows:
    st.query_params["run"] = str(table.iloc[rows[0]]["run_id"])
    st.rerun()
