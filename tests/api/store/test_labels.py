"""The label roll-up (tags and run names as dimensions, api/store/labels.py) on both stores: it covers
exactly the events usage_hourly covers, through roll-ups, rebuilds and purges, and on PostgreSQL a
transaction that commits after a roll-up started is still counted once (roll-up by transaction id)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest

from api.store import Store, analytics, events, labels
from api.store.base import utcnow
from api.store.filters import EventFilters
from tests.api.store.test_contract import insert, rows
from tests.factories import make_event


def by_team(store: Store, tenant: str, **filters: object) -> dict[str | None, int]:
    found = analytics.breakdown(store, tenant_id=tenant, filters=EventFilters(**filters), by="tag:team")
    return {row["key"]: row["calls"] for row in found}


def labelled_calls(store: Store, tenant: str) -> int:
    """Calls counted in the label roll-up itself (not the raw tail a read adds)."""
    row = store.fetchone("SELECT coalesce(sum(calls), 0) FROM usage_labels_hourly WHERE tenant_id = ? "
                         "AND label = 'tag:team'", [tenant])
    return int(row[0])  # type: ignore[index]


def test_label_totals_follow_roll_up_rebuild_and_purge(store: Store) -> None:
    now = utcnow()
    batch = [make_event(timestamp=(now - timedelta(hours=h)).isoformat() + "Z", tags={"team": t}, run_name=r)
             for h, t, r in ((1, "search", "a"), (3, "search", None), (5, "billing", "a"))]
    batch.append(make_event(timestamp=(now - timedelta(hours=2)).isoformat() + "Z"))
    insert(store, "lab1", batch)
    expected = {"search": 2, "billing": 1, None: 1}
    assert by_team(store, "lab1") == expected  # read raw: nothing rolled up yet
    events.roll_up(store).result(timeout=30)
    assert labelled_calls(store, "lab1") == 3 and by_team(store, "lab1") == expected
    insert(store, "lab1", [make_event(tags={"team": "search"})])
    expected["search"] = 3
    assert by_team(store, "lab1") == expected and labelled_calls(store, "lab1") == 3
    events.roll_up(store).result(timeout=30)
    events.roll_up(store).result(timeout=30)  # a second roll-up adds nothing twice
    assert labelled_calls(store, "lab1") == 4 and by_team(store, "lab1") == expected
    assert by_team(store, "lab1", start=now - timedelta(hours=4), end=now - timedelta(minutes=90)) == \
        {"search": 1, None: 1}
    runs = analytics.breakdown(store, tenant_id="lab1", filters=EventFilters(), by="run_name")
    assert {row["key"]: row["calls"] for row in runs} == {"a": 2, None: 3}
    events.rebuild_usage_hourly(store)
    assert labelled_calls(store, "lab1") == 4 and by_team(store, "lab1") == expected
    insert(store, "lab2", [make_event(tags={"team": "other"})])
    events.roll_up(store).result(timeout=30)
    assert events.purge_tenant_events(store, tenant_id="lab1").result(timeout=30) == 5
    assert labelled_calls(store, "lab1") == 0 and by_team(store, "lab1") == {}
    assert by_team(store, "lab2") == {"other": 1}
    assert store.fetchone("SELECT count(*) FROM event_labels WHERE tenant_id = 'lab1'") == (0,)


def test_tag_keys_with_any_key_text(store: Store) -> None:
    odd = "it's a ?key/with~chars"
    insert(store, "lab3", [make_event(tags={odd: "v?1", "team": "x"}), make_event(tags={odd: "v2"})])
    for _ in range(2):
        keys = {k["key"]: (k["values"], k["calls"]) for k in
                analytics.tag_keys(store, tenant_id="lab3", filters=EventFilters())}
        assert keys == {odd: (2, 2), "team": (1, 1)}
        found = analytics.breakdown(store, tenant_id="lab3", filters=EventFilters(tags=((odd, "v?1"),)),
                                    by=f"tag:{odd}")
        assert [(row["key"], row["calls"]) for row in found] == [("v?1", 1)]
        events.roll_up(store).result(timeout=30)


def test_a_transaction_committing_after_a_roll_up_began_is_counted_once(store: Store) -> None:
    if store.name != "postgresql":
        pytest.skip("DuckDB has one writer: no transaction can commit behind its roll-up")
    table = rows("lab4", [make_event(tags={"team": "late"})])
    cost = pa.array([Decimal(p) / 10**12 for p in table["cost_pico"].to_pylist()], pa.decimal128(19, 12))
    table = table.drop(["cost_pico"]).append_column("cost_usd", cost)
    with store.transaction() as tx:
        store.load_arrow(tx, "events", table)  # this transaction stays open across the next roll-up
        events.roll_up(store).result(timeout=30)
    assert labelled_calls(store, "lab4") == 0 and by_team(store, "lab4") == {"late": 1}
    events.roll_up(store).result(timeout=30)
    assert labelled_calls(store, "lab4") == 1 and by_team(store, "lab4") == {"late": 1}


LABEL_KEY = "tenant_id, hour, label, value, provider, model, status, pricing_status"


def label_tables(store: Store, tenant: str) -> tuple[list[tuple], list[tuple]]:
    totals = store.fetchall(f"SELECT * FROM usage_labels_hourly WHERE tenant_id = ? ORDER BY {LABEL_KEY}", [tenant])
    per_call = store.fetchall("SELECT * FROM event_labels WHERE tenant_id = ? ORDER BY timestamp, label, value, "
                              "customer_id, latency_ms", [tenant])
    return totals, per_call


def test_a_chunked_rebuild_equals_the_incremental_roll_up(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rebuild reads a few hours at a time (labels.REBUILD_CHUNK_CALLS; 10M calls in one statement ran
    out of DuckDB's memory): chunked into many small pieces here, it must give exactly the rows that
    roll-ups after each flush built, and the totals a hand count of the calls gives."""
    now = utcnow().replace(minute=30)
    teams, models = ("search", "billing", "ops"), ("gpt-4o-mini-2024-07-18", "acme-unknown-model")
    made = []
    for flush in range(4):
        batch = []
        for i in range(15):
            n = flush * 15 + i
            tags = {"team": teams[n % 3], "feature": f"f{n % 4}"} if n % 5 else None
            batch.append(make_event(timestamp=(now - timedelta(hours=n % 9, minutes=n % 50)).isoformat() + "Z",
                                    tags=tags, run_name=f"r{n % 2}" if n % 3 else None, customer_id=f"c{n % 6}",
                                    model=models[n % 2], status="error" if n % 7 == 0 else "ok",
                                    input_tokens=100 + n, output_tokens=10 + n))
        insert(store, "lab5", batch)
        made += batch
        events.roll_up(store).result(timeout=30)
    events.roll_up(store).result(timeout=30)
    incremental = label_tables(store, "lab5")
    assert sum(r[8] for r in incremental[0] if r[2] == "tag:team") == sum(1 for e in made if e["tags"])
    assert sum(r[8] for r in incremental[0] if r[2] == labels.ALL) == len(made)  # every call, once
    monkeypatch.setattr(labels, "REBUILD_CHUNK_CALLS", 7)  # ~9 chunks of one or two hours
    events.rebuild_usage_hourly(store)
    assert label_tables(store, "lab5") == incremental
    found = analytics.breakdown(store, tenant_id="lab5", filters=EventFilters(), by="tag:team")
    by_hand: dict[str | None, tuple[int, int]] = {}
    for e in made:
        key = e["tags"]["team"] if e["tags"] else None
        calls, tokens = by_hand.get(key, (0, 0))
        by_hand[key] = (calls + 1, tokens + e["input_tokens"])
    assert {r["key"]: (r["calls"], r["input_tokens"]) for r in found} == by_hand
    exported = events.export_events(store, tenant_id="lab5", filters=EventFilters()).to_pylist()
    cost_by_team: dict[str | None, Decimal] = {}
    for e in exported:
        key = json.loads(e["tags"])["team"] if e["tags"] else None
        cost_by_team[key] = cost_by_team.get(key, Decimal(0)) + (e["cost_usd"] or Decimal(0))
    assert {r["key"]: r["cost_usd"] for r in found} == cost_by_team


def test_hour_chunks_join_hours_up_to_the_size_and_keep_a_big_hour_alone() -> None:
    h = [datetime(2026, 10, 1, n) for n in range(5)]
    assert labels.hour_chunks([(h[0], 3), (h[1], 3), (h[2], 50), (h[4], 1)], 7) == \
        [(h[0], h[2]), (h[2], h[4]), (h[4], h[4] + timedelta(hours=1))]
    assert labels.hour_chunks([], 7) == []
