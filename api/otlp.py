"""OTLP/HTTP trace exports as usage events (DESIGN §12): decode the request, map each GenAI span to one
event, and encode the answer the OTLP spec asks for.

Pure: no FastAPI, no database. The events it makes go through the same validation, pricing and group
commit as `POST /v1/events` (api/ingest.py); this module only says what a span means. What each
instrumentation gets wrong, and how it is corrected, is in api/otlp_departures.py.
"""

from __future__ import annotations

import json
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from api.otlp_departures import corrections

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# The namespace of every span's event id: uuid5(NAMESPACE, "<trace id hex>/<span id hex>"), so a span
# exported twice (a retry, two collectors) is the same event and is stored once. It is uuid5(NAMESPACE_URL,
# "https://llmobserve.dev/otlp/span") written out, and it never changes (docs/opentelemetry.md).
NAMESPACE = uuid.UUID("9e61d9b5-61e9-5599-91a8-dd26fa5205e0")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_UNIX_NS = 253_402_300_799_999_999_999  # 9999-12-31T23:59:59.999999999Z: later instants do not fit a datetime
STATUS_ERROR = 2  # Status.StatusCode.STATUS_CODE_ERROR
MAX_REASONS = 10  # partial_success.error_message names this many rejected spans, then counts the rest

# gen_ai.provider.name / gen_ai.system values → our provider labels (the rest pass through lower-cased).
PROVIDERS = {
    "azure.ai.openai": "azure", "az.ai.openai": "azure", "azure.ai.inference": "azure", "az.ai.inference": "azure",
    "aws.bedrock": "bedrock", "gcp.gemini": "google", "gcp.vertex_ai": "google", "gcp.gen_ai": "google",
    "mistral_ai": "mistral", "x_ai": "x-ai",
}
# The semantic conventions' operation names (and ours): a span name starting with one names the operation.
OPERATIONS = frozenset({"chat", "text_completion", "embeddings", "generate_content", "responses", "messages",
                        "completions", "create_agent", "invoke_agent", "execute_tool"})
# Spans that are structure around model calls, not calls: skipped like non-GenAI spans (docs/opentelemetry.md).
NOT_CALLS = frozenset({"execute_tool"})
GENAI_MARKERS = ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.system")
CUSTOMER_KEYS = ("llmobserve.customer_id", "enduser.id", "user.id")
TAG_PREFIX = "llmobserve.tag."
# Every attribute the mapping reads; the rest (prompts, completions, request parameters) are never decoded.
WANTED = frozenset({
    *GENAI_MARKERS, *CUSTOMER_KEYS, "llmobserve.run_name",
    "gen_ai.request.model", "gen_ai.response.model",
    "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.prompt_tokens",
    "gen_ai.usage.completion_tokens", "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens", "openai.response.service_tier", "error.type", "http.response.status_code",
    "gen_ai.request.stream", "gen_ai.is_streaming", "llm.is_streaming", "gen_ai.server.time_to_first_token",
})
# Where each event field came from, for rejection reasons a sender can act on.
SOURCES = {
    "input_tokens": "gen_ai.usage.input_tokens", "output_tokens": "gen_ai.usage.output_tokens",
    "cached_input_tokens": "gen_ai.usage.cache_read.input_tokens",
    "cache_write_tokens": "gen_ai.usage.cache_creation.input_tokens",
    "reasoning_tokens": "gen_ai.usage.reasoning.output_tokens", "model": "gen_ai.response.model",
    "provider": "gen_ai.provider.name", "timestamp": "startTimeUnixNano",
    "latency_ms": "endTimeUnixNano - startTimeUnixNano", "customer_id": "llmobserve.customer_id",
    "service_tier": "openai.response.service_tier", "error_type": "error.type",
    "http_status": "http.response.status_code", "operation": "gen_ai.operation.name",
    "cost_usd": "gen_ai.usage.* (the call's cost)",
}


