from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import FiltersDep, ReadTenantDep, StoreDep
from api.price_models import WhatIfPublic
from api.reprice import list_price_table
from api.store import reprice as store

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])


@router.get("/whatif", response_model=WhatIfPublic)
def read_whatif(
    tenant: ReadTenantDep, db: StoreDep, filters: FiltersDep,
    target_provider: Annotated[str, Query(min_length=1, max_length=64)],
    target_model: Annotated[str, Query(min_length=1, max_length=256)],
) -> WhatIfPublic:
    """These calls' tokens at another model's list price, at each call's own time (standard tier)."""
    slots = store.slots(db, tenant_id=tenant.user_id, filters=filters)
    table = list_price_table([(target_provider, target_model, slot, None) for slot in slots])
    answer = store.whatif(db, tenant_id=tenant.user_id, filters=filters, list_prices=table)
    return WhatIfPublic(**answer, difference_usd=answer["target_cost_usd"] - answer["current_cost_usd"])
