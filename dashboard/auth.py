"""Login for the dashboard: streamlit-authenticator for the session and its signed re-login cookie, the API for
every password check (so the 5-failures-in-15-minutes lockout is server-side and survives restarts).

- Passwords are checked by `POST /admin/dashboard/login`, never against the cached hashes, so a locked or
  deactivated account cannot get in through the dashboard's own check.
- The re-login cookie is stauth's HS256 JWT, signed with LLMOBSERVE_COOKIE_KEY or a key generated into
  `data/dashboard_cookie_key` (0600); never stauth's default key.
- A cookie only logs in a user who is in the API's credentials (active, with a password), and every run
  re-reads `/v1/me`: a deactivated account is logged out at once, old cookie or not.
- Deciding who is logged in renders nothing; the cookie component (which sets and deletes the cookie, and
  reruns the script once it has loaded) is rendered by `sync_cookie()`, which app.py calls only after
  `st.navigation`. Rendered earlier, its rerun could reach the server before the browser knew the page of a
  deep link, and `/runs` would land on Overview (see docs/dashboard.md, "Deep links").
"""

from __future__ import annotations

import os
import time
from typing import Any

import jwt
import streamlit as st
from streamlit_authenticator.controllers import AuthenticationController, CookieController
from streamlit_authenticator.utilities import LoginError

from common.secret_files import MIN_SECRET_LENGTH, is_weak, load_or_create_secret
from dashboard import client

COOKIE_NAME = "llmobserve_session"
COOKIE_DAYS = 7.0
_COOKIE_CHANGE = "llmo_cookie_change"  # "set" or "delete", applied by sync_cookie() after st.navigation
_LOGOUT = "llmo_logout"


def cookie_key() -> str:
    """LLMOBSERVE_COOKIE_KEY, or a random key generated once into data/dashboard_cookie_key and reused."""
    key = os.environ.get("LLMOBSERVE_COOKIE_KEY", "").strip()
    if key:
        if is_weak(key):
            raise client.ApiError(f"LLMOBSERVE_COOKIE_KEY must be a random secret of at least {MIN_SECRET_LENGTH} "
                                  "characters; unset it to have one generated.")
        return key
    if os.environ.get("DATABASE_URL"):  # a deployment with replicas: every dashboard must sign alike
        raise client.ApiError("LLMOBSERVE_COOKIE_KEY is not set: with DATABASE_URL (PostgreSQL, any number of "
                              "dashboards) it must come from the environment, the same value on every dashboard.")
    return load_or_create_secret(client.data_dir() / "dashboard_cookie_key")


def _controller() -> AuthenticationController:
    # credentials as a dict from the API (never stauth's YAML-path mode); hashes only, so no auto-hashing.
    # No cookie controller here: creating one renders its component (see sync_cookie).
    return AuthenticationController(client.credentials(), auto_hash=False, secret_key=cookie_key())


def _clear_session() -> None:
    for name in [k for k in st.session_state if str(k).startswith("llmo_")]:
        del st.session_state[name]


