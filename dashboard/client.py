"""The one module that talks to the llmobserve API. Pages call these functions; they never build URLs or headers.

Reads are cached for a few seconds with `st.cache_data`, and every cached function takes the user id as its
first argument, so the cache key always contains the tenant: one user never gets another's cached answer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import httpx
import streamlit as st

TTL_SECONDS = 10
DEFAULT_API_URL = "http://localhost:8000"


class ApiError(Exception):
    """An answer the user should read (wrong password, unknown run, API down…), never a traceback."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Filters(NamedTuple):
    """The filters every read endpoint accepts. A tuple, so it hashes into `st.cache_data` keys."""

    start: str | None = None  # ISO 8601
    end: str | None = None
    provider: str | None = None
    model: str | None = None
    customer_id: str | None = None
    tags: tuple[str, ...] = ()  # "key:value", all must hold

    def params(self) -> dict[str, Any]:
        values: dict[str, Any] = {k: v for k, v in self._asdict().items() if v and k != "tags"}
        if self.tags:
            values["tag"] = list(self.tags)  # httpx repeats a list: tag=a:1&tag=b:2
        return values


def api_url() -> str:
    return os.environ.get("LLMOBSERVE_API_URL", DEFAULT_API_URL).rstrip("/")


def data_dir() -> Path:
    """Where the API keeps its database and generated secrets (the directory of LLMOBSERVE_DB)."""
    return Path(os.environ.get("LLMOBSERVE_DB", "data/llmobserve.duckdb")).resolve().parent


def admin_token() -> str:
    """LLMOBSERVE_ADMIN_TOKEN, else the token the API generated on its first start (read lazily: it may
    appear after the dashboard starts)."""
    token = os.environ.get("LLMOBSERVE_ADMIN_TOKEN", "").strip()
    if token:
        return token
    path = data_dir() / "admin_token"
    try:
        token = path.read_text().strip()
    except OSError:
        token = ""
    if not token:
        raise ApiError(f"No admin token: set LLMOBSERVE_ADMIN_TOKEN, or start the API once so it writes {path}.")
    return token


@st.cache_resource
def _http() -> httpx.Client:
    return httpx.Client(timeout=httpx.Timeout(15.0, connect=3.0))


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, list):  # FastAPI validation errors
        detail = "; ".join(str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in detail)
    return str(detail or response.text[:200] or response.reason_phrase)


