"""Builders for OTLP trace exports (opentelemetry-proto messages), for the /v1/traces tests and the bench."""

from __future__ import annotations

import base64
import gzip
import json
import os
import time
from typing import Any

import httpx
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from tests.factories import TestUser
from tests.server import ApiServer


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, (list, tuple)):
        return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))
    return AnyValue(string_value=str(value))


def attributes(values: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in values.items()]


def chat_attributes(**overrides: Any) -> dict[str, Any]:
    """What a conventions-following instrumentation records for one OpenAI chat call."""
    attrs = {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 100,
        "gen_ai.response.finish_reasons": ["stop"], "server.address": "api.openai.com",
    }
    attrs.update(overrides)
    return {k: v for k, v in attrs.items() if v is not None}


def new_trace_id() -> bytes:
    return os.urandom(16)


def span(attrs: dict[str, Any] | None = None, *, name: str = "chat gpt-4o-mini", trace_id: bytes | None = None,
         span_id: bytes | None = None, parent: bytes = b"", start_ns: int | None = None, duration_ms: float = 420.0,
         error: bool = False) -> Span:
    start = time.time_ns() - 10**9 if start_ns is None else start_ns
    return Span(trace_id=trace_id or new_trace_id(), span_id=span_id or os.urandom(8), parent_span_id=parent,
                name=name, kind=Span.SPAN_KIND_CLIENT, start_time_unix_nano=start,
                end_time_unix_nano=start + int(duration_ms * 1e6),
                attributes=attributes(chat_attributes() if attrs is None else attrs),
                status=Status(code=Status.STATUS_CODE_ERROR if error else Status.STATUS_CODE_UNSET))


def export(*spans: Span, resource: dict[str, Any] | None = None, scope: tuple[str, str] = ("test.genai", "1.0")
           ) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.CopyFrom(ResourceSpans())
    rs.resource.attributes.extend(attributes({"service.name": "checkout", **(resource or {})}))
    ss = rs.scope_spans.add()
    ss.CopyFrom(ScopeSpans())
    ss.scope.name, ss.scope.version = scope
    ss.spans.extend(spans)
    return request


def to_json(request: ExportTraceServiceRequest) -> bytes:
    """OTLP/JSON as exporters write it: lowerCamelCase names, hex trace and span ids, integer enums."""
    payload = json_format.MessageToDict(request, use_integers_for_enums=True)
    for rs in payload.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for sp in ss.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in sp:
                        sp[key] = base64.b64decode(sp[key]).hex()
    return json.dumps(payload).encode()


def post_traces(api: ApiServer, user: TestUser | None, request: ExportTraceServiceRequest | bytes, *,
                encoding: str = "protobuf", gzipped: bool = False, headers: dict[str, str] | None = None
                ) -> httpx.Response:
    if isinstance(request, bytes):
        body = request
    else:
        body = request.SerializeToString() if encoding == "protobuf" else to_json(request)
    sent = {"Content-Type": "application/x-protobuf" if encoding == "protobuf" else "application/json"}
    if gzipped:
        body = gzip.compress(body)
        sent["Content-Encoding"] = "gzip"
    if user is not None:
        sent.update(user.headers)
    sent.update(headers or {})
    return httpx.post(f"{api.url}/v1/traces", content=body, headers=sent, timeout=30)


def parse_answer(answer: httpx.Response) -> ExportTraceServiceResponse:
    if answer.headers["content-type"].startswith("application/json"):
        return json_format.Parse(answer.text, ExportTraceServiceResponse())
    return ExportTraceServiceResponse.FromString(answer.content)