class OtlpError(ValueError):
    """The request as a whole cannot be used; `status` is the HTTP answer (400, 413 or 415)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Mapped:
    """The GenAI spans of one export as candidate events, and the spans that could not become one."""

    events: list[dict[str, Any]] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)  # "trace <hex> span <hex>", one per event
    rejected: list[str] = field(default_factory=list)  # reasons, one per unusable GenAI span


# -- decoding ------------------------------------------------------------------------------------
def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _gunzip(body: bytes, max_bytes: int) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise OtlpError(400, f"body is not valid gzip: {exc}") from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise OtlpError(413, f"decompressed body too large: the limit is {max_bytes} bytes; export smaller batches")
    if not inflater.eof:
        raise OtlpError(400, "body is not valid gzip: the stream is truncated")
    return out


def _hex_ids_to_base64(payload: Any) -> None:
    """OTLP/JSON writes trace and span ids as hex, where protobuf's JSON mapping expects base64."""
    import base64

    def fix(obj: dict[str, Any], key: str) -> None:
        value = obj.get(key)
        if isinstance(value, str) and value:
            try:
                obj[key] = base64.b64encode(bytes.fromhex(value)).decode()
            except ValueError:
                raise OtlpError(400, f"{key} {value[:40]!r} is not hex") from None

    for rs in payload.get("resourceSpans") or [] if isinstance(payload, dict) else []:
        for ss in (rs or {}).get("scopeSpans") or []:
            for span in (ss or {}).get("spans") or []:
                if isinstance(span, dict):
                    for key in ("traceId", "spanId", "parentSpanId"):
                        fix(span, key)
                    for link in span.get("links") or []:
                        if isinstance(link, dict):
                            fix(link, "traceId")
                            fix(link, "spanId")


def decode_request(body: bytes, *, content_type: str | None, content_encoding: str | None,
                   max_bytes: int) -> ExportTraceServiceRequest:
    """Bytes as sent → an ExportTraceServiceRequest; OtlpError(415) for an encoding we do not speak."""
    kind = media_type(content_type)
    if kind not in (PROTOBUF, JSON):
        raise OtlpError(415, f"Content-Type must be {PROTOBUF} or {JSON}, got {content_type or 'none'!r}")
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "gzip":
        body = _gunzip(body, max_bytes)
    elif encoding != "identity":
        raise OtlpError(415, f"Content-Encoding must be gzip or absent, got {content_encoding!r}")
    if kind == PROTOBUF:
        try:
            return ExportTraceServiceRequest.FromString(body)
        except DecodeError as exc:
            raise OtlpError(400, f"body is not a protobuf ExportTraceServiceRequest: {exc}") from None
    try:
        payload = json.loads(body)
        _hex_ids_to_base64(payload)
        return json_format.ParseDict(payload, ExportTraceServiceRequest(), ignore_unknown_fields=True)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OtlpError(400, f"body is not valid JSON: {exc}") from None
    except (json_format.ParseError, TypeError, AttributeError) as exc:
        raise OtlpError(400, f"body is not an OTLP/JSON ExportTraceServiceRequest: {exc}") from None


# -- mapping -------------------------------------------------------------------------------------
def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return v.string_value
    if kind == "int_value":
        return v.int_value
    if kind == "double_value":
        return v.double_value
    if kind == "bool_value":
        return v.bool_value
    if kind == "array_value":
        return [_value(item) for item in v.array_value.values]
    if kind == "bytes_value":
        return v.bytes_value.hex()
    return None  # kvlist or empty: nothing we read is a map


def _attributes(kvs: Any) -> dict[str, Any]:
    found = {}
    for kv in kvs:
        key = kv.key  # each read of a protobuf field builds a new Python object: read it once
        if key in WANTED or key.startswith("llmobserve."):
            found[key] = _value(kv.value)
    return found


