"""Request and response shapes. Families: `XIn` (what clients send), `XPublic` (what we answer)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (BaseModel, ConfigDict, Field, PlainSerializer, StrictBool, StrictFloat, StrictInt, StrictStr,
                      model_validator)
from typing_extensions import Required, TypedDict

Tokens = Annotated[StrictInt, Field(ge=0, le=10**12)]
# A week: anything longer is a unit mistake (seconds vs ns), and would break duration arithmetic.
Millis = Annotated[StrictInt | StrictFloat, Field(ge=0, le=7 * 86_400_000)]
ShortStr = Annotated[StrictStr, Field(max_length=256)]
# Costs go out as plain decimal strings ("0.000307350000"), never floats and never "0E-12".
Usd = Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")]


UUID_PATTERN = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"


class EventIn(TypedDict, total=False):
    """One call the user's code made, as the SDK records it (DESIGN §5).

    A TypedDict, not a model: the batch is validated in one pass of pydantic-core with no object per
    event, which keeps ingest near 5 µs per event. Cross-field rules are checked in api/ingest.py.
    """

    id: Required[Annotated[StrictStr, Field(pattern=UUID_PATTERN, description="client-made UUID, the idempotency key")]]
    timestamp: Required[Annotated[datetime, Field(description="call start, ISO 8601 (UTC if no offset)")]]
    provider: Required[Annotated[StrictStr, Field(min_length=1, max_length=64)]]
    model: Required[Annotated[StrictStr, Field(min_length=1, max_length=256, description="as the provider answered")]]
    operation: ShortStr | None
    customer_id: Annotated[ShortStr, Field(description='your customer; "" is the same as none')] | None
    run_id: ShortStr | None
    run_name: ShortStr | None
    input_tokens: Annotated[Tokens, Field(description="total input, cached included")]
    cached_input_tokens: Tokens
    cache_write_tokens: Annotated[Tokens, Field(description="every cache write, 1-hour ones included")]
    cache_write_1h_tokens: Annotated[Tokens, Field(description="the part of cache_write_tokens with a 1-hour lifetime")]
    output_tokens: Annotated[Tokens, Field(description="total output, reasoning included")]
    reasoning_tokens: Tokens
    latency_ms: Millis | None
    time_to_first_token_ms: Millis | None
    stream: StrictBool
    status: Literal["ok", "error", "incomplete"]
    error_type: ShortStr | None
    http_status: Annotated[StrictInt, Field(ge=100, le=599)] | None
    service_tier: ShortStr | None
    tags: dict[ShortStr, ShortStr] | None
    sdk_version: ShortStr | None
    cost_usd: Annotated[Decimal, Field(ge=0, le=10**6, description="the client's own price; overrides ours")] | None


class EventsIn(TypedDict):
    events: list[EventIn]


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
    store: Literal["duckdb", "postgresql"]
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


class BackupPublic(BaseModel):
    path: str
    bytes: int


class UserCreated(BaseModel):
    user: UserPublic
    api_key: str = Field(description="The initial key, shown only in this answer.")
    key_id: str


Scope = Literal["ingest", "read"]


class KeyCreate(BaseModel):
    name: Annotated[StrictStr, Field(min_length=1, max_length=100)] = "default"
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=8, description=(
        "what the key may do: `ingest` (send events) and/or `read` (analytics, runs, exports)"))] = ["ingest"]


class KeyPublic(BaseModel):
    id: str
    name: str
    prefix: str
    scopes: list[Scope]
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


class ClerkEventResult(BaseModel):
    """What a Clerk webhook delivery did; every variant is a 2xx, so Svix stops retrying."""

    status: Literal["created", "linked", "updated", "deactivated", "duplicate", "stale", "ignored"]
    event_type: str
    user_id: str | None = None
    detail: str


# -- custom prices --------------------------------------------------------------------------------
PerMtok = Annotated[Decimal, Field(ge=0, le=100_000, decimal_places=6)]


class CustomPriceIn(BaseModel):
    """Per-million-token prices, or a discount off the list price at each event's time (not both)."""

    model_config = ConfigDict(extra="forbid")  # a misspelt field must not look applied

    effective_from: datetime | None = Field(None, description="ISO 8601; default now. Back-date a negotiated "
                                            "price here, then re-price (POST /v1/reprice) to change stored costs.")
    input_per_mtok: PerMtok | None = None
    output_per_mtok: PerMtok | None = None
    cached_input_per_mtok: PerMtok | None = Field(None, description="defaults to the input price")
    cache_write_per_mtok: PerMtok | None = Field(None, description="defaults to the input price")
    discount_percent: Annotated[Decimal, Field(gt=0, le=100, decimal_places=6)] | None = Field(
        None, description="percent off genai-prices' list price at the event's time")

    @model_validator(mode="after")
    def _one_kind(self) -> CustomPriceIn:
        prices = [self.input_per_mtok, self.output_per_mtok, self.cached_input_per_mtok, self.cache_write_per_mtok]
        if self.discount_percent is not None:
            if any(p is not None for p in prices):
                raise ValueError("give either discount_percent or per-million-token prices, not both")
        elif self.input_per_mtok is None or self.output_per_mtok is None:
            raise ValueError("input_per_mtok and output_per_mtok are required (or give discount_percent)")
        return self


