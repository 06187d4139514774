"""What each Clerk event does to users and keys (api/clerk.py), over HTTP against the real API with
genuinely signed deliveries of Clerk's documented payloads; then, in-process on both stores, the races
that HTTP tests cannot force (on PostgreSQL, two deliveries held inside their transactions at once)."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from api import clerk
from api.accounts import Accounts
from api.store import Store, keys, users, webhooks
from tests.factories import (TestUser, clerk_email, clerk_event, create_user, keys_of, make_event, new_clerk_id,
                             post_events, read_user, send_clerk_event, svix_headers)
from tests.server import ApiServer


# -- helpers ------------------------------------------------------------------------------------------
def initial_key(api: ApiServer, user_id: str) -> str:
    """The full initial key, as the dashboard's Settings page receives it (once)."""
    answer = httpx.post(f"{api.url}/v1/me/initial-key", headers=api.admin(user_id))
    answer.raise_for_status()
    return answer.json()["api_key"]


def post_raw(api: ApiServer, body: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{api.url}/webhooks/clerk", content=body,
                      headers={**headers, "Content-Type": "application/json"})


# -- user.created -------------------------------------------------------------------------------------
def test_user_created_creates_the_user_under_its_clerk_id_with_an_api_key(api: ApiServer) -> None:
    event = clerk_event("user.created")
    clerk_id = event["data"]["id"]

    answer = send_clerk_event(api, event)

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "created"
    assert answer.json()["user_id"] == clerk_id
    user = read_user(api, clerk_id)
    assert user is not None
    assert (user["email"], user["first_name"], user["last_name"]) == (clerk_email(event), "Example", "Example")
    assert user["user_type"] == "individual" and user["active"] is True
    [key] = keys_of(api, clerk_id)
    assert key["prefix"].startswith("llmo_") and not key["revoked"]


def test_the_new_key_works_in_the_sdk_at_once_and_reads_too(api: ApiServer) -> None:
    event = clerk_event("user.created")
    send_clerk_event(api, event).raise_for_status()
    user = TestUser(id=event["data"]["id"], email=clerk_email(event), api_key=initial_key(api, event["data"]["id"]),
                    key_id="")

    assert post_events(api, user, [make_event()]).json()["accepted"] == 1
    # the setup guide uses the sign-up key for both: it has both scopes (DESIGN §13)
    assert [k["scopes"] for k in keys_of(api, user.id)] == [["ingest", "read"]]
    assert httpx.get(f"{api.url}/v1/analytics/summary", headers=user.headers).json()["calls"] == 1


def test_the_log_names_the_event_and_the_user_but_shows_only_the_key_prefix(api: ApiServer) -> None:
    event = clerk_event("user.created")
    send_clerk_event(api, event).raise_for_status()
    api_key = initial_key(api, event["data"]["id"])

    log = api.log()
    assert "[Clerk Webhook] Received event: user.created" in log
    assert f"[Clerk Webhook] Created user {clerk_email(event)} with API key {api_key[:9]}…" in log
    assert api_key[:9] == "llmo_" + api_key[5:9]
    assert api_key not in log and api_key[:12] not in log


def test_user_type_comes_from_public_metadata(api: ApiServer) -> None:
    event = clerk_event("user.created", public_metadata={"user_type": "saas_builder"})
    send_clerk_event(api, event).raise_for_status()

    assert read_user(api, event["data"]["id"])["user_type"] == "saas_builder"


def test_the_primary_email_is_the_one_primary_email_address_id_names(api: ApiServer) -> None:
    event = clerk_event("user.created")
    data = event["data"]
    primary = f"primary-{uuid.uuid4().hex[:8]}@example.org"
    data["email_addresses"].append({"id": "idn_primary", "object": "email_address", "email_address": primary})
    data["primary_email_address_id"] = "idn_primary"
    send_clerk_event(api, event).raise_for_status()

    assert read_user(api, data["id"])["email"] == primary


def test_without_a_primary_email_id_the_first_address_is_used(api: ApiServer) -> None:
    event = clerk_event("user.created", primary_email_address_id=None)
    send_clerk_event(api, event).raise_for_status()

    assert read_user(api, event["data"]["id"])["email"] == clerk_email(event)


