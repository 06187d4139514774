"""Customers: what each of your customers cost in the period, with its daily trend; sortable, downloadable."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import client, ui

user_id = ui.user()["id"]
filters, _, period = ui.filters()

st.title("Customers")
st.caption(f"{period} · click a column header to sort · trend is cost per day (UTC)")
customers = ui.frame(client.breakdown(user_id, filters, "customer_id"))
if customers.empty:
    st.info('No calls in this period. Tag calls with a customer: `llmobserve.observe(api_key="llmo_…", '
            'customer_id="cust_1")`, or `with llmobserve.customer("cust_2"):` around a block.')
    st.stop()

# One timeseries request for every customer's trend, padded with zero-cost days.
series = ui.frame(client.timeseries(user_id, filters, "day", "customer_id"))
if not series.empty:
    series["bucket"] = pd.to_datetime(series["bucket"], utc=True).dt.tz_localize(None)
    days = pd.date_range(series["bucket"].min(), series["bucket"].max(), freq="D")
    grid = series.pivot_table(index="bucket", columns=series["group"].fillna(""), values="cost_usd",
                              aggfunc="sum").reindex(days, fill_value=0).fillna(0)
    trends = {name: [float(v) for v in grid[name]] for name in grid.columns}
else:
    trends = {}

customers["customer"] = customers["key"].fillna("(no customer)")
customers["trend"] = [trends.get(key or "", []) for key in customers["key"]]
customers["tokens"] = customers["input_tokens"] + customers["output_tokens"]
customers["error_rate"] = customers["error_calls"] / customers["calls"]
table = customers[["customer", "cost_usd", "trend", "calls", "tokens", "unpriced_calls", "unpriced_tokens",
                   "error_rate", "latency_p95_ms"]].sort_values("cost_usd", ascending=False)

cols = st.columns(3)
cols[0].metric("Customers", ui.number(len(table)))
cols[1].metric("Total cost", ui.usd(customers["cost_usd"].sum()))
cols[2].metric("Cost per customer (avg)", ui.usd(customers["cost_usd"].mean()))

ui.table(
    table, "customers", height=min(38 + 35 * len(table), 640),
    column_config={"customer": "Customer", "cost_usd": ui.money_column("Cost"),
                   "trend": st.column_config.LineChartColumn("Trend", width="medium", y_min=0),
                   "calls": ui.count_column("Calls"), "tokens": ui.count_column("Tokens"),
                   "unpriced_calls": ui.count_column("Unpriced calls"),
                   "unpriced_tokens": ui.count_column("Unpriced tokens"),
                   "error_rate": st.column_config.NumberColumn("Error rate", format="percent"),
                   "latency_p95_ms": st.column_config.NumberColumn("p95 latency", format="%.0f ms")})