class CustomPricePublic(BaseModel):
    provider: str
    model: str
    version: str = Field(description="what an event priced with this version carries as pricing_version")
    effective_from: datetime
    effective_to: datetime | None = Field(description="the next version's effective_from; null: in force now")
    input_per_mtok: Decimal | None
    cached_input_per_mtok: Decimal | None
    cache_write_per_mtok: Decimal | None
    output_per_mtok: Decimal | None
    discount_percent: Decimal | None
    created_at: datetime


# -- dashboard login --------------------------------------------------------------------------------
class SignupIn(BaseModel):
    email: StrictStr
    password: Annotated[StrictStr, Field(min_length=8, max_length=128)]


class LoginIn(BaseModel):
    email: StrictStr
    password: Annotated[StrictStr, Field(max_length=128)]


# -- analytics ------------------------------------------------------------------------------------
SAVINGS_DOC = ("what cache reads saved: the cache-read tokens at the uncached input price, less what they cost "
               "(0 where nothing was cached; cache writes are a cost of their own, not subtracted here)")


class SummaryFields(BaseModel):
    total_cost_usd: Usd
    calls: int
    input_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int = 0
    output_tokens: int
    reasoning_tokens: int
    unpriced_calls: int
    unpriced_tokens: int
    error_calls: int
    incomplete_calls: int
    tier_fallback_calls: int = Field(description="calls priced at the standard rate: no rate for their service tier")
    customers: int
    avg_latency_ms: float | None
    first_event_at: datetime | None
    last_event_at: datetime | None
    cache_savings_usd: Usd = Field(description=SAVINGS_DOC)


class PreviousPeriod(SummaryFields):
    start: datetime = Field(description="the previous period's start (inclusive)")
    end: datetime = Field(description="its end (exclusive): the current period's start")


class SummaryPublic(SummaryFields):
    previous: PreviousPeriod | None = Field(None, description=(
        "with compare=previous: the same figures for the period of equal length just before start"))


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
    cache_savings_usd: Usd = Field(description=SAVINGS_DOC)


class BreakdownPublic(BaseModel):
    by: str
    data: list[BreakdownRow]


class TagKeyPublic(BaseModel):
    key: str
    values: int = Field(description="how many distinct values the key has in the period")
    calls: int = Field(description="how many calls carry the key")


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
    cache_write_1h_tokens: int = 0
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
    pricing_fallback: str | None = Field(None, description='"service_tier" when priced at the standard rate '
                                         "because the price data has no rate for the call's tier at its time")


class RunDetailPublic(BaseModel):
    run: RunPublic
    events: list[EventPublic]


# -- reconciliation -------------------------------------------------------------------------------
class ReconciliationImportPublic(BaseModel):
    import_id: str
    provider: str
    kind: Literal["usage", "cost"]
    days: list[date] = Field(description="the UTC days this import covers; each replaced any earlier import of it")
    rows: int = Field(description="(day, model) rows stored")


class ReconciliationRow(BaseModel):
    day: date
    provider: str
    model: str
    provider_input_tokens: int | None
    provider_cached_input_tokens: int | None
    provider_output_tokens: int | None
    provider_requests: int | None
    tracked_input_tokens: int
    tracked_cached_input_tokens: int
    tracked_output_tokens: int
    tracked_calls: int
    input_diff_pct: float | None = Field(description="(tracked − provider) / provider × 100")
    output_diff_pct: float | None
    status: Literal["match", "mismatch", "untracked", "not_in_export"]
    provider_cost_usd: Usd | None = Field(description="where a cost report covers the day")
    tracked_cost_usd: Usd | None


class ReconciliationPublic(BaseModel):
    data: list[ReconciliationRow]
