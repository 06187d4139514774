"""Shared pieces for the pages: the sidebar filters, money and number formatting, data-frame helpers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import client
from dashboard import filters as url_filters

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


def filters() -> tuple[client.Filters, str, str]:
    """(filters, interval, label of the time range) chosen in the sidebar (dashboard/filters.py)."""
    return url_filters.chosen()


def frame(rows: list[dict[str, Any]], money: tuple[str, ...] = ("cost_usd", "cache_savings_usd")) -> pd.DataFrame:
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


def table(df: pd.DataFrame, name: str, column_config: dict[str, Any] | None = None, **options: Any) -> Any:
    """A data frame and, under it, its CSV download (every table of the dashboard has one)."""
    shown = st.dataframe(df, hide_index=True, column_config=column_config, **options)
    csv = df.drop(columns=[c for c in df.columns if df[c].map(lambda v: isinstance(v, list)).any()]).to_csv(index=False)
    st.download_button("Download CSV", csv.encode(), file_name=f"llmobserve-{name}.csv", mime="text/csv",
                       icon=":material/download:", key=f"csv-{name}", on_click="ignore")
    return shown


def delta(current: Any, previous: dict[str, Any] | None, field: str, money: bool = False) -> str | None:
    """The change against the previous period, for st.metric's delta (None when there is nothing to compare)."""
    if not previous:
        return None
    change = Decimal(str(current or 0)) - Decimal(str(previous.get(field) or 0))
    before = Decimal(str(previous.get(field) or 0))
    pct = f" ({change / before:+.0%})" if before else ""
    return (f"{'+' if change >= 0 else '-'}{usd(abs(change))}" if money else f"{int(change):+,}") + pct + " vs previous"


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
