"""Thresholds, once per period, status and the retry schedule (api/alert_rules.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from api.alert_rules import PROJECTED_TO_EXCEED, THRESHOLD_CROSSED, BudgetState, due_alerts, next_attempt, status


def state(spent: str, projected: str | None = None, thresholds: tuple[float, ...] = (50, 80, 100)) -> BudgetState:
    return BudgetState(amount_usd=Decimal("100"), spent_usd=Decimal(spent),
                       projected_usd=Decimal(projected or spent), thresholds_percent=thresholds)


def test_each_crossed_threshold_is_due_once() -> None:
    assert due_alerts(state("79.99"), set()) == [(THRESHOLD_CROSSED, 50)]
    assert due_alerts(state("80"), {(THRESHOLD_CROSSED, 50)}) == [(THRESHOLD_CROSSED, 80)]
    fired = {(THRESHOLD_CROSSED, 50), (THRESHOLD_CROSSED, 80)}
    assert due_alerts(state("80"), fired) == []
    # a jump over several thresholds fires each of them
    assert due_alerts(state("120"), set()) == [(THRESHOLD_CROSSED, 50), (THRESHOLD_CROSSED, 80),
                                               (THRESHOLD_CROSSED, 100)]


def test_projected_to_exceed_fires_once_while_not_yet_exceeded() -> None:
    assert due_alerts(state("10", "150"), set()) == [(PROJECTED_TO_EXCEED, 100)]
    assert due_alerts(state("10", "150"), {(PROJECTED_TO_EXCEED, 100)}) == []
    assert due_alerts(state("10", "100"), set()) == []  # reaching the amount exactly is not exceeding it
    assert (PROJECTED_TO_EXCEED, 100) not in due_alerts(state("101", "150"), set())


def test_status() -> None:
    assert status(state("49.99")) == "ok"
    assert status(state("50")) == "warning"
    assert status(state("100")) == "exceeded"
    assert status(state("99", thresholds=(90,))) == "warning"


def test_retries_start_at_5s_double_cap_at_an_hour_and_stop_after_24h() -> None:
    first = datetime(2026, 1, 1)
    gaps, now, attempts = [], first, 1
    while (when := next_attempt(attempts=attempts, first_attempt_at=first, now=now)) is not None:
        gaps.append((when - now).total_seconds())
        now, attempts = when, attempts + 1
    assert gaps[:5] == [5, 10, 20, 40, 80]
    assert max(gaps) == 3600
    assert now - first <= timedelta(hours=24)
    assert now - first > timedelta(hours=23)  # it keeps trying for (almost) the whole day
