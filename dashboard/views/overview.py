"""Overview: what LLM calls cost in the period, over time, by provider, model and customer, and the latest runs."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboard import client, ui

user_id = ui.user()["id"]
filters, interval, period = ui.filters()

st.title("Overview")
if client.summary(user_id, client.Filters())["calls"] == 0:
    ui.onboarding()
    st.stop()

summary = client.summary(user_id, filters, compare=True)
previous = summary.get("previous")
st.caption(f"{period} · times in UTC" + (" · changes against the period of equal length before" if previous else ""))
if summary["calls"] == 0:
    st.info("No calls match these filters. Widen the time range or clear a filter in the sidebar.")
    st.stop()

calls = summary["calls"]
tokens = summary["input_tokens"] + summary["output_tokens"]
cols = st.columns(6)
cols[0].metric("Total cost", ui.usd(summary["total_cost_usd"]),
               ui.delta(summary["total_cost_usd"], previous, "total_cost_usd", money=True), delta_color="inverse",
               help="Priced calls only: calls of unknown models are counted apart, never as $0.")
cols[1].metric("Calls", ui.number(calls), ui.delta(calls, previous, "calls"), delta_color="off")
cols[2].metric("Tokens", ui.number(tokens),
               ui.delta(tokens, previous and {"t": previous["input_tokens"] + previous["output_tokens"]}, "t"),
               delta_color="off",
               help=f"{ui.number(summary['input_tokens'])} input · {ui.number(summary['output_tokens'])} output")
cols[3].metric("Error rate", f"{summary['error_calls'] / calls:.1%}",
               ui.delta(summary["error_calls"], previous, "error_calls"), delta_color="inverse",
               help=f"{ui.plural(summary['error_calls'], 'failed call')} (change: failed calls)")
cols[4].metric("Cache savings", ui.usd(summary["cache_savings_usd"]),
               ui.delta(summary["cache_savings_usd"], previous, "cache_savings_usd", money=True),
               help="Cache-read tokens at the uncached input price, less what they cost (cache writes not counted).")
cols[5].metric("Unpriced calls", ui.number(summary["unpriced_calls"]),
               help="Calls to models with no known price; their tokens are not in the total cost.")
if summary["unpriced_calls"]:
    st.warning(f"{ui.plural(summary['unpriced_calls'], 'call')} ({ui.plural(summary['unpriced_tokens'], 'token')}) "
               "used models with no known price. They are **not** included in the total cost above.",
               icon=":material/warning:")
if summary.get("tier_fallback_calls"):
    st.warning(f"{ui.plural(summary['tier_fallback_calls'], 'call')} used a service tier (priority, flex, batch…) "
               "the price data had no rate for at the time: priced at the standard rate. A back-dated price or newer "
               "price data, then re-pricing, corrects them.", icon=":material/warning:")

month = client.forecast(user_id, "month", "UTC")
cols = st.columns(3)
cols[0].metric("Month to date (UTC)", ui.usd(month["spent_usd"]),
               help=f"Since {ui.when(month['period_start'])}, whatever the filters above.")
cols[1].metric("Month forecast", ui.usd(month["projected_usd"]),
               help="Spent so far plus the last 7 days' daily rate over the days left (docs/budgets.md).")
cols[2].page_link("views/budgets.py", label="Budgets and alerts", icon=":material/savings:")

st.subheader("Cost over time")
series = ui.frame(client.timeseries(user_id, filters, interval, "provider"))
if series.empty:
    st.caption("No data in this period.")
else:
    series["group"] = series["group"].fillna("unknown")
    chart = px.bar(series, x="bucket", y="cost_usd", color="group",
                   labels={"bucket": "", "cost_usd": "Cost (USD)", "group": "Provider"})
    chart.update_layout(height=320, margin={"l": 0, "r": 0, "t": 10, "b": 0}, bargap=0.15,
                        legend={"orientation": "h", "y": 1.12, "title": None}, yaxis_tickprefix="$")
    if interval == "day":
        chart.update_xaxes(tickformat="%b %d", dtick=86_400_000, ticklabelmode="period")
    st.plotly_chart(chart, width="stretch")

left, right = st.columns(2)
providers = ui.frame(client.breakdown(user_id, filters, "provider"))
models = ui.frame(client.breakdown(user_id, filters, "model"))
with left:
    st.subheader("By provider")
    chart = px.pie(providers, names="key", values="cost_usd", hole=0.55)
    chart.update_traces(textinfo="label+percent", hovertemplate="%{label}: $%{value:.6f}<extra></extra>")
    chart.update_layout(height=300, margin={"l": 0, "r": 0, "t": 10, "b": 0}, showlegend=False)
    st.plotly_chart(chart, width="stretch")
with right:
    st.subheader("Cost by model")
    top = models[models["cost_usd"] > 0].sort_values("cost_usd").tail(10)  # unpriced models: on the Models page
    chart = px.bar(top, x="cost_usd", y="key", orientation="h", labels={"cost_usd": "Cost (USD)", "key": ""})
    chart.update_layout(height=300, margin={"l": 0, "r": 0, "t": 10, "b": 0}, xaxis_tickprefix="$")
    st.plotly_chart(chart, width="stretch")

with st.expander("What if these calls had used another model?", icon=":material/compare_arrows:"):
    left, right = st.columns([1, 2])
    target_provider = left.selectbox("Provider", ["openai", "anthropic", "google"], key="whatif_provider")
    known = [m["model"] for m in client.catalog(user_id, target_provider)["data"]]
    target_model = right.selectbox("Model", known, index=None, placeholder="pick a model", key="whatif_model")
    if target_model:
        whatif = client.whatif(user_id, filters, target_provider, target_model)
        cols = st.columns(3)
        cols[0].metric("Cost now", ui.usd(whatif["current_cost_usd"]))
        cols[1].metric(f"At {target_model}'s list price", ui.usd(whatif["target_cost_usd"]),
                       delta=ui.usd(whatif["difference_usd"]), delta_color="inverse")
        cols[2].metric("Calls it has no price for", ui.number(whatif["unpriceable_calls"]))
        st.caption("The same tokens, at the target's list price at each call's own time (standard tier).")

st.subheader("Recent runs")
recent = ui.run_table(client.runs(user_id, filters, 5))
picked = ui.table(recent.drop(columns="run_id"), "recent-runs", ui.RUN_COLUMNS, on_select="rerun",
                  selection_mode="single-row", key="recent_runs")
if picked and picked.selection.rows:  # a row opens that run's calls, as on the Runs page
    st.switch_page("views/runs.py", query_params={"run": str(recent.iloc[picked.selection.rows[0]]["run_id"])})
st.page_link("views/runs.py", label="All runs (select one to see its calls)", icon=":material/list_alt:")

st.subheader("Top customers")
customers = ui.frame(client.breakdown(user_id, filters, "customer_id")).head(10)
customers["key"] = customers["key"].fillna("(no customer)")
ui.table(customers[["key", "cost_usd", "calls", "input_tokens", "output_tokens", "unpriced_calls"]], "top-customers",
         {"key": "Customer", "cost_usd": ui.money_column("Cost"), "calls": ui.count_column("Calls"),
          "input_tokens": ui.count_column("Input tokens"), "output_tokens": ui.count_column("Output tokens"),
          "unpriced_calls": ui.count_column("Unpriced calls")})
st.page_link("views/customers.py", label="All customers, with trends and CSV", icon=":material/group:")

st.page_link("views/models.py", label="Models: cost, tokens, latency and errors per model",
             icon=":material/model_training:")
