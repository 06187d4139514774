"""Turns a posted batch into validated, priced rows: per-event errors by index and field, and one
Arrow table for the store (columnar, so the insert is one statement).

The happy path validates the whole body in one pydantic-core pass straight from bytes and builds each
column with one list comprehension; only a batch with errors takes the slower per-event path.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from pydantic import TypeAdapter, ValidationError

from api.cache_savings import savings_column, savings_pico
from api.models import EventIn, EventsIn, RejectedEvent
from api.pricing import MAX_COST_PICO, Priced, Timeline, price_batch
from api.store.base import utcnow

_batch = TypeAdapter(EventsIn)
_event = TypeAdapter(EventIn)

STRING_COLUMNS = ("provider", "model", "operation", "customer_id", "run_name", "status", "error_type",
                  "service_tier", "sdk_version")
INT_COLUMNS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens",
               "reasoning_tokens")
COST_BOUND_REASON = "the call's cost exceeds $1,000,000, the most one event may cost (check the token counts)"
FRIENDLIER = {"string_pattern_mismatch": "must be a UUID (the client-made idempotency key)"}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A call dated outside these bounds is a client bug (a zero date, seconds read as milliseconds), and pricing
# it at "its" time would pick a price that never applied: per-event rejection, naming the bound (DESIGN §12).
EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(hours=24)


class EnvelopeError(ValueError):
    """The request as a whole is unusable (not JSON, no `events` list, too many events)."""


def _parse_envelope(body: bytes) -> list[Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EnvelopeError(f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict) or "events" not in payload:
        raise EnvelopeError('body must be a JSON object of the form {"events": [ ... ]}')
    if not isinstance(payload["events"], list):
        raise EnvelopeError(f'"events" must be a list, got {type(payload["events"]).__name__}')
    return payload["events"]


def _rejection(index: int, error: dict[str, Any], depth: int) -> RejectedEvent:
    loc = [str(part) for part in error.get("loc", ())[depth:]]
    reason = FRIENDLIER.get(error.get("type", ""), error.get("msg", "invalid"))
    return RejectedEvent(index=index, field=".".join(loc) or None, reason=reason)


NUL_REASON = "must not contain NUL (\\u0000) characters (PostgreSQL text cannot hold them)"
TEXT_FIELDS = (*STRING_COLUMNS, "id", "run_id")


def _nul_field(event: EventIn) -> str | None:
    """The first text field holding a NUL character; both stores refuse them alike."""
    return next((name for name in TEXT_FIELDS if "\x00" in (event.get(name) or "")), None)


def _cross_field_error(event: EventIn) -> str | None:
    if event.get("cache_write_1h_tokens", 0) > event.get("cache_write_tokens", 0):
        return "cache_write_1h_tokens exceed cache_write_tokens (the 1-hour writes are part of all cache writes)"
    if event.get("cached_input_tokens", 0) + event.get("cache_write_tokens", 0) > event.get("input_tokens", 0):
        return ("cached_input_tokens + cache_write_tokens exceed input_tokens "
                "(input_tokens is the total, cached included)")
    if event.get("reasoning_tokens", 0) > event.get("output_tokens", 0):
        return "reasoning_tokens exceed output_tokens (output_tokens includes reasoning)"
    return None


def _timestamp_error(value: datetime, latest: datetime) -> str | None:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if aware < EARLIEST:
        return "timestamp is before 2020-01-01T00:00:00Z, the earliest accepted"
    if aware > latest:
        return (f"timestamp is more than 24 h ahead of the server clock "
                f"(latest accepted now: {latest:%Y-%m-%dT%H:%M:%SZ})")
    return None


@dataclass
class ValidBatch:
    events: list[EventIn]  # the good events, in the order sent
    indexes: list[int]  # each good event's index in the request
    total: int  # how many were sent
    rejected: list[RejectedEvent]


def validate_batch(body: bytes, *, max_events: int) -> ValidBatch:
    """The good events and the rejections by index. Raises EnvelopeError for a bad envelope."""
    try:
        candidates = list(enumerate(_batch.validate_json(body)["events"]))
        total = len(candidates)
        rejected: list[RejectedEvent] = []
    except ValidationError:
        raw = _parse_envelope(body)
        total, candidates, rejected = len(raw), [], []
        for index, item in enumerate(raw[:max_events + 1]):
            try:
                candidates.append((index, _event.validate_python(item)))
            except ValidationError as exc:
                rejected.append(_rejection(index, exc.errors(include_url=False)[0], depth=0))
    if total > max_events:
        raise EnvelopeError(f"too many events in one batch: {total} (at most {max_events}); split the batch")
    return _checked(candidates, total, rejected, has_nul=b"\\u0000" in body)


def validate_events(items: list[dict[str, Any]]) -> ValidBatch:
    """Events decoded elsewhere (OTLP spans, api/otlp.py) under the same rules as a posted batch."""
    try:
        candidates = list(enumerate(_batch.validate_python({"events": items})["events"]))
        rejected: list[RejectedEvent] = []
    except ValidationError:
        candidates, rejected = [], []
        for index, item in enumerate(items):
            try:
                candidates.append((index, _event.validate_python(item)))
            except ValidationError as exc:
                rejected.append(_rejection(index, exc.errors(include_url=False)[0], depth=0))
    return _checked(candidates, len(items), rejected, has_nul=True)  # protobuf strings may hold NUL


def _checked(candidates: list[tuple[int, EventIn]], total: int, rejected: list[RejectedEvent], *,
             has_nul: bool) -> ValidBatch:
    """The rules one field cannot check alone, over events that passed the field checks."""
    good, indexes = [], []
    latest = datetime.now(UTC) + MAX_AHEAD
    for index, event in candidates:
        field = _nul_field(event) if has_nul else None
        if field:
            rejected.append(RejectedEvent(index=index, field=field, reason=NUL_REASON))
        elif when := _timestamp_error(event["timestamp"], latest):
            rejected.append(RejectedEvent(index=index, field="timestamp", reason=when))
        elif problem := _cross_field_error(event):
            rejected.append(RejectedEvent(index=index, field=None, reason=problem))
        else:
            if event.get("customer_id") == "":  # no customer, the same as null everywhere (DESIGN §15)
                event["customer_id"] = None
            good.append(event)
            indexes.append(index)
    return ValidBatch(good, indexes, total, sorted(rejected, key=lambda r: r.index))


def _epoch_us(value: datetime) -> int:
    if value.tzinfo is None:  # no offset given: the contract says UTC
        value = value.replace(tzinfo=UTC)
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _prices(events: list[EventIn], epoch_us: list[int],
            custom: dict[tuple[str, str], Timeline] | None) -> list[Priced]:
    return price_batch([
        (e["provider"], e["model"], micros, e.get("service_tier"), e.get("input_tokens", 0),
         e.get("cached_input_tokens", 0), e.get("cache_write_tokens", 0), e.get("output_tokens", 0),
         e.get("cache_write_1h_tokens", 0), e.get("cost_usd"))
        for e, micros in zip(events, epoch_us)], custom)


def prepare(tenant_id: str, body: bytes, *, max_events: int,
            custom: dict[tuple[str, str], Timeline] | None = None) -> tuple[pa.Table | None, int, list[RejectedEvent]]:
    """A posted body → (priced rows or None, how many were sent, rejections by index)."""
    return price_valid(tenant_id, validate_batch(body, max_events=max_events), custom)


def price_valid(tenant_id: str, batch: ValidBatch, custom: dict[tuple[str, str], Timeline] | None = None
                ) -> tuple[pa.Table | None, int, list[RejectedEvent]]:
    """Validated events → (priced rows or None, how many were sent, rejections by index)."""
    if not batch.events:
        return None, batch.total, batch.rejected
    table, over_bound = to_rows(tenant_id, batch.events, custom)
    rejected = batch.rejected + [RejectedEvent(index=batch.indexes[i], field="cost_usd", reason=COST_BOUND_REASON)
                                 for i in over_bound]
    return table, batch.total, sorted(rejected, key=lambda r: r.index)


def to_rows(tenant_id: str, events: list[EventIn],
            custom: dict[tuple[str, str], Timeline] | None = None) -> tuple[pa.Table | None, list[int]]:
    """Price each event (with the tenant's custom prices, if any) and lay the batch out as the events
    table's columns (`cost_pico` for cost). Events costing more than the store holds exactly are left out
    and their positions returned, for a per-event rejection."""
    epoch_us = [_epoch_us(e["timestamp"]) for e in events]
    priced = _prices(events, epoch_us, custom)
    over_bound = [i for i, p in enumerate(priced) if p.cost_pico is not None and p.cost_pico > MAX_COST_PICO]
    if over_bound:
        skip = set(over_bound)
        keep = [i for i in range(len(events)) if i not in skip]
        events, epoch_us, priced = [events[i] for i in keep], [epoch_us[i] for i in keep], [priced[i] for i in keep]
        if not events:
            return None, over_bound
    savings = savings_pico(events, lambda some: _prices(some, [_epoch_us(e["timestamp"]) for e in some], custom))
    return _layout(tenant_id, events, epoch_us, priced, savings), over_bound


def _layout(tenant_id: str, events: list[EventIn], epoch_us: list[int], priced: list[Priced],
            savings: list[int]) -> pa.Table:
    n = len(events)
    # canonical form (lower case, hyphenated), the form the store compares and answers in
    ids = [i if len(i := e["id"].lower()) == 36 else str(uuid.UUID(i)) for e in events]
    columns: dict[str, pa.Array] = {
        "id": pa.array(ids, pa.string()),
        "tenant_id": pa.array([tenant_id] * n, pa.string()),
        "timestamp": pa.array(epoch_us, pa.int64()).cast(pa.timestamp("us")),
        # a call made outside any run is a run of its own
        "run_id": pa.array([e.get("run_id") or i for e, i in zip(events, ids)], pa.string()),
    }
    for name in STRING_COLUMNS:
        columns[name] = pa.array([e.get(name) for e in events], pa.string())
    for name in INT_COLUMNS:
        columns[name] = pa.array([e.get(name, 0) for e in events], pa.int64())
    columns["latency_ms"] = pa.array([e.get("latency_ms") for e in events], pa.float64())
    columns["time_to_first_token_ms"] = pa.array([e.get("time_to_first_token_ms") for e in events], pa.float64())
    columns["stream"] = pa.array([e.get("stream", False) for e in events], pa.bool_())
    columns["status"] = pa.array([e.get("status") or "ok" for e in events], pa.string())
    columns["http_status"] = pa.array([e.get("http_status") for e in events], pa.int32())
    columns["tags"] = pa.array([json.dumps(t, sort_keys=True) if (t := e.get("tags")) else None for e in events],
                               pa.string())
    columns["cost_pico"] = pa.array([p.cost_pico for p in priced], pa.int64())
    columns["cache_savings_usd"] = savings_column(savings)
    columns["pricing_status"] = pa.array([p.status for p in priced], pa.string())
    columns["pricing_source"] = pa.array([p.source for p in priced], pa.string())
    columns["pricing_version"] = pa.array([p.version for p in priced], pa.string())
    columns["pricing_fallback"] = pa.array([p.fallback for p in priced], pa.string())
    columns["received_at"] = pa.array([utcnow()] * n, pa.timestamp("us"))
    return pa.table(columns)
