"""llmobserve.analysis.Client against the real API process: typed frames with the API's own numbers,
events streamed from the Arrow export, and clear errors for a bad key, a read-less key, no API."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pandas as pd
import pytest

from llmobserve.analysis import APIUnreachableError, AuthenticationError, Client, MissingScopeError
from tests.factories import TestUser, create_user, make_event, post_events
from tests.server import ApiServer, free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def analyst(api: ApiServer) -> tuple[TestUser, Client]:
    """A tenant with calls over two days, and a notebook key (read scope) for it."""
    user = create_user(api)
    events = [make_event(timestamp=f"2026-11-0{d}T1{h}:00:00+00:00", customer_id=f"cust_{h % 2}",
                         model=("gpt-4o-mini-2024-07-18", "mystery-model")[h == 3],
                         tags={"team": ("search", "billing")[h % 2]}, cached_input_tokens=200 * (h % 2),
                         run_name="nightly" if h == 1 else None)
              for d in (4, 5) for h in range(4)]
    assert post_events(api, user, events).json()["accepted"] == 8
    key = httpx.post(f"{api.url}/clerk/api-keys", headers=api.admin(user.id),
                     json={"name": "notebook", "scopes": ["read"]}).json()["api_key"]
    return user, Client(api_key=key, endpoint=api.url)


def api_json(api: ApiServer, user: TestUser, path: str, **params: str) -> dict:
    return httpx.get(f"{api.url}{path}", headers=user.headers, params=params).json()


def test_summary_is_the_apis_summary_with_exact_decimals_and_utc_times(api: ApiServer, analyst) -> None:  # type: ignore[no-untyped-def]
    user, client = analyst
    got = client.summary(start=datetime(2026, 11, 5, tzinfo=UTC), compare="previous")
    raw = api_json(api, user, "/v1/analytics/summary", start="2026-11-05T00:00:00Z", compare="previous")
    assert isinstance(got["total_cost_usd"], Decimal) and got["total_cost_usd"] == Decimal(raw["total_cost_usd"])
    assert got["calls"] == raw["calls"] == 4
    assert got["previous"]["calls"] == 4 and isinstance(got["previous"]["total_cost_usd"], Decimal)
    assert got["first_event_at"] == pd.Timestamp("2026-11-05T10:00:00", tz="UTC")
    assert got["previous"]["end"] == pd.Timestamp("2026-11-05", tz="UTC") > got["previous"]["start"]


def test_breakdown_is_a_typed_frame_with_the_apis_rows(api: ApiServer, analyst) -> None:  # type: ignore[no-untyped-def]
    user, client = analyst
    frame = client.breakdown("tag:team", customer_id="cust_1")
    raw = api_json(api, user, "/v1/analytics/breakdown", by="tag:team", customer_id="cust_1")["data"]
    assert list(frame["key"]) == [r["key"] for r in raw] == ["billing"]
    assert frame["calls"].dtype == "int64" and frame["input_tokens"].dtype == "int64"
    assert frame["latency_p95_ms"].dtype == "float64"
    assert all(isinstance(v, Decimal) for v in frame["cost_usd"])
    assert frame["cost_usd"].sum() == sum(Decimal(r["cost_usd"]) for r in raw)
    by_model = client.breakdown("model")
    assert set(by_model["key"]) == {"gpt-4o-mini-2024-07-18", "mystery-model"}
    assert int(by_model["unpriced_calls"].sum()) == 2


def test_timeseries_buckets_are_utc_timestamps(analyst) -> None:  # type: ignore[no-untyped-def]
    _, client = analyst
    frame = client.timeseries("day", group_by="model")
    assert str(frame["bucket"].dtype) == "datetime64[ns, UTC]" or str(frame["bucket"].dtype).endswith(", UTC]")
    assert sorted(set(frame["bucket"])) == [pd.Timestamp("2026-11-04", tz="UTC"), pd.Timestamp("2026-11-05", tz="UTC")]
    assert int(frame["calls"].sum()) == 8 and frame["calls"].dtype == "int64"
    empty = client.timeseries("hour", start="2026-01-01T00:00:00Z", end="2026-01-02T00:00:00Z")
    assert len(empty) == 0 and "cost_usd" in empty.columns


def test_events_stream_from_the_arrow_export_with_exact_costs(api: ApiServer, analyst) -> None:  # type: ignore[no-untyped-def]
    user, client = analyst
    frame = client.events(tags={"team": "search"})
    assert len(frame) == 4 and {t["team"] for t in frame["tags"]} == {"search"}
    assert str(frame["timestamp"].dtype).startswith("datetime64") and str(frame["timestamp"].dt.tz) == "UTC"
    assert frame["input_tokens"].dtype == "int64" and frame["cached_input_tokens"].dtype == "int64"
    priced = frame[frame["pricing_status"] == "priced"]
    assert all(isinstance(v, Decimal) for v in priced["cost_usd"])
    total = client.summary(tags={"team": "search"})["total_cost_usd"]
    assert sum(priced["cost_usd"], Decimal(0)) == total
    assert len(client.events()) == 8


def test_an_ingest_only_key_is_refused_with_the_scope_named(api: ApiServer, analyst) -> None:  # type: ignore[no-untyped-def]
    user, _ = analyst
    key = httpx.post(f"{api.url}/clerk/api-keys", headers=api.admin(user.id), json={"name": "app"}).json()["api_key"]
    with pytest.raises(MissingScopeError, match="lacks the 'read' scope") as caught:
        Client(api_key=key, endpoint=api.url).breakdown("model")
    assert caught.value.status == 403
    with pytest.raises(MissingScopeError):
        Client(api_key=key, endpoint=api.url).events()


def test_a_bad_key_and_no_key_are_clear(api: ApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AuthenticationError, match="unknown or revoked") as caught:
        Client(api_key="llmo_not-a-key", endpoint=api.url).summary()
    assert caught.value.status == 401
    monkeypatch.delenv("LLMOBSERVE_API_KEY", raising=False)
    with pytest.raises(AuthenticationError, match="LLMOBSERVE_API_KEY"):
        Client(endpoint=api.url)


def test_an_unreachable_api_is_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("LLMOBSERVE_API_KEY", "llmo_whatever")
    monkeypatch.setenv("LLMOBSERVE_ENDPOINT", endpoint)
    client = Client()
    assert client.endpoint == endpoint
    with pytest.raises(APIUnreachableError, match=f"cannot reach the llmobserve API at {endpoint}"):
        client.summary()


def test_the_base_sdk_needs_only_wrapt_and_the_extra_brings_pandas_and_pyarrow() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert [d.split(">")[0] for d in project["dependencies"]] == ["wrapt"]
    assert {d.split(">")[0] for d in project["optional-dependencies"]["analysis"]} == {"pandas", "pyarrow"}
