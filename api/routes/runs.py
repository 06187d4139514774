from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from api.deps import FiltersDep, ReadTenantDep, StoreDep
from api.models import Message, RunDetailPublic, RunsPublic
from api.store import analytics

router = APIRouter(prefix="/v1/runs", tags=["runs"])


@router.get("", response_model=RunsPublic)
def read_runs(
    tenant: ReadTenantDep, db: StoreDep, filters: FiltersDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> RunsPublic:
    """Most recent runs first; a call made outside any run is a run of its own."""
    return RunsPublic(data=analytics.runs(db, tenant_id=tenant.user_id, filters=filters, limit=limit))


@router.get("/{run_id}", response_model=RunDetailPublic, responses={404: {"model": Message}})
def read_run(tenant: ReadTenantDep, db: StoreDep, run_id: Annotated[str, Path(max_length=256)]) -> RunDetailPublic:
    """One run and its calls."""
    run, events = analytics.run_detail(db, tenant_id=tenant.user_id, run_id=run_id)
    if run is None:
        raise HTTPException(404, f"run {run_id} not found")
    for event in events:
        event["tags"] = json.loads(event["tags"]) if event["tags"] else None
    return RunDetailPublic(run=run, events=events)
