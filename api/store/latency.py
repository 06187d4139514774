"""Latency percentiles (p50, p95) per group for the breakdown. They need the calls themselves, not totals.

Above EXACT_QUANTILES_UP_TO calls in the period they come from a 10% block sample: a sort of every
latency costs ~0.3 s at 10M calls, and a million samples estimate p50/p95 well within 1%. By tag or run
name, the labelled calls are read from `event_labels` (see labels.py); the calls *without* the label,
and any breakdown under a tag filter, must read each call's tags as JSON (~0.5 µs a call), so there the
sample is sized to about JSON_SAMPLE_CALLS calls.
"""

from __future__ import annotations

from typing import Any

from api.store.base import Store
from api.store.filters import EventFilters, where_clause
from api.store.labels import raw_expression

EXACT_QUANTILES_UP_TO = 1_000_000
JSON_SAMPLE_CALLS = 100_000


def _sample(db: Store, calls: int, budget: int) -> str:
    if calls <= budget:
        return ""
    return db.dialect.sample(max(100 * budget / calls, 0.01))


def quantiles(db: Store, *, tenant_id: str, filters: EventFilters, column: str, label: str | None,
              calls: int) -> dict[Any, tuple[float, float]]:
    """{group key: (p50, p95)} for a breakdown grouped by `column` (or by `label`)."""
    d = db.dialect
    q = d.quantiles("latency_ms", (0.5, 0.95))  # one call with a list sorts once instead of twice
    where, params = where_clause(d, tenant_id, filters)
    if label is None:
        if filters.tags:  # the tag filter reads each call's JSON: a smaller sample
            sample = _sample(db, calls, JSON_SAMPLE_CALLS)
        else:
            sample = d.sample(10) if calls > EXACT_QUANTILES_UP_TO else ""
        return _pairs(db.fetchall(f"SELECT {column}, {q} FROM events {sample} WHERE {where} GROUP BY 1", params))
    expression = raw_expression(d, label)
    json_sample = _sample(db, calls, JSON_SAMPLE_CALLS)
    if filters.tags:  # event_labels cannot tell which calls carry the other tags: read them all as JSON
        return _pairs(db.fetchall(
            f"SELECT {expression}, {q} FROM events {json_sample} WHERE {where} AND {expression} IS NOT NULL"
            " GROUP BY 1", params))
    labelled_sample = d.sample(10) if calls > EXACT_QUANTILES_UP_TO else ""
    # The labelled calls: event_labels (rolled up) plus the last moment's calls not rolled up yet.
    found = _pairs(db.fetchall(
        f"""SELECT value, {q} FROM (
                SELECT value, latency_ms FROM event_labels {labelled_sample} WHERE {where} AND label = ?
                UNION ALL
                SELECT {expression} AS value, latency_ms FROM events WHERE {where} AND {db.unrolled_condition()}
                  AND {expression} IS NOT NULL
            ) AS labelled GROUP BY 1""", [*params, label, *params]))
    unlabelled = db.fetchone(
        f"SELECT {q} FROM events {json_sample} WHERE {where} AND {expression} IS NULL", params)
    if unlabelled and unlabelled[0] is not None:
        found[None] = tuple(unlabelled[0])  # type: ignore[assignment]
    return found


def _pairs(rows: list[tuple[Any, ...]]) -> dict[Any, tuple[float, float]]:
    return {key: tuple(values) for key, values in rows if values is not None}  # type: ignore[misc]
