"""Your cost data in a notebook: `pip install 'llmobserve[analysis]'` (pandas and pyarrow; the SDK itself
needs neither), then

    from llmobserve.analysis import Client
    client = Client()                      # LLMOBSERVE_API_KEY (a key with the `read` scope), LLMOBSERVE_ENDPOINT
    client.summary(start="2026-11-01", compare="previous")
    client.breakdown("tag:team", start="2026-11-01")
    client.timeseries("day", group_by="model")
    client.events(start="2026-11-01", tags={"team": "search"})   # streamed from the Arrow export

Every frame has typed columns: timestamps are UTC (`datetime64[ns, UTC]`), token counts integers, and
`cost_usd` exact `decimal.Decimal`s (never floats: sums of floats drift by cents over millions of calls).
The same filters as the API's read endpoints: start, end, provider, model, customer_id, status, and
tags (a dict, all must hold).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Mapping

try:
    import pandas as pd
    import pyarrow as pa
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("llmobserve.analysis needs pandas and pyarrow: pip install 'llmobserve[analysis]'") from exc

from ._api import DEFAULT_ENDPOINT

__all__ = ["APIUnreachableError", "AnalysisError", "AuthenticationError", "Client", "MissingScopeError"]

ARROW_STREAM = "application/vnd.apache.arrow.stream"
USD_FIELDS = {"total_cost_usd", "cost_usd", "cache_savings_usd"}
TIME_FIELDS = {"first_event_at", "last_event_at", "start", "end", "bucket", "timestamp", "received_at",
               "started_at", "ended_at"}


class AnalysisError(Exception):
    """The API answered with an error; `status` is its HTTP status (None when it could not be reached)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthenticationError(AnalysisError):
    """The key is unknown or revoked (401)."""


class MissingScopeError(AnalysisError):
    """The key may not read (403): it was made with the `ingest` scope only."""


class APIUnreachableError(AnalysisError):
    """Nothing answered at the endpoint."""


class Client:
    """Reads the key owner's costs through the API's read endpoints (the same numbers as the dashboard)."""

    def __init__(self, api_key: str | None = None, endpoint: str | None = None, *, timeout: float = 60.0) -> None:
        self.api_key = api_key or os.environ.get("LLMOBSERVE_API_KEY")
        if not self.api_key:
            raise AuthenticationError("no API key: pass Client(api_key='llmo_…') or set LLMOBSERVE_API_KEY "
                                      "(a key with the 'read' scope, made in the dashboard's Settings)")
        self.endpoint = (endpoint or os.environ.get("LLMOBSERVE_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        self.timeout = timeout

    # -- reads -------------------------------------------------------------------------------------
    def summary(self, **filters: Any) -> dict[str, Any]:
        """Totals for the period (pass compare="previous" for the period before it, under "previous")."""
        return _typed(self._json("/v1/analytics/summary", filters))

    def breakdown(self, by: str = "provider", **filters: Any) -> pd.DataFrame:
        """One row per provider, model, customer_id, run_name or tag:<key> (calls without it: key None)."""
        rows = self._json("/v1/analytics/breakdown", {"by": by, **filters})["data"]
        return _frame(rows, BREAKDOWN_COLUMNS)

    def timeseries(self, interval: str = "day", group_by: str | None = None, **filters: Any) -> pd.DataFrame:
        """One row per bucket (and group): cost, calls and tokens over time."""
        rows = self._json("/v1/analytics/timeseries", {"interval": interval, "group_by": group_by, **filters})["data"]
        return _frame(rows, TIMESERIES_COLUMNS)

    def events(self, **filters: Any) -> pd.DataFrame:
        """Every call in range, one row each, read batch by batch from the Arrow export."""
        response = self._open("/v1/events/export", {"format": "arrow", **filters}, accept=ARROW_STREAM)
        with response:
            reader = pa.ipc.open_stream(response)
            table = pa.Table.from_batches(list(reader), schema=reader.schema)
        frame = table.to_pandas()  # decimal128 → Decimal, int64 stays int64
        for name in ("timestamp", "received_at"):
            if name in frame:
                frame[name] = pd.to_datetime(frame[name]).dt.tz_localize(UTC)
        if "tags" in frame:
            frame["tags"] = [json.loads(t) if t else None for t in frame["tags"]]
        return frame

    # -- HTTP ----------------------------------------------------------------------------------------
    def _json(self, path: str, filters: Mapping[str, Any]) -> Any:
        with self._open(path, filters, accept="application/json") as response:
            return json.loads(response.read())

    def _open(self, path: str, filters: Mapping[str, Any], *, accept: str):  # type: ignore[no-untyped-def]
        url = f"{self.endpoint}{path}?{urllib.parse.urlencode(_params(filters), doseq=True)}"
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.api_key}", "Accept": accept})
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)  # noqa: S310 - the user's own endpoint
        except urllib.error.HTTPError as exc:
            raise _error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise APIUnreachableError(f"cannot reach the llmobserve API at {self.endpoint} ({reason}); "
                                      "is it running, and is LLMOBSERVE_ENDPOINT right?") from None


