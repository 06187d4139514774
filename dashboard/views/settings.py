"""Settings: who you are, your initial API key (shown once), and your keys: generate and revoke."""

from __future__ import annotations

import streamlit as st

from dashboard import client, ui

user = ui.user()
user_id = user["id"]
state = st.session_state

st.title("Settings")

st.subheader("Profile")
cols = st.columns(3)
cols[0].text_input("Email", user.get("email") or "", disabled=True)
cols[1].text_input("Name", " ".join(filter(None, [user.get("first_name"), user.get("last_name")])), disabled=True)
cols[2].text_input("User type", user.get("user_type") or "", disabled=True)

# The API hands out the initial key in full exactly once; keep it for this session so a rerun does not lose it.
st.subheader("Your API key")
initial = state.get("llmo_initial_key")
if initial is None:
    initial = state["llmo_initial_key"] = client.reveal_initial_key(user_id)
if initial.get("api_key"):
    st.warning("**This key is shown only once.** Copy it now (button at the right of the box) and keep it "
               "somewhere safe. After you leave this session it cannot be shown again.", icon=":material/warning:")
    st.code(initial["api_key"], language=None)
    st.caption('Use it in your app: `llmobserve.observe(api_key="<this key>", customer_id="cust_1")`.')
elif initial.get("prefix"):
    st.info(f"Your initial key (`{initial['prefix']}…`) has already been shown once and cannot be shown again. "
            "Lost it? Generate a new key below, then revoke the old one.")
else:
    st.info("Generate a key below to start sending calls.")

st.subheader("Generate a new API key")
SCOPES = {"ingest": "ingest: send calls (SDK, OpenTelemetry)", "read": "read: analytics, runs, exports (notebooks)"}
with st.form("new_key", clear_on_submit=True):
    name = st.text_input("Key name", placeholder="e.g. production, staging, notebook", max_chars=100)
    scopes = st.multiselect("Scopes", list(SCOPES), default=["ingest"], format_func=SCOPES.__getitem__,
                            help="A key inside your app needs only ingest; a notebook needs read.")
    if st.form_submit_button("Generate New API Key", type="primary"):
        if not name.strip():
            st.error("Give the key a name, so you can tell your keys apart.")
        elif not scopes:
            st.error("Choose at least one scope: ingest, read, or both.")
        else:
            state["llmo_new_key"] = client.create_key(user_id, name.strip(), scopes)
if new_key := state.get("llmo_new_key"):
    st.warning(f"**New key “{new_key['name']}” ({', '.join(new_key['scopes'])}) — shown only once.** Copy it now.",
               icon=":material/warning:")
    st.code(new_key["api_key"], language=None)
    st.button("I have copied it", on_click=state.pop, args=("llmo_new_key", None))


def revoke(key_id: str) -> None:
    try:
        client.revoke_key(user_id, key_id)
        state["llmo_key_notice"] = "Key revoked: requests made with it are now refused."
    except client.ApiError as exc:
        state["llmo_key_notice"] = f"Could not revoke the key: {exc.message}"
    state.pop("llmo_confirm_revoke", None)


st.subheader("Your keys")
if notice := state.pop("llmo_key_notice", None):
    st.info(notice)
keys = client.keys(user_id)
if not keys:
    st.caption("No keys yet.")
WIDTHS = [3, 2, 2, 3, 3, 2, 2]
header = st.columns(WIDTHS)
for col, label in zip(header, ["Name", "Prefix", "Scopes", "Created (UTC)", "Last used (UTC)", "Status", ""],
                      strict=True):
    col.markdown(f"**{label}**" if label else "")
for key in keys:
    row = st.columns(WIDTHS, vertical_alignment="center")
    row[0].write(key["name"])
    row[1].markdown(f"`{key['prefix']}…`")
    row[2].write(", ".join(key.get("scopes") or []))
    row[3].write(ui.when(key["created_at"]))
    row[4].write(ui.when(key["last_used_at"]))
    row[5].markdown(f":red[revoked {ui.when(key['revoked_at'])[:10]}]" if key["revoked"] else ":green[active]")
    if key["revoked"]:
        continue
    if state.get("llmo_confirm_revoke") == key["id"]:
        row[6].button("Confirm revoke", key=f"confirm-{key['id']}", type="primary", on_click=revoke,
                      args=(key["id"],))
        st.caption(f"Revoking “{key['name']}” cannot be undone: apps using it stop being recorded.")
    else:
        row[6].button("Revoke", key=f"revoke-{key['id']}", on_click=state.__setitem__,
                      args=("llmo_confirm_revoke", key["id"]))