def _count(attrs: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value is not None:
            # JavaScript exporters send whole numbers as doubles at times; 12.0 tokens are 12 tokens
            return int(value) if isinstance(value, float) and value.is_integer() else value
    return None


def _instant(unix_nano: int) -> datetime:
    if unix_nano > MAX_UNIX_NS:
        return datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)  # past the bound: rejected, naming it
    return EPOCH + timedelta(microseconds=unix_nano // 1000)


def _first(key: str, *scopes: dict[str, Any]) -> Any:
    for attrs in scopes:
        value = attrs.get(key)
        if value not in (None, ""):
            return value
    return None


def _customer(attrs: dict[str, Any], resource: dict[str, Any]) -> Any:
    for key in CUSTOMER_KEYS:
        if (value := _first(key, attrs, resource)) is not None:
            return value
    return None


def _operation(attrs: dict[str, Any], span_name: str) -> str:
    named = attrs.get("gen_ai.operation.name")
    if isinstance(named, str) and named:
        return named
    first = span_name.split(" ", 1)[0]
    return first if first in OPERATIONS else "unknown"


def _tags(span: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any] | None:
    tags = {k[len(TAG_PREFIX):]: v for attrs in (resource, span) for k, v in attrs.items()
            if k.startswith(TAG_PREFIX) and v is not None}
    return {k: (str(v).lower() if isinstance(v, bool) else str(v) if isinstance(v, (int, float)) else v)
            for k, v in tags.items()} or None


def _stream(attrs: dict[str, Any]) -> bool:
    for key in ("gen_ai.request.stream", "gen_ai.is_streaming", "llm.is_streaming"):
        if isinstance(attrs.get(key), bool):
            return attrs[key]
    return False


def span_event(span: Any, attrs: dict[str, Any], resource: dict[str, Any], scope: tuple[str, str],
               root_name: str | None) -> dict[str, Any] | str:
    """One GenAI span → an event (a dict for EventIn validation), or the reason it cannot be one."""
    trace_hex, span_hex = span.trace_id.hex(), span.span_id.hex()
    if len(span.trace_id) != 16 or len(span.span_id) != 8:
        return "traceId must be 16 bytes and spanId 8 bytes"
    raw_provider = _first("gen_ai.provider.name", attrs) or _first("gen_ai.system", attrs)
    if not isinstance(raw_provider, str):
        return "no gen_ai.provider.name (or gen_ai.system): the provider is needed to price the call"
    model = _first("gen_ai.response.model", attrs) or _first("gen_ai.request.model", attrs)
    if model is None:
        return "no gen_ai.response.model (or gen_ai.request.model): the model is needed to price the call"
    error = span.status.code == STATUS_ERROR
    stream = _stream(attrs)
    ttft = attrs.get("gen_ai.server.time_to_first_token")
    status_code = attrs.get("http.response.status_code")
    event = {
        "id": str(uuid.uuid5(NAMESPACE, f"{trace_hex}/{span_hex}")),
        "timestamp": _instant(span.start_time_unix_nano),
        "provider": PROVIDERS.get(raw_provider.lower(), raw_provider.lower()),
        "model": model,
        "operation": _operation(attrs, span.name),
        "customer_id": _customer(attrs, resource),
        "run_id": trace_hex,
        "run_name": (root_name or _first("llmobserve.run_name", attrs, resource) or None),
        "input_tokens": _count(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens") or 0,
        "cached_input_tokens": _count(attrs, "gen_ai.usage.cache_read.input_tokens") or 0,
        "cache_write_tokens": _count(attrs, "gen_ai.usage.cache_creation.input_tokens") or 0,
        "output_tokens": _count(attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens") or 0,
        "reasoning_tokens": _count(attrs, "gen_ai.usage.reasoning.output_tokens") or 0,
        "latency_ms": (span.end_time_unix_nano - span.start_time_unix_nano) / 1e6,
        "time_to_first_token_ms": ttft * 1000 if stream and isinstance(ttft, (int, float)) and ttft >= 0 else None,
        "stream": stream,
        "status": "error" if error else "ok",
        "error_type": attrs.get("error.type") if error else None,
        "http_status": status_code if isinstance(status_code, int) and 100 <= status_code <= 599 else None,
        "service_tier": attrs.get("openai.response.service_tier") or None,
        "tags": _tags(attrs, resource),
        "sdk_version": f"otlp:{scope[0]}/{scope[1]}"[:256],
    }
    if isinstance(event["run_name"], str):
        event["run_name"] = event["run_name"][:256]
    return event


def _is_genai(attrs: dict[str, Any]) -> bool:
    return any(attrs.get(key) not in (None, "") for key in GENAI_MARKERS)


def map_request(request: ExportTraceServiceRequest) -> Mapped:
    """Every GenAI span of the export as a candidate event; other spans are not ours and are skipped."""
    roots = {span.trace_id: span.name for rs in request.resource_spans for ss in rs.scope_spans
             for span in ss.spans if not span.parent_span_id}
    mapped = Mapped()
    for rs in request.resource_spans:
        resource = _attributes(rs.resource.attributes)
        for ss in rs.scope_spans:
            scope = (ss.scope.name, ss.scope.version)
            fixes = corrections(scope)
            for span in ss.spans:
                attrs = _attributes(span.attributes)
                if not _is_genai(attrs) or attrs.get("gen_ai.operation.name") in NOT_CALLS:
                    continue
                ref = f"trace {span.trace_id.hex()} span {span.span_id.hex()}"
                for fix in fixes:
                    fix(attrs)
                event = span_event(span, attrs, resource, scope, roots.get(span.trace_id))
                if isinstance(event, str):
                    mapped.rejected.append(f"{ref}: {event}")
                else:
                    mapped.events.append(event)
                    mapped.refs.append(ref)
    return mapped


def rejection_reason(ref: str, field_name: str | None, reason: str) -> str:
    """A validation rejection in the span's own terms (attribute names, not event fields)."""
    if field_name is None:
        return f"{ref}: {reason}"
    head = field_name.split(".", 1)[0]
    if head == "tags":
        where = TAG_PREFIX + field_name.split(".", 1)[1] if "." in field_name else "llmobserve.tag.*"
    else:
        where = SOURCES.get(head, field_name)
    return f"{ref}: {where}: {reason}"


# -- answering -----------------------------------------------------------------------------------
def response_body(rejected: list[str], *, as_json: bool) -> bytes:
    """ExportTraceServiceResponse; `partial_success` only when some GenAI spans could not be used."""
    answer = ExportTraceServiceResponse()
    if rejected:
        message = "; ".join(rejected[:MAX_REASONS])
        if len(rejected) > MAX_REASONS:
            message += f"; and {len(rejected) - MAX_REASONS} more"
        answer.partial_success.CopyFrom(ExportTracePartialSuccess(
            rejected_spans=len(rejected), error_message=f"{len(rejected)} GenAI span(s) rejected: {message}"))
    if as_json:
        return json_format.MessageToJson(answer, indent=None).encode()
    return answer.SerializeToString()


def status_body(http_status: int, message: str, *, as_protobuf: bool) -> bytes:
    """The google.rpc.Status the OTLP spec asks for in a 4xx answer, in the request's encoding.

    JSON answers also carry `detail`, as every other error of this API does. Protobuf is written by hand
    (field 1 code, field 2 message): two fields do not justify a dependency on googleapis-common-protos.
    """
    code = {400: 3, 401: 16, 403: 7, 404: 5, 413: 8, 415: 3}.get(http_status, 2)
    if not as_protobuf:
        return json.dumps({"code": code, "message": message, "detail": message}).encode()
    text = message.encode()
    return bytes([0x08, code, 0x12]) + _varint(len(text)) + text


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)
