"""llmobserve dashboard: the only router. Login gate, page list, shared sidebar.

Run with `streamlit run dashboard/app.py --server.port 3000`. Talks to the API at LLMOBSERVE_API_URL only.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts dashboard/ on the path, not the repository root
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from dotenv import load_dotenv  # noqa: E402

from dashboard import auth, client, filters  # noqa: E402

load_dotenv()
st.set_page_config(page_title="llmobserve", page_icon=":material/payments:", layout="wide")

HERE = Path(__file__).resolve().parent
PAGES = [  # (file, title, icon, url_path)
    ("views/overview.py", "Overview", ":material/monitoring:", "overview"),
    ("views/runs.py", "Runs", ":material/list_alt:", "runs"),
    ("views/customers.py", "Customers", ":material/group:", "customers"),
    ("views/models.py", "Models", ":material/model_training:", "models"),
    ("views/tags.py", "Tags", ":material/label:", "tags"),
    ("views/budgets.py", "Budgets", ":material/savings:", "budgets"),
    ("views/prices.py", "Prices", ":material/sell:", "prices"),
    ("views/reprice.py", "Re-price", ":material/currency_exchange:", "reprice"),
    ("views/reconcile.py", "Reconcile", ":material/fact_check:", "reconcile"),
    ("views/settings.py", "Settings", ":material/settings:", "settings"),
]
DATA_PAGES = {"overview", "runs", "customers", "models", "tags"}


def main() -> None:
    try:
        user = auth.current_user()
    except client.ApiError as exc:
        st.title("llmobserve")
        st.error(exc.message)
        return
    # st.navigation comes before anything that can rerun the script (the cookie component): a deep link's
    # first run must tell the browser its page before any rerun asks for one. See auth.sync_cookie.
    if user is None:
        # Same url paths as the real pages, all showing the login form: /settings asks for a login, then
        # opens Settings; the page list itself stays hidden.
        login_pages = [st.Page(auth.login_page, title="Log in", url_path=url, default=(url == "overview"))
                       for _, _, _, url in PAGES]
        login = st.navigation(login_pages, position="hidden")
        filters.remember_link()
        auth.sync_cookie()
        login.run()
        return

    page = st.navigation([st.Page(HERE / file, title=title, icon=icon, url_path=url, default=(url == "overview"))
                          for file, title, icon, url in PAGES])
    auth.sync_cookie()
    with st.sidebar:
        name = " ".join(filter(None, [user.get("first_name"), user.get("last_name")])) or user.get("email")
        st.caption(f"Signed in as **{name}**  \n{user.get('email') or ''}")
        st.button("Log out", on_click=auth.request_logout, icon=":material/logout:")
    try:
        if page.url_path in DATA_PAGES or page.url_path == "":
            filters.sidebar(user["id"])
        st.session_state["llmo_user"] = user
        page.run()
    except client.ApiError as exc:
        st.error(exc.message)


main()
