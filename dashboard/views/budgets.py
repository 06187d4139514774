"""Budgets: each budget's progress in its current period with its projection; create, edit, delete;
alert channels with "send test"; the latest deliveries."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import client, ui

user_id = ui.user()["id"]
PERIODS = ["month", "week", "day"]
STATUS = {"ok": ":green[ok]", "warning": ":orange[warning]", "exceeded": ":red[exceeded]"}


def scope_text(scope: dict) -> str:
    parts = [f"{k.replace('_id', '')} {v}" for k, v in scope.items() if v]
    return ", ".join(parts) or "all calls"


def thresholds(text: str) -> list[float]:
    return [float(t) for t in text.replace("%", "").split(",") if t.strip()]


def budget_card(b: dict) -> None:
    with st.container(border=True):
        head = st.columns([3, 1])
        head[0].markdown(f"**{b['name']}** · {scope_text(b['scope'])} · per {b['period']} ({b['timezone']})"
                         f"{' · enforced in the SDK' if b['enforce'] else ''}")
        head[1].markdown(STATUS[b["status"]])
        st.progress(min(b["percent"], 100) / 100,
                    text=f"{ui.usd(b['spent_usd'])} of {ui.usd(b['amount_usd'])} ({b['percent']:.1f}%) · "
                         f"projected {ui.usd(b['projected_usd'])} by {ui.when(b['period_end'])}")
        if b["unpriced_calls"]:
            st.warning(f"{ui.plural(b['unpriced_calls'], 'call')} in scope had no known price and are not in "
                       "the spend: set a price on the Settings page or in the API.")
        with st.expander("Edit or delete"):
            with st.form(f"edit_{b['id']}"):
                name = st.text_input("Name", b["name"])
                amount = st.number_input("Amount (USD)", min_value=0.01, value=float(b["amount_usd"]), step=1.0)
                marks = st.text_input("Thresholds (%)", ", ".join(f"{t:g}" for t in b["thresholds_percent"]))
                enforce = st.checkbox("Enforce in the SDK", b["enforce"])
                if st.form_submit_button("Save"):
                    client.update_budget(user_id, b["id"], {"name": name, "amount_usd": str(amount),
                                                            "thresholds_percent": thresholds(marks),
                                                            "enforce": enforce})
                    st.rerun()
            if st.button("Delete budget", key=f"delete_{b['id']}", icon=":material/delete:"):
                client.delete_budget(user_id, b["id"])
                st.rerun()


st.title("Budgets")
rows = client.budgets(user_id)
if not rows:
    st.info("No budgets yet. A budget sums your calls' cost per day, week or month (in its own timezone) "
            "for a customer, provider, model or tag, and alerts your channels as it fills up.")
for b in rows:
    budget_card(b)

with st.expander("New budget", expanded=not rows):
    with st.form("new_budget"):
        cols = st.columns(3)
        name = cols[0].text_input("Name", placeholder="acme monthly")
        amount = cols[1].number_input("Amount (USD)", min_value=0.01, value=100.0, step=10.0)
        period = cols[2].selectbox("Period", PERIODS)
        cols = st.columns(4)
        customer = cols[0].text_input("Customer")
        provider = cols[1].text_input("Provider")
        model = cols[2].text_input("Model")
        tag = cols[3].text_input("Tag (key:value)")
        cols = st.columns(3)
        timezone = cols[0].text_input("Timezone (IANA)", "UTC")
        marks = cols[1].text_input("Thresholds (%)", "50, 80, 100")
        enforce = cols[2].checkbox("Enforce in the SDK")
        if st.form_submit_button("Create budget"):
            scope = {k: v.strip() for k, v in (("customer_id", customer), ("provider", provider), ("model", model),
                                               ("tag", tag)) if v.strip()}
            client.create_budget(user_id, {"name": name.strip() or "budget", "amount_usd": str(amount),
                                           "period": period, "timezone": timezone.strip(), "scope": scope,
                                           "thresholds_percent": thresholds(marks), "enforce": enforce})
            st.rerun()

st.subheader("Alert channels")
for channel in client.alert_channels(user_id):
    cols = st.columns([4, 1, 1])
    cols[0].markdown(f"**{channel['type']}** · `{channel['url']}`")
    if cols[1].button("Send test", key=f"test_{channel['id']}", icon=":material/send:"):
        result = client.test_alert_channel(user_id, channel["id"])
        (st.success if result["status"] == "delivered" else st.error)(
            f"Test delivery {result['status']}: {result.get('error') or 'HTTP ' + str(result.get('status_code'))}")
    if cols[2].button("Remove", key=f"remove_{channel['id']}"):
        client.delete_alert_channel(user_id, channel["id"])
        st.rerun()
with st.form("new_channel"):
    cols = st.columns([1, 4])
    kind = cols[0].selectbox("Type", ["webhook", "slack"])
    url = cols[1].text_input("URL", placeholder="https://hooks.slack.com/services/…")
    if st.form_submit_button("Add channel"):
        created = client.create_alert_channel(user_id, kind, url.strip())
        if created.get("secret"):
            st.success("Channel added. Its signing secret is shown only now: verify deliveries with "
                       "`svix.webhooks.Webhook(secret).verify(body, headers)`.")
            st.code(created["secret"], language=None)
        else:
            st.success("Channel added.")

st.subheader("Recent deliveries")
deliveries = client.alert_deliveries(user_id)
if deliveries:
    table = pd.DataFrame([{"when": d["created_at"], "type": d["type"], "status": d["status"],
                           "attempts": len(d["attempts"]), "last status code": d["last_status_code"],
                           "next attempt": d["next_attempt_at"], "budget": d["budget_id"], "id": d["id"]}
                          for d in deliveries])
    st.dataframe(table, hide_index=True)
    st.download_button("Download CSV", table.to_csv(index=False).encode(), file_name="llmobserve-deliveries.csv",
                       mime="text/csv", icon=":material/download:")
else:
    st.caption("No deliveries yet.")
