"""The reconciliation core: exports read as each provider counts its buckets, and statuses as §10 says."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from api.reconciliation import DayModel, ExportError, Tracked, diff_pct, parse_export, reconcile_row

EXPORTS = Path(__file__).parent.parent / "fixtures" / "provider-exports"


def load(name: str) -> dict:
    return json.loads((EXPORTS / f"{name}.json").read_text())


def test_openai_usage_input_includes_cached_and_requests_are_counted() -> None:
    parsed = parse_export("openai", load("openai_usage_completions"))
    assert parsed.kind == "usage"
    assert parsed.days == [date(2025, 11, 30), date(2025, 12, 1)]
    first = parsed.rows[0]
    assert (first.day, first.model) == (date(2025, 11, 30), "gpt-4.1-2025-04-14")
    mini = next(r for r in parsed.rows if r.model == "gpt-4o-mini-2024-07-18" and r.day == date(2025, 11, 30))
    assert (mini.input_tokens, mini.cached_input_tokens, mini.output_tokens, mini.requests) == (1_200_000, 400_000,
                                                                                                90_000, 1200)


def test_anthropic_usage_input_is_uncached_plus_cache_reads_plus_every_cache_write() -> None:
    parsed = parse_export("anthropic", load("anthropic_usage_report_messages"))
    sonnet = parsed.rows[0]
    assert sonnet.model == "claude-sonnet-4-20250514"
    assert sonnet.input_tokens == 500_000 + 400_000 + 100_000
    assert sonnet.cached_input_tokens == 400_000
    assert sonnet.requests is None  # the report has no request count


def test_cost_reports_in_dollars_and_in_cents() -> None:
    openai = parse_export("openai", load("openai_costs"))
    assert openai.kind == "cost"
    [row] = openai.rows  # input and output lines of one model add up
    assert (row.model, row.cost_usd) == ("gpt-4o-mini-2024-07-18", Decimal("0.228"))
    anthropic = parse_export("anthropic", load("anthropic_cost_report"))
    [row] = anthropic.rows
    assert (row.model, row.cost_usd) == ("claude-sonnet-4-20250514", Decimal("2.55"))  # 255 cents


def test_a_list_of_pages_adds_up_and_unknown_fields_are_ignored() -> None:
    page = load("openai_usage_completions")
    second = copy.deepcopy(page)
    second["data"][0]["results"][0]["brand_new_field"] = {"x": 1}
    parsed = parse_export("openai", [page, second])
    mini = next(r for r in parsed.rows if r.model == "gpt-4o-mini-2024-07-18" and r.day == date(2025, 11, 30))
    assert mini.input_tokens == 2_400_000


@pytest.mark.parametrize(("mutate", "where"), [
    (lambda p: p["data"][1]["results"][0].update(input_tokens="800000"), "page 0, bucket 1 (data[1]), result 0, field input_tokens"),
    (lambda p: p["data"][0].update(end_time=p["data"][0]["start_time"] + 3600), "page 0, bucket 0 (data[0])"),
    (lambda p: p["data"][0]["results"][1].update(model=None), "page 0, bucket 0 (data[0]), result 1, field model"),
    (lambda p: p["data"][0]["results"][0].update(input_cached_tokens=2_000_000), "field input_cached_tokens"),
    (lambda p: p.pop("data"), "page 0"),
])
def test_a_bad_export_names_where_it_is_wrong(mutate, where: str) -> None:  # type: ignore[no-untyped-def]
    page = load("openai_usage_completions")
    mutate(page)
    with pytest.raises(ExportError) as caught:
        parse_export("openai", page)
    assert where in str(caught.value)


def test_usage_and_cost_results_are_not_mixed_in_one_import() -> None:
    usage, cost = load("openai_usage_completions"), load("openai_costs")
    with pytest.raises(ExportError, match="page 1, bucket 0"):
        parse_export("openai", [usage, cost])


def test_an_empty_export_needs_its_kind_said() -> None:
    page = {"object": "page", "data": [{"object": "bucket", "start_time": 1764460800, "end_time": 1764547200,
                                        "results": []}]}
    with pytest.raises(ExportError, match="kind=usage"):
        parse_export("openai", page)
    assert parse_export("openai", page, "usage").days == [date(2025, 11, 30)]


DAY = date(2025, 11, 30)


def row(usage: DayModel | None, tracked: Tracked | None, **covered: bool) -> dict:
    return reconcile_row(day=DAY, provider="openai", model="m", usage=usage, cost=None, tracked=tracked,
                         usage_covered=covered.get("usage", True), cost_covered=covered.get("cost", False))


def test_statuses_and_the_half_percent_tolerance() -> None:
    billed = DayModel(DAY, "m", 100_000, 40_000, 10_000, 100)
    assert row(billed, Tracked(100_000, 40_000, 10_000, 100, Decimal(1)))["status"] == "match"
    assert row(billed, Tracked(100_400, 40_000, 10_000, 100, Decimal(1)))["status"] == "match"  # +0.4%
    gap = row(billed, Tracked(98_000, 40_000, 10_000, 98, Decimal(1)))
    assert gap["status"] == "mismatch" and gap["input_diff_pct"] == Decimal("-2.0000")
    assert row(billed, Tracked(100_000, 39_000, 10_000, 100, Decimal(1)))["status"] == "mismatch"  # cached off
    assert row(billed, None)["status"] == "untracked"
    assert row(None, Tracked(1, 0, 1, 1, Decimal(0)))["status"] == "not_in_export"


def test_diff_pct_is_signed_tracked_minus_provider() -> None:
    assert diff_pct(110, 100) == Decimal("10.0000")
    assert diff_pct(0, 0) == 0
    assert diff_pct(5, 0) is None
