"""Budget enforcement (opt-in, `observe(..., enforce_budgets=True)`).

A daemon thread polls `GET {endpoint}/v1/budgets/status` every few seconds and publishes the exceeded
enforced budgets as one immutable tuple of rules; the call path only reads that tuple (nothing to do
when it is empty, a few comparisons per rule otherwise) and never waits on the network. When the API
cannot be reached the rules are dropped: calls go through (fail open), and that is logged once.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any, Mapping

from ._call import CONFIG
from ._log import log_once, reset_once
from ._version import __version__

REFRESH_SECONDS = 5.0  # DESIGN §11: at most 10
_MISS = object()
_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")


class BudgetExceeded(Exception):
    """Raised instead of calling the provider: the call falls in an enforced budget that is exceeded."""

    def __init__(self, budget_id: str, name: str, spent_usd: Decimal, amount_usd: Decimal) -> None:
        self.budget_id = budget_id
        self.name = name
        self.spent_usd = spent_usd
        self.amount_usd = amount_usd
        super().__init__(f"llmobserve: budget {name!r} ({budget_id}) is exceeded: ${spent_usd} spent of "
                         f"${amount_usd} this period; the call was not sent")


def _base(model: str) -> str:
    return _DATED.sub("", model)


class _Rule:
    """One exceeded budget's scope, prepared for quick matching."""

    __slots__ = ("budget_id", "name", "spent", "amount", "until", "customer_id", "provider", "model",
                 "tag_key", "tag_value")

    def __init__(self, row: Mapping[str, Any], until: float) -> None:
        scope = row.get("scope") or {}
        self.budget_id, self.name = str(row["id"]), str(row["name"])
        self.spent, self.amount = Decimal(str(row["spent_usd"])), Decimal(str(row["amount_usd"]))
        self.until = until
        self.customer_id, self.provider, self.model = scope.get("customer_id"), scope.get("provider"), scope.get("model")
        tag = scope.get("tag")
        self.tag_key, _, self.tag_value = tag.partition(":") if tag else (None, "", None)

    def matches(self, provider: str | None, model: str | None, customer_id: str | None,
                tags: Mapping[str, str] | None) -> bool:
        if self.customer_id is not None and customer_id != self.customer_id:
            return False
        if self.provider is not None and provider != self.provider:
            return False
        if self.model is not None and not _same_model(model, self.model):
            return False
        if self.tag_key is not None and (not tags or tags.get(self.tag_key) != self.tag_value):
            return False
        return True


@functools.lru_cache(maxsize=1024)
def _same_model(requested: str | None, model: str) -> bool:
    """The request names an alias (`gpt-4o-mini`) while budgets name what the provider answered
    (`gpt-4o-mini-2024-07-18`): an alias matches its dated versions; two dates must be equal.
    Memoised: the call path sees few distinct pairs, and a regex per call would cost ~1 µs."""
    if requested is None:
        return False
    if requested == model:
        return True
    if _DATED.search(requested) and _DATED.search(model):
        return False
    return _base(requested) == _base(model)


class BudgetGuard:
    """The poller and the published rules. `check` is the only part on the call path."""

    def __init__(self, *, endpoint: str, api_key: str | None, refresh_s: float = REFRESH_SECONDS,
                 timeout: float = 3.0) -> None:
        self._url = endpoint.rstrip("/") + "/v1/budgets/status"
        self._headers = {"User-Agent": f"llmobserve-python/{__version__}", "Accept": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._refresh_s = min(float(refresh_s), 10.0)
        self._timeout = timeout
        self.rules: tuple[_Rule, ...] = ()
        self._index: tuple[tuple[_Rule, ...], tuple[_Rule, ...], dict[Any, Any]] | None = None
        self.refreshed = threading.Event()  # set after every refresh attempt (tests wait on it)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="llmobserve-budgets", daemon=True)
        self._thread.start()

    # -- the call path ---------------------------------------------------------------------------
    def publish(self, rules: tuple[_Rule, ...]) -> None:
        """Replace the rules at once (one attribute write: the call path never sees half an update).
        Rules without a tag are decided once per (provider, model, customer) and memoised; tag rules,
        rare, are compared on each call."""
        plain = tuple(r for r in rules if r.tag_key is None)
        tagged = tuple(r for r in rules if r.tag_key is not None)
        self._index = (plain, tagged, {}) if rules else None
        self.rules = rules

    def check(self, provider: str | None, model: str | None, customer_id: str | None,
              tags: Mapping[str, str] | None) -> None:
        """Raise BudgetExceeded when the call falls in an exceeded enforced budget."""
        index = self._index
        if index is None:
            return
        plain, tagged, memo = index
        key = (provider, model, customer_id)
        hit = memo.get(key, _MISS)
        if hit is _MISS:
            hit = next((r for r in plain if r.matches(provider, model, customer_id, None)), None)
            if len(memo) < 4096:
                memo[key] = hit
        if hit is None and tagged and tags:
            for rule in tagged:
                if tags.get(rule.tag_key) == rule.tag_value and rule.matches(provider, model, customer_id, tags):
                    hit = rule
                    break
        if hit is not None and time.time() < hit.until:
            raise BudgetExceeded(hit.budget_id, hit.name, hit.spent, hit.amount)

    def check_call(self, call: Any) -> None:
        """The SDK's pre-call hook (CONFIG.before_call): the call's provider, requested model, and the
        customer and tags in force (block scope over observe()'s defaults)."""
        if self._index is None:
            return
        scope = call.scope
        tags = CONFIG.tags
        if scope.tags:
            tags = {**tags, **scope.tags} if tags else scope.tags
        self.check(call.provider, call.model, scope.customer_id or CONFIG.customer_id, tags)

    # -- the poller ------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self._refresh_s)

    def refresh(self) -> None:
        try:
            request = urllib.request.Request(self._url, headers=self._headers)
            with urllib.request.urlopen(request, timeout=self._timeout) as answer:  # noqa: S310 - our endpoint
                body = json.loads(answer.read())
            self.publish(tuple(_Rule(row, _epoch(row.get("period_end"))) for row in body.get("budgets", [])
                               if row.get("exceeded")))
            reset_once("budgets")
        except Exception as exc:  # noqa: BLE001 - fail open, whatever went wrong
            self.publish(())
            reason = f"HTTP {exc.code}" if isinstance(exc, urllib.error.HTTPError) else type(exc).__name__
            log_once("budgets", "llmobserve: budget status unavailable from %s (%s); calls go through "
                     "unchecked until it answers", self._url, reason)
        finally:
            self.refreshed.set()

    def stop(self) -> None:
        self._stop.set()


def _epoch(value: Any) -> float:
    """period_end as epoch seconds (the rule stops applying then: the budget has reset)."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except (TypeError, ValueError):
        return float("inf")
