"""What cache reads saved (DESIGN §13), per event, at ingest. Pure: no FastAPI, no database.

An event's saving is what its cache-read tokens would have cost at the uncached input price, less what
they cost: the same call priced as if nothing had been read from the cache, minus the call as it was.
Both prices come from the pricing the event's own cost uses (the tenant's custom price, else
genai-prices at the event's time and service tier, tiered prices exactly), so the saving is always in
the same terms as the cost beside it. Cache writes appear identically in both prices: their premium is
a cost of its own and is not subtracted here. Events with no cached tokens, and events nobody can
price, save 0 (never null). An event whose client sent its own cost saves the difference at the
price that would otherwise apply (the client's total does not say what its cache reads cost).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa

from api.pricing import Priced

PICO = Decimal(10) ** -12
SAVINGS_TYPE = pa.decimal128(19, 12)  # the events column cache_savings_usd


def savings_pico(events: Sequence[dict[str, Any]], price: Callable[[list[dict[str, Any]]], list[Priced]]) -> list[int]:
    """Each event's saving in pico-dollars; `price` prices a list of events as ingest does."""
    cached = [i for i, e in enumerate(events) if e.get("cached_input_tokens", 0) > 0]
    savings = [0] * len(events)
    if not cached:
        return savings
    as_sent = [{**events[i], "cost_usd": None} for i in cached]
    uncached = [{**e, "cached_input_tokens": 0} for e in as_sent]  # the same input tokens, none from the cache
    for i, actual, full in zip(cached, price(as_sent), price(uncached)):
        if actual.cost_pico is not None and full.cost_pico is not None:
            savings[i] = full.cost_pico - actual.cost_pico
    return savings


def savings_column(savings: list[int]) -> pa.Array:
    """Pico-dollars as the exact decimal column the store keeps."""
    if not any(savings):
        return pa.repeat(pa.scalar(Decimal(0), SAVINGS_TYPE), len(savings))
    return pa.array([Decimal(p) * PICO for p in savings], SAVINGS_TYPE)
