from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import FiltersDep, ReadTenantDep, StoreDep
from api.models import BreakdownPublic, SummaryPublic, TimeseriesPublic
from api.store import analytics

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

GroupBy = Literal["provider", "model", "customer_id"]


@router.get("/summary", response_model=SummaryPublic)
def read_summary(tenant: ReadTenantDep, db: StoreDep, filters: FiltersDep) -> SummaryPublic:
    """Totals for the period; unpriced calls and tokens are counted apart, never as $0."""
    return SummaryPublic(**analytics.summary(db, tenant_id=tenant.user_id, filters=filters))


@router.get("/timeseries", response_model=TimeseriesPublic)
def read_timeseries(
    tenant: ReadTenantDep, db: StoreDep, filters: FiltersDep,
    interval: Annotated[Literal["day", "hour"], Query()] = "day",
    group_by: Annotated[GroupBy | None, Query()] = None,
) -> TimeseriesPublic:
    """Cost and calls per hour or day, optionally split by provider, model or customer."""
    rows = analytics.timeseries(db, tenant_id=tenant.user_id, filters=filters, interval=interval, group_by=group_by)
    return TimeseriesPublic(interval=interval, group_by=group_by, data=rows)


@router.get("/breakdown", response_model=BreakdownPublic)
def read_breakdown(
    tenant: ReadTenantDep, db: StoreDep, filters: FiltersDep, by: Annotated[GroupBy, Query()] = "provider",
) -> BreakdownPublic:
    """Cost, calls, tokens, errors and latency p50/p95 per provider, model or customer."""
    return BreakdownPublic(by=by, data=analytics.breakdown(db, tenant_id=tenant.user_id, filters=filters, by=by))