def _cookie_token() -> dict[str, Any] | None:
    """The browser's valid, unexpired re-login cookie, decoded (stauth's own format and checks), or None.

    Read from the request headers (`st.context.cookies`), so it is there on the very first run of a session."""
    if st.session_state.get("logout"):  # logged out in this session: the browser may still send the old cookie
        return None
    try:
        raw = st.context.cookies.get(COOKIE_NAME)
    except Exception:  # noqa: BLE001 - no browser context (bare mode): no cookie
        return None
    if not isinstance(raw, str):
        return None
    try:
        token = jwt.decode(raw, cookie_key(), algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    if isinstance(token, dict) and token.get("username") and float(token.get("exp_date") or 0) > time.time():
        return token
    return None


def _change_cookie(change: str) -> None:
    st.session_state[_COOKIE_CHANGE] = change


def sync_cookie() -> None:
    """Render stauth's cookie component and apply a pending set or delete. Call only after `st.navigation`.

    The component reruns the script once it has loaded in the browser; that rerun asks for the page the
    browser believes it is on. Before the navigation message arrives that is the entry script, not the deep
    link's page, and the server then falls back to the default page (Overview) and rewrites the URL to `/`."""
    cookies = CookieController(COOKIE_NAME, cookie_key(), COOKIE_DAYS)
    change = st.session_state.pop(_COOKIE_CHANGE, None)
    if change == "set" and st.session_state.get("authentication_status"):
        cookies.set_cookie()  # rendered in a stable run (the one after the login), so the browser stores it
    elif change == "delete":
        cookies.delete_cookie()


def request_logout() -> None:
    """on_click of the sidebar button: the logout itself happens at the top of the next run."""
    st.session_state[_LOGOUT] = True


def current_user() -> dict[str, Any] | None:
    """The logged-in, still-active user (from /v1/me), or None. Handles logout and cookie re-login.

    Renders nothing (the cookie itself is set or deleted later, by sync_cookie)."""
    state = st.session_state
    token = None if state.get("authentication_status") else _cookie_token()
    if token:
        client.credentials.clear()  # a cookie re-login (once per browser session) checks fresh credentials
    controller = _controller()
    if state.pop(_LOGOUT, False):
        controller.logout()
        _clear_session()
        _change_cookie("delete")
        return None
    if not state.get("authentication_status"):
        if token:
            try:
                controller.login(token=token)
            except LoginError:  # the cookie names a user who is no longer allowed in
                _change_cookie("delete")
        if not state.get("authentication_status"):
            return None
    record = client.credentials()["usernames"].get(str(state.get("username") or "").lower())
    user_id = state.get("llmo_user_id") or (record or {}).get("id")
    try:
        user = client.me(user_id) if user_id else None
    except client.ApiError as exc:
        if exc.status not in (404, 400):
            raise
        user = None
    if not user or not user.get("active"):
        controller.logout()
        _clear_session()
        _change_cookie("delete")
        st.session_state["llmo_notice"] = "This account is no longer active. Ask an operator if this is a mistake."
        return None
    state["llmo_user_id"] = user["id"]
    return user


def _log_in(email: str, password: str) -> None:
    if not email or not password:
        st.error("Enter your email and password.")
        return
    try:
        user = client.login(email.strip(), password)
    except client.ApiError as exc:
        st.error(exc.message)
        return
    state = st.session_state
    state.update({"authentication_status": True, "username": (user["email"] or email).strip().lower(),
                  "email": user["email"], "name": " ".join(filter(None, [user["first_name"], user["last_name"]])),
                  "logout": None, "llmo_user_id": user["id"], _COOKIE_CHANGE: "set"})
    client.credentials.clear()
    st.rerun()


def _sign_up(email: str, password: str, confirm: str) -> None:
    if not email or not password:
        st.error("Enter the email your account was created with, and a password.")
    elif len(password) < 8:
        st.error("Choose a password of at least 8 characters.")
    elif password != confirm:
        st.error("The two passwords differ.")
    else:
        try:
            client.signup(email.strip(), password)
        except client.ApiError as exc:
            st.error(exc.message)
        else:
            st.success(f"Password set for {email.strip()}. Log in on the Log in tab.")


def login_page() -> None:
    """The only thing anyone sees before logging in, whatever the URL."""
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        _forms()


def _forms() -> None:
    st.title("llmobserve")
    st.caption("LLM cost observability: what each of your customers costs you.")
    if notice := st.session_state.pop("llmo_notice", None):
        st.warning(notice)
    log_in_tab, sign_up_tab = st.tabs(["Log in", "Sign up"])
    with log_in_tab, st.form("login"):
        email = st.text_input("Email", key="login_email")
        password = st.text_input("Password", type="password", key="login_password")
        if st.form_submit_button("Log in", type="primary"):
            _log_in(email, password)
    with sign_up_tab:
        st.caption("Set a dashboard password for the email your llmobserve account was created with "
                   "(via Clerk sign-up or by an operator).")
        with st.form("signup"):
            email = st.text_input("Email", key="signup_email")
            password = st.text_input("Password (8+ characters)", type="password", key="signup_password")
            confirm = st.text_input("Repeat password", type="password", key="signup_confirm")
            if st.form_submit_button("Sign up"):
                _sign_up(email, password, confirm)
