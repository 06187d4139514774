"""The read filters every analytics query shares, turned into one parameterised WHERE clause."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from api.store.base import Dialect
from api.store.labels import tag_predicates


@dataclass(frozen=True)
class EventFilters:
    start: datetime | None = None
    end: datetime | None = None
    provider: str | None = None
    model: str | None = None
    customer_id: str | None = None  # "" selects the calls with no customer
    status: str | None = None
    tags: tuple[tuple[str, str], ...] = ()  # (key, value) pairs from `tag=key:value`; all must hold

    def without_tags(self) -> EventFilters:
        return replace(self, tags=())


def previous_period(filters: EventFilters, *, now: datetime) -> EventFilters:
    """The same filters over the period of equal length just before `start` (DESIGN §13). With no end,
    the current period runs from start to now."""
    assert filters.start is not None
    end = filters.end or now
    return replace(filters, start=filters.start - (end - filters.start), end=filters.start)


def where_clause(dialect: Dialect, tenant_id: str, filters: EventFilters, alias: str = "") -> tuple[str, list[object]]:
    """Always scoped to one tenant: there is no way to build an unscoped query here."""
    p = f"{alias}." if alias else ""
    clauses, params = [f"{p}tenant_id = ?"], [tenant_id]
    if filters.start is not None:
        clauses.append(f"{p}timestamp >= ?")
        params.append(filters.start)
    if filters.end is not None:
        clauses.append(f"{p}timestamp < ?")
        params.append(filters.end)
    for column in ("provider", "model", "status"):
        value = getattr(filters, column)
        if value is not None:
            clauses.append(f"{p}{column} = ?")
            params.append(value)
    if filters.customer_id == "":  # `customer_id=` asks for the calls with no customer
        clauses.append(f"{p}customer_id IS NULL")
    elif filters.customer_id is not None:
        clauses.append(f"{p}customer_id = ?")
        params.append(filters.customer_id)
    tag_clauses, tag_params = tag_predicates(dialect, filters.tags, alias)
    return " AND ".join(clauses + tag_clauses), params + tag_params
