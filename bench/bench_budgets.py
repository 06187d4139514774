"""The budget check on the SDK's call path (DESIGN §14: ≤ 2 µs with enforce on).

    python -m bench.bench_budgets

Times `BudgetGuard.check_call` (what runs before every provider call when `enforce_budgets=True`) on a
real `Call` inside a `customer()` block: with no exceeded budget, with ten exceeded budgets of other
customers/models/tags (all compared, none matching), and one matching (the refusal, exception
included). Beside it, in the same run: one `ContextVar.get()` and one dict lookup, for scale. Medians
of interleaved rounds; the guard's poller is pointed at a closed port, so nothing else runs.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any, Callable

import llmobserve
from llmobserve._budgets import BudgetExceeded, BudgetGuard, _Rule
from llmobserve._call import Call
from llmobserve._context import _scope

ROUNDS, LOOPS = 15, 20_000


def _rule(i: int, **scope: str) -> _Rule:
    return _Rule({"id": f"bud_{i}", "name": f"b{i}", "spent_usd": "12", "amount_usd": "10", "scope": scope},
                 until=time.time() + 3600)


def _per_call_ns(fn: Callable[[], Any]) -> float:
    start = time.perf_counter_ns()
    for _ in range(LOOPS):
        fn()
    return (time.perf_counter_ns() - start) / LOOPS


def _refused(guard: BudgetGuard, call: Call) -> Callable[[], None]:
    def attempt() -> None:
        try:
            guard.check_call(call)
        except BudgetExceeded:
            pass
    return attempt


def run() -> dict[str, Any]:
    guard = BudgetGuard(endpoint="http://127.0.0.1:9", api_key="llmo_bench", refresh_s=10)
    guard.refreshed.wait(5)
    guard.stop()
    with llmobserve.customer("cust_bench"), llmobserve.tags(feature="chat"):
        call = Call("chat", "openai", "gpt-4o-mini", False, None)
    others = tuple([_rule(i, customer_id=f"other_{i}") for i in range(5)]
                   + [_rule(5, model="gpt-4o-2024-08-06"), _rule(6, provider="anthropic"),
                      _rule(7, tag="feature:search"), _rule(8, customer_id="other_8", model="gpt-4o-mini"),
                      _rule(9, customer_id="cust_bench", provider="anthropic")])
    matching = (_rule(10, customer_id="cust_bench", model="gpt-4o-mini-2024-07-18"),)
    lookup = {"cust_bench": 1}
    cases: dict[str, tuple[tuple[_Rule, ...] | None, Callable[[], Any]]] = {
        "no exceeded budget": ((), lambda: guard.check_call(call)),
        "10 exceeded budgets, none matching": (others, lambda: guard.check_call(call)),
        "1 matching (refused, exception included)": (matching, _refused(guard, call)),
        "reference: ContextVar.get()": (None, _scope.get),
        "reference: dict lookup": (None, lambda: lookup.get("cust_bench")),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(ROUNDS):  # interleaved, so machine noise hits every case alike
        for name, (rules, fn) in cases.items():
            if rules is not None:
                guard.publish(rules)
            samples[name].append(_per_call_ns(fn))
    return {"rounds": ROUNDS, "loops": LOOPS,
            "cases": {name: {"median_ns": statistics.median(v), "best_ns": min(v)} for name, v in samples.items()},
            "load_average": os.getloadavg()[0]}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
