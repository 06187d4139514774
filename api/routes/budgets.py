from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path

from api import budgets as service
from api.budget_models import BudgetIn, BudgetPublic, BudgetsPublic, BudgetsStatusPublic, BudgetUpdate
from api.deps import ReadTenantDep, StoreDep, TenantDep
from api.models import Message
from api.store import Store, alerts, budgets

router = APIRouter(prefix="/v1/budgets", tags=["budgets"])


def _now() -> datetime:
    return datetime.now(UTC)


def _scope_columns(scope: dict[str, Any]) -> dict[str, Any]:
    tag = service.parse_tag(scope["tag"]) if scope.get("tag") else (None, None)
    return {"customer_id": scope.get("customer_id"), "provider": scope.get("provider"), "model": scope.get("model"),
            "tag_key": tag[0], "tag_value": tag[1]}


def _check_channels(db: Store, tenant_id: str, channel_ids: list[str] | None) -> None:
    """Every named channel must be the caller's (422 naming it: a typo must not silence alerts)."""
    known = {c["id"] for c in alerts.list_channels(db, tenant_id=tenant_id)}
    for index, channel_id in enumerate(channel_ids or []):
        if channel_id not in known:
            raise HTTPException(422, [{"loc": ["body", "channel_ids", index], "type": "value_error",
                                       "msg": f"alert channel {channel_id} not found"}])


def get_owned_budget(tenant: ReadTenantDep, db: StoreDep,
                     budget_id: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    """The budget if it is the caller's; otherwise 404 naming the id."""
    budget = budgets.get_budget(db, tenant_id=tenant.user_id, budget_id=budget_id)
    if budget is None:
        raise HTTPException(404, f"budget {budget_id} not found")
    return budget


OwnedBudget = Annotated[dict[str, Any], Depends(get_owned_budget)]


@router.post("", response_model=BudgetPublic, status_code=201)
def create_budget(body: BudgetIn, tenant: ReadTenantDep, db: StoreDep) -> dict[str, Any]:
    """Create a budget; it resets by itself at each period start in its timezone."""
    _check_channels(db, tenant.user_id, body.channel_ids)
    fields = {**body.model_dump(exclude={"scope"}), **_scope_columns(body.scope.model_dump())}
    budget = budgets.insert_budget(db, budget_id="bud_" + secrets.token_hex(8), tenant_id=tenant.user_id,
                                   fields=fields)
    return service.standing(db, budget, now=_now())


@router.get("", response_model=BudgetsPublic)
def list_budgets(tenant: ReadTenantDep, db: StoreDep) -> BudgetsPublic:
    """Every budget with its spend, projection and status in the current period."""
    now = _now()
    return BudgetsPublic(data=[service.standing(db, b, now=now)
                               for b in budgets.list_budgets(db, tenant_id=tenant.user_id)])


@router.get("/status", response_model=BudgetsStatusPublic)
def read_budget_status(tenant: TenantDep, db: StoreDep) -> BudgetsStatusPublic:
    """The enforced budgets and whether each is exceeded, for the SDK (any key of the tenant may read it)."""
    now = _now()
    rows = []
    for budget in budgets.list_budgets(db, tenant_id=tenant.user_id):
        if budget["enforce"]:
            standing = service.standing(db, budget, now=now)
            rows.append({**standing, "exceeded": standing["status"] == "exceeded"})
    return BudgetsStatusPublic(budgets=rows, checked_at=now)


@router.get("/{budget_id}", response_model=BudgetPublic, responses={404: {"model": Message}})
def read_budget(budget: OwnedBudget, db: StoreDep) -> dict[str, Any]:
    """One budget with its spend, projection and status in the current period."""
    return service.standing(db, budget, now=_now())


@router.patch("/{budget_id}", response_model=BudgetPublic, responses={404: {"model": Message}})
def update_budget(body: BudgetUpdate, budget: OwnedBudget, tenant: ReadTenantDep, db: StoreDep) -> dict[str, Any]:
    """Change the fields given; a new scope replaces the old one whole."""
    changes = body.model_dump(exclude_unset=True, exclude={"scope"})
    for field in ("name", "amount_usd", "period", "timezone", "thresholds_percent", "enforce"):
        if field in changes and changes[field] is None:
            raise HTTPException(422, [{"loc": ["body", field], "type": "value_error", "msg": f"{field} cannot be null"}])
    if "channel_ids" in changes:
        _check_channels(db, tenant.user_id, changes["channel_ids"])
    if body.scope is not None:
        changes.update(_scope_columns(body.scope.model_dump()))
    updated = budgets.update_budget(db, tenant_id=tenant.user_id, budget_id=budget["id"], changes=changes)
    if updated is None:
        raise HTTPException(404, f"budget {budget['id']} not found")
    return service.standing(db, updated, now=_now())


@router.delete("/{budget_id}", response_model=Message, responses={404: {"model": Message}})
def delete_budget(budget: OwnedBudget, tenant: ReadTenantDep, db: StoreDep) -> Message:
    """Delete a budget; alerts already queued for it are still delivered."""
    budgets.delete_budget(db, tenant_id=tenant.user_id, budget_id=budget["id"])
    return Message(detail=f"budget {budget['id']} deleted")
