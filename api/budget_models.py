"""Request and answer shapes for budgets, forecasts and alerts (DESIGN §11).

Kept apart from api/models.py (the ingest and analytics shapes) because they are one concern of their
own. Inputs refuse unknown fields: a client must never believe a misspelt field was applied."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, field_validator

from api.budget_periods import zone
from api.budgets import parse_tag
from api.models import Usd

Period = Literal["day", "week", "month"]
Amount = Annotated[Decimal, Field(gt=0, le=10**9, decimal_places=6, description="USD per period")]
Threshold = Annotated[float, Field(gt=0, le=1000, description="percent of the amount")]
Name = Annotated[StrictStr, Field(min_length=1, max_length=200)]
ScopeValue = Annotated[StrictStr, Field(min_length=1, max_length=256)]


class BudgetScope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: ScopeValue | None = None
    provider: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None
    model: ScopeValue | None = None
    tag: Annotated[StrictStr, Field(max_length=513, description="'key:value'")] | None = None

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str | None) -> str | None:
        if value is not None:
            parse_tag(value)
        return value


class _BudgetChecks(BaseModel):
    """The checks a create and an update share; each error names its field (422)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("timezone", check_fields=False)
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)
        return value

    @field_validator("thresholds_percent", check_fields=False)
    @classmethod
    def _thresholds(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("thresholds must be distinct")
        return sorted(value) if value is not None else None


class BudgetIn(_BudgetChecks):

    name: Name
    amount_usd: Amount
    period: Period
    timezone: StrictStr = Field("UTC", description="IANA name, e.g. Europe/Paris")
    scope: BudgetScope = Field(default_factory=BudgetScope)
    thresholds_percent: Annotated[list[Threshold], Field(min_length=1, max_length=10)] = [50, 80, 100]
    enforce: StrictBool = Field(False, description="the SDK refuses calls in scope once exceeded (opt-in there)")
    channel_ids: Annotated[list[StrictStr], Field(max_length=50)] | None = Field(
        None, description="alert only these channels; every channel of yours when absent")



class BudgetUpdate(_BudgetChecks):
    """Only the fields given change; `scope`, when given, replaces the whole scope."""

    name: Name | None = None
    amount_usd: Amount | None = None
    period: Period | None = None
    timezone: StrictStr | None = None
    scope: BudgetScope | None = None
    thresholds_percent: Annotated[list[Threshold], Field(min_length=1, max_length=10)] | None = None
    enforce: StrictBool | None = None
    channel_ids: Annotated[list[StrictStr], Field(max_length=50)] | None = None



class ScopePublic(BaseModel):
    customer_id: str | None
    provider: str | None
    model: str | None
    tag: str | None


class BudgetPublic(BaseModel):
    id: str
    name: str
    amount_usd: Usd
    period: Period
    timezone: str
    scope: ScopePublic
    thresholds_percent: list[float]
    enforce: bool
    channel_ids: list[str] | None
    created_at: datetime
    updated_at: datetime
    period_start: datetime = Field(description="this period's first instant, in the budget's timezone")
    period_end: datetime = Field(description="exclusive")
    spent_usd: Usd
    remaining_usd: Usd = Field(description="amount − spent; negative once exceeded")
    percent: float = Field(description="spent as a percentage of the amount (0–100 scale, like thresholds)")
    projected_usd: Usd = Field(description="the forecast for the period's end (docs/budgets.md)")
    status: Literal["ok", "warning", "exceeded"]
    calls: int
    unpriced_calls: int = Field(description="calls in scope with no known price: not counted in spent_usd")


class BudgetsPublic(BaseModel):
    data: list[BudgetPublic]


class BudgetStatusPublic(BaseModel):
    id: str
    name: str
    scope: ScopePublic
    exceeded: bool
    spent_usd: Usd
    amount_usd: Usd
    period_end: datetime


class BudgetsStatusPublic(BaseModel):
    """What the SDK needs to enforce: the tenant's enforced budgets only."""

    budgets: list[BudgetStatusPublic]
    checked_at: datetime


class ForecastPublic(BaseModel):
    period_start: datetime
    period_end: datetime
    spent_usd: Usd
    projected_usd: Usd
    calls: int
    unpriced_calls: int


# -- alert channels and deliveries ----------------------------------------------------------------
class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["webhook", "slack"]
    url: Annotated[StrictStr, Field(min_length=8, max_length=2048)]


class ChannelPublic(BaseModel):
    id: str
    type: str
    url: str = Field(description="scheme and host only: the full URL is kept encrypted")
    created_at: datetime


class ChannelCreated(ChannelPublic):
    secret: str | None = Field(description="webhook: the whsec_ signing secret, shown only in this answer")


class ChannelsPublic(BaseModel):
    data: list[ChannelPublic]


class AttemptPublic(BaseModel):
    attempt: int
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float | None


class DeliveryPublic(BaseModel):
    id: str = Field(description="the webhook-id, the same on every attempt")
    channel_id: str
    budget_id: str | None
    type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: list[AttemptPublic]
    created_at: datetime
    next_attempt_at: datetime | None
    last_status_code: int | None


class DeliveriesPublic(BaseModel):
    data: list[DeliveryPublic]
