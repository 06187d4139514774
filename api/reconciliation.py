"""Reconciliation with the provider's own records (DESIGN §10): the pure core.

Two jobs, no FastAPI and no database here:

- `parse_export` reads one provider export (OpenAI's usage/completions or costs, Anthropic's
  usage_report/messages or cost_report; one page or a list of pages) into per-(day, model) figures, or
  raises `ExportError` naming the page, bucket, result and field that is wrong;
- `reconcile` holds those figures against what llmobserve tracked and gives each (day, provider, model)
  its status.

Buckets, as each provider counts them (see tests/fixtures/provider-exports/README.md):
OpenAI's `input_tokens` include `input_cached_tokens`; Anthropic's input is `uncached_input_tokens` +
`cache_read_input_tokens` + every `cache_creation` count. Either way that is an event's `input_tokens`
(total, cached and cache writes included), and the cached figure is cache reads only, as an event's
`cached_input_tokens`. Model names are compared exactly: exports name the dated model the API answered
with, which is what the SDK records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

Provider = Literal["openai", "anthropic"]
Kind = Literal["usage", "cost"]
PROVIDERS: tuple[str, ...] = ("openai", "anthropic")
TOLERANCE_PCT = Decimal("0.5")
DAY = timedelta(days=1)
CENTS = Decimal(100)


class ExportError(ValueError):
    """The export cannot be used; the message says where (page, bucket, result, field) and why."""


@dataclass
class DayModel:
    """What the provider says for one day and model: tokens from a usage export, dollars from a cost one."""

    day: date
    model: str
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    requests: int | None = None  # Anthropic's usage report has no request count
    cost_usd: Decimal = Decimal(0)


@dataclass
class ParsedExport:
    kind: Kind
    days: list[date]  # every bucket's day, empty buckets included: the provider billed nothing there
    rows: list[DayModel] = field(default_factory=list)


# -- parsing -------------------------------------------------------------------------------------------
def _where(page: int, bucket: int | None = None, result: int | None = None, name: str | None = None) -> str:
    parts = [f"page {page}"]
    if bucket is not None:
        parts.append(f"bucket {bucket} (data[{bucket}])")
    if result is not None:
        parts.append(f"result {result}")
    if name is not None:
        parts.append(f"field {name}")
    return ", ".join(parts)


def _count(item: dict[str, Any], name: str, where: str, *, required: bool = True) -> int:
    value = item.get(name)
    if value is None and not required:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ExportError(f"{where}, field {name}: must be a whole number ≥ 0, got {value!r}")
    return value


def _day_of(start: datetime, end: datetime, where: str) -> date:
    if (start.hour, start.minute, start.second, start.microsecond) != (0, 0, 0, 0) or end - start != DAY:
        raise ExportError(f"{where}: buckets must be whole UTC days (export with bucket_width=1d), "
                          f"got {start.isoformat()} to {end.isoformat()}")
    return start.date()


def _openai_day(bucket: dict[str, Any], where: str) -> date:
    bounds = []
    for name in ("start_time", "end_time"):
        value = bucket.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ExportError(f"{where}, field {name}: must be Unix seconds, got {value!r}")
        bounds.append(datetime.fromtimestamp(value, UTC))
    return _day_of(bounds[0], bounds[1], where)


def _anthropic_day(bucket: dict[str, Any], where: str) -> date:
    bounds = []
    for name in ("starting_at", "ending_at"):
        value = bucket.get(name)
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ExportError(f"{where}, field {name}: must be an RFC 3339 time, got {value!r}") from None
        if moment.tzinfo is None:
            raise ExportError(f"{where}, field {name}: needs a UTC offset, got {value!r}")
        bounds.append(moment.astimezone(UTC))
    return _day_of(bounds[0], bounds[1], where)


def _kind_of(result: dict[str, Any]) -> Kind | None:
    if "amount" in result:
        return "cost"
    if any(name in result for name in ("input_tokens", "uncached_input_tokens", "output_tokens")):
        return "usage"
    return None


def _model(result: dict[str, Any], where: str) -> str:
    model = result.get("model")
    if not isinstance(model, str) or not model:
        raise ExportError(f"{where}, field model: missing; export the usage grouped by model "
                          "(OpenAI group_by=model, Anthropic group_by[]=model)")
    return model


def _openai_usage(result: dict[str, Any], where: str) -> tuple[int, int, int, int | None]:
    inp = _count(result, "input_tokens", where)
    cached = _count(result, "input_cached_tokens", where, required=False)
    if cached > inp:
        raise ExportError(f"{where}, field input_cached_tokens: {cached} exceeds input_tokens {inp} "
                          "(OpenAI's input includes cached)")
    return inp, cached, _count(result, "output_tokens", where), _count(result, "num_model_requests", where,
                                                                       required=False)


def _anthropic_usage(result: dict[str, Any], where: str) -> tuple[int, int, int, int | None]:
    uncached = _count(result, "uncached_input_tokens", where)
    read = _count(result, "cache_read_input_tokens", where, required=False)
    creation = result.get("cache_creation") or {}
    if not isinstance(creation, dict):
        raise ExportError(f"{where}, field cache_creation: must be an object, got {creation!r}")
    writes = sum(_count(creation, name, f"{where}, field cache_creation", required=False) for name in creation)
    return uncached + read + writes, read, _count(result, "output_tokens", where), None


def _openai_cost(result: dict[str, Any], where: str) -> tuple[str, Decimal]:
    amount = result.get("amount")
    if not isinstance(amount, dict) or "value" not in amount:
        raise ExportError(f"{where}, field amount: must be {{\"value\": …, \"currency\": \"usd\"}}, got {amount!r}")
    if str(amount.get("currency", "usd")).lower() != "usd":
        raise ExportError(f"{where}, field amount.currency: only usd is supported, got {amount.get('currency')!r}")
    value = _decimal(amount["value"], f"{where}, field amount.value")
    line_item = result.get("line_item")
    if not isinstance(line_item, str) or not line_item:
        raise ExportError(f"{where}, field line_item: missing; export the costs with group_by=line_item")
    # "gpt-4o-mini-2024-07-18, input": the model is what comes before the bucket name
    return line_item.rsplit(", ", 1)[0], value


def _anthropic_cost(result: dict[str, Any], where: str) -> tuple[str, Decimal]:
    if str(result.get("currency", "USD")).upper() != "USD":
        raise ExportError(f"{where}, field currency: only USD is supported, got {result.get('currency')!r}")
    cents = _decimal(result.get("amount"), f"{where}, field amount")
    model = result.get("model") or result.get("description")
    if not isinstance(model, str) or not model:
        raise ExportError(f"{where}, field model: missing (and no description to name the line)")
    return model, cents / CENTS  # Anthropic's amounts are cents


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ExportError(f"{where}: must be a number, got {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ExportError(f"{where}: must be a number, got {value!r}") from None
    if not number.is_finite():
        raise ExportError(f"{where}: must be a finite number, got {value!r}")
    return number


USAGE = {"openai": _openai_usage, "anthropic": _anthropic_usage}
COST = {"openai": _openai_cost, "anthropic": _anthropic_cost}
DAY_OF = {"openai": _openai_day, "anthropic": _anthropic_day}


def _pages(payload: Any) -> list[dict[str, Any]]:
    pages = payload if isinstance(payload, list) else [payload]
    if not pages:
        raise ExportError("the export is an empty list: send one page or a list of pages")
    for index, page in enumerate(pages):
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            raise ExportError(f"{_where(index)}: must be an object with a \"data\" list of buckets "
                              "(the provider's answer as it came)")
    return pages


def _detect_kind(pages: list[dict[str, Any]], kind: Kind | None) -> Kind:
    for p, page in enumerate(pages):
        for b, bucket in enumerate(page["data"]):
            results = bucket.get("results") if isinstance(bucket, dict) else None
            for r, result in enumerate(results if isinstance(results, list) else []):
                found = _kind_of(result) if isinstance(result, dict) else None
                if found is None:
                    raise ExportError(f"{_where(p, b, r)}: neither a usage result (tokens) nor a cost result (amount)")
                if kind is not None and found != kind:
                    raise ExportError(f"{_where(p, b, r)}: a {found} result in a {kind} export; "
                                      "import usage and cost exports separately")
                kind = found
    if kind is None:
        raise ExportError("the export has no results to tell usage from cost: pass kind=usage or kind=cost")
    return kind


def parse_export(provider: str, payload: Any, kind: Kind | None = None) -> ParsedExport:
    """Per-(day, model) figures of one export; rows of the same day and model (other grouping fields,
    other pages) are summed."""
    if provider not in PROVIDERS:
        raise ExportError(f"provider must be one of {', '.join(PROVIDERS)}, got {provider!r}")
    pages = _pages(payload)
    kind = _detect_kind(pages, kind)
    days: set[date] = set()
    rows: dict[tuple[date, str], DayModel] = {}
    for p, page in enumerate(pages):
        for b, bucket in enumerate(page["data"]):
            where = _where(p, b)
            if not isinstance(bucket, dict) or not isinstance(bucket.get("results"), list):
                raise ExportError(f"{where}: must be an object with a \"results\" list")
            day = DAY_OF[provider](bucket, where)
            days.add(day)
            for r, result in enumerate(bucket["results"]):
                _add(rows, day, provider, kind, result, _where(p, b, r))
    return ParsedExport(kind=kind, days=sorted(days), rows=sorted(rows.values(), key=lambda x: (x.day, x.model)))


def _add(rows: dict[tuple[date, str], DayModel], day: date, provider: str, kind: Kind, result: dict[str, Any],
         where: str) -> None:
    if kind == "usage":
        model = _model(result, where)
        inp, cached, out, requests = USAGE[provider](result, where)
        row = rows.setdefault((day, model), DayModel(day, model))
        row.input_tokens += inp
        row.cached_input_tokens += cached
        row.output_tokens += out
        if requests is not None:
            row.requests = (row.requests or 0) + requests
    else:
        model, usd = COST[provider](result, where)
        row = rows.setdefault((day, model), DayModel(day, model))
        row.cost_usd += usd


# -- comparing -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tracked:
    """What llmobserve stored for one day, provider and model."""

    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    calls: int
    cost_usd: Decimal


def diff_pct(tracked: int | Decimal, provider: int | Decimal) -> Decimal | None:
    """(tracked − provider) / provider × 100; 0 when both are 0; None when only the provider's is 0."""
    if provider == 0:
        return Decimal(0) if tracked == 0 else None
    return ((Decimal(tracked) - Decimal(provider)) / Decimal(provider) * 100).quantize(Decimal("0.0001"))


