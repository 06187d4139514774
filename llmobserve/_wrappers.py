"""Wrapper factories, one per call kind, each giving a sync and an async flavour that share helpers.

- `call`: `create`/`parse` — a whole answer, or (with `stream=True`) a stream we proxy.
- `manager`: stream helpers that post by themselves (Anthropic `messages.stream()`).

Every step of ours is guarded: a failure is logged once and the user's call goes on untouched; the
user's own exceptions are recorded and re-raised unchanged.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable

from ._call import CONFIG, Call
from ._log import log_once
from ._providers import anthropic as anthropic_usage
from ._providers import detect_provider
from ._providers import openai as openai_usage
from ._stream import ManagerProxy, StreamProxy, inside

_MISSING = object()
_RAW_HEADERS = ("X-Stainless-Raw-Response", "x-stainless-raw-response")


@dataclass(frozen=True)
class Target:
    """One patched method: where it lives and how its calls are shaped."""

    module: str
    cls: str
    method: str
    operation: str  # chat | responses | embeddings | messages
    flavour: str  # openai | anthropic: the SDK family, also the provider for unknown hosts
    kind: str = "call"  # call | manager
    is_async: bool = False


def _extractors(target: Target) -> tuple[Callable[[Call, Any], None], Callable[[Call, Any], bool]]:
    if target.flavour == "anthropic":
        return anthropic_usage.from_response, anthropic_usage.on_event
    if target.operation == "responses":
        return openai_usage.from_response, openai_usage.on_response_event
    return openai_usage.from_response, openai_usage.on_chat_chunk


def _passthrough(kwargs: dict[str, Any]) -> bool:
    """Not ours to record: SDK off, already inside a tracked call, or a raw/streaming-response call."""
    if not CONFIG.active or inside.get():
        return True
    headers = kwargs.get("extra_headers")
    return bool(headers) and any(h in headers for h in _RAW_HEADERS)


def _unset(value: Any) -> bool:
    return value is _MISSING or (value is not None and not value and type(value).__name__ in ("Omit", "NotGiven"))


def _start(target: Target, instance: Any, kwargs: dict[str, Any]) -> Call:
    stream = kwargs.get("stream") is True
    provider = detect_provider(instance._client, target.flavour, CONFIG.provider)
    call = Call(target.operation, provider, kwargs.get("model"), stream, kwargs.get("service_tier"))
    if stream and target.operation == "chat" and CONFIG.capture_stream_usage:
        extra = kwargs.get("extra_body")
        if _unset(kwargs.get("stream_options", _MISSING)) and not (extra and "stream_options" in extra):
            kwargs["stream_options"] = {"include_usage": True}
            call.hide_usage_chunk = True  # the user did not ask for the usage chunk: keep it from them
    return call


def _fail(call: Call, exc: BaseException) -> None:
    try:
        call.finish("error", exc)
    except Exception:
        log_once("finish", "llmobserve: could not record a failed call", exc_info=True)


def make_call_wrapper(target: Target) -> Callable[..., Any]:
    """Wrapper for `create`/`parse`: record a whole answer, or hand back a recording stream proxy."""
    from_response, on_item = _extractors(target)

    def begin(instance: Any, kwargs: dict[str, Any]) -> Call | None:
        if _passthrough(kwargs):
            return None
        try:
            return _start(target, instance, kwargs)
        except Exception:
            log_once("start", "llmobserve: could not start recording a call", exc_info=True)
            return None

    def end(call: Call, result: Any) -> Any:
        try:
            if call.stream and (hasattr(result, "__next__") or hasattr(result, "__anext__")):
                return StreamProxy(result, call, on_item)
            from_response(call, result)
            call.finish("ok")
        except Exception:
            log_once("extract", "llmobserve: could not read usage from an answer", exc_info=True)
        return result

    if target.is_async:

        async def async_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            call = begin(instance, kwargs)
            if call is None:
                return await wrapped(*args, **kwargs)
            token = inside.set(True)
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as exc:
                _fail(call, exc)
                raise
            finally:
                inside.reset(token)
            return end(call, result)

        return async_wrapper

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        call = begin(instance, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        token = inside.set(True)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            _fail(call, exc)
            raise
        finally:
            inside.reset(token)
        return end(call, result)

    return wrapper


def make_manager_wrapper(target: Target) -> Callable[..., Any]:
    """Wrapper for stream helpers that return a (sync or async) manager: the call starts on entry."""
    _, on_item = _extractors(target)

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        manager = wrapped(*args, **kwargs)
        if _passthrough(kwargs):
            return manager
        try:
            provider = detect_provider(instance._client, target.flavour, CONFIG.provider)
            start = functools.partial(
                Call, target.operation, provider, kwargs.get("model"), True, kwargs.get("service_tier")
            )
            return ManagerProxy(manager, start, on_item)
        except Exception:
            log_once("manager", "llmobserve: could not track a stream helper", exc_info=True)
            return manager

    return wrapper


FACTORIES = {"call": make_call_wrapper, "manager": make_manager_wrapper}
