"""Request and answer models of re-pricing, what-if and the price catalog (DESIGN §10)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from api.models import Usd


# -- re-pricing and what-if -----------------------------------------------------------------------
class RepriceIn(BaseModel):
    """Which stored events to re-price with what is in force now (custom versions, current snapshot)."""

    model_config = ConfigDict(extra="forbid")

    start: datetime = Field(description="ISO 8601, inclusive")
    end: datetime = Field(description="ISO 8601, exclusive")
    provider: Annotated[StrictStr, Field(max_length=64)] | None = None
    model: Annotated[StrictStr, Field(max_length=256)] | None = None
    customer_id: Annotated[StrictStr, Field(max_length=256)] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> RepriceIn:
        start = self.start if self.start.tzinfo else self.start.replace(tzinfo=UTC)
        end = self.end if self.end.tzinfo else self.end.replace(tzinfo=UTC)
        if end <= start:
            raise ValueError("end must be after start")
        return self


class RepriceApplyIn(RepriceIn):
    expected_new_cost_usd: Decimal = Field(ge=0, le=Decimal("1e15"), max_digits=30, decimal_places=12,
                                           description="new_cost_usd from the preview; 409 if it no longer matches")


class RepriceModelRow(BaseModel):
    provider: str
    model: str
    current_cost_usd: Usd
    new_cost_usd: Usd
    events: int


class RepriceDayRow(BaseModel):
    day: date
    current_cost_usd: Usd
    new_cost_usd: Usd


class RepricePreview(BaseModel):
    events: int
    changed_events: int
    newly_priced_events: int = Field(description="unpriced events that would get a price")
    current_cost_usd: Usd
    new_cost_usd: Usd
    difference_usd: Usd = Field(description="new − current")
    by_model: list[RepriceModelRow]
    by_day: list[RepriceDayRow]


class RepriceRunPublic(BaseModel):
    id: str
    created_at: datetime
    start: datetime
    end: datetime
    filters: dict[str, str | None]
    current_cost_usd: Usd
    new_cost_usd: Usd
    changed_events: int


class RepriceHistoryPublic(BaseModel):
    data: list[RepriceRunPublic]


class WhatIfPublic(BaseModel):
    calls: int
    current_cost_usd: Usd
    target_cost_usd: Usd = Field(description="the same tokens at the target model's list price at each call's time")
    difference_usd: Usd = Field(description="target − current")
    unpriceable_calls: int = Field(description="calls the target model had no list price for at their time")


class CatalogEntry(BaseModel):
    provider: str
    model: str
    name: str | None
    input_per_mtok: Decimal | None
    cached_input_per_mtok: Decimal | None
    cache_write_per_mtok: Decimal | None
    output_per_mtok: Decimal | None
    tiered: bool = Field(description="a higher rate applies above some input size; the prices shown are the base")


class CatalogPublic(BaseModel):
    snapshot_version: str
    data: list[CatalogEntry]
