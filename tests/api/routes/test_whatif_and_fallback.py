"""What-if (the same tokens at another model's list price) and tier fallbacks said, not hidden."""

from __future__ import annotations

import csv
import io
import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from api.pricing import reference_cost
from tests.factories import TestUser, create_user, make_event, post_events
from tests.server import BACKENDS, ApiServer, free_port, wait_for

PRICES_DIR = Path(__file__).parent.parent.parent / "fixtures" / "prices"
WHEN = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)


def test_what_if_prices_the_same_tokens_at_the_target_model(api: ApiServer, user: TestUser) -> None:
    events = [make_event(timestamp=(WHEN + timedelta(days=i)).isoformat(), input_tokens=2000 + i,
                         cached_input_tokens=500, output_tokens=300) for i in range(5)]
    events.append(make_event(model="in-house", timestamp=WHEN.isoformat(), input_tokens=10, output_tokens=1))
    assert post_events(api, user, events).json()["accepted"] == 6
    params = {"target_provider": "openai", "target_model": "gpt-4.1-nano-2025-04-14", "start": "2025-11-01T00:00:00Z"}
    answer = httpx.get(f"{api.url}/v1/analytics/whatif", params=params, headers=user.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    target = sum((reference_cost(provider="openai", model="gpt-4.1-nano-2025-04-14",
                                 timestamp=datetime.fromisoformat(e["timestamp"]), input_tokens=e["input_tokens"],
                                 cached_input_tokens=e["cached_input_tokens"], output_tokens=e["output_tokens"])
                  for e in events), Decimal(0))
    current = sum((reference_cost(provider="openai", model=e["model"], timestamp=datetime.fromisoformat(e["timestamp"]),
                                  input_tokens=e["input_tokens"], cached_input_tokens=e["cached_input_tokens"],
                                  output_tokens=e["output_tokens"]) for e in events[:5]), Decimal(0))
    assert body["calls"] == 6 and body["unpriceable_calls"] == 0
    assert Decimal(body["target_cost_usd"]) == target
    assert Decimal(body["current_cost_usd"]) == current
    assert Decimal(body["difference_usd"]) == target - current
    unknown = httpx.get(f"{api.url}/v1/analytics/whatif", headers=user.headers,
                        params={**params, "target_model": "no-such-model"}).json()
    assert unknown["unpriceable_calls"] == 6 and Decimal(unknown["target_cost_usd"]) == 0


def test_a_tier_without_its_own_rate_is_flagged_and_counted(api: ApiServer, user: TestUser) -> None:
    # genai-prices has gpt-5's priority rate only from 2026-10-12: a 2025-11 priority call is priced at the
    # standard rate, and must say so.
    run_id = f"run-{uuid.uuid4()}"
    sent = [make_event(model="gpt-5-2025-08-07", service_tier="priority", timestamp=WHEN.isoformat(), run_id=run_id),
            make_event(model="gpt-5-2025-08-07", service_tier="default", timestamp=WHEN.isoformat(), run_id=run_id),
            make_event(model="gpt-5-2025-08-07", service_tier="priority", run_id=run_id)]  # today: has a rate
    assert post_events(api, user, sent).json()["accepted"] == 3
    events = {e["id"]: e for e in httpx.get(f"{api.url}/v1/runs/{run_id}", headers=user.headers).json()["events"]}
    assert [events[e["id"]]["pricing_fallback"] for e in sent] == ["service_tier", None, None]
    assert httpx.get(f"{api.url}/v1/analytics/summary", headers=user.headers).json()["tier_fallback_calls"] == 1
    export = list(csv.DictReader(io.StringIO(httpx.get(f"{api.url}/v1/events/export", headers=user.headers).text)))
    assert sorted(row["pricing_fallback"] for row in export) == ["", "", "service_tier"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_prices_from_a_url_are_polled_with_update_prices(tmp_path: Path, backend: str) -> None:
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(SimpleHTTPRequestHandler, directory=str(PRICES_DIR)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api = ApiServer(tmp_path / "api", backend=backend,
                    extra_env={"LLMOBSERVE_PRICES_URL": f"http://127.0.0.1:{port}/data.json"})
    try:
        api.start()
        user = create_user(api)
        wait_for(f"{api.url}/health")
        for _ in range(100):
            catalog = httpx.get(f"{api.url}/v1/prices/catalog", params={"q": "acme"}, headers=user.headers).json()
            if catalog["data"]:
                break
            threading.Event().wait(0.1)
        assert catalog["snapshot_version"].startswith("data sha256:")
        run_id = f"run-{uuid.uuid4()}"
        post_events(api, user, [make_event(model="acme-brand-new", run_id=run_id)])
        [event] = httpx.get(f"{api.url}/v1/runs/{run_id}", headers=user.headers).json()["events"]
        assert (event["pricing_status"], event["pricing_version"]) == ("priced", catalog["snapshot_version"])
    finally:
        api.stop()
        server.shutdown()


def test_a_prices_url_that_is_not_http_is_refused_at_start_naming_the_variable(tmp_path: Path) -> None:
    api = ApiServer(tmp_path / "api", extra_env={"LLMOBSERVE_PRICES_URL": "file:///etc/passwd"})
    with pytest.raises(Exception):
        api.start()
    api.stop()
    assert "LLMOBSERVE_PRICES_URL" in api.log() and "http" in api.log()