def _within(pct: Decimal | None) -> bool:
    return pct is not None and abs(pct) <= TOLERANCE_PCT


def reconcile_row(*, day: date, provider: str, model: str, usage: DayModel | None, cost: DayModel | None,
                  tracked: Tracked | None, usage_covered: bool, cost_covered: bool) -> dict[str, Any]:
    """One row of GET /v1/reconciliation. Tokens are compared when a usage export covers the day, else
    dollars (when only a cost report does). Status: `untracked` the provider billed it and we saw no
    call; `not_in_export` we saw calls the export does not have; else `match` when every compared figure
    is within 0.5%, `mismatch` otherwise."""
    t = tracked or Tracked(0, 0, 0, 0, Decimal(0))
    u = usage if usage is not None else (DayModel(day, model) if usage_covered else None)
    row: dict[str, Any] = {
        "day": day, "provider": provider, "model": model,
        "provider_input_tokens": u.input_tokens if u else None,
        "provider_cached_input_tokens": u.cached_input_tokens if u else None,
        "provider_output_tokens": u.output_tokens if u else None,
        "provider_requests": u.requests if u else None,
        "tracked_input_tokens": t.input_tokens, "tracked_cached_input_tokens": t.cached_input_tokens,
        "tracked_output_tokens": t.output_tokens, "tracked_calls": t.calls,
        "input_diff_pct": diff_pct(t.input_tokens, u.input_tokens) if u else None,
        "output_diff_pct": diff_pct(t.output_tokens, u.output_tokens) if u else None,
        "provider_cost_usd": (cost.cost_usd if cost else Decimal(0)) if cost_covered else None,
        "tracked_cost_usd": t.cost_usd if cost_covered else None,
    }
    in_export = usage is not None or cost is not None
    if in_export and t.calls == 0:
        row["status"] = "untracked"
    elif not in_export:
        row["status"] = "not_in_export"
    elif usage_covered:
        figures = [row["input_diff_pct"], row["output_diff_pct"],
                   diff_pct(t.cached_input_tokens, u.cached_input_tokens)]  # type: ignore[union-attr]
        row["status"] = "match" if all(_within(p) for p in figures) else "mismatch"
    else:
        row["status"] = "match" if _within(diff_pct(t.cost_usd, cost.cost_usd)) else "mismatch"  # type: ignore[union-attr]
    return row


def reconcile(*, provider_usage: list[tuple[str, DayModel]], provider_costs: list[tuple[str, DayModel]],
              tracked: dict[tuple[date, str, str], Tracked], usage_days: set[tuple[date, str]],
              cost_days: set[tuple[date, str]]) -> list[dict[str, Any]]:
    """Every (day, provider, model) the exports or the tracked calls have, on days an export covers,
    ordered by day, provider and model. Tracked calls on days no export covers are left out: there is
    nothing to hold them against (they are not `not_in_export`, the export was never imported)."""
    usage = {(row.day, p, row.model): row for p, row in provider_usage}
    costs = {(row.day, p, row.model): row for p, row in provider_costs}
    keys = set(usage) | set(costs) | {k for k in tracked if (k[0], k[1]) in usage_days | cost_days}
    return [
        reconcile_row(day=day, provider=p, model=model, usage=usage.get((day, p, model)),
                      cost=costs.get((day, p, model)), tracked=tracked.get((day, p, model)),
                      usage_covered=(day, p) in usage_days, cost_covered=(day, p) in cost_days)
        for day, p, model in sorted(keys)
    ]
