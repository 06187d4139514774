"""Real OpenTelemetry instrumentations → the real API over OTLP/HTTP, replaying recorded provider answers.

For each instrumentation, tests/otlp/app.py (a program in `.venv-otel`, as a user's would be) replays the
recorded answers of tests/fixtures/provider-payloads/ that the instrumentation covers through the real
clients, against the fake provider, and exports with the real OTLP/HTTP exporter to the API. Checked per
answer: what is stored equals what the instrumentation reported (with the known corrections of
api/otlp_departures.py), and equals the payload's `expected_usage` in every bucket the instrumentation
reports; the buckets it does not report are listed in GAPS (and docs/opentelemetry.md), and asserted to
be really missing, so a fixed instrumentation shows up here.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import TestUser, create_user
from tests.sdk.fakes import FIXTURES, FakeProvider, load_fixture
from tests.server import ROOT, ApiServer

OTEL_PYTHON = ROOT / ".venv-otel" / "bin" / "python"
APP = Path(__file__).with_name("app.py")
# The recorded answers of the openai and anthropic clients, which these instrumentations wrap: not google/ or
# bedrock/, nor the hand-written `documented_*` shapes (the departures below were read off real answers)
ALL = sorted(str(p.relative_to(FIXTURES).with_suffix("")) for client in ("openai", "anthropic")
             for p in FIXTURES.glob(f"{client}/*.json") if not p.name.startswith("documented_"))
TOKENS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens")


def _openai_v2_covers(name: str) -> bool:
    # openai-v2 instruments chat completions and embeddings of the openai client only (no Responses API)
    call = load_fixture(name)["call"]
    return call["client"] in ("openai", "azure") and call["api"] in ("chat.completions.create", "embeddings.create")


def _openlit_covers(name: str) -> bool:
    return load_fixture(name)["call"]["api"] != "beta.messages.create"  # OpenLIT does not wrap the beta API


COVERS = {
    "openai-v2": _openai_v2_covers,
    "openllmetry": lambda name: True,
    "openlit": _openlit_covers,
}


def gaps(instrumentation: str, name: str) -> dict[str, str]:
    """Buckets the instrumentation gets wrong for this answer and we cannot correct (docs/opentelemetry.md):
    "missing" (not reported: stored 0), "under" or "over" (reported, but below or above the truth)."""
    fixture = load_fixture(name)
    call, stream = fixture["call"], fixture["expected_usage"]["stream"]
    anthropic = call["client"] == "anthropic"
    if instrumentation == "openai-v2":
        return {"cached_input_tokens": "missing", "reasoning_tokens": "missing"}  # input and output only
    if instrumentation == "openllmetry":
        # Anthropic streams: message_start's placeholder output count is added to the final one
        return {"output_tokens": "over"} if anthropic and stream else {}
    if instrumentation == "openlit":
        if anthropic:  # streams: no cache counts, and input is Anthropic's own (cache outside)
            usage = fixture["expected_usage"]
            cache = {b: "missing" for b in ("cached_input_tokens", "cache_write_tokens") if usage[b]}
            return {**cache, "input_tokens": "under"} if stream and cache else {}
        return {"reasoning_tokens": "missing"}
    raise AssertionError(instrumentation)


def _as_allowed(kind: str | None, stored: int, truth: int) -> bool:
    if kind is None:
        return stored == truth
    return {"missing": stored == 0, "under": stored < truth, "over": stored > truth}[kind]


def reported(instrumentation: str, attrs: dict[str, Any]) -> dict[str, int]:
    """The usage the instrumentation put on its span, in our buckets, with its known departures corrected."""
    usage = {
        "input_tokens": attrs.get("gen_ai.usage.input_tokens", attrs.get("gen_ai.usage.prompt_tokens")) or 0,
        "cached_input_tokens": attrs.get("gen_ai.usage.cache_read.input_tokens") or 0,
        "cache_write_tokens": attrs.get("gen_ai.usage.cache_creation.input_tokens") or 0,
        "output_tokens": attrs.get("gen_ai.usage.output_tokens", attrs.get("gen_ai.usage.completion_tokens")) or 0,
        "reasoning_tokens": attrs.get("gen_ai.usage.reasoning.output_tokens") or 0,
    }
    if instrumentation == "openllmetry":  # reasoning under its legacy name
        usage["reasoning_tokens"] = attrs.get("gen_ai.usage.reasoning_tokens", usage["reasoning_tokens"])
    if instrumentation == "openlit" and attrs.get("gen_ai.provider.name") == "anthropic":
        usage["input_tokens"] += usage["cached_input_tokens"] + usage["cache_write_tokens"]  # Anthropic's own input
    return usage


@pytest.fixture(scope="module")
def provider() -> Any:
    server = FakeProvider()
    yield server
    server.close()


def replay(api: ApiServer, user: TestUser, provider: FakeProvider, instrumentation: str,
           names: list[str], *, gzip: bool) -> list[dict[str, Any]]:
    assert OTEL_PYTHON.exists(), "run `make .venv-otel/.installed` (make test does) for the instrumentations"
    provider.reset()
    for name in names:
        resp = load_fixture(name)["response"]
        provider.reply((resp["status"], resp["content_type"], resp["body"]))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TRACELOOP_", "OPENLIT_"))}
    env.update(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"{api.url}/v1/traces",
               OTEL_EXPORTER_OTLP_HEADERS=f"Authorization=Bearer {user.api_key}",
               OTEL_EXPORTER_OTLP_TRACES_COMPRESSION="gzip" if gzip else "none",
               TRACELOOP_TELEMETRY="false", PYTHONPATH="")
    done = subprocess.run([str(OTEL_PYTHON), str(APP), instrumentation, provider.url, *names], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [line["fixture"] for line in lines] == names
    return lines


@pytest.mark.parametrize(("instrumentation", "gzip"), [("openai-v2", False), ("openllmetry", True),
                                                       ("openlit", False)])
def test_each_answer_arrives_priced_and_bucketed_as_exactly_as_the_instrumentation_allows(
    api: ApiServer, provider: FakeProvider, instrumentation: str, gzip: bool
) -> None:
    user = create_user(api)
    names = [n for n in ALL if COVERS[instrumentation](n)]
    problems: list[str] = []
    for line in replay(api, user, provider, instrumentation, names, gzip=gzip):
        name, expected = line["fixture"], load_fixture(line["fixture"])["expected_usage"]
        answer = httpx.get(f"{api.url}/v1/runs/{line['trace_id']}", headers=user.headers)
        events = answer.json()["events"] if answer.status_code == 200 else []
        if len(line["spans"]) != 1 or len(events) != 1:
            problems.append(f"{name}: {len(line['spans'])} GenAI spans, {len(events)} events stored")
            continue
        [event], [sp] = events, line["spans"]
        stored = {k: event[k] for k in TOKENS}
        if stored != reported(instrumentation, sp["attributes"]):
            problems.append(f"{name}: stored {stored} != reported {sp['attributes']}")
        departures = gaps(instrumentation, name)
        for bucket in TOKENS:
            kind = departures.get(bucket) if expected[bucket] or departures.get(bucket) == "over" else None
            if not _as_allowed(kind, stored[bucket], expected[bucket]):
                problems.append(f"{name}: {bucket} stored {stored[bucket]}, expected {expected[bucket]}"
                                f"{f' ({kind}, a known departure)' if kind else ''}")
        if event["model"] != expected["model"]:
            problems.append(f"{name}: model {event['model']} != {expected['model']}")
        if event["status"] != expected["status"]:
            problems.append(f"{name}: status {event['status']} != {expected['status']}")
        if (event["run_name"], event["customer_id"], event["run_id"]) != (name, f"cust_{instrumentation}",
                                                                          line["trace_id"]):
            problems.append(f"{name}: run/customer {event['run_name']}, {event['customer_id']}, {event['run_id']}")
        # DeepSeek and Azure answers replayed from a local URL are labelled by the client's flavour, as the SDK
        # labels them; only the providers' own hosts are expected to be priced under that label
        own_host = load_fixture(name)["source"].get("recorded_host") in ("api.openai.com", "api.anthropic.com")
        if own_host and event["status"] == "ok" and any(stored.values()) and event["pricing_status"] != "priced":
            problems.append(f"{name}: {event['provider']}/{event['model']} {event['pricing_status']}")
    assert not problems, "\n".join(problems)


def test_every_listed_departure_is_one_a_recorded_answer_shows() -> None:
    """A departure listed for buckets no answer has would excuse nothing: each one must bite somewhere."""
    listed = {(i, b, kind) for i, covers in COVERS.items() for n in ALL if covers(n)
              for b, kind in gaps(i, n).items()}
    shown = {(i, b, kind) for i, covers in COVERS.items() for n in ALL if covers(n)
             for b, kind in gaps(i, n).items() if load_fixture(n)["expected_usage"][b]}
    assert listed == shown
