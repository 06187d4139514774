"""llmobserve dashboard (placeholder until the dashboard issue lands)."""

import streamlit as st

st.set_page_config(page_title="llmobserve", page_icon="💸")
st.title("llmobserve")
st.write("The dashboard is being built. The API runs on port 8000; see /docs there.")
