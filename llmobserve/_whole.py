"""The common case at the clients' `request`: a whole parsed answer, recorded with the least work on
the caller's thread.

Measured inside the real call (bench/bench_sdk.py, in process), the general path's Python — a `Call`
object, the provider lookup, reading the answer — ran about five times slower than the same code in a
hot loop: after the client's own ~2 ms of work its code and data are out of the CPU caches. What
costs there is how much is touched, so when nothing needs a `Call` before the answer arrives (no
stream, no raw-response mode, no budget check, no LiteLLM in the process, an exact model-call path),
the caller's thread only takes the clocks and the attribution in force, reads three values from the
answer and appends one tuple to the sender's queue. The sender thread builds the `Call` from it —
provider lookup, usage normalisation — and its event (`event`). Every other request takes the
general path in `_wrappers`.
"""

from __future__ import annotations

from time import perf_counter, time
from typing import Any

from . import _litellm
from ._call import CONFIG, Call
from ._context import _scope
from ._log import log_once
from ._providers import anthropic as anthropic_usage
from ._providers import detect_provider
from ._providers import openai as openai_usage
from ._providers._fields import Fields

# Exact request paths of whole-answer model calls (others, Azure's deployment paths say, go the general way).
PATHS = {"/chat/completions": "chat", "/responses": "responses", "/embeddings": "embeddings",
         "/v1/messages": "messages", "/messages": "messages", "/v1/messages?beta=true": "messages"}

# Per SDK family: the answer's (model, service tier, usage), and the reader of that usage object.
_ANSWER = {"openai": Fields("model", "service_tier", "usage"), "anthropic": Fields("model", "usage")}
_READ_USAGE = {"openai": openai_usage.apply_usage, "anthropic": anthropic_usage.merge_usage}


def start(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...] | None:
    """(operation, requested model, requested tier, scope, wall clock, monotonic clock) when it takes the
    fast path, else None (the general path decides, and records, everything else)."""
    try:
        options = args[1] if len(args) > 1 else kwargs.get("options")
        op = PATHS.get(getattr(options, "url", None))  # type: ignore[arg-type]
        if (op is None or kwargs.get("stream") or options.headers or CONFIG.before_call is not None
                or _litellm._handler is not None):
            return None
        body = options.json_data  # read now: the queue must not hold the caller's prompt
        if type(body) is dict:
            return op, body.get("model"), body.get("service_tier"), _scope.get(), time(), perf_counter()
        return op, None, None, _scope.get(), time(), perf_counter()
    except Exception:  # an odd request shape: the general path copes, or passes it through
        return None


def done(began: tuple[Any, ...], flavour: str, client: Any, result: Any) -> None:
    """Queue the call: what the caller's thread knows now, as one tuple."""
    t1 = perf_counter()
    try:
        exporter = CONFIG.exporter
        if exporter is not None:
            config = CONFIG
            fields = _ANSWER[flavour]
            read = _READERS.get(type(result)) or _reader(fields, type(result))
            try:
                answer = read(result)
            except AttributeError:  # a declared field absent from this answer
                answer = fields.read(result)
            exporter.enqueue((event, flavour, client, config.provider, began, t1, answer, config.customer_id,
                              config.tags))
    except Exception:
        log_once("extract", "llmobserve: could not read usage from an answer", exc_info=True)


_READERS: dict[type, Any] = {}  # answer class -> its compiled reader (one dict read on the call path)


def _reader(fields: Fields, cls: type) -> Any:
    read = _READERS[cls] = fields.reader(cls)
    return read


def failed(began: tuple[Any, ...], flavour: str, client: Any, exc: BaseException) -> None:
    """The provider call raised: record it as the general path would (an error event)."""
    try:
        _call(flavour, client, CONFIG.provider, began).finish("error", exc)
    except Exception:
        log_once("finish", "llmobserve: could not record a failed call", exc_info=True)


def _call(flavour: str, client: Any, override: str | None, began: tuple[Any, ...]) -> Call:
    op, model, tier, scope, ts, t0 = began
    call = Call(op, detect_provider(client, flavour, override), model, False, tier)
    call.scope, call.ts, call.t0 = scope, ts, t0
    return call


def event(item: tuple[Any, ...]) -> dict[str, Any]:
    """The wire event of a queued fast-path call (in the sender thread)."""
    _, flavour, client, override, began, t1, answer, customer_id, tags = item
    call = _call(flavour, client, override, began)
    call.latency_ms = (t1 - call.t0) * 1000.0
    call.status, call.done = "ok", True
    if customer_id is not None or tags is not None:
        call.defaults = (customer_id, tags)
    model, *rest = answer
    if model:
        call.model = model
    tier = rest[0] if len(rest) == 2 else None
    if isinstance(tier, str):
        call.service_tier = tier
    if rest[-1] is not None:
        call.defer_usage(_READ_USAGE[flavour], rest[-1])
    return call.event()
