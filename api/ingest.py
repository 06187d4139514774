"""Turns a posted batch into validated, priced rows: per-event errors by index and field, and one
Arrow table for the store (columnar, so the insert is one statement)."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
from pydantic import TypeAdapter, ValidationError

from api.models import EventIn, RejectedEvent
from api.pricing import client_price, price_event
from api.store.db import utc_naive, utcnow

_events_adapter = TypeAdapter(list[EventIn])

STRING_COLUMNS = ("provider", "model", "operation", "customer_id", "run_id", "run_name", "status", "error_type",
                  "service_tier", "sdk_version")
INT_COLUMNS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens")


class EnvelopeError(ValueError):
    """The request as a whole is unusable (not JSON, no `events` list, too many events)."""


def parse_envelope(body: bytes, *, max_events: int) -> list[Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EnvelopeError(f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict) or "events" not in payload:
        raise EnvelopeError('body must be a JSON object of the form {"events": [ ... ]}')
    events = payload["events"]
    if not isinstance(events, list):
        raise EnvelopeError(f'"events" must be a list, got {type(events).__name__}')
    if len(events) > max_events:
        raise EnvelopeError(f"too many events in one batch: {len(events)} (at most {max_events}); split the batch")
    return events


def _rejection(index: int, error: dict[str, Any]) -> RejectedEvent:
    loc = [str(part) for part in error.get("loc", ())[1:]]
    return RejectedEvent(index=index, field=".".join(loc) or None, reason=error.get("msg", "invalid"))


def validate_events(raw: list[Any]) -> tuple[list[tuple[int, EventIn]], list[RejectedEvent]]:
    """Validate the whole list in one pass; on errors, keep every event that had none."""
    try:
        return list(enumerate(_events_adapter.validate_python(raw))), []
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    rejected: dict[int, RejectedEvent] = {}
    for error in errors:
        index = error["loc"][0] if error.get("loc") else -1
        if isinstance(index, int) and index not in rejected:
            rejected[index] = _rejection(index, error)
    good = [(i, EventIn.model_validate(raw[i])) for i in range(len(raw)) if i not in rejected]
    return good, sorted(rejected.values(), key=lambda r: r.index)


def to_rows(tenant_id: str, events: list[EventIn]) -> pa.Table:
    """Price each event and lay the batch out as the events table's columns (`cost_pico` for cost)."""
    received = utcnow()
    timestamps = [utc_naive(e.timestamp) for e in events]
    ids, run_ids, costs, statuses, sources, versions = [], [], [], [], [], []
    for event, ts in zip(events, timestamps):
        ids.append(event.id)
        run_ids.append(event.run_id or event.id)  # a call outside any run is a run of its own
        if event.cost_usd is not None:
            priced = client_price(event.cost_usd)
        else:
            priced = price_event(provider=event.provider, model=event.model, timestamp=ts,
                                 service_tier=event.service_tier, input_tokens=event.input_tokens,
                                 cached_input_tokens=event.cached_input_tokens,
                                 cache_write_tokens=event.cache_write_tokens, output_tokens=event.output_tokens)
        costs.append(priced.cost_pico)
        statuses.append(priced.status)
        sources.append(priced.source)
        versions.append(priced.version)
    columns: dict[str, pa.Array] = {
        "id": pa.array(ids, pa.string()),
        "tenant_id": pa.array([tenant_id] * len(events), pa.string()),
        "timestamp": pa.array(timestamps, pa.timestamp("us")),
    }
    for name in STRING_COLUMNS:
        columns[name] = pa.array([getattr(e, name) for e in events], pa.string())
    columns["run_id"] = pa.array(run_ids, pa.string())
    for name in INT_COLUMNS:
        columns[name] = pa.array([getattr(e, name) for e in events], pa.int64())
    columns["latency_ms"] = pa.array([e.latency_ms for e in events], pa.float64())
    columns["time_to_first_token_ms"] = pa.array([e.time_to_first_token_ms for e in events], pa.float64())
    columns["stream"] = pa.array([e.stream for e in events], pa.bool_())
    columns["http_status"] = pa.array([e.http_status for e in events], pa.int32())
    columns["tags"] = pa.array([json.dumps(e.tags, sort_keys=True) if e.tags else None for e in events], pa.string())
    columns["cost_pico"] = pa.array(costs, pa.int64())
    columns["pricing_status"] = pa.array(statuses, pa.string())
    columns["pricing_source"] = pa.array(sources, pa.string())
    columns["pricing_version"] = pa.array(versions, pa.string())
    columns["received_at"] = pa.array([received] * len(events), pa.timestamp("us"))
    return pa.table(columns)
