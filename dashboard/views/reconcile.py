"""Reconcile: what the provider's own usage export says, day by day and model by model, beside what
llmobserve tracked."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboard import client, ui

user_id = ui.user()["id"]

st.title("Reconcile")
st.caption("Import the JSON of OpenAI's usage (`/v1/organization/usage/completions?bucket_width=1d&group_by=model`) "
           "or costs export, or Anthropic's usage_report/messages or cost_report. Importing a day again replaces it.")

with st.form("import_export", clear_on_submit=True):
    left, right = st.columns([1, 3])
    provider = left.selectbox("Provider", ["openai", "anthropic"], key="rc_provider")
    upload = right.file_uploader("Export (JSON: one page or a list of pages)", type=["json"], key="rc_file")
    sent = st.form_submit_button("Import")
if sent and upload is not None:
    try:
        done = client.import_export(user_id, provider, upload.getvalue())
    except client.ApiError as exc:
        st.error(f"{upload.name}: {exc.message}")
    else:
        st.success(f"Imported {done['kind']} for {ui.plural(len(done['days']), 'day')} ({done['rows']} rows).")

chosen = st.selectbox("Show", ["all providers", "openai", "anthropic"], key="rc_show")
rows = ui.frame(client.reconciliation(user_id, provider=None if chosen == "all providers" else chosen),
                money=("provider_cost_usd", "tracked_cost_usd"))
if rows.empty:
    st.info("Nothing imported yet.")
    st.stop()

counts = rows["status"].value_counts()
cols = st.columns(4)
for col, status in zip(cols, ["match", "mismatch", "untracked", "not_in_export"]):
    col.metric(status.replace("_", " "), int(counts.get(status, 0)))

daily = rows.groupby("day", as_index=False)[["provider_input_tokens", "tracked_input_tokens"]].sum()
long = daily.melt(id_vars="day", var_name="side", value_name="input tokens").replace(
    {"provider_input_tokens": "provider", "tracked_input_tokens": "tracked"})
chart = px.bar(long, x="day", y="input tokens", color="side", barmode="group", labels={"day": ""})
chart.update_layout(height=280, margin={"l": 0, "r": 0, "t": 10, "b": 0})
st.plotly_chart(chart, width="stretch")


def _highlight(row):  # type: ignore[no-untyped-def]
    colour = {"mismatch": "background-color: #fde2e1", "untracked": "background-color: #fff3cd",
              "not_in_export": "background-color: #fff3cd"}.get(row["status"], "")
    return [colour] * len(row)


columns = ["day", "provider", "model", "status", "provider_input_tokens", "tracked_input_tokens", "input_diff_pct",
           "provider_output_tokens", "tracked_output_tokens", "output_diff_pct", "provider_cached_input_tokens",
           "tracked_cached_input_tokens", "provider_requests", "tracked_calls", "provider_cost_usd", "tracked_cost_usd"]
st.dataframe(rows[columns].style.apply(_highlight, axis=1), hide_index=True, key="rc_rows",
             column_config={"input_diff_pct": st.column_config.NumberColumn("Input diff", format="%.2f%%"),
                            "output_diff_pct": st.column_config.NumberColumn("Output diff", format="%.2f%%"),
                            "provider_cost_usd": ui.money_column("Provider cost"),
                            "tracked_cost_usd": ui.money_column("Tracked cost")})
st.download_button("Download CSV", rows[columns].to_csv(index=False).encode(), file_name="llmobserve-reconcile.csv",
                   mime="text/csv", icon=":material/download:")
