"""Two real API processes on one PostgreSQL database (DESIGN §9): whatever one replica does, the other
sees within 1 s, nothing is counted twice or missed, and a replica killed with -9 loses nothing
acknowledged while the other keeps answering."""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.factories import clerk_event, create_user, keys_of, make_event, post_events, svix_headers
from tests.server import BACKENDS, ApiServer

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS, reason="replicas need the PostgreSQL store")


def replica_pair(root: Path) -> tuple[ApiServer, ApiServer]:
    """Two replicas of one deployment: one database, the same secrets, started at the same moment."""
    from tests.postgres import shared_server

    url = shared_server().create_database()
    a = ApiServer(root / "a", backend="postgresql", database_url=url)
    b = ApiServer(root / "b", backend="postgresql", database_url=url, admin_token=a.admin_token,
                  secret_key=a.secret_key, webhook_secret=a.webhook_secret)
    with ThreadPoolExecutor(2) as pool:  # together: both race to migrate the empty database
        list(pool.map(ApiServer.start, (a, b)))
    return a, b


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiServer, ApiServer]]:
    a, b = replica_pair(tmp_path_factory.mktemp("replicas"))
    yield a, b
    a.stop()
    b.stop()


def summary(api: ApiServer, headers: dict[str, str]) -> dict:
    answer = httpx.get(f"{api.url}/v1/analytics/summary", headers=headers)
    answer.raise_for_status()
    return answer.json()


