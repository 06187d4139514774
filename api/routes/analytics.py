from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query

from api.deps import FiltersDep, ReadTenantDep, StoreDep
from api.models import BreakdownPublic, Message, PreviousPeriod, SummaryPublic, TagKeyPublic, TimeseriesPublic
from api.store import analytics
from api.store.base import utcnow
from api.store.filters import previous_period

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

# provider, model, customer_id, run_name, or tag:<key> (calls without that tag are grouped under null)
DIMENSION = r"^(provider|model|customer_id|run_name|tag:.+)$"
Dimension = Annotated[str, Query(pattern=DIMENSION, max_length=260,
                                 description="provider, model, customer_id, run_name or tag:<key>")]


@router.get("/summary", response_model=SummaryPublic, responses={422: {"model": Message}})
def read_summary(
    tenant: ReadTenantDep, db: StoreDep, filters: FiltersDep,
    compare: Annotated[Literal["previous"] | None, Query(description=(
        "previous: add the same figures for the period of equal length just before start "
        "(with no end, the current period runs from start to now)"))] = None,
) -> SummaryPublic:
    """Totals for the period; unpriced calls and tokens are counted apart, never as $0."""
    current = analytics.summary(db, tenant_id=tenant.user_id, filters=filters)
    if compare is None:
        return SummaryPublic(**current)
    if filters.start is None:
        raise HTTPException(422, "compare=previous needs start: the previous period is the one of equal length before it")
    before = previous_period(filters, now=utcnow())
    previous = analytics.summary(db, tenant_id=tenant.user_id, filters=before)
    return SummaryPublic(**current, previous=PreviousPeriod(**previous, start=before.start, end=before.end))


@router.get("/timeseries", response_model=TimeseriesPublic)
def read_timeseries(
    tenant: ReadTenantDep, db: StoreDep, filters: FiltersDep,
    interval: Annotated[Literal["day", "hour"], Query()] = "day",
    group_by: Dimension | None = None,
) -> TimeseriesPublic:
    """Cost and calls per hour or day, optionally split by provider, model, customer, run name or a tag."""
    rows = analytics.timeseries(db, tenant_id=tenant.user_id, filters=filters, interval=interval, group_by=group_by)
    return TimeseriesPublic(interval=interval, group_by=group_by, data=rows)


@router.get("/breakdown", response_model=BreakdownPublic)
def read_breakdown(
    tenant: ReadTenantDep, db: StoreDep, filters: FiltersDep, by: Dimension = "provider",
) -> BreakdownPublic:
    """Cost, calls, tokens, errors, cache savings and latency p50/p95 per provider, model, customer, run name or tag."""
    return BreakdownPublic(by=by, data=analytics.breakdown(db, tenant_id=tenant.user_id, filters=filters, by=by))


@router.get("/tags", response_model=list[TagKeyPublic])
def read_tags(tenant: ReadTenantDep, db: StoreDep, filters: FiltersDep) -> list[dict]:
    """Every tag key in the period, with how many distinct values it has and how many calls carry it."""
    return analytics.tag_keys(db, tenant_id=tenant.user_id, filters=filters)
