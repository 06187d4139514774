from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from api.deps import ReadTenantDep, StoreDep
from api.models import Message
from api.price_models import RepriceApplyIn, RepriceHistoryPublic, RepriceIn, RepricePreview, RepriceRunPublic
from api.reprice import PriceTables, preview_answer, price_tables
from api.store import Store, prices
from api.store import reprice as store
from api.store.base import utc_naive
from api.store.filters import EventFilters

router = APIRouter(prefix="/v1/reprice", tags=["reprice"])
PICO_USD = Decimal("0.000000000001")


def _filters(body: RepriceIn) -> EventFilters:
    return EventFilters(start=utc_naive(body.start), end=utc_naive(body.end), provider=body.provider,
                        model=body.model, customer_id=body.customer_id)


def _tables(db: Store, tenant_id: str, filters: EventFilters) -> PriceTables:
    keys = store.price_keys(db, tenant_id=tenant_id, filters=filters)
    return price_tables(keys, prices.list_versions(db, tenant_id=tenant_id))


@router.post("/preview", response_model=RepricePreview)
def preview_reprice(body: RepriceIn, tenant: ReadTenantDep, db: StoreDep) -> dict[str, Any]:
    """What re-pricing these events with the prices in force now would change; changes nothing."""
    filters = _filters(body)
    groups = store.preview(db, tenant_id=tenant.user_id, filters=filters, tables=_tables(db, tenant.user_id, filters))
    return preview_answer(groups)


@router.post("", response_model=RepriceRunPublic, responses={409: {"model": Message}})
def apply_reprice(body: RepriceApplyIn, tenant: ReadTenantDep, db: StoreDep) -> RepriceRunPublic:
    """Re-price these events atomically, if the preview still holds; their previous costs are kept."""
    filters = _filters(body)
    expected = body.expected_new_cost_usd.quantize(PICO_USD)
    run_id = str(uuid.uuid4())

    def still_holds(new_cost_usd: Decimal) -> bool:
        return new_cost_usd.quantize(PICO_USD) == expected

    try:
        store.apply(db, tenant_id=tenant.user_id, filters=filters, tables=_tables(db, tenant.user_id, filters),
                    run_id=run_id, check=still_holds)
    except store.StalePreview as stale:
        now = format(stale.new_cost_usd.quantize(PICO_USD), "f")
        raise HTTPException(409, f"the preview is stale: new_cost_usd is now {now}, not "
                                 f"{format(expected, 'f')} (prices or events changed since); preview again") from None
    [run] = [r for r in store.history(db, tenant_id=tenant.user_id, limit=20) if r["id"] == run_id]
    return RepriceRunPublic(**run)


@router.get("/history", response_model=RepriceHistoryPublic)
def read_reprice_history(tenant: ReadTenantDep, db: StoreDep,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> RepriceHistoryPublic:
    """Every re-pricing run, newest first."""
    return RepriceHistoryPublic(data=store.history(db, tenant_id=tenant.user_id, limit=limit))
