import httpx

from tests.server import ApiServer


def test_health_says_ok_when_the_database_answers(api: ApiServer) -> None:
    answer = httpx.get(f"{api.url}/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


def test_every_endpoint_is_documented_in_openapi(api: ApiServer) -> None:
    paths = httpx.get(f"{api.url}/openapi.json").json()["paths"]
    for path in ["/health", "/v1/events", "/v1/analytics/summary", "/v1/analytics/timeseries",
                 "/v1/analytics/breakdown", "/v1/runs", "/v1/runs/{run_id}", "/v1/events/export",
                 "/clerk/api-keys", "/clerk/api-keys/{key_id}", "/admin/users"]:
        assert path in paths, path
