"""Tags and run names as dimensions (DESIGN §13): by=tag:<key>, group_by=tag:<key>, by=run_name, the
repeatable tag=<key>:<value> filter on every read, and GET /v1/analytics/tags. Every figure is checked
against the calls themselves (the CSV export, summed by hand), over rolled-up hours, part-hours at the
range's edges and calls not rolled up yet."""

from __future__ import annotations

import csv
import io
import time
from collections import defaultdict
from decimal import Decimal
from statistics import quantiles
from typing import Any

import httpx
import pytest

from tests.factories import TestUser, make_event, post_events
from tests.server import ApiServer

H = "2026-11-03T{:02d}:{:02d}:00+00:00"
ODD_KEY = 'we"ird/key~1'


def calls(team: str | None, feature: str | None, n: int, hour: int, **fields: Any) -> list[dict[str, Any]]:
    tags = {k: v for k, v in (("team", team), ("feature", feature)) if v is not None}
    return [make_event(timestamp=H.format(hour, (7 * i) % 60), tags=tags or None, latency_ms=100.0 + 37 * i + hour,
                       input_tokens=1000 + 10 * i, output_tokens=50 + i, **fields) for i in range(n)]


@pytest.fixture(scope="module")
def tagged(api: ApiServer) -> TestUser:
    from tests.factories import create_user

    user = create_user(api)
    first = (calls("search", "autocomplete", 5, 9, run_name="suggest") + calls("search", "ranking", 3, 10)
             + calls("billing", None, 4, 10, customer_id="acme", run_name="invoice")
             + calls(None, None, 3, 11, model="claude-3-5-haiku-20241022", provider="anthropic")
             + calls("billing", "ranking", 2, 12, status="error", model="mystery-model")
             + [make_event(timestamp=H.format(12, 30), tags={ODD_KEY: "v:1", "team": "search"})])
    assert post_events(api, user, first).json()["accepted"] == len(first)
    time.sleep(1.5)  # rolled up by now; the next ones may not be
    second = calls("search", "autocomplete", 2, 13) + calls(None, "ranking", 2, 13, run_name="suggest")
    assert post_events(api, user, second).json()["accepted"] == len(second)
    return user


