"""When a budget alerts, and when a failed delivery is tried again (pure: no FastAPI, no database).

Each threshold fires once per budget period, and so does "projected to exceed": what has fired is
kept per (budget, period start), so a new period starts with nothing fired and alerts again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

THRESHOLD_CROSSED = "budget.threshold_crossed"
PROJECTED_TO_EXCEED = "budget.projected_to_exceed"

FIRST_RETRY = timedelta(seconds=5)
MAX_RETRY_GAP = timedelta(hours=1)
RETRY_FOR = timedelta(hours=24)


@dataclass(frozen=True)
class BudgetState:
    amount_usd: Decimal
    spent_usd: Decimal
    projected_usd: Decimal
    thresholds_percent: tuple[float, ...]


def percent(spent: Decimal, amount: Decimal) -> float:
    return float(spent / amount * 100) if amount > 0 else 0.0


def status(state: BudgetState) -> str:
    """`exceeded` once spent reaches the amount, `warning` past the first threshold, else `ok`."""
    if state.spent_usd >= state.amount_usd:
        return "exceeded"
    first = min(state.thresholds_percent, default=None)
    if first is not None and percent(state.spent_usd, state.amount_usd) >= first:
        return "warning"
    return "ok"


def due_alerts(state: BudgetState, fired: set[tuple[str, float]]) -> list[tuple[str, float]]:
    """The (type, threshold_percent) alerts to send now: crossed and not yet fired this period.

    Projected-to-exceed is keyed at 100 and only while the budget is not exceeded yet (once it is,
    the 100 % threshold says more)."""
    due = []
    spent_pct = percent(state.spent_usd, state.amount_usd)
    for threshold in sorted(set(state.thresholds_percent)):
        if spent_pct >= threshold and (THRESHOLD_CROSSED, threshold) not in fired:
            due.append((THRESHOLD_CROSSED, threshold))
    if (state.projected_usd > state.amount_usd and state.spent_usd < state.amount_usd
            and (PROJECTED_TO_EXCEED, 100.0) not in fired):
        due.append((PROJECTED_TO_EXCEED, 100.0))
    return due


def next_attempt(*, attempts: int, first_attempt_at: datetime, now: datetime) -> datetime | None:
    """When to try again after `attempts` failures: 5 s, doubling, at most 1 h apart; None once the
    next try would fall more than 24 h after the first (the delivery has failed for good)."""
    gap = min(FIRST_RETRY * (2 ** min(attempts - 1, 20)), MAX_RETRY_GAP)
    when = now + gap
    return when if when - first_attempt_at <= RETRY_FOR else None
