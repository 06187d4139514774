"""The sidebar filters, kept in the URL: a copied link opens the same view (DESIGN §13).

Query parameters: `range` (a RANGES label's slug, absent for the default, last 30 days), `from`/`to` (dates, with range=custom), `provider`,
`model`, `customer`, `tag` (`key:value`). On a session's first logged-in run they seed the widgets;
afterwards every run writes the widgets' values back, so the address bar always shows the view.
Parameters of a page's own (`run`, `by`, …) are left as they are.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import streamlit as st

from dashboard import client

RANGES: dict[str, timedelta | None] = {
    "Last 24 hours": timedelta(days=1), "Last 7 days": timedelta(days=7), "Last 30 days": timedelta(days=30),
    "Last 90 days": timedelta(days=90), "All time": None, "Custom": None,
}
DEFAULT_RANGE = "Last 30 days"
SLUGS = {label: label.lower().replace("last ", "").replace(" ", "") for label in RANGES}  # "30days", "alltime"
ALL = "All"
NONE = "(none)"
DIMENSIONS = (("provider", "Provider", "provider"), ("model", "Model", "model"), ("customer_id", "Customer", "customer"))
URL_KEYS = {"range", "from", "to", "provider", "model", "customer", "tag"}
WIDGET_KEYS = ("f_range", *(f"f_{by}" for by, _, _ in DIMENSIONS), "f_tag_key", "f_tag_value")
_CHOSEN = "llmo_filters"
_SEEDED = "llmo_filters_from_url"
_LINK = "llmo_link_before_login"
_SEEDS = "llmo_filters_seeds"


def remember_link() -> None:
    """On the login form: keep the opened link's filters for after the login. Streamlit clears the query
    parameters when the page list changes from the login form to the real pages, so a colleague who
    opens a shared link and logs in would otherwise land on the default view."""
    link = {key: st.query_params[key] for key in st.query_params if key in URL_KEYS}
    if link:
        st.session_state[_LINK] = link


def _seed_from_url() -> None:
    """Once per session: the link's filters become the widgets' starting values.

    They are kept apart (`_SEEDS`) and handed to each widget as its default (`index`), not written into
    the widgets' Session State: a value set through Session State reaches the browser only in the run
    that set it, and when that run is cut short by the cookie component's rerun, the browser builds the
    widget from its default, showing the first option while the app filters by the link's value."""
    state = st.session_state
    if state.get(_SEEDED):
        return
    state[_SEEDED] = True
    params = state.pop(_LINK, None) or {key: st.query_params[key] for key in st.query_params}
    seeds: dict[str, object] = {}
    by_slug = {slug: label for label, slug in SLUGS.items()}
    if params.get("range") in by_slug:
        seeds["f_range"] = by_slug[params["range"]]
    try:
        first, last = date.fromisoformat(params["from"]), date.fromisoformat(params["to"])
        seeds["f_range"] = "Custom"
        state["f_dates"] = (first, last)  # the date input takes its value from here (see _window)
    except (KeyError, ValueError):
        pass
    for by, _, name in DIMENSIONS:
        if params.get(name):
            seeds[f"f_{by}"] = params[name]
    key, colon, value = (params.get("tag") or "").partition(":")
    if key and colon:
        seeds["f_tag_key"], seeds["f_tag_value"] = key, value
    state[_SEEDS] = seeds


def _current(key: str, default: str | None = None) -> str | None:
    """The widget's value: its own state once it exists, else the link's, else `default`."""
    value = st.session_state.get(key)
    return value if value is not None else st.session_state.get(_SEEDS, {}).get(key, default)


def _window(label: str) -> tuple[str | None, str | None, str]:
    """(start, end, interval). Starts are floored to the minute so cached answers are reused between reruns."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    if label == "Custom":
        today = now.date()
        picked = st.session_state.setdefault("f_dates", (today - timedelta(days=6), today))
        picked = st.sidebar.date_input("Dates (UTC)", key="f_dates", max_value=max(today, *picked))
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


def _select(label: str, options: list[str], key: str) -> str:
    """A selectbox whose value from the link is kept even when this period has no such value (the view
    is then empty, as it was for whoever sent the link), rather than silently dropped."""
    current = _current(key)
    if current and current not in options:
        options = [*options, current]
    return st.sidebar.selectbox(label, options, index=options.index(current) if current else 0, key=key)


def sidebar(user_id: str) -> None:
    """Time range, provider, model, customer and one tag, in the shared sidebar (kept across pages)."""
    _seed_from_url()
    st.sidebar.subheader("Filters")
    chosen_range = _current("f_range")
    if chosen_range not in RANGES:
        chosen_range = DEFAULT_RANGE
    label = st.sidebar.selectbox("Time range", list(RANGES), index=list(RANGES).index(chosen_range), key="f_range")
    start, end, interval = _window(label)
    period = client.Filters(start=start, end=end)
    chosen: dict[str, str | None] = {}
    for by, title, _ in DIMENSIONS:
        options = [ALL] + sorted({r["key"] for r in client.breakdown(user_id, period, by) if r["key"]})
        value = _select(title, options, f"f_{by}")
        chosen[by] = None if value == ALL else value
    tag = _tag_filter(user_id, period)
    filters = client.Filters(start=start, end=end, tags=(tag,) if tag else (), **chosen)
    st.session_state[_CHOSEN] = (filters, interval, label)
    # Streamlit forgets a widget's state on a page that does not show it (Settings, say); coming back,
    # the widgets start from these instead of from the link or the defaults.
    st.session_state[_SEEDS] = {key: st.session_state[key] for key in WIDGET_KEYS if st.session_state.get(key)}
    _write_url(label, filters)


def _tag_filter(user_id: str, period: client.Filters) -> str | None:
    keys = [t["key"] for t in client.tag_keys(user_id, period)]
    key = _select("Tag", [NONE, *keys], "f_tag_key")
    if key == NONE:
        return None
    values = [r["key"] for r in client.breakdown(user_id, period, f"tag:{key}") if r["key"] is not None]
    value = _select(f"{key} =", sorted(values), "f_tag_value") if values or _current("f_tag_value") else None
    return f"{key}:{value}" if value is not None else None


def _write_url(label: str, filters: client.Filters) -> None:
    wanted = {} if label == DEFAULT_RANGE else {"range": SLUGS[label]}  # the default view keeps a clean URL
    if label == "Custom" and filters.start and filters.end:
        wanted["from"] = filters.start[:10]
        wanted["to"] = (datetime.fromisoformat(filters.end) - timedelta(days=1)).date().isoformat()
    for by, _, name in DIMENSIONS:
        if getattr(filters, by):
            wanted[name] = getattr(filters, by)
    if filters.tags:
        wanted["tag"] = filters.tags[0]
    params = st.query_params
    current = {k: params[k] for k in params if k in URL_KEYS}
    if current != wanted:
        for k in current.keys() - wanted.keys():
            del params[k]
        params.update(wanted)


def chosen() -> tuple[client.Filters, str, str]:
    """(filters, interval, label of the time range) chosen in the sidebar."""
    return st.session_state.get(_CHOSEN, (client.Filters(), "day", "All time"))
