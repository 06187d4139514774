"""Every endpoint in the running API's OpenAPI schema × every caller: nothing of tenant B reaches tenant A,
and nothing A does changes B (DESIGN §3: every query is scoped to one tenant).

The endpoint list is read from `/openapi.json` at run time, so a new endpoint joins the matrix by itself.
B is seeded with distinctive names (customer, model, run, tags, email, custom price…); each of A's
answers is searched for them, path parameters are filled with B's identifiers (B's run, B's key, B's
user id, B's model), and B's whole read surface is compared before and after A's requests. Run with -s
to see the matrix.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.factories import TestUser, create_user, make_event, post_events
from tests.reliability.support import table
from tests.server import BACKENDS, ApiServer

METHOD_ORDER = {"get": 0, "post": 1, "put": 2, "patch": 3, "delete": 4}  # reads first, then writes


@pytest.fixture(scope="module", params=BACKENDS)
def matrix_api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    # private alert targets allowed, so each tenant can have a channel (to a closed local port)
    server = ApiServer(tmp_path_factory.mktemp("tenant-matrix"), backend=request.param,
                       extra_env={"LLMOBSERVE_ALERT_ALLOW_PRIVATE_TARGETS": "1"}).start()
    yield server
    server.stop()


class Tenant:
    """A user with its own distinctive data, and the markers that must never reach anybody else."""

    def __init__(self, api: ApiServer, name: str) -> None:
        tag = uuid.uuid4().hex[:8]
        self.name = name
        self.user: TestUser = create_user(api, email=f"{name}-{tag}@example.com", first_name=f"First{name}{tag}",
                                          last_name=f"Last{name}{tag}")
        self.customer, self.model = f"cust-{name}-{tag}", f"model-{name}-{tag}"
        self.run_id, self.run_name, self.tag_value = f"run-{name}-{tag}", f"runname-{name}-{tag}", f"tag-{name}-{tag}"
        events = [make_event(customer_id=self.customer, model=self.model, run_id=self.run_id, run_name=self.run_name,
                             tags={"secret": self.tag_value}, error_type=f"err-{name}-{tag}",
                             status="error" if i % 2 else "ok")
                  for i in range(4)]
        events.append(make_event(customer_id=self.customer, run_id=self.run_id))  # a priced one too
        assert post_events(api, self.user, events).json()["accepted"] == 5
        self.extra_key = httpx.post(f"{api.url}/clerk/api-keys", headers=api.admin(self.user.id),
                                    json={"name": f"keyname-{name}-{tag}"}).json()  # ingest only (the default)
        self.read_key = httpx.post(f"{api.url}/clerk/api-keys", headers=api.admin(self.user.id),
                                   json={"name": f"readkey-{name}-{tag}", "scopes": ["read"]}).json()
        paths = httpx.get(f"{api.url}/openapi.json").json()["paths"]
        if "/v1/prices/{provider}/{model}" in paths:  # custom prices, when the API has them
            answer = httpx.put(f"{api.url}/v1/prices/openai/{self.model}", headers=self.user.headers,
                               json={"input_per_mtok": 1.25, "output_per_mtok": 7.5})
            assert answer.status_code == 200, answer.text
        self.budget_id = self.channel_id = ""
        if "/v1/budgets" in paths:  # a budget named like the run (the control below looks for that name)
            budget = httpx.post(f"{api.url}/v1/budgets", headers=self.user.headers, json={
                "name": self.run_name, "amount_usd": 1000, "period": "month", "scope": {"customer_id": self.customer}})
            assert budget.status_code == 201, budget.text
            self.budget_id = budget.json()["id"]
        if "/v1/alert-channels" in paths:
            channel = httpx.post(f"{api.url}/v1/alert-channels", headers=self.user.headers,
                                 json={"type": "webhook", "url": f"http://127.0.0.1:9/{self.run_name}"})
            assert channel.status_code == 201, channel.text
            self.channel_id = channel.json()["id"]
        self.markers = {self.user.email, self.user.id, self.user.key_id, self.user.api_key,
                        self.user.api_key[:9], self.extra_key["id"], self.extra_key["api_key"],
                        self.extra_key["name"], self.read_key["id"], self.read_key["api_key"], self.read_key["name"],
                        f"First{name}{tag}", f"Last{name}{tag}", self.customer,
                        self.model, self.run_id, self.run_name, self.tag_value, f"err-{name}-{tag}"}
        self.markers |= {m for m in (self.budget_id, self.channel_id) if m}

    def path_value(self, param: str) -> str:
        """B's own identifier for a path parameter of that name."""
        return {"run_id": self.run_id, "key_id": self.extra_key["id"], "user_id": self.user.id,
                "model": self.model, "provider": "openai", "budget_id": self.budget_id,
                "channel_id": self.channel_id}.get(param, self.user.id)


