"""Alert channels and deliveries over HTTP, to real receivers that verify signatures with svix."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.factories import TestUser, create_user, make_event, post_events
from tests.receiver import Received, Receiver
from tests.server import ApiServer

INTERVAL_S = 1
ALERTING_ENV = {"LLMOBSERVE_ALERT_INTERVAL_S": str(INTERVAL_S), "LLMOBSERVE_ALERT_ALLOW_PRIVATE_TARGETS": "1"}


@pytest.fixture(scope="module")
def alerting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """An API that may call local receivers and evaluates budgets every second."""
    server = ApiServer(tmp_path_factory.mktemp("alerting"), extra_env=ALERTING_ENV).start()
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def channel(api: ApiServer, user: TestUser, url: str, type: str = "webhook") -> dict:
    answer = httpx.post(f"{api.url}/v1/alert-channels", headers=user.headers, json={"type": type, "url": url})
    assert answer.status_code == 201, answer.text
    return answer.json()


def budget(api: ApiServer, user: TestUser, **body) -> dict:
    answer = httpx.post(f"{api.url}/v1/budgets", headers=user.headers,
                        json={"name": "alerted", "amount_usd": 10, "period": "month", **body})
    assert answer.status_code == 201, answer.text
    return answer.json()


def spend(api: ApiServer, user: TestUser, usd: str, customer: str = "alerts") -> None:
    answer = post_events(api, user, [make_event(customer_id=customer, cost_usd=usd)])
    assert answer.json()["accepted"] == 1


def crossings(requests: list[Received]) -> list[float]:
    return [r.json()["data"]["threshold_percent"] for r in requests if r.json()["type"] == "budget.threshold_crossed"]


def deliveries(api: ApiServer, user: TestUser) -> list[dict]:
    return httpx.get(f"{api.url}/v1/alert-deliveries", headers=user.headers).json()["data"]


def test_each_threshold_is_delivered_once_signed_for_svix(alerting: ApiServer, receiver: Receiver) -> None:
    user = create_user(alerting)
    ch = channel(alerting, user, receiver.url)
    assert ch["secret"].startswith("whsec_") and ch["url"] == receiver.url.rsplit("/", 1)[0] + "/…"
    b = budget(alerting, user, scope={"customer_id": "alerts"})
    crossed_at = time.monotonic()
    spend(alerting, user, "6")
    got = receiver.wait_for(lambda rs: 50.0 in crossings(rs), timeout=INTERVAL_S + 5)
    assert time.monotonic() - crossed_at <= INTERVAL_S + 5
    message = got[0].verified(ch["secret"])
    assert message["type"] in ("budget.threshold_crossed", "budget.projected_to_exceed")
    first = next(r.verified(ch["secret"]) for r in got if r.json()["type"] == "budget.threshold_crossed")
    data = first["data"]
    assert (data["budget_id"], data["name"], data["threshold_percent"]) == (b["id"], "alerted", 50)
    assert (Decimal(data["spent_usd"]), Decimal(data["amount_usd"])) == (6, 10)
    assert data["period_start"] == b["period_start"] and data["period_end"] == b["period_end"]
    assert data["scope"]["customer_id"] == "alerts" and Decimal(data["projected_usd"]) >= 6
    assert datetime.fromisoformat(first["timestamp"]) <= datetime.now(UTC)
    spend(alerting, user, "3")
    receiver.wait_for(lambda rs: 80.0 in crossings(rs), timeout=INTERVAL_S + 5)
    time.sleep(3 * INTERVAL_S)  # several more evaluations: nothing fires twice
    assert sorted(crossings(receiver.requests)) == [50.0, 80.0]
    projected = [r for r in receiver.requests if r.json()["type"] == "budget.projected_to_exceed"]
    assert len(projected) == 1  # $9 within seconds projects far past $10 by the month's end
    for r in receiver.requests:
        r.verified(ch["secret"])
    log = deliveries(alerting, user)
    assert len(log) == len(receiver.requests)
    assert {d["id"] for d in log} == {r.headers["webhook-id"] for r in receiver.requests}
    assert all(d["status"] == "delivered" and [a["status_code"] for a in d["attempts"]] == [200] for d in log)


def test_a_failing_receiver_gets_the_same_message_again_until_it_answers(alerting: ApiServer) -> None:
    receiver = Receiver(statuses=[500, 500, 200])
    try:
        user = create_user(alerting)
        ch = channel(alerting, user, receiver.url)
        budget(alerting, user, thresholds_percent=[100], amount_usd=1, scope={"customer_id": "retry"})
        spend(alerting, user, "2", customer="retry")
        # retried 5 s and then 10 s after the first failure
        got = receiver.wait_for(lambda rs: len(rs) >= 3, timeout=INTERVAL_S + 5 + 10 + 10)
        time.sleep(6)
        assert len(receiver.requests) == 3, [(r.headers["webhook-id"], r.headers["webhook-timestamp"], r.body)
                                             for r in receiver.requests]  # delivered on the 3rd try, never again
        assert len({r.headers["webhook-id"] for r in got}) == 1
        for r in got:
            assert r.verified(ch["secret"])["data"]["threshold_percent"] == 100
        [log] = deliveries(alerting, user)
        assert log["status"] == "delivered" and [a["status_code"] for a in log["attempts"]] == [500, 500, 200]
        times = [datetime.fromisoformat(a["attempted_at"]) for a in log["attempts"]]
        gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
        assert 5 <= gaps[0] < 5 + 2 and 10 <= gaps[1] < 10 + 2
    finally:
        receiver.close()


def test_pending_deliveries_survive_a_restart_and_secrets_stay_encrypted(tmp_path: Path) -> None:
    receiver = Receiver(statuses=[503, 200])
    api = ApiServer(tmp_path / "api", extra_env=ALERTING_ENV).start()
    try:
        user = create_user(api)
        url = receiver.url + "?token=s3cr3t-path-token"
        ch = channel(api, user, url)
        # exceeded at once: one alert (100 %), no projected-to-exceed beside it
        budget(api, user, thresholds_percent=[100], amount_usd=5, scope={"customer_id": "restart"})
        spend(api, user, "7", customer="restart")
        first = receiver.wait_for(lambda rs: len(rs) >= 1, timeout=INTERVAL_S + 5)[0]
        api.stop()  # before the 5 s retry
        database = api.db_path.read_bytes() + b"".join(p.read_bytes() for p in api.data_dir.glob("*.wal"))
        assert ch["secret"].encode() not in database and b"s3cr3t-path-token" not in database
        assert ch["secret"] not in api.log(), api.log()
        assert "s3cr3t-path-token" not in api.log()
        api.start()
        again = receiver.wait_for(lambda rs: len(rs) >= 2, timeout=5 + 10)[1]
        assert again.headers["webhook-id"] == first.headers["webhook-id"]
        assert again.verified(ch["secret"]) == first.verified(ch["secret"])
        [log] = deliveries(api, user)
        assert log["status"] == "delivered" and [a["status_code"] for a in log["attempts"]] == [503, 200]
    finally:
        api.stop()
        receiver.close()


def test_test_delivery_and_slack_json(alerting: ApiServer, receiver: Receiver) -> None:
    user = create_user(alerting)
    hook = channel(alerting, user, receiver.url)
    answer = httpx.post(f"{alerting.url}/v1/alert-channels/{hook['id']}/test", headers=user.headers)
    assert answer.status_code == 200 and answer.json()["status"] == "delivered", answer.text
    assert receiver.requests[-1].verified(hook["secret"])["type"] == "alert_channel.test"
    slack = channel(alerting, user, receiver.url.replace("/hook", "/slack"), type="slack")
    assert slack["secret"] is None
    assert httpx.post(f"{alerting.url}/v1/alert-channels/{slack['id']}/test", headers=user.headers).json()["status"] \
        == "delivered"
    message = receiver.requests[-1]
    assert message.path == "/slack" and "webhook-signature" not in message.headers
    assert set(message.json()) == {"text"} and "test delivery" in message.json()["text"]
    listed = httpx.get(f"{alerting.url}/v1/alert-channels", headers=user.headers).json()["data"]
    assert {c["id"] for c in listed} == {hook["id"], slack["id"]} and all("secret" not in c for c in listed)
    other = create_user(alerting)
    assert httpx.post(f"{alerting.url}/v1/alert-channels/{hook['id']}/test", headers=other.headers).status_code == 404
    assert deliveries(alerting, other) == []
    assert httpx.delete(f"{alerting.url}/v1/alert-channels/{hook['id']}", headers=user.headers).status_code == 200


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/hook", "http://localhost/hook", "http://10.0.0.5/",
                                 "http://169.254.169.254/latest/meta-data/", "http://[::1]:80/", "ftp://example.com/"])
def test_private_targets_are_refused_when_not_allowed(api: ApiServer, user: TestUser, url: str) -> None:
    answer = httpx.post(f"{api.url}/v1/alert-channels", headers=user.headers, json={"type": "webhook", "url": url})
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["detail"]
    assert error["loc"] == ["body", "url"]
    assert httpx.get(f"{api.url}/v1/alert-channels", headers=user.headers).json()["data"] == []