def within(seconds: float, check) -> float:  # type: ignore[no-untyped-def]
    """How long `check()` took to become true; fails past `seconds`."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > seconds:
            pytest.fail(f"not true within {seconds} s")
        time.sleep(0.02)
    return time.monotonic() - started


def test_replicas_started_together_applied_each_migration_once(replicas: tuple[ApiServer, ApiServer]) -> None:
    a, b = replicas
    assert httpx.get(f"{a.url}/health").json()["store"] == "postgresql"
    assert httpx.get(f"{b.url}/health").json()["store"] == "postgresql"
    with psycopg.connect(a.database_url) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == sorted(set(versions)) and versions[0] == 1


def test_events_sent_to_both_are_all_counted_once(replicas: tuple[ApiServer, ApiServer]) -> None:
    a, b = replicas
    user = create_user(a)
    batches = [[make_event(input_tokens=100, output_tokens=10) for _ in range(200)] for _ in range(10)]

    def send(i: int) -> tuple[int, int]:
        first, second = (a, b) if i % 2 else (b, a)
        body = post_events(first, user, batches[i]).json()
        again = post_events(second, user, batches[i]).json()  # the same events through the other replica
        return body["accepted"] + again["accepted"], body["duplicates"] + again["duplicates"]

    with ThreadPoolExecutor(6) as pool:
        counts = list(pool.map(send, range(10)))
    assert sum(c[0] for c in counts) == 2000 and sum(c[1] for c in counts) == 2000
    for _ in range(3):  # before, during and after the roll-ups of both replicas
        totals = [summary(api, user.headers) for api in (a, b)]
        assert totals[0] == totals[1]
        assert totals[0]["calls"] == 2000 and totals[0]["input_tokens"] == 200_000
        time.sleep(1.2)


def test_a_key_revoked_on_one_replica_is_refused_by_the_other_within_a_second(
        replicas: tuple[ApiServer, ApiServer]) -> None:
    a, b = replicas
    user = create_user(a)
    new_key = httpx.post(f"{a.url}/clerk/api-keys", headers=a.admin(user.id), json={"name": "ci", "scopes": ["ingest", "read"]}).json()
    fresh = {"Authorization": f"Bearer {new_key['api_key']}"}
    within(1.0, lambda: httpx.get(f"{b.url}/v1/analytics/summary", headers=fresh).status_code == 200)

    assert httpx.delete(f"{a.url}/clerk/api-keys/{new_key['id']}", headers=a.admin(user.id)).status_code == 200

    took = within(1.0, lambda: httpx.get(f"{b.url}/v1/analytics/summary", headers=fresh).status_code == 401)
    assert took < 1.0
    assert post_events(b, user, [make_event()]).status_code == 200  # the user's other key still works


def test_a_key_issued_on_one_replica_works_on_the_other_at_once(replicas: tuple[ApiServer, ApiServer]) -> None:
    a, b = replicas
    for _ in range(5):  # each time straight after issuing: no wait for the other replica's next poll
        user = create_user(a)
        assert post_events(b, user, [make_event()]).status_code == 200
        issued = httpx.post(f"{a.url}/clerk/api-keys", headers=a.admin(user.id), json={"name": "ci"}).json()
        fresh = {"Authorization": f"Bearer {issued['api_key']}"}
        assert httpx.post(f"{b.url}/v1/events", headers=fresh, json={"events": [make_event()]}).status_code == 200
        assert httpx.get(f"{b.url}/v1/analytics/summary", headers=fresh).status_code == 403  # ingest scope only
    bogus = {"Authorization": "Bearer llmo_" + "0" * 40}
    assert httpx.get(f"{b.url}/v1/analytics/summary", headers=bogus).status_code == 401


def test_a_user_deleted_through_one_replica_is_refused_by_the_other_within_a_second(
        replicas: tuple[ApiServer, ApiServer]) -> None:
    a, b = replicas
    created = clerk_event("user.created")
    body = json.dumps(created)
    assert httpx.post(f"{a.url}/webhooks/clerk", content=body,
                      headers={**svix_headers(a.webhook_secret, body), "Content-Type": "application/json"}
                      ).json()["status"] == "created"
    api_key = httpx.post(f"{a.url}/v1/me/initial-key", headers=a.admin(created["data"]["id"])).json()["api_key"]
    headers = {"Authorization": f"Bearer {api_key}"}
    within(1.0, lambda: httpx.get(f"{b.url}/v1/analytics/summary", headers=headers).status_code == 200)

    deleted = json.dumps(clerk_event("user.deleted", user_id=created["data"]["id"]))
    httpx.post(f"{a.url}/webhooks/clerk", content=deleted,
               headers={**svix_headers(a.webhook_secret, deleted), "Content-Type": "application/json"}
               ).raise_for_status()

    within(1.0, lambda: httpx.get(f"{b.url}/v1/analytics/summary", headers=headers).status_code == 401)


def test_a_price_set_through_one_replica_prices_events_on_the_other_within_a_second(
        replicas: tuple[ApiServer, ApiServer]) -> None:
    a, b = replicas
    user = create_user(a)
    model = "house-model-1"
    httpx.put(f"{a.url}/v1/prices/openai/{model}", headers=user.headers,
              json={"input_per_mtok": "1", "output_per_mtok": "2"}).raise_for_status()

    def priced_on_b() -> bool:
        event = make_event(model=model, input_tokens=1_000_000, output_tokens=1_000_000)
        post_events(b, user, [event]).raise_for_status()
        detail = httpx.get(f"{b.url}/v1/runs/{event['id']}", headers=user.headers).json()
        return detail["events"][0]["pricing_status"] == "custom" and detail["events"][0]["cost_usd"] == "3.000000000000"

    within(1.0, priced_on_b)


def test_concurrent_identical_deliveries_to_both_replicas_make_one_user_and_one_key(
        replicas: tuple[ApiServer, ApiServer]) -> None:
    a, b = replicas
    event = clerk_event("user.created")
    body = json.dumps(event)
    headers = {**svix_headers(a.webhook_secret, body), "Content-Type": "application/json"}

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: httpx.post(f"{(a, b)[i % 2].url}/webhooks/clerk", content=body,
                                                     headers=headers, timeout=30), range(8)))

    assert [answer.status_code for answer in answers] == [200] * 8
    assert sorted(answer.json()["status"] for answer in answers) == ["created"] + ["duplicate"] * 7
    assert len(keys_of(a, event["data"]["id"])) == 1 and len(keys_of(b, event["data"]["id"])) == 1


def test_kill_9_of_one_replica_loses_no_acknowledged_event_and_the_other_keeps_answering(tmp_path: Path) -> None:
    a, b = replica_pair(tmp_path)
    try:
        user = create_user(a)
        acknowledged: list[str] = []
        errors_on_b: list[str] = []
        stop = threading.Event()

        def pump(api: ApiServer, errors: list[str] | None) -> None:
            with httpx.Client(timeout=10) as client:
                while not stop.is_set():
                    batch = [make_event() for _ in range(50)]
                    try:
                        answer = client.post(f"{api.url}/v1/events", headers=user.headers, json={"events": batch})
                    except httpx.HTTPError as exc:
                        if errors is not None:
                            errors.append(repr(exc))
                        continue
                    if answer.status_code == 200:
                        acknowledged.extend(e["id"] for e in batch)
                    elif errors is not None:
                        errors.append(str(answer.status_code))

        threads = [threading.Thread(target=pump, args=(a, None)), threading.Thread(target=pump, args=(b, errors_on_b))]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        a.stop(signal.SIGKILL)
        time.sleep(1.5)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

        assert not errors_on_b, errors_on_b[:5]
        within(5.0, lambda: summary(b, user.headers)["calls"] >= len(set(acknowledged)))
        exported = httpx.get(f"{b.url}/v1/events/export?format=csv", headers=user.headers).text
        stored = {line.split(",")[0].strip('"') for line in exported.splitlines()[1:]}
        assert set(acknowledged) <= stored
        assert summary(b, user.headers)["calls"] == len(stored)
    finally:
        a.stop()
        b.stop()


def test_two_uvicorn_workers_share_the_store(tmp_path: Path) -> None:
    api = ApiServer(tmp_path / "workers", backend="postgresql", workers=2).start()
    try:
        user = create_user(api)
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: post_events(api, user, [make_event() for _ in range(20)]), range(40)))
        refused = [(a.status_code, a.text) for a in answers if a.status_code != 200 or a.json()["accepted"] != 20]
        assert refused == []
        key = httpx.post(f"{api.url}/clerk/api-keys", headers=api.admin(user.id), json={"name": "w"}).json()
        headers = {"Authorization": f"Bearer {key['api_key']}"}
        httpx.delete(f"{api.url}/clerk/api-keys/{key['id']}", headers=api.admin(user.id)).raise_for_status()
        time.sleep(1.0)  # whichever worker answers now has seen the revocation
        assert {httpx.get(f"{api.url}/v1/analytics/summary", headers=headers).status_code for _ in range(20)} == {401}
        assert summary(api, user.headers)["calls"] == 800
        assert len(set(re.findall(r"Started server process \[(\d+)\]", api.log()))) == 2  # two workers ran
    finally:
        api.stop()


def test_a_replica_without_the_shared_secrets_refuses_to_start_and_names_them(tmp_path: Path) -> None:
    from tests.postgres import shared_server

    api = ApiServer(tmp_path / "nosecret", backend="postgresql", database_url=shared_server().create_database(),
                    secret_key="")
    with pytest.raises(RuntimeError):
        api.start()
    api.stop()
    assert "LLMOBSERVE_SECRET_KEY is not set" in api.log()


def test_a_dashboard_pointed_at_either_replica_shows_the_same_totals(
        replicas: tuple[ApiServer, ApiServer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.dashboard.conftest import DashboardUser, log_in, signed_up

    a, b = replicas
    member: DashboardUser = signed_up(a)
    post_events(a, member.user, [make_event() for _ in range(7)]).raise_for_status()
    post_events(b, member.user, [make_event(model="my-private-finetune") for _ in range(3)]).raise_for_status()
    shown = []
    for api in (a, b):
        monkeypatch.setenv("LLMOBSERVE_API_URL", api.url)
        monkeypatch.setenv("LLMOBSERVE_ADMIN_TOKEN", api.admin_token)
        monkeypatch.setenv("LLMOBSERVE_DB", str(tmp_path / "data" / "llmobserve.duckdb"))  # cookie key file
        at = log_in(member)
        shown.append({m.label: m.value for m in at.metric})
    assert shown[0] == shown[1]
    assert shown[0]["Calls"] == "10" and shown[0]["Unpriced calls"] == "3"