@pytest.fixture(scope="module")
def tenants(matrix_api: ApiServer) -> tuple[Tenant, Tenant]:
    return Tenant(matrix_api, "A"), Tenant(matrix_api, "B")


def operations(api: ApiServer) -> list[tuple[str, str, dict[str, Any]]]:
    paths = httpx.get(f"{api.url}/openapi.json").json()["paths"]
    ops = [(method, path, spec) for path, item in paths.items() for method, spec in item.items()
           if method in METHOD_ORDER]
    return sorted(ops, key=lambda op: (METHOD_ORDER[op[0]], op[1]))


def body_for(method: str, path: str, spec: dict[str, Any], a: Tenant, b: Tenant) -> Any:
    """A plausible body: the caller's own data, aimed at B wherever a body can name another user."""
    if "requestBody" not in spec:
        return None
    known = {
        "/v1/events": {"events": [make_event(customer_id="matrix-cust", model="matrix-model")]},
        "/clerk/api-keys": {"name": "matrix"},
        "/admin/users": {"email": f"matrix-{uuid.uuid4().hex[:6]}@example.com"},
        "/admin/dashboard/signup": {"email": b.user.email, "password": "matrix-password"},
        "/admin/dashboard/login": {"email": b.user.email, "password": "matrix-password"},
        "/v1/prices/{provider}/{model}": {"input_per_mtok": 99, "output_per_mtok": 99},
    }
    if path in known:
        return known[path]
    return {"user_id": b.user.id, "tenant_id": b.user.id, "email": b.user.email, "name": "matrix"}


def url_for(api: ApiServer, path: str, b: Tenant) -> str:
    for part in path.split("/"):
        if part.startswith("{"):
            param = part.strip("{}").split(":")[0]
            path = path.replace(part, b.path_value(param))
    return api.url + path


# Fields that move with the clock alone (a projection to the period's end, when a status was read).
CLOCK_FIELDS = {"projected_usd", "checked_at"}


def _without_clock(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_clock(v) for k, v in value.items() if k not in CLOCK_FIELDS}
    if isinstance(value, list):
        return [_without_clock(v) for v in value]
    return value


def read_surface(api: ApiServer, t: Tenant) -> dict[str, Any]:
    """Everything t can read about itself (GET endpoints without path parameters), key use times aside."""
    surface = {}
    for method, path, _ in operations(api):
        if method != "get" or "{" in path or path.startswith(("/admin", "/health", "/openapi")):
            continue
        headers = api.admin(t.user.id) if path.startswith("/clerk") else t.user.headers
        answer = httpx.get(api.url + path, headers=headers, params={"format": "csv"})
        text = answer.text
        if path.startswith("/clerk"):
            text = json.dumps([{k: v for k, v in key.items() if k != "last_used_at"} for key in answer.json()["data"]])
        elif answer.headers.get("content-type", "").startswith("application/json"):
            text = json.dumps(_without_clock(answer.json()))
        surface[path] = (answer.status_code, text)
    return surface


