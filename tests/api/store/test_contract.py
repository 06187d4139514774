"""The store contract, run on both backends in this process: what every Store must do, whatever the
engine. A new store function lands with a test here (or beside it, using the `store` fixture)."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from api.ingest import to_rows, validate_batch
from api.store import Store, analytics, events, users, webhooks
from api.store.base import utcnow
from api.store.filters import EventFilters
from tests.factories import make_event


def rows(tenant_id: str, batch: list[dict]) -> object:
    valid = validate_batch(json.dumps({"events": batch}).encode(), max_events=10_000)
    assert not valid.rejected
    table, over_bound = to_rows(tenant_id, valid.events)
    assert not over_bound
    return table


def insert(store: Store, tenant_id: str, batch: list[dict]) -> tuple[int, int]:
    return events.insert_events(store, batch=rows(tenant_id, batch)).result(timeout=30)


def calls(store: Store, tenant_id: str, **filters: object) -> int:
    return analytics.summary(store, tenant_id=tenant_id, filters=EventFilters(**filters))["calls"]


def test_health_names_the_engine(store: Store) -> None:
    assert store.ping() and store.name in ("duckdb", "postgresql")


def test_a_resent_id_is_stored_once_within_and_across_flushes(store: Store) -> None:
    first, again = make_event(), make_event()
    assert insert(store, "t1", [first, again, dict(first)]) == (2, 1)
    assert insert(store, "t1", [first]) == (0, 1)
    assert insert(store, "t2", [first]) == (1, 0)  # another tenant's id space
    assert calls(store, "t1") == 2 and calls(store, "t2") == 1


def test_totals_are_exact_before_during_and_after_roll_ups(store: Store) -> None:
    now = utcnow()
    stamps = [now - timedelta(hours=h, minutes=7) for h in range(0, 30, 3)]
    insert(store, "t3", [make_event(timestamp=s.isoformat() + "Z") for s in stamps])
    assert calls(store, "t3") == 10
    events.roll_up(store).result(timeout=30)
    insert(store, "t3", [make_event(timestamp=stamps[0].isoformat() + "Z")])
    assert calls(store, "t3") == 11
    events.roll_up(store).result(timeout=30)
    events.roll_up(store).result(timeout=30)
    assert calls(store, "t3") == 11
    assert calls(store, "t3", start=now - timedelta(hours=10), end=now) == 5  # part-hours at both edges
    events.rebuild_usage_hourly(store)
    assert calls(store, "t3") == 11


def test_concurrent_writes_are_each_counted_once(store: Store) -> None:
    batches = [[make_event() for _ in range(50)] for _ in range(20)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda b: insert(store, "t4", b), batches))
        pool.submit(lambda: events.roll_up(store).result(timeout=30)).result()
    assert results == [(50, 0)] * 20
    assert calls(store, "t4") == 1000


def test_purge_removes_a_tenants_events_and_totals_only(store: Store) -> None:
    insert(store, "t5", [make_event(), make_event()])
    insert(store, "t6", [make_event()])
    events.roll_up(store).result(timeout=30)
    assert events.purge_tenant_events(store, tenant_id="t5").result(timeout=30) == 2
    assert calls(store, "t5") == 0 and calls(store, "t6") == 1


def test_a_delivery_is_claimed_once_even_by_concurrent_transactions(store: Store) -> None:
    svix_id = f"msg_{uuid.uuid4().hex}"

    def claim(_: int) -> bool:
        with store.transaction() as tx:
            return webhooks.claim_delivery(tx, svix_id=svix_id, event_type="user.created")

    with ThreadPoolExecutor(6) as pool:
        assert sorted(pool.map(claim, range(6))) == [False] * 5 + [True]


def test_a_rolled_back_transaction_leaves_nothing(store: Store) -> None:
    try:
        with store.transaction() as tx:
            users.insert_user(tx, user_id="user_rollback", email="r@example.com", first_name=None,
                              last_name=None, user_type="individual", source="admin")
            raise RuntimeError("abandon")
    except RuntimeError:
        pass
    assert users.get_user(store, user_id="user_rollback") is None
