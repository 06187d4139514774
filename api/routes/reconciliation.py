from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request

from api.deps import ReadTenantDep, StoreDep
from api.models import Message, ReconciliationImportPublic, ReconciliationPublic
from api.reconciliation import PROVIDERS, ExportError, parse_export, reconcile
from api.store import reconciliation as store
from api.store.base import utc_naive

router = APIRouter(prefix="/v1/reconciliation", tags=["reconciliation"])

ProviderName = Literal["openai", "anthropic"]
EXPORT_BODY = {"requestBody": {"required": True, "description": (
    "The provider's export as it came: one page (`{\"data\": [buckets…], …}`) or a list of pages. OpenAI "
    "`GET /v1/organization/usage/completions?bucket_width=1d&group_by=model` or `GET /v1/organization/costs`; "
    "Anthropic `GET /v1/organizations/usage_report/messages?bucket_width=1d&group_by[]=model` or "
    "`GET /v1/organizations/cost_report`."),
    "content": {"application/json": {"schema": {"oneOf": [{"type": "object"}, {"type": "array"}]}}}}}


@router.post("/imports", response_model=ReconciliationImportPublic, openapi_extra=EXPORT_BODY,
             responses={400: {"model": Message}, 422: {"model": Message}})
async def create_import(
    request: Request, tenant: ReadTenantDep, db: StoreDep, provider: Annotated[ProviderName, Query()],
    kind: Annotated[Literal["usage", "cost"] | None, Query(description="detected from the export when left out")] = None,
) -> ReconciliationImportPublic:
    """Import a provider's usage or cost export; the days it covers replace any earlier import of them."""
    try:
        payload = json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HTTPException(400, f"body is not valid JSON: {exc}") from None
    try:
        parsed = parse_export(provider, payload, kind)
    except ExportError as exc:
        raise HTTPException(422, str(exc)) from None
    import_id = str(uuid.uuid4())
    store.replace_days(db, tenant_id=tenant.user_id, provider=provider, kind=parsed.kind, import_id=import_id,
                       days=parsed.days, rows=parsed.rows)
    return ReconciliationImportPublic(import_id=import_id, provider=provider, kind=parsed.kind, days=parsed.days,
                                      rows=len(parsed.rows))


def _first_day_from(moment: datetime) -> date:
    """The first UTC day whose start is at or after `moment`."""
    day = moment.date()
    return day if moment.time() == time(0) else day + timedelta(days=1)


@router.get("", response_model=ReconciliationPublic, responses={422: {"model": Message}})
def read_reconciliation(
    tenant: ReadTenantDep, db: StoreDep,
    start: Annotated[datetime | None, Query(description="ISO 8601; a day is in range when its start is in [start, end)")] = None,
    end: Annotated[datetime | None, Query(description="ISO 8601, exclusive")] = None,
    provider: Annotated[ProviderName | None, Query()] = None,
) -> ReconciliationPublic:
    """Per UTC day, provider and model: what the provider's export says beside what llmobserve tracked."""
    first, last = store.import_span(db, tenant_id=tenant.user_id, provider=provider)
    lo = _first_day_from(utc_naive(start)) if start else first
    hi = _first_day_from(utc_naive(end)) if end else (last + timedelta(days=1) if last else None)
    if lo is None or hi is None or hi <= lo:
        return ReconciliationPublic(data=[])
    scope = {"tenant_id": tenant.user_id, "start": lo, "end": hi, "provider": provider}
    providers = [provider] if provider else list(PROVIDERS)
    rows = reconcile(
        provider_usage=store.provider_rows(db, kind="usage", **scope),
        provider_costs=store.provider_rows(db, kind="cost", **scope),
        tracked=store.tracked_by_day(db, tenant_id=tenant.user_id, start=lo, end=hi, providers=providers),
        usage_days=store.covered_days(db, kind="usage", **scope),
        cost_days=store.covered_days(db, kind="cost", **scope))
    return ReconciliationPublic(data=rows)
