"""Models: cost, calls, tokens, latency, errors and cache savings per model, for the sidebar's filters."""

from __future__ import annotations

import streamlit as st

from dashboard import client, ui

user_id = ui.user()["id"]
filters, _, period = ui.filters()

st.title("Models")
st.caption(f"{period} · one row per model as the provider answered it · times in UTC")
models = ui.frame(client.breakdown(user_id, filters, "model"))
if models.empty:
    st.info("No calls match these filters. Widen the time range or clear a filter in the sidebar.")
    st.stop()

models["tokens"] = models["input_tokens"] + models["output_tokens"]
models["error_rate"] = models["error_calls"] / models["calls"]
cols = st.columns(3)
cols[0].metric("Models", ui.number(len(models)))
cols[1].metric("Cost", ui.usd(models["cost_usd"].sum()))
cols[2].metric("Cache savings", ui.usd(models["cache_savings_usd"].sum()),
               help="Cache-read tokens at the uncached input price, less what they cost (cache writes not counted).")
if models["unpriced_calls"].sum():
    st.warning("Models with no known price have a blank cost: their calls and tokens are counted apart, never "
               "as $0. Set a price for them on the API (`PUT /v1/prices/{provider}/{model}`).",
               icon=":material/warning:")

ui.table(models[["key", "cost_usd", "calls", "tokens", "input_tokens", "cached_input_tokens", "output_tokens",
                 "cache_savings_usd", "latency_p50_ms", "latency_p95_ms", "error_calls", "error_rate",
                 "unpriced_calls", "unpriced_tokens"]], "models",
         {"key": "Model", "cost_usd": ui.money_column("Cost"), "calls": ui.count_column("Calls"),
          "tokens": ui.count_column("Tokens"), "input_tokens": ui.count_column("Input"),
          "cached_input_tokens": ui.count_column("Cached input"), "output_tokens": ui.count_column("Output"),
          "cache_savings_usd": ui.money_column("Cache savings"),
          "latency_p50_ms": st.column_config.NumberColumn("p50 latency", format="%.0f ms"),
          "latency_p95_ms": st.column_config.NumberColumn("p95 latency", format="%.0f ms"),
          "error_calls": ui.count_column("Errors"),
          "error_rate": st.column_config.NumberColumn("Error rate", format="percent"),
          "unpriced_calls": ui.count_column("Unpriced calls"), "unpriced_tokens": ui.count_column("Unpriced tokens")})
