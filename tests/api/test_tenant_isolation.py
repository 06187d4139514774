"""No endpoint lets one tenant see or change another's data."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import TestUser, make_event, post_events
from tests.server import ApiServer

READS = ["/v1/analytics/summary", "/v1/analytics/timeseries", "/v1/analytics/breakdown", "/v1/runs",
         "/v1/events/export"]


@pytest.mark.parametrize("path", READS)
def test_a_key_reads_only_its_own_owners_data(api: ApiServer, user: TestUser, other_user: TestUser,
                                              path: str) -> None:
    post_events(api, other_user, [make_event(customer_id="secret-customer-of-b", model="gpt-4o")])
    answer = httpx.get(f"{api.url}{path}", headers=user.headers, params={"group_by": "customer_id"})
    assert answer.status_code == 200
    assert "secret-customer-of-b" not in answer.text
    assert "gpt-4o" not in answer.text


def test_a_key_cannot_act_for_another_user(api: ApiServer, user: TestUser, other_user: TestUser) -> None:
    answer = httpx.get(f"{api.url}/v1/analytics/summary",
                       headers={**user.headers, "X-LLMObserve-User": other_user.id})
    assert answer.status_code == 403


def test_events_posted_with_a_key_land_in_its_owners_data_only(api: ApiServer, user: TestUser,
                                                               other_user: TestUser) -> None:
    post_events(api, user, [make_event()])
    own = httpx.get(f"{api.url}/v1/analytics/summary", headers=user.headers).json()
    theirs = httpx.get(f"{api.url}/v1/analytics/summary", headers=other_user.headers).json()
    assert (own["calls"], theirs["calls"]) == (1, 0)


def test_a_run_of_another_tenant_is_not_found(api: ApiServer, user: TestUser, other_user: TestUser) -> None:
    post_events(api, other_user, [make_event(run_id="run-of-b")])
    answer = httpx.get(f"{api.url}/v1/runs/run-of-b", headers=user.headers)
    assert answer.status_code == 404
    assert answer.json()["detail"] == "run run-of-b not found"


def test_a_user_cannot_revoke_or_see_another_users_key(api: ApiServer, user: TestUser, other_user: TestUser) -> None:
    listed = httpx.get(f"{api.url}/clerk/api-keys", headers=api.admin(user.id)).json()["data"]
    assert other_user.key_id not in {k["id"] for k in listed}
    answer = httpx.delete(f"{api.url}/clerk/api-keys/{other_user.key_id}", headers=api.admin(user.id))
    assert answer.status_code == 404
    assert post_events(api, other_user, [make_event()]).status_code == 200


def test_the_same_event_id_from_two_tenants_is_stored_for_each(api: ApiServer, user: TestUser,
                                                               other_user: TestUser) -> None:
    event = make_event()
    assert post_events(api, user, [event]).json()["accepted"] == 1
    assert post_events(api, other_user, [event]).json()["accepted"] == 1


def test_tenant_reads_need_the_user_header_with_the_admin_token(api: ApiServer) -> None:
    answer = httpx.get(f"{api.url}/v1/analytics/summary", headers=api.admin())
    assert answer.status_code == 400
    assert "X-LLMObserve-User" in answer.json()["detail"]


@pytest.mark.parametrize("path", READS)
def test_an_ingest_only_key_reads_nothing_not_even_its_own_owners(api: ApiServer, user: TestUser, path: str) -> None:
    post_events(api, user, [make_event(customer_id="own-customer")])
    key = httpx.post(f"{api.url}/clerk/api-keys", headers=api.admin(user.id), json={"name": "app"}).json()
    answer = httpx.get(f"{api.url}{path}", headers={"Authorization": f"Bearer {key['api_key']}"},
                       params={"group_by": "customer_id"})
    assert answer.status_code == 403
    assert "'read' scope" in answer.json()["detail"] and "own-customer" not in answer.text


def test_a_read_key_of_one_tenant_cannot_act_for_another(api: ApiServer, user: TestUser, other_user: TestUser) -> None:
    post_events(api, other_user, [make_event(customer_id="secret-customer-of-b")])
    key = httpx.post(f"{api.url}/clerk/api-keys", headers=api.admin(user.id),
                     json={"name": "notebook", "scopes": ["read"]}).json()
    headers = {"Authorization": f"Bearer {key['api_key']}"}
    assert httpx.get(f"{api.url}/v1/analytics/summary", headers={**headers, "X-LLMObserve-User": other_user.id}
                     ).status_code == 403
    answer = httpx.get(f"{api.url}/v1/analytics/breakdown", headers=headers, params={"by": "customer_id"})
    assert answer.status_code == 200 and "secret-customer-of-b" not in answer.text
