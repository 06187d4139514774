"""Tags: cost by the value of one tag (or by run name), and over time; calls without it in their own row."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboard import client, ui

user_id = ui.user()["id"]
filters, interval, period = ui.filters()

st.title("Tags")
st.caption(f"{period} · tag your calls with `llmobserve.observe(..., tags={{\"team\": \"search\"}})` or "
           "`with llmobserve.tags(feature=\"autocomplete\"):`")
keys = client.tag_keys(user_id, filters)
choices = {f"tag:{k['key']}": f"{k['key']} ({ui.plural(k['values'], 'value')}, {ui.plural(k['calls'], 'call')})"
           for k in keys}
choices["run_name"] = "run name"
if st.query_params.get("by") not in choices:
    st.query_params["by"] = next(iter(choices))
by = st.selectbox("Break down by", list(choices), format_func=choices.__getitem__,
                  index=list(choices).index(st.query_params["by"]))
st.query_params["by"] = by
name = by.removeprefix("tag:") if by != "run_name" else "run name"

rows = ui.frame(client.breakdown(user_id, filters, by))
if rows.empty:
    st.info("No calls match these filters. Widen the time range or clear a filter in the sidebar.")
    st.stop()
rows["value"] = rows["key"].fillna(f"(no {name})")
rows["tokens"] = rows["input_tokens"] + rows["output_tokens"]

series = ui.frame(client.timeseries(user_id, filters, interval, by))
if not series.empty:
    series["group"] = series["group"].fillna(f"(no {name})")
    chart = px.bar(series, x="bucket", y="cost_usd", color="group",
                   labels={"bucket": "", "cost_usd": "Cost (USD)", "group": name})
    chart.update_layout(height=300, margin={"l": 0, "r": 0, "t": 10, "b": 0},
                        legend={"orientation": "h", "y": 1.12, "title": None}, yaxis_tickprefix="$")
    st.plotly_chart(chart, width="stretch")

ui.table(rows[["value", "cost_usd", "calls", "tokens", "error_calls", "unpriced_calls", "latency_p50_ms",
               "latency_p95_ms"]], f"by-{by.replace(':', '-')}",
         {"value": name.capitalize(), "cost_usd": ui.money_column("Cost"), "calls": ui.count_column("Calls"),
          "tokens": ui.count_column("Tokens"), "error_calls": ui.count_column("Errors"),
          "unpriced_calls": ui.count_column("Unpriced calls"),
          "latency_p50_ms": st.column_config.NumberColumn("p50 latency", format="%.0f ms"),
          "latency_p95_ms": st.column_config.NumberColumn("p95 latency", format="%.0f ms")})