def _call(method: str, path: str, *, user_id: str | None = None, params: dict[str, Any] | None = None,
          json: Any = None, content: bytes | None = None, timeout: float | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {admin_token()}"}
    if user_id:
        headers["X-LLMObserve-User"] = user_id
    url = api_url() + path
    try:
        response = _http().request(method, url, headers=headers, params=params, json=json, content=content,
                                   **({"timeout": timeout} if timeout else {}))
    except httpx.HTTPError as exc:
        raise ApiError(f"Cannot reach the llmobserve API at {api_url()} ({type(exc).__name__}). Is it running?") \
            from None
    if response.status_code >= 400:
        raise ApiError(_detail(response), response.status_code)
    return response


def _get(path: str, user_id: str | None, **params: Any) -> Any:
    return _call("GET", path, user_id=user_id, params={k: v for k, v in params.items() if v is not None}).json()


# -- login (admin token only) -------------------------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def credentials() -> dict[str, Any]:
    """streamlit-authenticator's credentials dict: active users that have a dashboard password."""
    return _get("/admin/dashboard/credentials", None)


def login(email: str, password: str) -> dict[str, Any]:
    """Check a password server-side (the API keeps the failure count and the 15-minute lockout)."""
    return _call("POST", "/admin/dashboard/login", json={"email": email, "password": password}).json()


def signup(email: str, password: str) -> dict[str, Any]:
    answer = _call("POST", "/admin/dashboard/signup", json={"email": email, "password": password}).json()
    credentials.clear()
    return answer


# -- the acting user --------------------------------------------------------------------------------
def me(user_id: str) -> dict[str, Any]:
    """Not cached: each run re-checks that the account is still active."""
    return _get("/v1/me", user_id)


def reveal_initial_key(user_id: str) -> dict[str, Any]:
    return _call("POST", "/v1/me/initial-key", user_id=user_id).json()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def keys(user_id: str) -> list[dict[str, Any]]:
    return _get("/clerk/api-keys", user_id)["data"]


def create_key(user_id: str, name: str, scopes: list[str] | None = None) -> dict[str, Any]:
    body = {"name": name, **({"scopes": scopes} if scopes else {})}
    answer = _call("POST", "/clerk/api-keys", user_id=user_id, json=body).json()
    keys.clear(user_id)
    return answer


def revoke_key(user_id: str, key_id: str) -> dict[str, Any]:
    answer = _call("DELETE", f"/clerk/api-keys/{key_id}", user_id=user_id).json()
    keys.clear(user_id)
    return answer


# -- analytics --------------------------------------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def summary(user_id: str, filters: Filters, compare: bool = False) -> dict[str, Any]:
    """With compare (and a start), `previous` holds the period of equal length before it."""
    compare_to = "previous" if compare and filters.start else None
    return _get("/v1/analytics/summary", user_id, compare=compare_to, **filters.params())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def tag_keys(user_id: str, filters: Filters) -> list[dict[str, Any]]:
    """[{key, values, calls}] for every tag key in the period."""
    return _get("/v1/analytics/tags", user_id, **filters.params())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def timeseries(user_id: str, filters: Filters, interval: str = "day", group_by: str | None = None
               ) -> list[dict[str, Any]]:
    return _get("/v1/analytics/timeseries", user_id, interval=interval, group_by=group_by,
                **filters.params())["data"]


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def breakdown(user_id: str, filters: Filters, by: str) -> list[dict[str, Any]]:
    return _get("/v1/analytics/breakdown", user_id, by=by, **filters.params())["data"]


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def runs(user_id: str, filters: Filters, limit: int = 100) -> list[dict[str, Any]]:
    return _get("/v1/runs", user_id, limit=limit, **filters.params())["data"]


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def run(user_id: str, run_id: str) -> dict[str, Any]:
    """One run and its calls; an unknown id raises ApiError('run <id> not found')."""
    return _call("GET", f"/v1/runs/{quote(run_id, safe='')}", user_id=user_id).json()


# -- budgets and alerts -----------------------------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def budgets(user_id: str) -> list[dict[str, Any]]:
    """Every budget with its spend, projection and status in the current period."""
    return _get("/v1/budgets", user_id)["data"]


def create_budget(user_id: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = _call("POST", "/v1/budgets", user_id=user_id, json=body).json()
    budgets.clear(user_id)
    return answer


def update_budget(user_id: str, budget_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    answer = _call("PATCH", f"/v1/budgets/{quote(budget_id, safe='')}", user_id=user_id, json=changes).json()
    budgets.clear(user_id)
    return answer


def delete_budget(user_id: str, budget_id: str) -> None:
    _call("DELETE", f"/v1/budgets/{quote(budget_id, safe='')}", user_id=user_id)
    budgets.clear(user_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def forecast(user_id: str, period: str = "month", timezone: str = "UTC") -> dict[str, Any]:
    return _get("/v1/analytics/forecast", user_id, period=period, timezone=timezone)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def alert_channels(user_id: str) -> list[dict[str, Any]]:
    return _get("/v1/alert-channels", user_id)["data"]


def create_alert_channel(user_id: str, type: str, url: str) -> dict[str, Any]:
    """Answers the channel with its signing secret (webhooks), shown this once."""
    answer = _call("POST", "/v1/alert-channels", user_id=user_id, json={"type": type, "url": url}).json()
    alert_channels.clear(user_id)
    return answer


def delete_alert_channel(user_id: str, channel_id: str) -> None:
    _call("DELETE", f"/v1/alert-channels/{quote(channel_id, safe='')}", user_id=user_id)
    alert_channels.clear(user_id)


def test_alert_channel(user_id: str, channel_id: str) -> dict[str, Any]:
    answer = _call("POST", f"/v1/alert-channels/{quote(channel_id, safe='')}/test", user_id=user_id).json()
    alert_deliveries.clear(user_id)
    return answer


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def alert_deliveries(user_id: str, limit: int = 50) -> list[dict[str, Any]]:
    return _get("/v1/alert-deliveries", user_id, limit=limit)["data"]


# -- prices, re-pricing, what-if ----------------------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def prices(user_id: str) -> list[dict[str, Any]]:
    """Every version of the user's own prices."""
    return _get("/v1/prices", user_id)


def set_price(user_id: str, provider: str, model: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = _call("PUT", f"/v1/prices/{quote(provider, safe='')}/{quote(model, safe='/')}", user_id=user_id,
                   json=body).json()
    prices.clear(user_id)
    return answer


@st.cache_data(ttl=300, show_spinner=False)
def catalog(user_id: str, provider: str | None = None, q: str | None = None) -> dict[str, Any]:
    return _get("/v1/prices/catalog", user_id, provider=provider, q=q)


def reprice_preview(user_id: str, scope: dict[str, Any]) -> dict[str, Any]:
    """Not cached: the preview must reflect the prices in force right now."""
    return _call("POST", "/v1/reprice/preview", user_id=user_id, json=scope, timeout=120).json()


def reprice(user_id: str, scope: dict[str, Any], expected_new_cost_usd: str) -> dict[str, Any]:
    answer = _call("POST", "/v1/reprice", user_id=user_id, timeout=600,
                   json={**scope, "expected_new_cost_usd": expected_new_cost_usd}).json()
    st.cache_data.clear()  # every cost shown may have changed
    return answer


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def reprice_history(user_id: str) -> list[dict[str, Any]]:
    return _get("/v1/reprice/history", user_id)["data"]


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def whatif(user_id: str, filters: Filters, target_provider: str, target_model: str) -> dict[str, Any]:
    return _get("/v1/analytics/whatif", user_id, target_provider=target_provider, target_model=target_model,
                **filters.params())


# -- reconciliation -------------------------------------------------------------------------------------
def import_export(user_id: str, provider: str, content: bytes) -> dict[str, Any]:
    """Send a provider export file as it came; a bad file raises ApiError saying where it is wrong."""
    answer = _call("POST", "/v1/reconciliation/imports", user_id=user_id, params={"provider": provider},
                   content=content, timeout=60).json()
    reconciliation.clear(user_id)
    return answer


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def reconciliation(user_id: str, start: str | None = None, end: str | None = None,
                   provider: str | None = None) -> list[dict[str, Any]]:
    return _get("/v1/reconciliation", user_id, start=start, end=end, provider=provider)["data"]
