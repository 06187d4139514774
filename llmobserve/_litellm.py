"""LiteLLM's own HTTP routes (`anthropic/…`, `gemini/…`, …), recorded through its callback interface.

LiteLLM reaches OpenAI (and OpenAI-compatible hosts it drives with the openai client) through that
client, where the `request` choke point already records the call. Other providers it calls over its
own HTTP client, out of any client patch's sight; for those, a `CustomLogger` of ours (LiteLLM's
documented callback class) turns each success or failure into one event.

Exactly once: LiteLLM calls `log_pre_api_call` in the caller's thread or task just before the
provider request and `log_post_api_call` just after it. Between the two, our `request` wrapper marks
the in-flight call as seen by a client (`note_client_call`); the callback then skips it. The pre-call
hook also keeps the caller's attribution (customer, run, tags), since LiteLLM runs sync success
callbacks in a thread of its own.
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import sys
import time
from collections import OrderedDict
from typing import Any

from ._call import CONFIG, Call
from ._context import Scope, _scope
from ._log import log_once

# LiteLLM's provider names -> ours, where they differ.
_PROVIDERS = {"gemini": "google", "vertex_ai": "google", "vertex_ai_beta": "google", "azure_ai": "azure",
              "text-completion-openai": "openai", "together_ai": "together", "fireworks_ai": "fireworks"}
_OPERATIONS = {"completion": "chat", "acompletion": "chat", "embedding": "embeddings",
               "aembedding": "embeddings", "responses": "responses", "aresponses": "responses",
               "text_completion": "completions", "atext_completion": "completions"}
_MAX_INFLIGHT = 10_000  # calls whose callback never came (a crash mid-call) are forgotten oldest first


class _InFlight:
    """One LiteLLM call between its pre-call hook and its success or failure callback."""

    __slots__ = ("scope", "seen_by_client", "open")

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.seen_by_client = False
        self.open = True  # until the provider request has returned


_current: contextvars.ContextVar[_InFlight | None] = contextvars.ContextVar("llmobserve_litellm", default=None)
_inflight: OrderedDict[str, _InFlight] = OrderedDict()
_handler: Any = None


def note_client_call() -> None:
    """Called by the client `request` wrapper: the LiteLLM call in flight here went through a client
    we record at its choke point, so LiteLLM's callback must not record it again."""
    pending = _current.get()
    if pending is not None and pending.open:
        pending.seen_by_client = True


def _call_id(kwargs: Any) -> str | None:
    cid = kwargs.get("litellm_call_id") if isinstance(kwargs, dict) else None
    return cid if isinstance(cid, str) else None


def _pre(kwargs: Any) -> None:
    cid = _call_id(kwargs)
    if cid is None or not CONFIG.active:
        return
    pending = _InFlight(_scope.get())
    _inflight[cid] = pending
    while len(_inflight) > _MAX_INFLIGHT:
        _inflight.popitem(last=False)
    _current.set(pending)


def _post(kwargs: Any) -> None:
    pending = _inflight.get(_call_id(kwargs) or "")
    if pending is not None:
        pending.open = False


def _seconds(value: Any) -> float | None:
    if isinstance(value, _dt.datetime):
        return value.timestamp()
    return float(value) if isinstance(value, (int, float)) else None


def _record(kwargs: Any, response: Any, start: Any, end: Any, exc: BaseException | None) -> None:
    """One event for a call no client choke point saw; nothing for one it did."""
    cid = _call_id(kwargs)
    pending = _inflight.pop(cid, None) if cid is not None else None
    if pending is None or pending.seen_by_client or not CONFIG.active:
        return
    provider = str(kwargs.get("custom_llm_provider") or "litellm")
    params = kwargs.get("optional_params") or {}
    call = Call(_OPERATIONS.get(str(kwargs.get("call_type")), "chat"), _PROVIDERS.get(provider, provider),
                kwargs.get("model"), bool(kwargs.get("stream") or params.get("stream")), None)
    call.scope = pending.scope
    began, ended = _seconds(start), _seconds(end)
    if began is not None:
        call.ts = began
        if ended is not None:  # latency as LiteLLM timed it: `finish` measures from t0 to now
            call.t0 = time.perf_counter() - max(0.0, ended - began)
        first = _seconds(kwargs.get("completion_start_time"))
        if call.stream and first is not None:
            call.ttft_ms = max(0.0, first - began) * 1000.0
    if exc is None:
        _read_usage(call, response)
        call.finish("ok")
    else:
        call.finish("error", exc)


