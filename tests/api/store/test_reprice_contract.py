"""Re-pricing's store contract, on both backends: the apply rewrites events and their hourly totals in
one transaction, whatever part of the scope was rolled up already, and a failure changes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from api.price_book import _custom, new_version_name
from api.reprice import price_tables
from api.store import Store, events, prices, reprice
from api.store.base import utcnow
from api.store.filters import EventFilters
from tests.api.store.test_contract import insert
from tests.factories import make_event

MODEL = "gpt-4o-mini-2024-07-18"
HOURLY = ("SELECT hour, provider, model, customer_key, status, pricing_status, calls, cost_usd, tier_fallback_calls "
          "FROM usage_hourly WHERE tenant_id = ? ORDER BY hour, model, pricing_status")


def _version(store: Store, tenant_id: str, model: str, start: object, input_per_mtok: str) -> None:
    with store.transaction() as tx:
        prices.put_version(tx, tenant_id=tenant_id, provider="openai", model=model, effective_from=start,
                           version=new_version_name(utcnow()), input_per_mtok=Decimal(input_per_mtok),
                           cached_input_per_mtok=Decimal(input_per_mtok), cache_write_per_mtok=Decimal(input_per_mtok),
                           output_per_mtok=Decimal(1), discount_percent=None)


def _tables(store: Store, tenant_id: str, filters: EventFilters):  # type: ignore[no-untyped-def]
    keys = reprice.price_keys(store, tenant_id=tenant_id, filters=filters)
    return price_tables(keys, prices.list_versions(store, tenant_id=tenant_id))


def _total(store: Store, tenant_id: str) -> Decimal:
    return Decimal(store.fetchone("SELECT sum(cost_usd) FROM events WHERE tenant_id = ?", [tenant_id])[0])


def test_apply_leaves_the_hourly_totals_as_a_full_rebuild_would(store: Store) -> None:
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(hours=6)
    old = [make_event(model=MODEL, timestamp=(start + timedelta(minutes=20 * i)).isoformat() + "Z") for i in range(9)]
    house = [make_event(model="house-llm", timestamp=(start + timedelta(minutes=25 * i)).isoformat() + "Z")
             for i in range(4)]
    insert(store, "rp1", old + house)
    insert(store, "other", old[:3])  # another tenant's, same ids: untouched
    events.roll_up(store).result(timeout=30)  # these are rolled up …
    late = [make_event(model=MODEL, timestamp=(start + timedelta(minutes=20 * i + 5)).isoformat() + "Z")
            for i in range(5)]
    insert(store, "rp1", late)  # … these are not yet
    other_hours = store.fetchall(HOURLY, ["other"])
    _version(store, "rp1", MODEL, start, "10")
    _version(store, "rp1", "house-llm", start - timedelta(days=1), "2")
    scope = EventFilters(start=start, end=now)
    tables = _tables(store, "rp1", scope)
    preview = reprice.preview(store, tenant_id="rp1", filters=scope, tables=tables)
    expected = sum((Decimal(g["new_cost_usd"] or 0) for g in preview), Decimal(0))

    run = reprice.apply(store, tenant_id="rp1", filters=scope, tables=tables, run_id="run-1",
                        check=lambda new: new == expected)

    assert run["changed_events"] == len(old) + len(late) + len(house)
    assert run["new_cost_usd"] == expected == _total(store, "rp1")
    statuses = store.fetchall("SELECT DISTINCT pricing_status FROM events WHERE tenant_id = 'rp1'")
    assert statuses == [("custom",)]  # the unpriced ones too
    repriced_hours = store.fetchall(HOURLY, ["rp1"])
    events.roll_up(store).result(timeout=30)
    events.roll_up(store).result(timeout=30)
    rolled = store.fetchall(HOURLY, ["rp1"])
    events.rebuild_usage_hourly(store)
    assert rolled == store.fetchall(HOURLY, ["rp1"])  # exactly what recomputing from the events gives
    assert len(repriced_hours) <= len(rolled)
    assert store.fetchall(HOURLY, ["other"]) == other_hours
    old_costs = store.fetchone("SELECT count(*), count(DISTINCT pricing_status) FROM reprice_old_costs "
                               "WHERE run_id = 'run-1'")
    assert old_costs == (len(old) + len(late) + len(house), 2)  # priced and unpriced before, kept
    [listed] = reprice.history(store, tenant_id="rp1")
    assert (listed["id"], listed["changed_events"]) == ("run-1", run["changed_events"])


def test_a_failed_check_changes_nothing(store: Store) -> None:
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    insert(store, "rp2", [make_event(model=MODEL, timestamp=(now - timedelta(hours=2)).isoformat() + "Z")])
    events.roll_up(store).result(timeout=30)
    before = (_total(store, "rp2"), store.fetchall(HOURLY, ["rp2"]))
    _version(store, "rp2", MODEL, now - timedelta(days=1), "50")
    scope = EventFilters(start=now - timedelta(days=1), end=now)
    with pytest.raises(reprice.StalePreview):
        reprice.apply(store, tenant_id="rp2", filters=scope, tables=_tables(store, "rp2", scope), run_id="run-2",
                      check=lambda new: False)
    assert (_total(store, "rp2"), store.fetchall(HOURLY, ["rp2"])) == before
    assert reprice.history(store, tenant_id="rp2") == []
    assert store.fetchone("SELECT count(*) FROM reprice_old_costs WHERE tenant_id = 'rp2'") == (0,)


def test_versions_are_effective_dated_and_listed_with_their_end(store: Store) -> None:
    t0 = utcnow().replace(microsecond=0) - timedelta(days=30)
    for days, price in ((0, "1"), (20, "3"), (10, "2")):
        _version(store, "rp3", MODEL, t0 + timedelta(days=days), price)
    listed = prices.list_versions(store, tenant_id="rp3")
    assert [(v["effective_from"], v["effective_to"]) for v in listed] == [
        (t0, t0 + timedelta(days=10)), (t0 + timedelta(days=10), t0 + timedelta(days=20)),
        (t0 + timedelta(days=20), None)]
    assert [_custom(v).units.input for v in listed] == [10**6, 2 * 10**6, 3 * 10**6]  # pico-dollars a token
    with store.transaction() as tx:
        assert prices.delete_versions(tx, tenant_id="rp3", provider="openai", model=MODEL,
                                      version=listed[1]["version"]) == 1
    assert [v["effective_to"] for v in prices.list_versions(store, tenant_id="rp3")] == [t0 + timedelta(days=20), None]


def test_a_version_starting_mid_hour_splits_the_hours_totals_exactly(store: Store) -> None:
    hour = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    sent = [make_event(model="house-llm", timestamp=(hour + timedelta(minutes=m)).isoformat() + "Z")
            for m in (5, 15, 40, 50)]
    insert(store, "rp4", sent)
    events.roll_up(store).result(timeout=30)
    _version(store, "rp4", "house-llm", hour + timedelta(minutes=30), "3")  # the last two only
    scope = EventFilters(start=hour, end=hour + timedelta(hours=1))
    tables = _tables(store, "rp4", scope)
    run = reprice.apply(store, tenant_id="rp4", filters=scope, tables=tables, run_id="run-4", check=lambda new: True)
    assert run["changed_events"] == 2
    full = "SELECT pricing_status, calls, first_at, last_at FROM usage_hourly WHERE tenant_id = ? ORDER BY 1"
    after = store.fetchall(full, ["rp4"])
    assert [(status, calls) for status, calls, _, _ in after] == [("custom", 2), ("unpriced", 2)]
    assert after[1][2:] == (hour + timedelta(minutes=5), hour + timedelta(minutes=15))  # no longer spans :40, :50
    events.rebuild_usage_hourly(store)
    assert store.fetchall(full, ["rp4"]) == after


LABELS = ("SELECT hour, label, value, provider, model, status, pricing_status, calls, cost_usd, "
          "input_tokens, latency_count, first_at, last_at, tier_fallback_calls, cache_savings_usd "
          "FROM usage_labels_hourly WHERE tenant_id = ? ORDER BY 1, 2, 3, 4, 5, 6, 7")
FULL_HOURLY = ("SELECT hour, provider, model, customer_key, status, pricing_status, calls, cost_usd, input_tokens, "
               "latency_count, first_at, last_at, tier_fallback_calls, cache_savings_usd "
               "FROM usage_hourly WHERE tenant_id = ? ORDER BY 1, 2, 3, 4, 5, 6")


def test_apply_over_days_leaves_every_roll_up_as_a_full_rebuild_would(store: Store) -> None:
    """Three days cut at midnight, tags and run names, events moving status mid-hour and whole groups
    moving: usage_hourly and the label roll-up, every column, equal what recomputing them gives."""
    day = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=3)
    sent = []
    for i in range(60):
        at = day + timedelta(hours=20) + timedelta(minutes=37 * i)  # 20:00 on day 0 to ~09:00 on day 2
        model = "house-llm" if i % 3 else MODEL
        tags = {"team": f"t{i % 2}", "feature": f"f{i % 3}"} if i % 4 else None
        sent.append(make_event(model=model, timestamp=at.isoformat() + "Z", customer_id=f"c{i % 2}", tags=tags,
                               run_name="nightly" if i % 5 else None, cached_input_tokens=100 * (i % 2)))
    insert(store, "rp5", sent)
    events.roll_up(store).result(timeout=30)
    insert(store, "rp5", [make_event(model=MODEL, timestamp=(day + timedelta(hours=30)).isoformat() + "Z",
                                     tags={"team": "t0"})])  # not yet rolled up
    _version(store, "rp5", "house-llm", day + timedelta(hours=26, minutes=10), "3")  # mid-hour, on day 1
    _version(store, "rp5", MODEL, day + timedelta(hours=40, minutes=50), "7")
    scope = EventFilters(start=day + timedelta(hours=21, minutes=3), end=day + timedelta(days=2, hours=8))
    tables = _tables(store, "rp5", scope)
    expected = sum((Decimal(g["new_cost_usd"] or 0) for g in reprice.preview(store, tenant_id="rp5", filters=scope,
                                                                               tables=tables)), Decimal(0))
    run = reprice.apply(store, tenant_id="rp5", filters=scope, tables=tables, run_id="run-5",
                        check=lambda new: new == expected)
    assert run["changed_events"] > 20
    assert run["new_cost_usd"] == expected
    events.roll_up(store).result(timeout=30)  # the late event joins, at its new cost
    events.roll_up(store).result(timeout=30)
    repriced = (store.fetchall(FULL_HOURLY, ["rp5"]), store.fetchall(LABELS, ["rp5"]))
    assert {row[5] for row in repriced[0]} == {"unpriced", "custom", "priced"}
    assert any(row[1] == "tag:team" for row in repriced[1]) and any(row[1] == "run_name" for row in repriced[1])
    events.rebuild_usage_hourly(store)
    assert (store.fetchall(FULL_HOURLY, ["rp5"]), store.fetchall(LABELS, ["rp5"])) == repriced

    # A second price for the custom model: its events stay "custom", only their costs change (and the
    # label and hourly groups keep their events).
    _version(store, "rp5", "house-llm", day + timedelta(hours=33, minutes=20), "5")
    tables = _tables(store, "rp5", scope)
    again = reprice.apply(store, tenant_id="rp5", filters=scope, tables=tables, run_id="run-6", check=lambda new: True)
    assert again["changed_events"] > 5
    assert again["new_cost_usd"] > run["new_cost_usd"]
    once_more = (store.fetchall(FULL_HOURLY, ["rp5"]), store.fetchall(LABELS, ["rp5"]))
    assert len(once_more[0]) == len(repriced[0])
    events.rebuild_usage_hourly(store)
    assert (store.fetchall(FULL_HOURLY, ["rp5"]), store.fetchall(LABELS, ["rp5"])) == once_more
