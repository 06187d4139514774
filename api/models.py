"""Request and response shapes. Families: `XIn` (what clients send), `XPublic` (what we answer)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, StrictBool, StrictFloat, StrictInt,
                      StrictStr, model_validator)

Tokens = Annotated[StrictInt, Field(ge=0, le=10**12)]
Millis = Annotated[StrictInt | StrictFloat, Field(ge=0)]
ShortStr = Annotated[StrictStr, Field(max_length=256)]
# Costs go out as plain decimal strings ("0.000307350000"), never floats and never "0E-12".
Usd = Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")]


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError("must be a UUID (the client-made idempotency key)") from None


EventId = Annotated[StrictStr, Field(max_length=64), AfterValidator(_uuid)]


class EventIn(BaseModel):
    """One call the user's code made, as the SDK records it (DESIGN §5)."""

    model_config = ConfigDict(extra="ignore")

    id: EventId
    timestamp: datetime
    provider: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    model: Annotated[StrictStr, Field(min_length=1, max_length=256)]
    operation: ShortStr | None = None
    customer_id: ShortStr | None = None
    run_id: ShortStr | None = None
    run_name: ShortStr | None = None
    input_tokens: Tokens = 0
    cached_input_tokens: Tokens = 0
    cache_write_tokens: Tokens = 0
    output_tokens: Tokens = 0
    reasoning_tokens: Tokens = 0
    latency_ms: Millis | None = None
    time_to_first_token_ms: Millis | None = None
    stream: StrictBool = False
    status: Literal["ok", "error", "incomplete"] = "ok"
    error_type: ShortStr | None = None
    http_status: Annotated[StrictInt, Field(ge=100, le=599)] | None = None
    service_tier: ShortStr | None = None
    tags: dict[ShortStr, ShortStr] | None = None
    sdk_version: ShortStr | None = None
    cost_usd: Annotated[Decimal, Field(ge=0, le=10**6)] | None = None  # the client's own price, if any

    @model_validator(mode="after")
    def _buckets_fit(self) -> EventIn:
        if self.cached_input_tokens + self.cache_write_tokens > self.input_tokens:
            raise ValueError("cached_input_tokens + cache_write_tokens exceed input_tokens "
                             "(input_tokens is the total, cached included)")
        if self.reasoning_tokens > self.output_tokens:
            raise ValueError("reasoning_tokens exceed output_tokens (output_tokens includes reasoning)")
        return self


class RejectedEvent(BaseModel):
    index: int
    field: str | None
    reason: str


class EventsAccepted(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[RejectedEvent]


class Message(BaseModel):
    detail: str


class HealthPublic(BaseModel):
    status: str
    database: str
    version: str


# -- users and keys -------------------------------------------------------------------------------
class UserCreate(BaseModel):
    email: Annotated[StrictStr, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
    first_name: Annotated[StrictStr, Field(max_length=128)] | None = None
    last_name: Annotated[StrictStr, Field(max_length=128)] | None = None
    user_type: Annotated[StrictStr, Field(max_length=64)] = "individual"


class UserPublic(BaseModel):
    id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    user_type: str
    active: bool
    created_at: datetime


class UserCreated(BaseModel):
    user: UserPublic
    api_key: str = Field(description="The initial key, shown only in this answer.")
    key_id: str


class KeyCreate(BaseModel):
    name: Annotated[StrictStr, Field(min_length=1, max_length=100)] = "default"


class KeyPublic(BaseModel):
    id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool
    revoked_at: datetime | None


class KeysPublic(BaseModel):
    data: list[KeyPublic]


class KeyCreated(KeyPublic):
    api_key: str = Field(description="The full key, shown only in this answer.")


class InitialKeyReveal(BaseModel):
    api_key: str | None = Field(description="The initial key on the first call; null once it has been shown.")
    prefix: str | None
    already_revealed: bool


# -- dashboard login --------------------------------------------------------------------------------
class SignupIn(BaseModel):
    email: StrictStr
    password: Annotated[StrictStr, Field(min_length=8, max_length=128)]


class LoginIn(BaseModel):
    email: StrictStr
    password: Annotated[StrictStr, Field(max_length=128)]


# -- analytics ------------------------------------------------------------------------------------
class SummaryPublic(BaseModel):
    total_cost_usd: Usd
    calls: int
    input_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    output_tokens: int
    reasoning_tokens: int
    unpriced_calls: int
    unpriced_tokens: int
    error_calls: int
    incomplete_calls: int
    customers: int
    runs: int
    avg_latency_ms: float | None
    first_event_at: datetime | None
    last_event_at: datetime | None


class TimeseriesPoint(BaseModel):
    bucket: datetime
    group: str | None
    cost_usd: Usd
    calls: int
    input_tokens: int
    output_tokens: int
    unpriced_calls: int


class TimeseriesPublic(BaseModel):
    interval: str
    group_by: str | None
    data: list[TimeseriesPoint]


class BreakdownRow(BaseModel):
    key: str | None
    cost_usd: Usd
    calls: int
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    unpriced_calls: int
    unpriced_tokens: int
    error_calls: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None


class BreakdownPublic(BaseModel):
    by: str
    data: list[BreakdownRow]


class RunPublic(BaseModel):
    run_id: str
    run_name: str | None
    customer_id: str | None
    started_at: datetime
    ended_at: datetime
    duration_ms: float | None
    calls: int
    cost_usd: Usd
    unpriced_calls: int
    input_tokens: int
    output_tokens: int
    error_calls: int
    status: str


class RunsPublic(BaseModel):
    data: list[RunPublic]


class EventPublic(BaseModel):
    id: str
    timestamp: datetime
    provider: str
    model: str
    operation: str | None
    customer_id: str | None
    run_id: str
    run_name: str | None
    input_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    output_tokens: int
    reasoning_tokens: int
    latency_ms: float | None
    time_to_first_token_ms: float | None
    stream: bool
    status: str
    error_type: str | None
    http_status: int | None
    service_tier: str | None
    tags: dict[str, str] | None
    cost_usd: Usd | None
    pricing_status: str
    pricing_source: str | None
    pricing_version: str | None


class RunDetailPublic(BaseModel):
    run: RunPublic
    events: list[EventPublic]
