"""llmobserve: what each of your customers costs you in OpenAI and Anthropic calls.

    import llmobserve
    llmobserve.observe(api_key="llmo_...", customer_id="cust_1")

The whole public surface is re-exported here; everything else is private.
"""

from __future__ import annotations

from ._api import flush, observe, shutdown
from ._budgets import BudgetExceeded
from ._context import customer, run, tags
from ._version import __version__

__all__ = [
    "BudgetExceeded",
    "__version__",
    "customer",
    "flush",
    "observe",
    "run",
    "shutdown",
    "tags",
]
