"""Shared pieces for the pages: the sidebar filters, money and number formatting, data-frame helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import client

RANGES: dict[str, timedelta | None] = {
    "Last 24 hours": timedelta(days=1), "Last 7 days": timedelta(days=7), "Last 30 days": timedelta(days=30),
    "Last 90 days": timedelta(days=90), "All time": None, "Custom": None,
}
ALL = "All"
_FILTERS = "llmo_filters"


def usd(value: Any) -> str:
    """A cost as people read it: cents for dollars, more digits for the fractions of a cent LLM calls cost."""
    amount = Decimal(str(value or 0))
    if amount == 0:
        return "$0.00"
    if amount >= 1:
        return f"${amount:,.2f}"
    if amount >= Decimal("0.01"):
        return f"${amount:.4f}"
    return f"${amount:.6f}"


def duration(ms: Any) -> str:
    seconds = float(ms or 0) / 1000
    if seconds < 60:
        return f"{seconds:.2f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def when(iso: str | None) -> str:
    """An API timestamp (UTC) as 'YYYY-MM-DD HH:MM:SS'."""
    return iso[:19].replace("T", " ") if iso else "never"


def number(value: Any) -> str:
    return f"{int(value or 0):,}"


def _window(label: str) -> tuple[str | None, str | None, str]:
    """(start, end, interval). Starts are floored to the minute so cached answers are reused between reruns."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    if label == "Custom":
        today = now.date()
        picked = st.sidebar.date_input("Dates (UTC)", value=(today - timedelta(days=6), today), key="f_dates",
                                       max_value=today)
        first, last = (picked[0], picked[-1]) if isinstance(picked, tuple) and picked else (today, today)
        if not isinstance(first, date):
            first = last = today
        start = datetime.combine(first, time(), UTC)
        end = datetime.combine(last + timedelta(days=1), time(), UTC)
        return start.isoformat(), end.isoformat(), "hour" if (end - start) <= timedelta(days=2) else "day"
    delta = RANGES.get(label)
    if delta is None:
        return None, None, "day"
    return (now - delta).isoformat(), None, "hour" if delta <= timedelta(days=2) else "day"


def sidebar_filters(user_id: str) -> None:
    """Time range, provider, model and customer, in the shared sidebar (so they persist across pages)."""
    sidebar = st.sidebar
    sidebar.subheader("Filters")
    label = sidebar.selectbox("Time range", list(RANGES), index=2, key="f_range")
    start, end, interval = _window(label)
    period = client.Filters(start=start, end=end)
    options: dict[str, list[str]] = {}
    for by in ("provider", "model", "customer_id"):
        rows = client.breakdown(user_id, period, by)
        options[by] = [ALL] + sorted({r["key"] for r in rows if r["key"]})
    chosen = {
        by: sidebar.selectbox(title, options[by], key=f"f_{by}")
        for by, title in (("provider", "Provider"), ("model", "Model"), ("customer_id", "Customer"))
    }
    st.session_state[_FILTERS] = (
        client.Filters(start=start, end=end, **{k: (None if v == ALL else v) for k, v in chosen.items()}),
        interval, label)


def filters() -> tuple[client.Filters, str, str]:
    """(filters, interval, label of the time range) chosen in the sidebar."""
    return st.session_state.get(_FILTERS, (client.Filters(), "day", "All time"))


def frame(rows: list[dict[str, Any]], money: tuple[str, ...] = ("cost_usd",)) -> pd.DataFrame:
    """Rows from the API as a data frame, with the decimal-string costs made numeric for sorting and charts."""
    df = pd.DataFrame(rows)
    for column in money:
        if column in df:
            df[column] = pd.to_numeric(df[column], errors="coerce")
    if {"cost_usd", "calls", "unpriced_calls"} <= set(df.columns):
        # a row whose every call is unpriced has no known cost: show it blank, never as $0
        df.loc[(df["calls"] > 0) & (df["unpriced_calls"] == df["calls"]), "cost_usd"] = float("nan")
    return df


def run_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Runs from `GET /v1/runs` as the Overview lists them: name (or id), customer, calls, cost, status, when."""
    runs = frame(rows)
    if runs.empty:
        return pd.DataFrame(columns=["run", "customer_id", "calls", "cost_usd", "status", "started_at", "run_id"])
    runs["run"] = runs["run_name"].fillna(runs["run_id"])
    runs["started_at"] = pd.to_datetime(runs["started_at"], utc=True)
    return runs[["run", "customer_id", "calls", "cost_usd", "status", "started_at", "run_id"]]


def money_column(label: str, digits: int = 4) -> Any:
    return st.column_config.NumberColumn(label, format=f"$%.{digits}f")


def count_column(label: str) -> Any:
    return st.column_config.NumberColumn(label, format="localized")


RUN_COLUMNS = {  # for run_table's frame
    "run": "Run", "customer_id": "Customer", "calls": count_column("Calls"), "cost_usd": money_column("Cost"),
    "status": "Status",
    "started_at": st.column_config.DatetimeColumn("Started", format="distance", help="Times in UTC"),
}


def plural(count: int, word: str) -> str:
    return f"{number(count)} {word}{'' if count == 1 else 's'}"


SNIPPET = '''import llmobserve
from openai import OpenAI

llmobserve.observe(api_key="llmo_…", customer_id="cust_1")  # paste your key from Settings

client = OpenAI()
client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello!"}])
'''


def onboarding() -> None:
    """What a new user does next, in order, when there is no data yet."""
    st.info("No LLM calls recorded yet. Three steps to see your first cost:")
    st.markdown("**1.** Copy your API key (it starts with `llmo_`) on the Settings page.")
    st.page_link("views/settings.py", label="Open Settings to copy your key", icon=":material/key:")
    st.markdown("**2.** Install the SDK in your app:")
    st.code("pip install llmobserve", language="bash")
    st.markdown("**3.** Turn it on with your key, then make an OpenAI (or Anthropic) call as usual:")
    st.code(SNIPPET, language="python")
    st.caption("Calls show up here within seconds. Use `customer_id` to see what each of your customers costs you.")


def user() -> dict[str, Any]:
    """The logged-in user, as app.py checked it with the API on this run (a view never runs without one)."""
    current = st.session_state.get("llmo_user")
    if not current:
        st.stop()
    return current
