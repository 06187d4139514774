"""Prices: your own prices over time (negotiated rates, fine-tunes), back-dated if need be, and list prices."""

from __future__ import annotations

from datetime import UTC, datetime, time

import streamlit as st

from dashboard import client, ui

user_id = ui.user()["id"]

st.title("Prices")
st.caption("A version is in force from its start until the next version of the same model starts. Setting a "
           "price changes no stored cost: re-price the period afterwards to apply it.")

versions = ui.frame(client.prices(user_id), money=())
if versions.empty:
    st.info("No prices of your own yet: every call is priced at genai-prices' list price at its own time.")
else:
    shown = versions[["provider", "model", "version", "effective_from", "effective_to", "input_per_mtok",
                      "cached_input_per_mtok", "cache_write_per_mtok", "output_per_mtok", "discount_percent"]]
    st.dataframe(shown, hide_index=True, column_config={
        "effective_from": "From (UTC)", "effective_to": st.column_config.TextColumn("Until (UTC)", help="empty: now"),
        "input_per_mtok": "Input $/Mtok", "cached_input_per_mtok": "Cached $/Mtok",
        "cache_write_per_mtok": "Cache write $/Mtok", "output_per_mtok": "Output $/Mtok",
        "discount_percent": "Discount %"})
    st.download_button("Download CSV", shown.to_csv(index=False).encode(), file_name="llmobserve-prices.csv",
                       mime="text/csv", icon=":material/download:")

st.subheader("Add a price")
with st.form("add_price"):
    left, right = st.columns(2)
    provider = left.text_input("Provider", value="openai", key="price_provider")
    model = right.text_input("Model (as the provider answers it)", key="price_model")
    day = left.date_input("In force from (UTC date)", value=datetime.now(UTC).date(), key="price_from_day")
    at = right.time_input("at (UTC)", value=time(0, 0), key="price_from_time")
    kind = st.radio("Price", ["Per million tokens", "Discount off the list price"], horizontal=True,
                    key="price_kind")
    cols = st.columns(4)
    amounts = {name: cols[i].text_input(label, key=f"price_{name}") for i, (name, label) in enumerate([
        ("input_per_mtok", "Input $/Mtok"), ("cached_input_per_mtok", "Cached input $/Mtok"),
        ("cache_write_per_mtok", "Cache write $/Mtok"), ("output_per_mtok", "Output $/Mtok")])}
    discount = st.text_input("Discount % (for a discount)", key="price_discount")
    saved = st.form_submit_button("Save price")
if saved:
    body: dict[str, str] = {"effective_from": datetime.combine(day, at, UTC).isoformat()}
    if kind.startswith("Discount"):
        body["discount_percent"] = discount.strip()
    else:
        body.update({name: value.strip() for name, value in amounts.items() if value.strip()})
    try:
        version = client.set_price(user_id, provider.strip(), model.strip(), body)
    except client.ApiError as exc:
        st.error(exc.message)
    else:
        st.success(f"Saved version {version['version']} of {provider}/{model}. Re-price the period to apply it "
                   "to stored calls.")
        st.page_link("views/reprice.py", label="Re-price stored calls", icon=":material/currency_exchange:")

st.subheader("List prices")
left, right = st.columns([1, 2])
catalog_provider = left.selectbox("Provider", ["openai", "anthropic", "google", "azure", "groq", "mistral",
                                               "deepseek", "x-ai", "aws"], key="catalog_provider")
query = right.text_input("Model contains", key="catalog_q")
catalog = client.catalog(user_id, catalog_provider, query or None)
st.caption(f"Price data: {catalog['snapshot_version']} · USD per million tokens, standard tier, in force now")
st.dataframe(ui.frame(catalog["data"], money=()), hide_index=True, column_config={
    "input_per_mtok": "Input", "cached_input_per_mtok": "Cached input", "cache_write_per_mtok": "Cache write",
    "output_per_mtok": "Output", "tiered": st.column_config.CheckboxColumn("Tiered", help="higher rate above N tokens")})
