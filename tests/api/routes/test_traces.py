"""POST /v1/traces over HTTP: OTLP answers, encodings, limits, and what is stored from each GenAI span."""

from __future__ import annotations

import gzip
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from api.otlp import NAMESPACE
from api.pricing import reference_cost
from tests.factories import TestUser
from tests.otlp_factories import chat_attributes, export, parse_answer, post_traces, span
from tests.server import ApiServer


def run_of(api: ApiServer, user: TestUser, trace_id: bytes) -> dict:
    answer = httpx.get(f"{api.url}/v1/runs/{trace_id.hex()}", headers=user.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def calls(api: ApiServer, user: TestUser) -> int:
    return httpx.get(f"{api.url}/v1/analytics/summary", headers=user.headers).json()["calls"]


@pytest.mark.parametrize(("encoding", "gzipped"), [("protobuf", False), ("protobuf", True), ("json", False),
                                                   ("json", True)])
def test_a_genai_span_is_stored_as_a_priced_event_in_either_encoding(
    api: ApiServer, user: TestUser, encoding: str, gzipped: bool
) -> None:
    sp = span(chat_attributes(**{"gen_ai.usage.cache_read.input_tokens": 600, "llmobserve.customer_id": "cust_9",
                                 "llmobserve.tag.feature": "search", "openai.response.service_tier": "default"}))
    answer = post_traces(api, user, export(sp), encoding=encoding, gzipped=gzipped)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith(
        "application/x-protobuf" if encoding == "protobuf" else "application/json")
    assert not parse_answer(answer).HasField("partial_success")

    run = run_of(api, user, sp.trace_id)
    [event] = run["events"]
    assert event["id"] == str(uuid.uuid5(NAMESPACE, f"{sp.trace_id.hex()}/{sp.span_id.hex()}"))
    assert (event["provider"], event["model"], event["operation"]) == ("openai", "gpt-4o-mini-2024-07-18", "chat")
    assert (event["input_tokens"], event["cached_input_tokens"], event["output_tokens"]) == (1000, 600, 100)
    assert (event["customer_id"], event["tags"], event["service_tier"]) == ("cust_9", {"feature": "search"}, "default")
    assert event["run_id"] == sp.trace_id.hex() and len(event["run_id"]) == 32
    assert event["run_name"] == "chat gpt-4o-mini"  # the trace's root span is in the export: it is this span
    assert event["latency_ms"] == pytest.approx(420.0)
    started = datetime.fromtimestamp(sp.start_time_unix_nano / 1e9, UTC)
    assert abs(datetime.fromisoformat(event["timestamp"]).replace(tzinfo=UTC) - started) < timedelta(milliseconds=1)
    expected = reference_cost(provider="openai", model="gpt-4o-mini-2024-07-18", timestamp=started,
                              service_tier="default", input_tokens=1000, cached_input_tokens=600, output_tokens=100)
    assert Decimal(event["cost_usd"]) == expected.quantize(Decimal("1e-12"))
    assert event["pricing_status"] == "priced"


def test_a_re_exported_span_is_stored_once(api: ApiServer, user: TestUser) -> None:
    request = export(span(), span())
    assert post_traces(api, user, request).status_code == 200
    assert post_traces(api, user, request, encoding="json").status_code == 200
    assert calls(api, user) == 2


def test_spans_that_are_not_genai_are_skipped_without_counting(api: ApiServer, user: TestUser) -> None:
    trace = os.urandom(16)
    root = span({"http.request.method": "POST", "url.path": "/checkout"}, name="POST /checkout", trace_id=trace)
    tool = span({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"},
                name="execute_tool search", trace_id=trace, parent=root.span_id)
    call = span(trace_id=trace, parent=root.span_id)
    answer = post_traces(api, user, export(root, tool, call))
    assert answer.status_code == 200
    assert not parse_answer(answer).HasField("partial_success")
    [event] = run_of(api, user, trace)["events"]
    assert event["run_name"] == "POST /checkout"  # the root span's name, not the call's


@pytest.mark.parametrize(("attrs", "start_offset_s", "words"), [
    ({"gen_ai.usage.input_tokens": -3}, 0, "gen_ai.usage.input_tokens: Input should be greater than or equal to 0"),
    ({"gen_ai.usage.cache_read.input_tokens": 5000}, 0, "exceed input_tokens"),
    ({"gen_ai.usage.output_tokens": "many"}, 0, "gen_ai.usage.output_tokens: Input should be a valid integer"),
    ({"gen_ai.request.model": None, "gen_ai.response.model": None}, 0, "no gen_ai.response.model"),
    ({"gen_ai.provider.name": None, "gen_ai.system": None}, 0, None),  # only the operation name: still GenAI
    ({}, -(time.time() - 1.0), "startTimeUnixNano: timestamp is before 2020-01-01"),
    ({}, 3 * 86_400, "startTimeUnixNano: timestamp is more than 24 h ahead"),
])
def test_an_unusable_genai_span_is_counted_in_partial_success_with_a_reason(
    api: ApiServer, user: TestUser, attrs: dict, start_offset_s: float, words: str | None
) -> None:
    good = span()
    bad = span(chat_attributes(**attrs), start_ns=time.time_ns() + int(start_offset_s * 1e9))
    answer = post_traces(api, user, export(good, bad))
    assert answer.status_code == 200, answer.text
    partial = parse_answer(answer).partial_success
    assert partial.rejected_spans == 1
    assert f"span {bad.span_id.hex()}" in partial.error_message
    assert (words or "no gen_ai.provider.name") in partial.error_message
    assert [e["id"] for e in run_of(api, user, good.trace_id)["events"]]  # the good span is kept


def test_an_export_where_every_genai_span_is_unusable_still_answers_200_per_the_spec(
    api: ApiServer, user: TestUser
) -> None:
    answer = post_traces(api, user, export(span(start_ns=1), span(start_ns=2)), encoding="json")
    assert answer.status_code == 200
    assert answer.json()["partialSuccess"]["rejectedSpans"] in (2, "2")  # int64: a string in OTLP/JSON
    assert calls(api, user) == 0


@pytest.mark.parametrize(("body", "encoding", "headers", "words"), [
    (b"\xff\xff\xff not protobuf", "protobuf", {}, "not a protobuf"),
    (b"{not json", "json", {}, "not valid JSON"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}', "json", {}, "not hex"),
    (b'{"resourceSpans": "nope"}', "json", {}, "not an OTLP/JSON"),
    (b"\x1f\x8b broken gzip", "protobuf", {"Content-Encoding": "gzip"}, "not valid gzip"),
])
def test_an_undecodable_export_answers_400_saying_why(
    api: ApiServer, user: TestUser, body: bytes, encoding: str, headers: dict, words: str
) -> None:
    answer = post_traces(api, user, body, encoding=encoding, headers=headers)
    assert answer.status_code == 400
    if encoding == "json":
        assert words in answer.json()["message"]
    else:
        assert words.encode() in answer.content  # a protobuf google.rpc.Status: the message is plain UTF-8


@pytest.mark.parametrize(("headers", "words"), [
    ({"Content-Type": "text/plain"}, "Content-Type must be"),
    ({"Content-Encoding": "br"}, "Content-Encoding must be gzip"),
])
def test_an_unsupported_encoding_answers_415(api: ApiServer, user: TestUser, headers: dict, words: str) -> None:
    answer = post_traces(api, user, export(span()), encoding="json", headers=headers)
    assert answer.status_code == 415
    assert words in answer.json()["message"]


@pytest.mark.parametrize("authorization", [None, "Bearer llmo_unknown_key_0000000000000000000000"])
def test_without_a_valid_key_the_export_answers_401_in_its_own_encoding(
    api: ApiServer, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = post_traces(api, None, export(span()), headers=headers)
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/x-protobuf"
    assert answer.content[:2] == bytes([0x08, 16])  # google.rpc.Status code UNAUTHENTICATED
    as_json = post_traces(api, None, export(span()), encoding="json", headers=headers)
    assert as_json.status_code == 401 and as_json.json()["code"] == 16


def test_a_read_only_key_may_not_export_traces(api: ApiServer, user: TestUser) -> None:
    made = httpx.post(f"{api.url}/clerk/api-keys", headers=api.admin(user.id), json={"name": "r", "scopes": ["read"]})
    headers = {"Authorization": f"Bearer {made.json()['api_key']}"}
    answer = post_traces(api, None, export(span()), encoding="json", headers=headers)
    assert answer.status_code == 403 and "'ingest' scope" in answer.json()["message"]
    assert calls(api, user) == 0


def test_an_export_over_the_limit_gets_a_413_and_a_gzip_bomb_too(api: ApiServer, user: TestUser) -> None:
    big = os.urandom(17 * 1024 * 1024)  # over the 16 MiB /v1/traces limit
    answer = post_traces(api, user, big)
    assert answer.status_code == 413
    assert b"too large" in answer.content
    bomb = gzip.compress(b"\0" * (40 * 1024 * 1024))  # 40 KiB on the wire, 40 MiB inflated
    answer = post_traces(api, user, bomb, headers={"Content-Encoding": "gzip"})
    assert answer.status_code == 413
    assert b"decompressed body too large" in answer.content


def test_the_export_is_acknowledged_only_once_committed(api: ApiServer, user: TestUser) -> None:
    spans = [span() for _ in range(100)]
    assert post_traces(api, user, export(*spans), gzipped=True).status_code == 200
    assert calls(api, user) == 100  # read right after the answer: nothing still in flight
