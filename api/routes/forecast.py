from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query

from api import budgets as service
from api.budget_models import ForecastPublic
from api.budget_periods import zone
from api.deps import ReadTenantDep, StoreDep

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])


@router.get("/forecast", response_model=ForecastPublic)
def read_forecast(
    tenant: ReadTenantDep, db: StoreDep,
    period: Annotated[Literal["day", "week", "month"], Query()] = "month",
    timezone: Annotated[str, Query(max_length=64, description="IANA name")] = "UTC",
    provider: Annotated[str | None, Query(max_length=64)] = None,
    model: Annotated[str | None, Query(max_length=256)] = None,
    customer_id: Annotated[str | None, Query(max_length=256)] = None,
    tag: Annotated[str | None, Query(max_length=513, description="key:value")] = None,
) -> dict:
    """Spent so far in the current calendar period and its projection (the method budgets use)."""
    try:
        zone(timezone)
    except ValueError as exc:
        raise HTTPException(422, [{"loc": ["query", "timezone"], "type": "value_error", "msg": str(exc)}]) from exc
    try:
        parsed_tag = service.parse_tag(tag) if tag is not None else None
    except ValueError as exc:
        raise HTTPException(422, [{"loc": ["query", "tag"], "type": "value_error", "msg": str(exc)}]) from exc
    scope = service.Scope(customer_id=customer_id, provider=provider, model=model, tag=parsed_tag)
    return service.forecast(db, tenant_id=tenant.user_id, scope=scope, period=period, timezone=timezone,
                            now=datetime.now(UTC))
