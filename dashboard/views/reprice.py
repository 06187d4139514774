"""Re-price: apply the prices in force now (your versions, the current price data) to stored calls, after
seeing what would change."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboard import client, ui

user_id = ui.user()["id"]

st.title("Re-price")
st.caption("Costs are fixed when a call is stored. After a back-dated price or newer price data, preview what "
           "changes, then apply it. Earlier costs are kept in the history.")

today = datetime.now(UTC).date()
with st.form("reprice_scope"):
    cols = st.columns(4)
    first = cols[0].date_input("From (UTC)", value=today - timedelta(days=30), key="rp_start")
    last = cols[1].date_input("To (UTC, inclusive)", value=today, key="rp_end")
    provider = cols[2].text_input("Provider (optional)", key="rp_provider")
    model = cols[3].text_input("Model (optional)", key="rp_model")
    asked = st.form_submit_button("Preview")
scope = {"start": datetime.combine(first, time(), UTC).isoformat(),
         "end": datetime.combine(last + timedelta(days=1), time(), UTC).isoformat(),
         "provider": provider.strip() or None, "model": model.strip() or None}
if asked:
    try:
        st.session_state["rp_preview"] = (scope, client.reprice_preview(user_id, scope))
    except client.ApiError as exc:
        st.error(exc.message)

held = st.session_state.get("rp_preview")
if held and held[0] == scope:
    preview = held[1]
    cols = st.columns(4)
    cols[0].metric("Calls in scope", ui.number(preview["events"]))
    cols[1].metric("Calls that change", ui.number(preview["changed_events"]),
                   help=f"{ui.plural(preview['newly_priced_events'], 'unpriced call')} would get a price")
    cols[2].metric("Cost now", ui.usd(preview["current_cost_usd"]))
    cols[3].metric("Cost after", ui.usd(preview["new_cost_usd"]), delta=ui.usd(preview["difference_usd"]),
                   delta_color="off")
    by_day = ui.frame(preview["by_day"], money=("current_cost_usd", "new_cost_usd"))
    if not by_day.empty:
        long = by_day.melt(id_vars="day", value_vars=["current_cost_usd", "new_cost_usd"], var_name="cost",
                           value_name="usd").replace({"current_cost_usd": "now", "new_cost_usd": "after"})
        chart = px.bar(long, x="day", y="usd", color="cost", barmode="group", labels={"day": "", "usd": "USD"})
        chart.update_layout(height=280, margin={"l": 0, "r": 0, "t": 10, "b": 0}, yaxis_tickprefix="$")
        st.plotly_chart(chart, width="stretch")
    st.dataframe(ui.frame(preview["by_model"], money=("current_cost_usd", "new_cost_usd")), hide_index=True,
                 column_config={"current_cost_usd": ui.money_column("Cost now", 6),
                                "new_cost_usd": ui.money_column("Cost after", 6), "events": ui.count_column("Calls")})
    if preview["changed_events"] and st.button("Apply re-pricing", type="primary", key="rp_apply"):
        try:
            run = client.reprice(user_id, scope, preview["new_cost_usd"])
        except client.ApiError as exc:
            st.error(exc.message)
        else:
            st.session_state.pop("rp_preview", None)
            st.success(f"Re-priced {ui.plural(run['changed_events'], 'call')}: "
                       f"{ui.usd(run['current_cost_usd'])} → {ui.usd(run['new_cost_usd'])}.")
    elif not preview["changed_events"]:
        st.info("Nothing would change: every call in scope already has the price in force now.")

st.subheader("History")
history = pd.DataFrame(client.reprice_history(user_id))
if history.empty:
    st.caption("No re-pricing yet.")
else:
    history["filters"] = history["filters"].map(lambda f: ", ".join(f"{k}={v}" for k, v in f.items() if v) or "all")
    st.dataframe(history.drop(columns="id"), hide_index=True)
