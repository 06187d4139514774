"""Provider exports held for reconciliation, and the tracked totals they are compared with.

Portable SQL (no DuckDB-only syntax), so a PostgreSQL backend runs the same statements."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from api.reconciliation import DayModel, Tracked
from api.store.base import Queries, Store, utcnow
from api.store.filters import EventFilters
from api.store.usage import usage_source

DAY = timedelta(days=1)


def replace_days(db: Store, *, tenant_id: str, provider: str, kind: str, import_id: str, days: list[date],
                 rows: list[DayModel]) -> None:
    """Store one import: every day it covers replaces what an earlier import said for that day, in one
    transaction (a failure leaves the earlier import whole)."""
    now = utcnow()
    with db.transaction() as tx:
        for day in days:
            params = [tenant_id, provider, kind, day]
            tx.execute("DELETE FROM reconciliation_rows WHERE tenant_id = ? AND provider = ? AND kind = ? AND day = ?",
                       params)
            tx.execute("DELETE FROM reconciliation_days WHERE tenant_id = ? AND provider = ? AND kind = ? AND day = ?",
                       params)
            tx.execute("INSERT INTO reconciliation_days VALUES (?, ?, ?, ?, ?, ?)", [*params, import_id, now])
        if rows:
            tx.executemany(
                "INSERT INTO reconciliation_rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[tenant_id, provider, kind, r.day, r.model, r.input_tokens, r.cached_input_tokens, r.output_tokens,
                  r.requests, r.cost_usd] for r in rows])


def _day_clause(start: date | None, end: date | None, provider: str | None) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if start is not None:
        clauses.append("day >= ?")
        params.append(start)
    if end is not None:
        clauses.append("day < ?")
        params.append(end)
    if provider is not None:
        clauses.append("provider = ?")
        params.append(provider)
    return "".join(f" AND {c}" for c in clauses), params


def covered_days(db: Queries, *, tenant_id: str, kind: str, start: date | None, end: date | None,
                 provider: str | None) -> set[tuple[date, str]]:
    """(day, provider) pairs an import of this kind covers, days in [start, end)."""
    extra, params = _day_clause(start, end, provider)
    return {(day, p) for day, p in db.fetchall(
        f"SELECT day, provider FROM reconciliation_days WHERE tenant_id = ? AND kind = ?{extra}",
        [tenant_id, kind, *params])}


def provider_rows(db: Queries, *, tenant_id: str, kind: str, start: date | None, end: date | None,
                  provider: str | None) -> list[tuple[str, DayModel]]:
    extra, params = _day_clause(start, end, provider)
    rows = db.fetchall(
        "SELECT provider, day, model, input_tokens, cached_input_tokens, output_tokens, requests, cost_usd "
        f"FROM reconciliation_rows WHERE tenant_id = ? AND kind = ?{extra}", [tenant_id, kind, *params])
    return [(p, DayModel(day, model, inp, cached, out, requests, Decimal(cost)))
            for p, day, model, inp, cached, out, requests, cost in rows]


def tracked_by_day(db: Store, *, tenant_id: str, start: date, end: date, providers: list[str]
                   ) -> dict[tuple[date, str, str], Tracked]:
    """What llmobserve stored per (UTC day, provider, model) over whole days [start, end), read from the
    same exact source as the other analytics (hourly roll-up plus the calls not rolled up yet)."""
    low, high = datetime(start.year, start.month, start.day), datetime(end.year, end.month, end.day)
    source, params = usage_source(db, tenant_id, EventFilters(start=low, end=high))
    marks = ", ".join("?" for _ in providers)
    rows = db.fetchall(
        f"""
        SELECT CAST(date_trunc('day', ts) AS DATE) AS day, provider, model, sum(input_tokens),
               sum(cached_input_tokens), sum(output_tokens), sum(calls), coalesce(sum(cost_usd), 0)
        FROM ({source}) AS usage WHERE provider IN ({marks})
        GROUP BY 1, 2, 3
        """, [*params, *providers])
    return {(day, p, model): Tracked(int(inp), int(cached), int(out), int(calls), Decimal(cost))
            for day, p, model, inp, cached, out, calls, cost in rows}


def import_span(db: Queries, *, tenant_id: str, provider: str | None) -> tuple[date | None, date | None]:
    """The first and last imported day, for a reconciliation read with no range."""
    extra, params = _day_clause(None, None, provider)
    row = db.fetchone(f"SELECT min(day), max(day) FROM reconciliation_days WHERE tenant_id = ?{extra}",
                      [tenant_id, *params])
    return (row[0], row[1]) if row else (None, None)
