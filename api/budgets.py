"""A budget's standing right now: its period, what is spent and projected in its scope, its status.

Combines the pure cores (periods, forecast, alert rules) with the store's spend query; no FastAPI.
Every function takes `now`, so tests move the clock instead of sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from api.alert_rules import BudgetState, percent, status
from api.budget_periods import period_bounds, zone
from api.forecast import project, window_start
from api.store import Store
from api.store import budgets as store
from api.store.base import utc_naive
from api.store.filters import EventFilters


@dataclass(frozen=True)
class Scope:
    customer_id: str | None = None
    provider: str | None = None
    model: str | None = None
    tag: tuple[str, str] | None = None

    @classmethod
    def of(cls, budget: dict[str, Any]) -> Scope:
        tag = (budget["tag_key"], budget["tag_value"]) if budget.get("tag_key") is not None else None
        return cls(budget.get("customer_id"), budget.get("provider"), budget.get("model"), tag)

    def filters(self, start: datetime | None, end: datetime | None) -> EventFilters:
        return EventFilters(start=utc_naive(start) if start else None, end=utc_naive(end) if end else None,
                            provider=self.provider, model=self.model, customer_id=self.customer_id)

    def public(self) -> dict[str, str | None]:
        return {"customer_id": self.customer_id, "provider": self.provider, "model": self.model,
                "tag": f"{self.tag[0]}:{self.tag[1]}" if self.tag else None}


def parse_tag(value: str) -> tuple[str, str]:
    """'key:value' → (key, value); the value may itself hold ':'."""
    key, sep, tag_value = value.partition(":")
    if not sep or not key or not tag_value:
        raise ValueError("tag must be 'key:value' (both non-empty)")
    return key, tag_value


def forecast(db: Store, *, tenant_id: str, scope: Scope, period: str, timezone: str,
             now: datetime) -> dict[str, Any]:
    """Spent and projected in the current period (the method is in api/forecast.py)."""
    start, end = period_bounds(period, zone(timezone), now)
    # one snapshot for the three reads: a call committed between them would count in the window but
    # not in the period, and project an overrun that never was
    with db.transaction():
        spent = store.spend(db, tenant_id=tenant_id, filters=scope.filters(start, end), tag=scope.tag)
        first = store.first_call_at(db, tenant_id=tenant_id, filters=scope.filters(None, now), tag=scope.tag)
        first_aware = first.replace(tzinfo=UTC) if first is not None else None
        window_from = window_start(period=period, now=now, first_call_at=first_aware)
        window = store.spend(db, tenant_id=tenant_id, filters=scope.filters(window_from, now), tag=scope.tag)
    result = project(spent=spent["cost_usd"], window_cost=window["cost_usd"], window_from=window_from, now=now,
                     period_end=end)
    return {"period_start": start, "period_end": end, "spent_usd": result.spent_usd,
            "projected_usd": result.projected_usd, "calls": spent["calls"], "unpriced_calls": spent["unpriced_calls"]}


def standing(db: Store, budget: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """The budget as every read shows it: its fields plus spent, remaining, percent, projected, status."""
    scope = Scope.of(budget)
    fc = forecast(db, tenant_id=budget["tenant_id"], scope=scope, period=budget["period"],
                  timezone=budget["timezone"], now=now)
    amount = Decimal(budget["amount_usd"])
    state = BudgetState(amount_usd=amount, spent_usd=fc["spent_usd"], projected_usd=fc["projected_usd"],
                        thresholds_percent=tuple(float(t) for t in budget["thresholds_percent"]))
    return {
        **{k: budget[k] for k in ("id", "name", "period", "timezone", "thresholds_percent", "enforce",
                                  "channel_ids", "created_at", "updated_at")},
        "amount_usd": amount, "scope": scope.public(), **fc,
        "remaining_usd": amount - fc["spent_usd"], "percent": round(percent(fc["spent_usd"], amount), 4),
        "status": status(state), "state": state,
    }
