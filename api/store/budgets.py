"""Budgets, and the spend inside a budget's scope over a time range."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from api.store.base import Queries, Store, utcnow
from api.store.filters import EventFilters
from api.store.usage import usage_source

COLUMNS = ("id, tenant_id, name, amount_usd, period, timezone, customer_id, provider, model, tag_key, tag_value, "
           "thresholds_percent, enforce, channel_ids, created_at, updated_at")
SCOPE_FIELDS = ("customer_id", "provider", "model", "tag_key", "tag_value")
UPDATABLE = ("name", "amount_usd", "period", "timezone", *SCOPE_FIELDS, "thresholds_percent", "enforce", "channel_ids")


def _row(row: dict[str, Any]) -> dict[str, Any]:
    row["thresholds_percent"] = json.loads(row["thresholds_percent"])
    row["channel_ids"] = json.loads(row["channel_ids"]) if row["channel_ids"] is not None else None
    return row


def _encode(field: str, value: Any) -> Any:
    if field == "thresholds_percent":
        return json.dumps(value)
    if field == "channel_ids":
        return None if value is None else json.dumps(value)
    return value


def insert_budget(db: Store, *, budget_id: str, tenant_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    now = utcnow()
    values = [budget_id, tenant_id, *(_encode(f, fields.get(f)) for f in UPDATABLE), now, now]
    columns = ", ".join(("id", "tenant_id", *UPDATABLE, "created_at", "updated_at"))
    db.execute(f"INSERT INTO budgets ({columns}) VALUES ({', '.join('?' for _ in values)})", values)
    budget = get_budget(db, tenant_id=tenant_id, budget_id=budget_id)
    assert budget is not None
    return budget


def get_budget(db: Store, *, tenant_id: str, budget_id: str) -> dict[str, Any] | None:
    rows = db.fetchdicts(f"SELECT {COLUMNS} FROM budgets WHERE tenant_id = ? AND id = ?", [tenant_id, budget_id])
    return _row(rows[0]) if rows else None


def list_budgets(db: Store, *, tenant_id: str) -> list[dict[str, Any]]:
    return [_row(r) for r in db.fetchdicts(f"SELECT {COLUMNS} FROM budgets WHERE tenant_id = ? ORDER BY created_at, id",
                                           [tenant_id])]


def all_budgets(db: Store) -> list[dict[str, Any]]:
    """Every tenant's budgets, for the alert worker."""
    return [_row(r) for r in db.fetchdicts(f"SELECT {COLUMNS} FROM budgets ORDER BY tenant_id, id")]


def update_budget(db: Store, *, tenant_id: str, budget_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
    fields = [f for f in UPDATABLE if f in changes]
    if fields:
        assignments = ", ".join(f"{f} = ?" for f in fields)
        db.execute(f"UPDATE budgets SET {assignments}, updated_at = ? WHERE tenant_id = ? AND id = ?",
                   [*(_encode(f, changes[f]) for f in fields), utcnow(), tenant_id, budget_id])
    return get_budget(db, tenant_id=tenant_id, budget_id=budget_id)


def delete_budget(db: Store, *, tenant_id: str, budget_id: str) -> bool:
    with db.transaction() as tx:
        found = tx.fetchone("SELECT count(*) FROM budgets WHERE tenant_id = ? AND id = ?",
                            [tenant_id, budget_id])[0]  # type: ignore[index]
        tx.execute("DELETE FROM budgets WHERE tenant_id = ? AND id = ?", [tenant_id, budget_id])
        tx.execute("DELETE FROM alerts_fired WHERE tenant_id = ? AND budget_id = ?", [tenant_id, budget_id])
    return bool(found)


def spend(db: Store, *, tenant_id: str, filters: EventFilters, tag: tuple[str, str] | None) -> dict[str, Any]:
    """Cost, calls, unpriced calls and the first call in [filters.start, filters.end) within the scope.

    Without a tag the hourly rollup answers (exact, see usage.py); tags are not in the rollup, so a
    tag scope reads the calls."""
    if tag is None:
        source, params = usage_source(db, tenant_id, filters)
        sql = f"""SELECT coalesce(sum(cost_usd), 0), CAST(coalesce(sum(calls), 0) AS BIGINT),
                         CAST(coalesce(sum(calls) FILTER (WHERE pricing_status = 'unpriced'), 0) AS BIGINT),
                         min(first_at)
                  FROM ({source}) AS u"""
    else:
        clauses, params = ["tenant_id = ?"], [tenant_id]
        for column in ("provider", "model"):
            if getattr(filters, column) is not None:
                clauses.append(f"{column} = ?")
                params.append(getattr(filters, column))
        if filters.customer_id == "":  # as everywhere: "" selects the calls with no customer
            clauses.append("customer_id IS NULL")
        elif filters.customer_id is not None:
            clauses.append("customer_id = ?")
            params.append(filters.customer_id)
        for clause, bound in (("timestamp >= ?", filters.start), ("timestamp < ?", filters.end)):
            if bound is not None:
                clauses.append(clause)
                params.append(bound)
        clauses.append(f"{db.dialect.json_text('tags')} = ?")
        params += [db.dialect.json_text_param(tag[0]), tag[1]]
        sql = f"""SELECT coalesce(sum(cost_usd), 0), count(*), count(*) FILTER (WHERE pricing_status = 'unpriced'),
                         min(timestamp)
                  FROM events WHERE {' AND '.join(clauses)}"""
    cost, calls, unpriced, first_at = db.fetchone(sql, params) or (0, 0, 0, None)
    return {"cost_usd": Decimal(cost), "calls": int(calls), "unpriced_calls": int(unpriced), "first_call_at": first_at}


def first_call_at(db: Store, *, tenant_id: str, filters: EventFilters,
                  tag: tuple[str, str] | None) -> datetime | None:
    return spend(db, tenant_id=tenant_id, filters=filters, tag=tag)["first_call_at"]