def test_a_phone_only_sign_up_is_created_without_an_email(api: ApiServer) -> None:
    event = clerk_event("user.created.phone_only")
    clerk_id = event["data"]["id"]

    answer = send_clerk_event(api, event)

    assert answer.status_code == 200 and answer.json()["status"] == "created"
    user = read_user(api, clerk_id)
    assert user["email"] is None and user["first_name"] is None
    assert len(keys_of(api, clerk_id)) == 1
    assert f"[Clerk Webhook] Created user {clerk_id} (no email) with API key llmo_" in api.log()


# -- once per delivery, once per Clerk user -----------------------------------------------------------
def test_the_same_delivery_twice_is_processed_once(api: ApiServer) -> None:
    event = clerk_event("user.created")
    msg_id = f"msg_{uuid.uuid4().hex}"

    first = send_clerk_event(api, event, msg_id=msg_id)
    retry = send_clerk_event(api, event, msg_id=msg_id)

    assert first.json()["status"] == "created"
    assert retry.status_code == 200 and retry.json()["status"] == "duplicate"
    assert len(keys_of(api, event["data"]["id"])) == 1


def test_concurrent_copies_of_one_delivery_create_one_user_and_one_key(api: ApiServer) -> None:
    event = clerk_event("user.created")
    body = json.dumps(event)
    headers = svix_headers(api.webhook_secret, body)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post_raw(api, body, headers), range(8)))

    assert [a.status_code for a in answers] == [200] * 8
    assert sorted(a.json()["status"] for a in answers) == ["created"] + ["duplicate"] * 7
    assert len(keys_of(api, event["data"]["id"])) == 1


def test_a_second_user_created_for_a_known_clerk_id_makes_no_second_key(api: ApiServer) -> None:
    event = clerk_event("user.created")
    send_clerk_event(api, event).raise_for_status()

    again = send_clerk_event(api, event)  # a new svix-id: Clerk sent it twice

    assert again.status_code == 200 and again.json()["status"] == "updated"
    assert len(keys_of(api, event["data"]["id"])) == 1
    assert api.log().count(f"Created user {clerk_email(event)} ") == 1


# -- user.updated -------------------------------------------------------------------------------------
def test_user_updated_changes_email_names_and_user_type(api: ApiServer) -> None:
    created = clerk_event("user.created")
    clerk_id = created["data"]["id"]
    send_clerk_event(api, created).raise_for_status()
    updated = clerk_event("user.updated", user_id=clerk_id, email=f"new-{uuid.uuid4().hex[:8]}@example.org")

    answer = send_clerk_event(api, updated)

    assert answer.status_code == 200 and answer.json()["status"] == "updated"
    user = read_user(api, clerk_id)
    assert (user["email"], user["first_name"], user["user_type"]) == (clerk_email(updated), "Ada", "saas_builder")
    assert len(keys_of(api, clerk_id)) == 1


def test_an_update_older_than_the_stored_one_is_ignored(api: ApiServer) -> None:
    clerk_id = new_clerk_id()
    newer = clerk_event("user.updated", user_id=clerk_id)  # updated_at 1654012824306
    older = clerk_event("user.updated", user_id=clerk_id, first_name="Stale", updated_at=1654012591835)
    send_clerk_event(api, newer).raise_for_status()

    answer = send_clerk_event(api, older)

    assert answer.status_code == 200 and answer.json()["status"] == "stale"
    assert read_user(api, clerk_id)["first_name"] == "Ada"


def test_a_late_user_created_does_not_undo_a_newer_update(api: ApiServer) -> None:
    clerk_id = new_clerk_id()
    send_clerk_event(api, clerk_event("user.updated", user_id=clerk_id)).raise_for_status()

    answer = send_clerk_event(api, clerk_event("user.created", user_id=clerk_id))

    assert answer.json()["status"] == "stale"
    assert read_user(api, clerk_id)["user_type"] == "saas_builder"
    assert len(keys_of(api, clerk_id)) == 1


