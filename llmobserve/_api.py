"""`observe()`, `flush()` and `shutdown()`: configure the SDK, patch the clients, run the exporter."""

from __future__ import annotations

import atexit
import os
from typing import Mapping

from ._budgets import BudgetGuard
from ._call import CONFIG
from ._exporter import Exporter
from ._instrument import instrument, uninstrument
from ._log import logger

DEFAULT_ENDPOINT = "http://localhost:8000"
EXIT_TIMEOUT = 1.5  # seconds the exit flush may take when the API is down or slow
_atexit_registered = False
_guard: BudgetGuard | None = None


def observe(
    api_key: str | None = None,
    customer_id: str | None = None,
    endpoint: str | None = None,
    *,
    tags: Mapping[str, object] | None = None,
    provider: str | None = None,
    capture_stream_usage: bool = True,
    max_queue_size: int = 10_000,
    batch_size: int = 500,
    flush_interval: float = 1.0,
    timeout: float = 5.0,
    enforce_budgets: bool = False,
) -> None:
    """Start recording every OpenAI and Anthropic call of this process.

    Safe to call again: it reconfigures (events still queued move to the new settings) and never
    patches twice. `provider` labels clients pointed at hosts the SDK does not know. With
    `enforce_budgets=True` a call that falls in an exceeded enforced budget raises
    `llmobserve.BudgetExceeded` before it is sent (budgets refreshed in the background; an API that
    cannot be reached blocks nothing).
    """
    global _atexit_registered
    api_key = api_key or os.environ.get("LLMOBSERVE_API_KEY")
    endpoint = (endpoint or os.environ.get("LLMOBSERVE_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    if not api_key:
        logger.warning("llmobserve: no API key (pass api_key= or set LLMOBSERVE_API_KEY); the API will refuse events")
    settings = (endpoint, api_key, max_queue_size, batch_size, flush_interval, timeout)
    old = CONFIG.exporter
    if old is None or getattr(old, "settings", None) != settings:
        new = Exporter(endpoint=endpoint, api_key=api_key, max_queue_size=max_queue_size,
                       batch_size=batch_size, flush_interval=flush_interval, timeout=timeout)
        new.settings = settings  # type: ignore[attr-defined]
        if old is not None:
            pending = old.take_pending()
            old.shutdown(timeout=0.5)  # only an in-flight batch can be left to it
            for ev in pending:
                new.enqueue(ev)
        CONFIG.exporter = new
    CONFIG.customer_id = str(customer_id) if customer_id is not None else None
    CONFIG.tags = {str(k): str(v) for k, v in tags.items()} if tags else None
    CONFIG.provider = provider
    CONFIG.capture_stream_usage = bool(capture_stream_usage)
    _set_budget_guard(endpoint, api_key, enforce_budgets)
    CONFIG.active = True
    instrument()
    if not _atexit_registered:
        atexit.register(_at_exit)
        _atexit_registered = True


def _set_budget_guard(endpoint: str, api_key: str | None, enforce: bool) -> None:
    """Start, keep or stop the budget poller; the call path sees only `CONFIG.before_call`."""
    global _guard
    settings = (endpoint, api_key)
    if _guard is not None and (not enforce or _guard.settings != settings):
        CONFIG.before_call = None
        _guard.stop()
        _guard = None
    if enforce and _guard is None:
        _guard = BudgetGuard(endpoint=endpoint, api_key=api_key)
        _guard.settings = settings  # type: ignore[attr-defined]
    CONFIG.before_call = _guard.check_call if _guard is not None else None


def flush(timeout: float = 5.0) -> bool:
    """Send every queued event now; True when all were handed to the API within `timeout` seconds."""
    exporter = CONFIG.exporter
    return True if exporter is None else exporter.flush(timeout)


def shutdown(timeout: float = 2.0) -> None:
    """Stop recording, restore the clients' methods, and deliver what is queued (bounded by `timeout`)."""
    CONFIG.active = False
    _set_budget_guard("", None, False)
    uninstrument()
    exporter, CONFIG.exporter = CONFIG.exporter, None
    if exporter is not None:
        exporter.shutdown(timeout)


def _at_exit() -> None:
    exporter = CONFIG.exporter
    if exporter is not None:
        try:
            exporter.shutdown(EXIT_TIMEOUT)
        except Exception:  # never disturb interpreter exit
            pass
