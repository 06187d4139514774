"""The alert engine on a real DuckDB file, with the clock moved by the test instead of sleeps:
a month boundary in a non-UTC timezone resets the budget and its alerts; targets are checked again at
delivery; one worker leads among several."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from api.alert_worker import AlertWorker
from api.alerts import AlertEngine
from api.budgets import standing
from api.secret_box import SecretBox
from api.store import Store, alerts, budgets
from api.store.duckdb import DuckDBStore
from tests.factories import create_user, make_event, post_events
from tests.receiver import Receiver
from tests.server import ApiServer


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def seeded(tmp_path: Path, receiver: Receiver) -> Iterator[tuple[Store, AlertEngine, dict, str]]:
    """Traffic either side of midnight on 31 January in Paris, a budget and a channel, made through the
    real API; then the API stops and the test drives the engine on its database."""
    api = ApiServer(tmp_path / "api", extra_env={"LLMOBSERVE_ALERT_ALLOW_PRIVATE_TARGETS": "1",
                                                 "LLMOBSERVE_ALERT_INTERVAL_S": "3600"}).start()
    try:
        user = create_user(api)
        post_events(api, user, [
            make_event(customer_id="reset", cost_usd="6", timestamp="2026-01-31T22:30:00Z"),  # 23:30 in Paris
            make_event(customer_id="reset", cost_usd="7", timestamp="2026-01-31T23:30:00Z"),  # 1 Feb 00:30 in Paris
        ])
        budget = httpx.post(f"{api.url}/v1/budgets", headers=user.headers, json={
            "name": "paris", "amount_usd": 10, "period": "month", "timezone": "Europe/Paris",
            "scope": {"customer_id": "reset"}, "thresholds_percent": [50, 100]}).json()
        secret = httpx.post(f"{api.url}/v1/alert-channels", headers=user.headers,
                            json={"type": "webhook", "url": receiver.url}).json()["secret"]
    finally:
        api.stop()
    db = DuckDBStore(str(api.db_path))
    engine = AlertEngine(db, SecretBox((api.data_dir / "secret_key").read_text().strip()), allow_private=True)
    try:
        yield db, engine, budget, secret
    finally:
        engine.close()
        db.close()


def test_a_new_month_in_paris_resets_spend_and_alerts_again(seeded, receiver: Receiver) -> None:
    db, engine, budget, secret = seeded
    row = budgets.get_budget(db, tenant_id=budgets.all_budgets(db)[0]["tenant_id"], budget_id=budget["id"])
    january = datetime(2026, 1, 31, 22, 45, tzinfo=UTC)
    now = standing(db, row, now=january)
    assert now["period_start"].isoformat() == "2026-01-01T00:00:00+01:00"
    assert now["spent_usd"] == Decimal("6")
    assert engine.evaluate(now=january) == 1  # 60 %: the 50 % threshold
    assert engine.evaluate(now=january + timedelta(minutes=5)) == 0  # once per period

    february = datetime(2026, 1, 31, 23, 45, tzinfo=UTC)  # 00:45 on 1 February in Paris
    now = standing(db, row, now=february)
    assert now["period_start"].isoformat() == "2026-02-01T00:00:00+01:00"
    assert now["spent_usd"] == Decimal("7")  # January's $6 no longer counts
    assert engine.evaluate(now=february) == 2  # 50 % again, and $13 a day projects past $10
    assert engine.evaluate(now=february + timedelta(minutes=1)) == 0

    assert engine.deliver_due(now=february) == 3
    messages = [r.verified(secret) for r in receiver.requests]
    seen = sorted((m["data"]["period_start"], m["type"], m["data"]["threshold_percent"]) for m in messages)
    assert seen == [("2026-01-01T00:00:00+01:00", "budget.threshold_crossed", 50),
                    ("2026-02-01T00:00:00+01:00", "budget.projected_to_exceed", 100),
                    ("2026-02-01T00:00:00+01:00", "budget.threshold_crossed", 50)]
    assert engine.deliver_due(now=february + timedelta(seconds=30)) == 0


def test_a_target_is_checked_again_at_delivery(seeded, receiver: Receiver) -> None:
    db, engine, _, _ = seeded
    addresses = {"hooks.example.test": ["93.184.215.14"]}
    strict = AlertEngine(db, engine.box, allow_private=False, resolve=lambda host, port: addresses[host])
    try:
        tenant = budgets.all_budgets(db)[0]["tenant_id"]
        channel, _ = strict.create_channel(tenant_id=tenant, type="webhook",
                                           url=f"http://hooks.example.test:{receiver.url.split(':')[2]}")
        addresses["hooks.example.test"] = ["127.0.0.1"]  # the name now leads inside
        result = strict.send_test(tenant_id=tenant, channel=channel, now=datetime.now(UTC))
        assert result["status"] == "failed" and "loopback" in result["error"]
        assert receiver.requests == []
        [logged] = [d for d in alerts.list_deliveries(db, tenant_id=tenant, limit=10) if d["id"] == result["delivery_id"]]
        assert logged["attempts"][0]["status_code"] is None and "refused" in logged["attempts"][0]["error"]
    finally:
        strict.close()


def test_one_worker_leads_and_another_takes_over_when_its_lease_runs_out(seeded) -> None:
    db, engine, _, _ = seeded
    first, second = AlertWorker(engine, interval_s=30), AlertWorker(engine, interval_s=30)
    now = datetime(2026, 2, 1, 12, tzinfo=UTC)
    assert alerts.take_lease(db, holder=first.holder, now=now.replace(tzinfo=None),
                             until=(now + timedelta(seconds=15)).replace(tzinfo=None))
    assert not alerts.take_lease(db, holder=second.holder, now=(now + timedelta(seconds=5)).replace(tzinfo=None),
                                 until=(now + timedelta(seconds=20)).replace(tzinfo=None))
    assert alerts.take_lease(db, holder=first.holder, now=(now + timedelta(seconds=10)).replace(tzinfo=None),
                             until=(now + timedelta(seconds=25)).replace(tzinfo=None))  # renewed
    assert alerts.take_lease(db, holder=second.holder, now=(now + timedelta(seconds=26)).replace(tzinfo=None),
                             until=(now + timedelta(seconds=41)).replace(tzinfo=None))  # expired: taken over
    assert not alerts.take_lease(db, holder=first.holder, now=(now + timedelta(seconds=27)).replace(tzinfo=None),
                                 until=(now + timedelta(seconds=42)).replace(tzinfo=None))