def test_no_endpoint_leaks_or_changes_another_tenants_data(matrix_api: ApiServer,
                                                           tenants: tuple[Tenant, Tenant]) -> None:
    api = matrix_api
    a, b = tenants
    b_before = read_surface(api, b)
    assert any(b.run_name in text for _, text in b_before.values()), "B's seed is not visible to B itself"
    callers = {"A key": a.user.headers, "admin+A": api.admin(a.user.id),
               "A ingest-only key": {"Authorization": f"Bearer {a.extra_key['api_key']}"},
               "A read-only key": {"Authorization": f"Bearer {a.read_key['api_key']}"}}

    rows, failures = [], []
    for method, path, spec in operations(api):
        row = [f"{method.upper()} {path}"]
        for caller, headers in callers.items():
            url, body = url_for(api, path, b), body_for(method, path, spec, a, b)
            answer = httpx.request(method, url, headers=headers, json=body, timeout=30)
            echoed = {m for m in b.markers if m in url or m in json.dumps(body)}
            leaked = sorted(m for m in b.markers - echoed if m in answer.text)
            aimed_at_b = "{" in path and not path.startswith(("/v1/prices", "/admin"))
            cell = str(answer.status_code)
            if leaked:
                failures.append(f"{caller} {method.upper()} {path}: B's {leaked} in the answer")
                cell += " LEAK"
            if aimed_at_b and answer.status_code < 400:
                failures.append(f"{caller} {method.upper()} {path} with B's id answered {answer.status_code}")
                cell += " REACHED-B"
            row.append(cell)
        rows.append(row)

    b_after = read_surface(api, b)
    changed = sorted(p for p in b_before if b_before[p] != b_after.get(p))

    # Control: B's own key on the same requests, so a 404 above means "not yours", not "wrong probe".
    for row, (method, path, spec) in zip(rows, operations(api)):
        answer = httpx.request(method, url_for(api, path, b), headers=b.user.headers,
                               json=body_for(method, path, spec, a, b), timeout=30)
        row.append(str(answer.status_code))
        if method == "get" and "{" in path and not path.startswith("/admin"):
            assert answer.status_code == 200 and b.run_name in answer.text, f"control {path}: {answer.text[:200]}"
    print("\n" + table(rows, ["endpoint (path params = B's ids)", *callers, "B key (control)"]))
    print(f"B's read surface after A's requests: {'unchanged' if not changed else 'CHANGED at ' + ', '.join(changed)}")
    assert not failures, "\n".join(failures)
    assert not changed, f"A's requests changed B's data at {changed}"


def test_a_cannot_reach_bs_run_or_revoke_bs_key(matrix_api: ApiServer, tenants: tuple[Tenant, Tenant]) -> None:
    """The two attacks the design names, answered 404 (not 403: that would confirm the id exists)."""
    api = matrix_api
    a, b = tenants
    for headers in (a.user.headers, api.admin(a.user.id)):
        answer = httpx.get(f"{api.url}/v1/runs/{b.run_id}", headers=headers)
        assert answer.status_code == 404 and answer.json()["detail"] == f"run {b.run_id} not found"
    answer = httpx.delete(f"{api.url}/clerk/api-keys/{b.extra_key['id']}", headers=api.admin(a.user.id))
    assert answer.status_code == 404
    assert post_events(api, b.user, [make_event()]).status_code == 200
    assert httpx.post(f"{api.url}/v1/events", headers={"Authorization": f"Bearer {b.extra_key['api_key']}"},
                      json={"events": [make_event()]}).status_code == 200


def test_operator_endpoints_do_not_act_beyond_the_user_header(matrix_api: ApiServer) -> None:
    api = matrix_api
    a, b = Tenant(api, "A2"), Tenant(api, "B2")
    acting_for_a = api.admin(a.user.id)
    listed = httpx.get(f"{api.url}/admin/users", headers=acting_for_a)
    purge = httpx.delete(f"{api.url}/admin/users/{b.user.id}/events", headers=acting_for_a)
    b_calls = httpx.get(f"{api.url}/v1/analytics/summary", headers=b.user.headers).json()["calls"]
    assert listed.status_code >= 400 or b.user.email not in listed.text
    assert purge.status_code >= 400 and b_calls == 5  # B seeded five calls; none purged