def test_user_updated_for_an_unknown_id_creates_the_user_with_a_key(api: ApiServer) -> None:
    event = clerk_event("user.updated")

    answer = send_clerk_event(api, event)

    assert answer.status_code == 200 and answer.json()["status"] == "created"
    assert read_user(api, event["data"]["id"])["user_type"] == "saas_builder"
    assert len(keys_of(api, event["data"]["id"])) == 1


# -- user.deleted -------------------------------------------------------------------------------------
def test_user_deleted_revokes_every_key_and_blocks_login_but_keeps_events(api: ApiServer) -> None:
    created = clerk_event("user.created")
    clerk_id, email = created["data"]["id"], clerk_email(created)
    send_clerk_event(api, created).raise_for_status()
    user = TestUser(id=clerk_id, email=email, api_key=initial_key(api, clerk_id), key_id="")
    second_key = httpx.post(f"{api.url}/clerk/api-keys", headers=api.admin(clerk_id), json={"name": "ci"}).json()
    httpx.post(f"{api.url}/admin/dashboard/signup", headers=api.admin(),
               json={"email": email, "password": "correct horse battery"}).raise_for_status()
    assert post_events(api, user, [make_event()]).json()["accepted"] == 1

    answer = send_clerk_event(api, clerk_event("user.deleted", user_id=clerk_id))

    assert answer.status_code == 200 and answer.json()["status"] == "deactivated"
    assert post_events(api, user, [make_event()]).status_code == 401
    assert httpx.post(f"{api.url}/v1/events", json={"events": [make_event()]},
                      headers={"Authorization": f"Bearer {second_key['api_key']}"}).status_code == 401
    login = httpx.post(f"{api.url}/admin/dashboard/login", headers=api.admin(),
                       json={"email": email, "password": "correct horse battery"})
    assert login.status_code == 403
    assert read_user(api, clerk_id)["active"] is False
    summary = httpx.get(f"{api.url}/v1/analytics/summary", headers=api.admin(clerk_id)).json()
    assert summary["calls"] == 1  # kept until an operator purges them
    assert httpx.delete(f"{api.url}/admin/users/{clerk_id}/events", headers=api.admin()).json() == {"deleted": 1}


def test_user_deleted_for_an_unknown_user_is_acknowledged_and_ignored(api: ApiServer) -> None:
    answer = send_clerk_event(api, clerk_event("user.deleted"))

    assert answer.status_code == 200 and answer.json()["status"] == "ignored"


# -- operator-created users ---------------------------------------------------------------------------
def test_a_sign_up_with_an_operator_created_email_is_linked_not_duplicated(api: ApiServer) -> None:
    operator_made = create_user(api, email=f"ops-{uuid.uuid4().hex[:8]}@example.org", first_name="Op")
    event = clerk_event("user.created", email=operator_made.email.upper())
    clerk_id = event["data"]["id"]

    answer = send_clerk_event(api, event)

    assert answer.status_code == 200 and answer.json()["status"] == "linked"
    assert read_user(api, operator_made.id) is None
    me = httpx.get(f"{api.url}/v1/me", headers=operator_made.headers).json()
    assert me["id"] == clerk_id and me["first_name"] == "Example"  # the old key now acts for the Clerk id
    assert [k["id"] for k in keys_of(api, clerk_id)] == [operator_made.key_id]
    assert post_events(api, operator_made, [make_event()]).json()["accepted"] == 1
    everyone = httpx.get(f"{api.url}/admin/users", headers=api.admin()).json()
    assert [u["id"] for u in everyone if (u["email"] or "").lower() == operator_made.email] == [clerk_id]
    assert "[Clerk Webhook] Linked Clerk user " + clerk_id in api.log()


def test_events_recorded_before_the_link_move_to_the_clerk_id(api: ApiServer) -> None:
    import time

    operator_made = create_user(api, email=f"ops-{uuid.uuid4().hex[:8]}@example.org")
    post_events(api, operator_made, [make_event(), make_event()]).raise_for_status()
    time.sleep(1.5)  # rolled into the hourly totals by now
    post_events(api, operator_made, [make_event()]).raise_for_status()  # and one that is not yet
    event = clerk_event("user.created", email=operator_made.email)

    send_clerk_event(api, event).raise_for_status()

    summary = httpx.get(f"{api.url}/v1/analytics/summary", headers=api.admin(event["data"]["id"])).json()
    assert summary["calls"] == 3