def _read_usage(call: Call, response: Any) -> None:
    """LiteLLM's `Usage` is OpenAI-shaped whatever the provider: `prompt_tokens` holds the whole
    input, cache reads included (`prompt_tokens_details.cached_tokens`); cache writes are
    `cache_creation_input_tokens`, inside `prompt_tokens` too. Anthropic's split of the writes by
    lifetime is `prompt_tokens_details.cache_creation_token_details` (whole answers and streams
    alike): its `ephemeral_1h_input_tokens` is our `cache_write_1h_tokens`, never more than the writes."""
    model = getattr(response, "model", None)
    if isinstance(model, str) and model:
        call.model = model
    usage = getattr(response, "usage", None)
    if usage is None:
        return
    details = getattr(usage, "prompt_tokens_details", None)
    out_details = getattr(usage, "completion_tokens_details", None)
    call.input_tokens = _int(getattr(usage, "prompt_tokens", 0))
    call.output_tokens = _int(getattr(usage, "completion_tokens", 0))
    call.cached_input_tokens = _int(getattr(details, "cached_tokens", 0))
    call.cache_write_tokens = _int(getattr(usage, "cache_creation_input_tokens", 0))
    by_lifetime = getattr(details, "cache_creation_token_details", None)
    call.cache_write_1h_tokens = min(_int(getattr(by_lifetime, "ephemeral_1h_input_tokens", 0)),
                                     call.cache_write_tokens)
    call.reasoning_tokens = _int(getattr(out_details, "reasoning_tokens", 0))


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def _guarded(step: str, fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except Exception:
        log_once(f"litellm-{step}", "llmobserve: could not record a LiteLLM call", exc_info=True)


def _make_handler(base: type) -> Any:
    class LLMObserveLogger(base):  # type: ignore[misc, valid-type]
        """llmobserve's LiteLLM callback: records the calls LiteLLM makes over its own HTTP client."""

        def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
            _guarded("pre", _pre, kwargs)

        def log_post_api_call(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
            _guarded("post", _post, kwargs)

        def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
            _guarded("success", _record, kwargs, response_obj, start_time, end_time, None)

        def log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
            _guarded("failure", _record, kwargs, response_obj, start_time, end_time, _exception(kwargs))

        async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                                          end_time: Any) -> None:
            _guarded("success", _record, kwargs, response_obj, start_time, end_time, None)

        async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                                          end_time: Any) -> None:
            _guarded("failure", _record, kwargs, response_obj, start_time, end_time, _exception(kwargs))

    return LLMObserveLogger()


def _exception(kwargs: Any) -> BaseException:
    exc = kwargs.get("exception") if isinstance(kwargs, dict) else None
    return exc if isinstance(exc, BaseException) else RuntimeError("LiteLLM call failed")


def register(module: Any = None) -> None:
    """Add our callback to `litellm.callbacks` once (when the program has imported LiteLLM)."""
    global _handler
    litellm = module if module is not None else sys.modules.get("litellm")
    if litellm is None:
        return
    try:
        if _handler is None:
            from litellm.integrations.custom_logger import CustomLogger

            _handler = _make_handler(CustomLogger)
        callbacks = litellm.callbacks
        if _handler not in callbacks:
            callbacks.append(_handler)
    except Exception:
        log_once("litellm-register", "llmobserve: could not register the LiteLLM callback", exc_info=True)


def unregister() -> None:
    """Take our callback out of LiteLLM's lists (`shutdown()`)."""
    litellm = sys.modules.get("litellm")
    if litellm is None or _handler is None:
        return
    for name in ("callbacks", "input_callback", "success_callback", "failure_callback",
                 "_async_success_callback", "_async_failure_callback", "_async_input_callback"):
        lst = getattr(litellm, name, None)
        while isinstance(lst, list) and _handler in lst:
            lst.remove(_handler)
    _inflight.clear()
