"""POST /webhooks/clerk as an endpoint (DESIGN §3, §7): only deliveries genuinely signed with
CLERK_WEBHOOK_SECRET get through, unreadable ones are refused with a reason, and nothing changes when a
delivery is refused. What each accepted event does is specified in tests/api/test_clerk.py.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.factories import clerk_email, clerk_event, create_user, read_user, send_clerk_event, svix_headers
from tests.server import ROOT, ApiServer


# -- helpers ------------------------------------------------------------------------------------------
def post_raw(api: ApiServer, body: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{api.url}/webhooks/clerk", content=body,
                      headers={**headers, "Content-Type": "application/json"})


def other_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


# -- unreadable events ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda e: e.update(data="not an object"), "'data' of user.created must be an object"),
    (lambda e: e["data"].pop("id"), "data.id"),
    (lambda e: e["data"].update(id="sess_123"), "data.id"),
    (lambda e: e["data"].update(email_addresses="a@example.org"), "data.email_addresses"),
    (lambda e: e["data"].update(updated_at="yesterday"), "data.updated_at"),
    (lambda e: e["data"].update(first_name=["Ada"]), "data.first_name"),
    (lambda e: e.pop("type"), "'type'"),
], ids=["data-not-object", "no-id", "not-a-user-id", "emails-not-list", "updated-at-text", "name-list", "no-type"])
def test_malformed_data_is_refused_with_a_reason_and_changes_nothing(api: ApiServer, mutate, reason: str) -> None:
    event = clerk_event("user.created")
    clerk_id = event["data"]["id"]
    mutate(event)

    answer = send_clerk_event(api, event)

    assert answer.status_code == 400
    assert reason in answer.json()["detail"]
    assert read_user(api, clerk_id) is None


@pytest.mark.parametrize("body", ["not json", "[1, 2]", "\"user.created\"", ""])
def test_a_signed_body_that_is_not_an_event_object_is_refused(api: ApiServer, body: str) -> None:
    answer = send_clerk_event(api, body)

    assert answer.status_code == 400 and answer.json()["detail"]


# -- signatures ---------------------------------------------------------------------------------------
def _unsigned(api: ApiServer, body: str) -> dict[str, str]:
    return {}


def _garbage_signature(api: ApiServer, body: str) -> dict[str, str]:
    return {**svix_headers(api.webhook_secret, body), "svix-signature": "garbage"}


def _non_base64_signature(api: ApiServer, body: str) -> dict[str, str]:
    return {**svix_headers(api.webhook_secret, body), "svix-signature": "v1,@@@not-base64@@@,x"}


def _garbage_timestamp(api: ApiServer, body: str) -> dict[str, str]:
    return {**svix_headers(api.webhook_secret, body), "svix-timestamp": "yesterday"}


def _tampered_body(api: ApiServer, body: str) -> dict[str, str]:
    return svix_headers(api.webhook_secret, body.replace("Example", "Mallory"))


def _wrong_secret(api: ApiServer, body: str) -> dict[str, str]:
    return svix_headers(other_secret(), body)


def _ten_minutes_old(api: ApiServer, body: str) -> dict[str, str]:
    return svix_headers(api.webhook_secret, body, when=datetime.now(UTC) - timedelta(minutes=10))


def _ten_minutes_ahead(api: ApiServer, body: str) -> dict[str, str]:
    return svix_headers(api.webhook_secret, body, when=datetime.now(UTC) + timedelta(minutes=10))


@pytest.mark.parametrize("headers_for", [_unsigned, _garbage_signature, _non_base64_signature, _garbage_timestamp,
                                         _tampered_body, _wrong_secret, _ten_minutes_old, _ten_minutes_ahead],
                         ids=lambda f: f.__name__.strip("_"))
def test_a_delivery_that_fails_verification_is_refused_and_changes_nothing(api: ApiServer, headers_for) -> None:
    event = clerk_event("user.created")
    body = json.dumps(event)

    answer = post_raw(api, body, headers_for(api, body))

    assert answer.status_code in (400, 401)
    assert answer.json()["detail"]
    assert read_user(api, event["data"]["id"]) is None
    log = api.log()
    assert clerk_email(event) not in log and api.webhook_secret not in log


def test_missing_headers_are_named_in_the_answer(api: ApiServer) -> None:
    answer = post_raw(api, "{}", {"svix-id": "msg_1"})

    assert answer.status_code == 400
    assert "svix-timestamp" in answer.json()["detail"] and "svix-signature" in answer.json()["detail"]


def test_a_refused_delivery_is_not_remembered_so_its_genuine_retry_is_processed(api: ApiServer) -> None:
    event = clerk_event("user.created")
    msg_id = f"msg_{uuid.uuid4().hex}"
    assert send_clerk_event(api, event, msg_id=msg_id, secret=other_secret()).status_code == 401

    answer = send_clerk_event(api, event, msg_id=msg_id)

    assert answer.json()["status"] == "created"


@pytest.fixture(scope="module")
def api_without_secret(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    server = ApiServer(tmp_path_factory.mktemp("no-secret"), extra_env={"CLERK_WEBHOOK_SECRET": ""}).start()
    yield server
    server.stop()


def test_without_a_webhook_secret_every_delivery_is_refused_and_the_rest_works(api_without_secret: ApiServer) -> None:
    api = api_without_secret
    event = clerk_event("user.created")

    answer = send_clerk_event(api, event)  # signed with a secret this server was never given

    assert answer.status_code == 503
    assert "CLERK_WEBHOOK_SECRET" in answer.json()["detail"]
    assert read_user(api, event["data"]["id"]) is None
    assert httpx.get(f"{api.url}/health").json()["status"] == "ok"
    assert create_user(api).api_key.startswith("llmo_")
    assert "CLERK_WEBHOOK_SECRET is not set" in api.log()


def test_the_endpoint_is_documented(api: ApiServer) -> None:
    paths = httpx.get(f"{api.url}/openapi.json").json()["paths"]
    assert "post" in paths["/webhooks/clerk"]


# -- trying it without Clerk --------------------------------------------------------------------------
def run_script(api: ApiServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLERK_WEBHOOK_SECRET": api.webhook_secret}
    return subprocess.run([sys.executable, "scripts/send_test_webhook.py", "--url", api.url, *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_the_local_script_sends_correctly_signed_events(api: ApiServer) -> None:
    email = f"script-{uuid.uuid4().hex[:8]}@example.org"

    created = run_script(api, "--email", email)
    updated = run_script(api, "--email", email, "--type", "user.updated", "--user-type", "team")
    deleted = run_script(api, "--email", email, "--type", "user.deleted")

    assert created.returncode == 0 and '"status":"created"' in created.stdout, created.stdout + created.stderr
    user_id = json.loads(created.stdout.splitlines()[-1])["user_id"]
    assert '"status":"updated"' in updated.stdout and '"status":"deactivated"' in deleted.stdout
    user = read_user(api, user_id)
    assert (user["email"], user["user_type"], user["active"]) == (email, "team", False)


def test_the_local_script_refuses_a_wrong_secret_visibly(api: ApiServer) -> None:
    answer = run_script(api, "--secret", other_secret())

    assert answer.returncode == 1 and "HTTP 401" in answer.stdout
