"""Property-based fuzzing of every operation in the running API's own OpenAPI schema: whatever the
input, an authenticated tenant never gets a 5xx (DESIGN §7: bad input is a clear 4xx, never a 500).

The schema is the app's own (`api.main:app.openapi()`, loaded at collection so every operation is a test
item of its own) and a test checks it is exactly what the running process serves at `/openapi.json`; a new
endpoint is therefore fuzzed automatically. (schemathesis' lazy `from_fixture` loader, which would read the
URL at run time, breaks on pytest 9: it writes `request.node._nodeid`, which pytest 9 no longer has.)
Each operation runs twice: as the dashboard acts (admin token + X-LLMObserve-User) and as the SDK does
(the tenant's own `llmo_` key). The fast run keeps ~25 examples per operation; the soak run goes deeper.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.factories import TestUser, create_user, make_event, post_events
from tests.server import BACKENDS, ApiServer

# The svix / Authorization headers the schema documents are generated too; these are the ones we own.
AUTH_HEADERS = {"authorization", "x-llmobserve-user"}


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    server = ApiServer(tmp_path_factory.mktemp("fuzz"), backend=request.param).start()
    yield server
    server.stop()
    assert "Traceback" not in server.log(), server.log()[-4000:]


@pytest.fixture(scope="module")
def tenant(fuzz_api: ApiServer) -> TestUser:
    """A real tenant with some data, so reads walk real rows, not only empty tables."""
    owner = create_user(fuzz_api)
    events = [make_event(customer_id=f"cust_{i % 3}", run_id=f"run_{i % 4}", run_name="fuzz",
                         model=("gpt-4o-mini-2024-07-18", "claude-3-5-haiku-20241022", "no-such-model")[i % 3],
                         provider=("openai", "anthropic", "openai")[i % 3], tags={"k": str(i)})
              for i in range(30)]
    assert post_events(fuzz_api, owner, events).status_code == 200
    return owner


@pytest.fixture(scope="module")
def as_dashboard(fuzz_api: ApiServer, tenant: TestUser) -> dict[str, str]:
    return fuzz_api.admin(tenant.id)


@pytest.fixture(scope="module")
def as_sdk(tenant: TestUser) -> dict[str, str]:
    return tenant.headers


@pytest.fixture(scope="module")
def as_ingest_only(fuzz_api: ApiServer, tenant: TestUser) -> dict[str, str]:
    """A key with the default scopes (ingest only): every read must be a clean 403, never a 5xx."""
    key = httpx.post(f"{fuzz_api.url}/clerk/api-keys", headers=fuzz_api.admin(tenant.id), json={"name": "app"})
    assert key.json()["scopes"] == ["ingest"]
    return {"Authorization": f"Bearer {key.json()['api_key']}"}


def app_schema() -> dict:
    from api.main import app  # the same code the server process runs; no database is opened here

    return app.openapi()


schema = schemathesis.openapi.from_dict(app_schema())


def call_as(case: schemathesis.Case, api: ApiServer, caller: dict[str, str]) -> None:
    """Send the generated case as the tenant (generated auth headers replaced) and forbid a 5xx."""
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in AUTH_HEADERS}
    case.call_and_validate(base_url=api.url, headers=caller, checks=[not_a_server_error], timeout=30)


FAST = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
SOAK = settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))


# (one test per caller: a parametrised fixture would multiply hypothesis' examples badly)
@schema.parametrize()
@FAST
def test_no_operation_answers_5xx_as_dashboard(case: schemathesis.Case, as_dashboard: dict[str, str],
                                               fuzz_api: ApiServer) -> None:
    call_as(case, fuzz_api, as_dashboard)


@schema.parametrize()
@FAST
def test_no_operation_answers_5xx_with_key(case: schemathesis.Case, as_sdk: dict[str, str], fuzz_api: ApiServer) -> None:
    call_as(case, fuzz_api, as_sdk)


@schema.parametrize()
@settings(max_examples=5, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_5xx_with_an_ingest_only_key(case: schemathesis.Case, as_ingest_only: dict[str, str],
                                                          fuzz_api: ApiServer) -> None:
    call_as(case, fuzz_api, as_ingest_only)


@pytest.mark.soak
@schema.parametrize()
@SOAK
def test_no_operation_answers_5xx_as_dashboard_deep(case: schemathesis.Case, as_dashboard: dict[str, str],
                                                    fuzz_api: ApiServer) -> None:
    call_as(case, fuzz_api, as_dashboard)


@pytest.mark.soak
@schema.parametrize()
@SOAK
def test_no_operation_answers_5xx_with_key_deep(case: schemathesis.Case, as_sdk: dict[str, str], fuzz_api: ApiServer) -> None:
    call_as(case, fuzz_api, as_sdk)


def test_the_fuzzed_schema_is_the_one_the_running_api_serves(fuzz_api: ApiServer) -> None:
    served = httpx.get(f"{fuzz_api.url}/openapi.json").json()
    assert served == app_schema()
    assert {"/v1/events", "/webhooks/clerk", "/clerk/api-keys/{key_id}", "/admin/users"} <= set(served["paths"])


def test_a_huge_latency_is_rejected_and_the_longest_allowed_does_not_break_the_runs_pages(
        fresh_api: ApiServer) -> None:
    """Found by the fuzzer: an event with latency_ms ~1e16 used to be stored and then made /v1/runs
    answer 500 for that tenant for good (an overflowing cast in the run duration)."""
    owner = create_user(fresh_api)
    answer = post_events(fresh_api, owner, [make_event(run_id="slow", latency_ms=7 * 86_400_000),
                                            make_event(run_id="slow", latency_ms=1.1e16)])
    assert answer.status_code == 200
    assert answer.json()["accepted"] == 1
    assert [(r["index"], r["field"]) for r in answer.json()["rejected"]] == [(1, "latency_ms")]
    assert httpx.get(f"{fresh_api.url}/v1/runs", headers=owner.headers).status_code == 200
    assert httpx.get(f"{fresh_api.url}/v1/runs/slow", headers=owner.headers).status_code == 200
