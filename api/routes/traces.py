"""OpenTelemetry ingest: `POST /v1/traces` (OTLP/HTTP, protobuf or JSON, gzip), DESIGN §12.

Thin: decoding and the span → event mapping are api/otlp.py; validation, pricing and the group commit are
the same as `POST /v1/events` (api/ingest.py, api/store). Errors answer in the request's own encoding,
as a google.rpc.Status, as the OTLP spec asks.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import pyarrow as pa
from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.config import settings
from api.deps import AccountsDep, StoreDep, check_scope, get_tenant
from api.ingest import price_valid, validate_events
from api.otlp import (JSON, PROTOBUF, OtlpError, decode_request, map_request, media_type, rejection_reason,
                      response_body, status_body)
from api.price_book import PriceBook
from api.store import events

router = APIRouter(prefix="/v1/traces", tags=["opentelemetry"])

# Bodies up to this size are decoded on the event loop (~a few ms); bigger ones in the thread pool, so one
# large export never stalls every other request.
INLINE_BYTES = 1024 * 1024
ERRORS = {code: {"description": text, "content": {JSON: {}, PROTOBUF: {}}} for code, text in (
    (400, "undecodable body"), (401, "missing, unknown or revoked key"), (413, "body too large"),
    (415, "unsupported Content-Type or Content-Encoding"))}


def _prepare(tenant_id: str, body: bytes, content_type: str | None, content_encoding: str | None,
             book: PriceBook) -> tuple[pa.Table | None, list[str]]:
    """(rows to commit, one reason per unusable GenAI span)."""
    export = decode_request(body, content_type=content_type, content_encoding=content_encoding,
                            max_bytes=settings.max_trace_bytes)
    mapped = map_request(export)
    rows, _, rejected = price_valid(tenant_id, validate_events(mapped.events), book.for_tenant(tenant_id))
    reasons = mapped.rejected + [rejection_reason(mapped.refs[r.index], r.field, r.reason) for r in rejected]
    return rows, reasons


def _error(status: int, message: str, protobuf: bool, headers: dict[str, str] | None = None) -> Response:
    return Response(status_body(status, message, as_protobuf=protobuf), status_code=status, headers=headers,
                    media_type=PROTOBUF if protobuf else JSON)


@router.post(
    "",
    response_class=Response,
    responses={200: {"description": "ExportTraceServiceResponse (partial_success counts unusable GenAI spans)",
                     "content": {JSON: {}, PROTOBUF: {}}}, **ERRORS},
    openapi_extra={"requestBody": {"required": True, "content": {
        PROTOBUF: {"schema": {"type": "string", "format": "binary", "title": "ExportTraceServiceRequest"}},
        JSON: {"schema": {"type": "object", "title": "ExportTraceServiceRequest (OTLP/JSON)"}}}}},
)
async def export_traces(
    request: Request, accounts: AccountsDep, db: StoreDep,
    authorization: Annotated[str | None, Header()] = None,
    x_llmobserve_user: Annotated[str | None, Header()] = None,
) -> Response:
    """Store the GenAI spans of an OTLP trace export as usage events; answers after they are committed."""
    protobuf = media_type(request.headers.get("content-type")) == PROTOBUF
    try:
        # Declared by hand, not as IngestTenantDep: an auth error must answer in the request's OTLP encoding.
        tenant = check_scope(await get_tenant(request, accounts, authorization, x_llmobserve_user), "ingest")
    except HTTPException as exc:
        return _error(exc.status_code, str(exc.detail), protobuf, exc.headers)
    body = await request.body()
    args = (tenant.user_id, body, request.headers.get("content-type"), request.headers.get("content-encoding"),
            request.app.state.price_book)
    try:
        rows, reasons = _prepare(*args) if len(body) <= INLINE_BYTES else await run_in_threadpool(_prepare, *args)
    except OtlpError as exc:
        return _error(exc.status, str(exc), protobuf)
    if rows is not None:
        await asyncio.wrap_future(events.insert_events(db, batch=rows))
    return Response(response_body(reasons, as_json=not protobuf), media_type=PROTOBUF if protobuf else JSON)