def _error(exc: urllib.error.HTTPError) -> AnalysisError:
    try:
        detail = json.loads(exc.read()).get("detail")
    except (ValueError, AttributeError):
        detail = None
    detail = detail if isinstance(detail, str) else json.dumps(detail) if detail else exc.reason
    if exc.code == 401:
        return AuthenticationError(f"the API refused the key: {detail}", 401)
    if exc.code == 403:
        return MissingScopeError(f"{detail} (this client needs a key with the 'read' scope)", 403)
    return AnalysisError(f"{exc.code}: {detail}", exc.code)


def _params(filters: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Keyword filters as query parameters: datetimes as ISO 8601 (naive = UTC), tags as tag=key:value."""
    params = []
    for name, value in filters.items():
        if value is None:
            continue
        if name == "tags":
            items = value.items() if isinstance(value, Mapping) else (str(v).split(":", 1) for v in value)
            params += [("tag", f"{key}:{val}") for key, val in items]
        elif isinstance(value, datetime):
            params.append((name, (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()))
        else:
            params.append((name, str(value)))
    return params


def _typed(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in body.items():
        if isinstance(value, dict):
            out[name] = _typed(value)
        elif name in USD_FIELDS and value is not None:
            out[name] = Decimal(value)
        elif name in TIME_FIELDS and value is not None:
            out[name] = pd.Timestamp(value).tz_localize(UTC) if pd.Timestamp(value).tzinfo is None \
                else pd.Timestamp(value).tz_convert(UTC)
        else:
            out[name] = value
    return out


BREAKDOWN_COLUMNS = {"key": "object", "cost_usd": "decimal", "cache_savings_usd": "decimal", "calls": "int64",
                     "input_tokens": "int64", "cached_input_tokens": "int64", "output_tokens": "int64",
                     "unpriced_calls": "int64", "unpriced_tokens": "int64", "error_calls": "int64",
                     "latency_p50_ms": "float64", "latency_p95_ms": "float64"}
TIMESERIES_COLUMNS = {"bucket": "time", "group": "object", "cost_usd": "decimal", "calls": "int64",
                      "input_tokens": "int64", "output_tokens": "int64", "unpriced_calls": "int64"}


def _frame(rows: list[dict[str, Any]], columns: dict[str, str]) -> pd.DataFrame:
    """A frame with the same typed columns whatever the answer held (an empty answer too)."""
    names = [name for name in columns if not rows or name in rows[0]] + \
        [name for name in (rows[0] if rows else {}) if name not in columns]
    frame = pd.DataFrame(rows, columns=names)
    for name in names:
        kind = columns.get(name, "object")
        if kind == "decimal":
            frame[name] = pd.Series([Decimal(v) if v is not None else None for v in frame[name]], dtype=object)
        elif kind == "time":
            frame[name] = pd.to_datetime(frame[name], utc=True)
        elif kind == "int64":
            frame[name] = frame[name].astype("int64")
        elif kind == "float64":
            frame[name] = frame[name].astype("float64")
    return frame