def get(api: ApiServer, user: TestUser, path: str, params: Any = None) -> Any:
    answer = httpx.get(f"{api.url}{path}", headers=user.headers, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def exported(api: ApiServer, user: TestUser, params: Any = None) -> list[dict[str, Any]]:
    """The calls themselves, as the CSV export gives them (the ground truth for every figure)."""
    answer = httpx.get(f"{api.url}/v1/events/export", headers=user.headers, params=params)
    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    for row in rows:
        row["tags"] = eval_tags(row["tags"])
    return rows


def eval_tags(text: str) -> dict[str, str]:
    import json

    return json.loads(text) if text else {}


def by_hand(rows: list[dict[str, Any]], key) -> dict[Any, dict[str, Any]]:  # type: ignore[no-untyped-def]
    groups: dict[Any, dict[str, Any]] = defaultdict(lambda: {"calls": 0, "cost_usd": Decimal(0), "input_tokens": 0,
                                                             "latencies": [], "error_calls": 0})
    for row in rows:
        g = groups[key(row)]
        g["calls"] += 1
        g["cost_usd"] += Decimal(row["cost_usd"] or 0)
        g["input_tokens"] += int(row["input_tokens"])
        g["error_calls"] += row["status"] == "error"
        g["latencies"].append(float(row["latency_ms"]))
    return dict(groups)


RANGES = [{}, {"start": "2026-11-03T09:20:00Z", "end": "2026-11-03T13:10:00Z"},  # part-hours at both edges
          {"start": "2026-11-03T10:00:00Z", "end": "2026-11-03T12:00:00Z"}]


@pytest.mark.parametrize("period", RANGES)
def test_breakdown_by_tag_counts_every_call_once_and_the_untagged_under_null(api: ApiServer, tagged: TestUser,
                                                                             period: dict[str, str]) -> None:
    rows = get(api, tagged, "/v1/analytics/breakdown", {"by": "tag:team", **period})["data"]
    expected = by_hand(exported(api, tagged, period), lambda r: r["tags"].get("team"))
    assert {r["key"]: (r["calls"], Decimal(r["cost_usd"]), r["input_tokens"], r["error_calls"]) for r in rows} == \
        {k: (g["calls"], g["cost_usd"], g["input_tokens"], g["error_calls"]) for k, g in expected.items()}
    assert None in {r["key"] for r in rows}
    for row in rows:  # exact percentiles at this size (no sampling below a million calls)
        p50 = quantiles(expected[row["key"]]["latencies"], n=2, method="inclusive")[0]
        assert row["latency_p50_ms"] == pytest.approx(p50)
    summary = get(api, tagged, "/v1/analytics/summary", period)
    assert sum(r["calls"] for r in rows) == summary["calls"]
    assert sum(Decimal(r["cost_usd"]) for r in rows) == Decimal(summary["total_cost_usd"])


def test_timeseries_by_tag_per_hour_with_null_for_calls_without_it(api: ApiServer, tagged: TestUser) -> None:
    points = get(api, tagged, "/v1/analytics/timeseries", {"interval": "hour", "group_by": "tag:feature"})["data"]
    expected = by_hand(exported(api, tagged), lambda r: (r["timestamp"][:13], r["tags"].get("feature")))
    assert {(p["bucket"][:13].replace("T", " "), p["group"]): (p["calls"], Decimal(p["cost_usd"])) for p in points} == \
        {k: (g["calls"], g["cost_usd"]) for k, g in expected.items()}
    assert points == sorted(points, key=lambda p: (p["bucket"], p["group"] is None, p["group"] or ""))


def test_breakdown_by_run_name(api: ApiServer, tagged: TestUser) -> None:
    rows = get(api, tagged, "/v1/analytics/breakdown", {"by": "run_name"})["data"]
    expected = by_hand(exported(api, tagged), lambda r: r["run_name"] or None)
    assert {r["key"]: (r["calls"], Decimal(r["cost_usd"])) for r in rows} == \
        {k: (g["calls"], g["cost_usd"]) for k, g in expected.items()}
    assert {r["key"] for r in rows} == {"suggest", "invoice", None}


FILTERS = [[("tag", "team:search")], [("tag", "team:billing"), ("tag", "feature:ranking")],
           [("tag", f"{ODD_KEY}:v:1")], [("tag", "team:nobody")]]


@pytest.mark.parametrize("tags", FILTERS, ids=["one tag", "two tags", "odd key, value with colon", "no match"])
def test_the_tag_filter_narrows_every_read(api: ApiServer, tagged: TestUser, tags: list[tuple[str, str]]) -> None:
    wanted = [t.split(":", 1) for _, t in tags]
    every = exported(api, tagged)
    matching = [r for r in every if all(r["tags"].get(k) == v for k, v in wanted)]
    assert len(exported(api, tagged, tags)) == len(matching)
    summary = get(api, tagged, "/v1/analytics/summary", tags)
    assert summary["calls"] == len(matching)
    assert Decimal(summary["total_cost_usd"]) == sum((Decimal(r["cost_usd"] or 0) for r in matching), Decimal(0))
    assert summary["customers"] == len({r["customer_id"] for r in matching})
    keys_of = {"model": lambda r: r["model"], "tag:feature": lambda r: r["tags"].get("feature"),
               "customer_id": lambda r: r["customer_id"] or None}
    for by, key in keys_of.items():
        rows = get(api, tagged, "/v1/analytics/breakdown", [("by", by), *tags])["data"]
        assert {r["key"]: r["calls"] for r in rows} == {k: g["calls"] for k, g in by_hand(matching, key).items()}
    points = get(api, tagged, "/v1/analytics/timeseries", [("interval", "day"), *tags])["data"]
    assert sum(p["calls"] for p in points) == len(matching)
    runs = get(api, tagged, "/v1/runs", [("limit", "1000"), *tags])["data"]
    assert sum(r["calls"] for r in runs) == len(matching)
    keys = {t["key"]: t for t in get(api, tagged, "/v1/analytics/tags", tags)}
    for key in {k for r in matching for k in r["tags"]}:
        assert keys[key]["calls"] == sum(key in r["tags"] for r in matching)


@pytest.mark.parametrize("customer", ["acme", "cust_1"])
def test_by_tag_for_one_customer(api: ApiServer, tagged: TestUser, customer: str) -> None:
    """The label roll-up has no customer: one customer's by-tag figures come from its calls, still exact."""
    mine = [r for r in exported(api, tagged) if r["customer_id"] == customer]
    rows = get(api, tagged, "/v1/analytics/breakdown", {"by": "tag:team", "customer_id": customer})["data"]
    assert {r["key"]: (r["calls"], Decimal(r["cost_usd"])) for r in rows} == \
        {k: (g["calls"], g["cost_usd"]) for k, g in by_hand(mine, lambda r: r["tags"].get("team")).items()}
    points = get(api, tagged, "/v1/analytics/timeseries",
                 {"interval": "hour", "group_by": "tag:feature", "customer_id": customer})["data"]
    assert {(p["bucket"][:13].replace("T", " "), p["group"]): p["calls"] for p in points} == \
        {k: g["calls"] for k, g in by_hand(mine, lambda r: (r["timestamp"][:13], r["tags"].get("feature"))).items()}
    summary = get(api, tagged, "/v1/analytics/summary", {"tag": "team:billing", "customer_id": customer})
    assert summary["calls"] == sum(r["tags"].get("team") == "billing" for r in mine)
    keys = {t["key"]: t["calls"] for t in get(api, tagged, "/v1/analytics/tags", {"customer_id": customer})}
    assert keys == {k: sum(k in r["tags"] for r in mine) for k in {k for r in mine for k in r["tags"]}}


@pytest.mark.parametrize("period", RANGES)
def test_tags_lists_each_key_with_its_distinct_values_and_calls(api: ApiServer, tagged: TestUser,
                                                               period: dict[str, str]) -> None:
    listed = get(api, tagged, "/v1/analytics/tags", period)
    rows = exported(api, tagged, period)
    expected = {key: {"key": key, "values": len({r["tags"][key] for r in rows if key in r["tags"]}),
                      "calls": sum(key in r["tags"] for r in rows)}
                for key in {k for r in rows for k in r["tags"]}}
    assert sorted(listed, key=lambda t: t["key"]) == sorted(expected.values(), key=lambda t: t["key"])
    assert [t["calls"] for t in listed] == sorted((t["calls"] for t in listed), reverse=True)


@pytest.mark.parametrize("bad", ["team", ":search", "", "x" * 300 + ":v"])
def test_a_malformed_tag_filter_is_a_clear_422(api: ApiServer, tagged: TestUser, bad: str) -> None:
    answer = httpx.get(f"{api.url}/v1/analytics/summary", headers=tagged.headers, params={"tag": bad})
    assert answer.status_code == 422
    assert "tag filter 1" in answer.json()["detail"]


@pytest.mark.parametrize("by", ["tag:", "tags:team", "run"])
def test_an_unknown_dimension_is_a_422_naming_the_choices(api: ApiServer, tagged: TestUser, by: str) -> None:
    answer = httpx.get(f"{api.url}/v1/analytics/breakdown", headers=tagged.headers, params={"by": by})
    assert answer.status_code == 422
    assert "tag:" in answer.text