# -- other events and missing fields ---------------------------------------------------------------

def test_other_event_types_are_acknowledged_logged_and_ignored(api: ApiServer) -> None:
    answer = send_clerk_event(api, {"type": "session.created", "object": "event", "data": {"id": "sess_1"}})

    assert answer.status_code == 200 and answer.json()["status"] == "ignored"
    assert "[Clerk Webhook] Received event: session.created" in api.log()


def test_missing_optional_fields_do_not_crash(api: ApiServer) -> None:
    clerk_id = new_clerk_id()

    answer = send_clerk_event(api, {"type": "user.created", "data": {"id": clerk_id}})

    assert answer.status_code == 200 and answer.json()["status"] == "created"
    assert read_user(api, clerk_id)["email"] is None


# -- races, in-process ------------------------------------------------------------------------------
@pytest.fixture
def accounts(store: Store) -> Accounts:
    return Accounts(store, "x" * 40)


def hold_first_claims(monkeypatch: pytest.MonkeyPatch, db: Store, parties: int) -> None:
    """Make the first `parties` deliveries meet inside their transactions, then claim together.

    Only where transactions run side by side (PostgreSQL): DuckDB's store runs one of these
    transactions at a time in its process, so there the deliveries simply run concurrently."""
    if not db.shared:
        return
    barrier, calls, lock = threading.Barrier(parties, timeout=10), [0], threading.Lock()
    original = webhooks.claim_delivery

    def claim(cur, *, svix_id: str, event_type: str) -> bool:  # type: ignore[no-untyped-def]
        with lock:
            calls[0] += 1
            first_round = calls[0] <= parties
        if first_round:
            barrier.wait()
        return original(cur, svix_id=svix_id, event_type=event_type)

    monkeypatch.setattr(webhooks, "claim_delivery", claim)


def run_together(*jobs) -> list[clerk.ClerkEventResult]:  # type: ignore[no-untyped-def]
    results: list[clerk.ClerkEventResult | BaseException] = [None] * len(jobs)  # type: ignore[list-item]

    def run(i: int) -> None:
        try:
            results[i] = jobs[i]()
        except BaseException as exc:  # noqa: BLE001 - reported below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results  # type: ignore[return-value]


def test_one_delivery_racing_itself_is_applied_once(accounts: Accounts, monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="llmobserve.api")
    hold_first_claims(monkeypatch, accounts.db, 2)
    event = clerk.ClerkEvent("user.created", clerk_event("user.created")["data"])
    apply = lambda: clerk.apply_event(accounts, delivery_id="msg_race", event=event)  # noqa: E731

    results = run_together(apply, apply)

    assert sorted(r.status for r in results) == ["created", "duplicate"]
    assert len(keys.list_keys(accounts.db, user_id=event.data["id"])) == 1


def test_two_deliveries_creating_one_user_make_one_key(accounts: Accounts, monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="llmobserve.api")
    hold_first_claims(monkeypatch, accounts.db, 2)
    data = clerk_event("user.created")["data"]
    event = clerk.ClerkEvent("user.created", data)

    results = run_together(lambda: clerk.apply_event(accounts, delivery_id="msg_a", event=event),
                           lambda: clerk.apply_event(accounts, delivery_id="msg_b", event=event))

    assert sorted(r.status for r in results) == ["created", "updated"]
    if accounts.db.shared:  # both inserted the user at once: the database refused one, which retried
        assert "met a concurrent write; retrying" in caplog.text
    assert len(keys.list_keys(accounts.db, user_id=data["id"])) == 1


def test_a_failed_change_leaves_no_key_in_the_cache(accounts: Accounts, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(users, "insert_user", broken)
    event = clerk.ClerkEvent("user.created", clerk_event("user.created")["data"])

    with pytest.raises(RuntimeError):
        clerk.apply_event(accounts, delivery_id="msg_fail", event=event)

    assert accounts._by_hash == {}
    assert users.get_user(accounts.db, user_id=event.data["id"]) is None
    monkeypatch.undo()  # the delivery was not recorded: Svix's retry is processed
    assert clerk.apply_event(accounts, delivery_id="msg_fail", event=event).status == "created"
