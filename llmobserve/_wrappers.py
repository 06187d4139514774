"""Wrapper factories, one per call kind, each giving a sync and an async flavour that share helpers.

- `request`: the client's own `SyncAPIClient.request` / `AsyncAPIClient.request` (openai, anthropic).
  Every call passes there whatever path the caller took: resource methods, `with_raw_response`,
  `with_streaming_response`, stream helpers, and `client.post()` as LiteLLM uses it. The client's
  retries happen inside it, so one call is one event.
- `sse`: `Stream.__stream__` / `AsyncStream.__stream__`, for the streams a raw-mode caller builds
  later with `.parse()` (LangChain, the Agents SDK); direct streams are proxied at `request`.
A `with_streaming_response` body the caller reads themselves is recorded by a hook on that answer's
own `read` (`_hook_read`), so the class-wide `APIResponse.read` every call parses through stays unpatched.

Every step of ours is guarded: a failure is logged once and the user's call goes on untouched; the
user's own exceptions are recorded and re-raised unchanged.
"""

from __future__ import annotations

import inspect
import json
import weakref
from dataclasses import dataclass
from typing import Any, Callable

from . import _litellm, _whole
from ._call import CONFIG, Call
from ._log import log_once
from ._providers import anthropic as anthropic_usage
from ._providers import detect_provider
from ._providers import openai as openai_usage
from ._stream import StreamProxy, observe_item, stream_ended

_RAW_HEADER = "X-Stainless-Raw-Response"
_RAW_HEADER_LOWER = "x-stainless-raw-response"

# Request paths that are model calls, and their operation. Anything else (files, batches, listing
# models, count_tokens, retrieving a stored response) passes through unrecorded.
_OPERATIONS = {
    "/chat/completions": "chat",
    "/responses": "responses",
    "/embeddings": "embeddings",
    "/v1/messages": "messages",
    "/messages": "messages",
    "/v1/messages?beta=true": "messages",
}

# Raw-mode streams waiting for the caller's `.parse()` to build their Stream: http response -> Call.
_pending: weakref.WeakKeyDictionary[Any, Call] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Target:
    """One patched attribute: where it lives and how its calls are shaped."""

    module: str
    cls: str
    method: str
    flavour: str  # openai | anthropic | google | bedrock: the SDK family, also the provider for unknown hosts
    kind: str = "request"  # request | sse | genai | bedrock
    is_async: bool = False


def operation_of(url: Any) -> str | None:
    """The operation a request path is, or None for paths that are not model calls."""
    if type(url) is not str:
        return None
    op = _OPERATIONS.get(url)
    if op is None and "?" in url:
        op = _OPERATIONS.get(url.split("?", 1)[0])
    if op is None and url.endswith(("/chat/completions", "/messages", "/responses", "/embeddings")):
        op = _OPERATIONS.get("/" + url.rsplit("/", 2)[-1]) or _OPERATIONS.get("/chat/completions")
    return op


def _item_reader(flavour: str, operation: str) -> Callable[[Call, Any], bool]:
    if flavour == "anthropic":
        return anthropic_usage.on_event
    if operation == "responses":
        return openai_usage.on_response_event
    return openai_usage.on_chat_chunk


def _answer_reader(flavour: str) -> Callable[[Call, Any], None]:
    return anthropic_usage.from_answer if flavour == "anthropic" else openai_usage.from_response


def _unset(value: Any) -> bool:
    return value is None or (not value and type(value).__name__ in ("Omit", "NotGiven"))


def _fail(call: Call, exc: BaseException) -> None:
    try:
        call.finish("error", exc)
    except Exception:
        log_once("finish", "llmobserve: could not record a failed call", exc_info=True)


_NO_BODY: dict[str, Any] = {}


def _begin(flavour: str, client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call | None:
    """Start a Call when this request is a model call; may add `stream_options` to the request body.

    Guarded: a failure of ours is logged once and the call goes on unrecorded; the budget check's
    refusal (`BudgetExceeded`) is the one exception that reaches the caller. The raw-response mode
    is kept on the call (`call.mode`)."""
    try:
        options = args[1] if len(args) > 1 else kwargs.get("options")
        url = getattr(options, "url", None)
        op = _OPERATIONS.get(url) if type(url) is str else None
        if op is None:
            op = operation_of(url)
            if op is None:
                return None
        body = options.json_data
        if not isinstance(body, dict):
            body = _NO_BODY
        stream = kwargs.get("stream") is True
        call = Call(op, detect_provider(client, flavour, CONFIG.provider), body.get("model"), stream,
                    body.get("service_tier"))
        if stream and op == "chat" and CONFIG.capture_stream_usage and _unset(body.get("stream_options")):
            # A new dict: the caller's own body (LiteLLM passes one to `post()`) is never changed.
            options.json_data = {**body, "stream_options": {"include_usage": True}}
            call.hide_usage_chunk = True  # the user did not ask for the usage chunk: keep it from them
        headers = options.headers
        if headers:  # NotGiven and Omit are falsy
            call.mode = headers.get(_RAW_HEADER) or headers.get(_RAW_HEADER_LOWER)
        if _litellm._handler is not None:  # LiteLLM in use: its callback must not record this call again
            _litellm.note_client_call()
        check = CONFIG.before_call
        if check is not None:
            check(call)
        return call
    except Exception as exc:
        if type(exc).__name__ == "BudgetExceeded":  # the opt-in pre-call check refuses the call
            raise
        log_once("start", "llmobserve: could not start recording a call", exc_info=True)
        return None


def _late_finish(call: Call, http_response: Any) -> None:
    """A raw-mode answer the caller read (or dropped) themselves: record what its body says."""
    if call.done:
        return
    try:
        content = getattr(http_response, "_content", None)
        if content and not call.stream:
            reader = anthropic_usage.from_response if call.operation == "messages" else openai_usage.from_response
            reader(call, _Dict(json.loads(content)))
        call.finish("ok" if not call.stream or call.complete else "incomplete")
    except Exception:
        log_once("late", "llmobserve: could not record a raw response", exc_info=True)


class _Dict(dict):  # type: ignore[type-arg]
    """A JSON object read by attribute, as the extractors read the clients' models."""

    def __getattr__(self, name: str) -> Any:
        value = self.get(name)
        return _Dict(value) if isinstance(value, dict) else value


def _end(call: Call, result: Any, flavour: str) -> Any:
    """Arrange for a stream or a raw-mode answer to be recorded; answers what the caller gets."""
    mode = call.mode
    try:
        if mode is None:  # a stream (a whole parsed answer is read by the request wrapper itself)
            if call.hide_usage_chunk:
                _skip_usage_event(result, call)
            return StreamProxy(result, call, _item_reader(flavour, call.operation))
        http_response = getattr(result, "http_response", None)
        if call.stream:
            _pending[http_response] = call  # the Stream its `.parse()` builds finds the call here
            weakref.finalize(http_response, _late_finish, call, None)  # never iterated: incomplete
        elif http_response is not None and http_response.is_closed:  # with_raw_response ("true", "raw")
            # Body already read: parse it as the caller will (the client caches the parsed object,
            # so the caller's own `.parse()` costs nothing more). An async `parse` is awaited by
            # the async wrapper.
            parsed = result.parse()
            if hasattr(parsed, "__await__"):
                return _Later(parsed, result)
            _answer_reader(flavour)(call, parsed)
            call.finish("ok")
        else:  # with_streaming_response: the caller reads the body later, or never
            _hook_read(result, call, http_response)
            weakref.finalize(result, _late_finish, call, http_response)
    except Exception:
        log_once("extract", "llmobserve: could not read usage from an answer", exc_info=True)
    return result


def _read_answer(reader: Callable[[Call, Any], None], call: Call, result: Any) -> None:
    """Record a whole parsed answer (the common case: no stream, no raw mode)."""
    try:
        reader(call, result)
        call.finish("ok")
    except Exception:
        log_once("extract", "llmobserve: could not read usage from an answer", exc_info=True)


class _Later:
    """An async client's parse still to await before the answer can be read."""

    __slots__ = ("pending", "result")

    def __init__(self, pending: Any, result: Any) -> None:
        self.pending = pending
        self.result = result


async def _finish_later(call: Call, later: _Later, flavour: str) -> Any:
    try:
        _answer_reader(flavour)(call, await later.pending)
        call.finish("ok")
    except Exception:
        log_once("extract", "llmobserve: could not read usage from an answer", exc_info=True)
    return later.result


def before_call(call: Call) -> None:
    """The opt-in check run with a new Call before the provider is invoked (budget enforcement)."""
    check = CONFIG.before_call
    if check is not None:
        check(call)


def start_guarded(start: Callable[..., Any], *args: Any) -> Any:
    """Run one SDK's start step when the SDK is on: a failure of ours is logged once and the call goes
    on unrecorded; the budget check's refusal is the one exception that reaches the caller."""
    if not CONFIG.active:
        return None
    try:
        return start(*args)
    except Exception as exc:
        if type(exc).__name__ == "BudgetExceeded":  # the opt-in pre-call check refuses the call
            raise
        log_once("start", "llmobserve: could not start recording a call", exc_info=True)
        return None


def make_request_wrapper(target: Target, original: Callable[..., Any]) -> Callable[..., Any]:
    """The clients' `request`: one Call per model call, finished here or by its stream.

    A plain function set on the class (not a wrapt wrapper: binding one of those costs ~2 µs a call,
    as much as the rest of the recording), calling `original(self, ...)` with what it was given."""
    flavour = target.flavour
    reader = _answer_reader(flavour)

    if target.is_async:

        async def async_request(self: Any, *args: Any, **kwargs: Any) -> Any:
            if not CONFIG.active:
                return await original(self, *args, **kwargs)
            began = _whole.start(args, kwargs)
            if began is not None:  # a whole answer: the fast path
                try:
                    result = await original(self, *args, **kwargs)
                except BaseException as exc:
                    _whole.failed(began, flavour, self, exc)
                    raise
                _whole.done(began, flavour, self, result)
                return result
            call = _begin(flavour, self, args, kwargs)
            if call is None:
                return await original(self, *args, **kwargs)
            try:
                result = await original(self, *args, **kwargs)
            except BaseException as exc:
                _fail(call, exc)
                raise
            if call.mode is None and not call.stream:
                _read_answer(reader, call, result)
                return result
            answer = _end(call, result, flavour)
            if type(answer) is _Later:
                return await _finish_later(call, answer, flavour)
            return answer

        return async_request

    def request(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not CONFIG.active:
            return original(self, *args, **kwargs)
        began = _whole.start(args, kwargs)
        if began is not None:  # a whole answer: the fast path
            try:
                result = original(self, *args, **kwargs)
            except BaseException as exc:
                _whole.failed(began, flavour, self, exc)
                raise
            _whole.done(began, flavour, self, result)
            return result
        call = _begin(flavour, self, args, kwargs)
        if call is None:
            return original(self, *args, **kwargs)
        try:
            result = original(self, *args, **kwargs)
        except BaseException as exc:
            _fail(call, exc)
            raise
        if call.mode is None and not call.stream:  # a whole parsed answer: the common case, inline
            try:
                reader(call, result)
                call.finish("ok")
            except Exception:
                log_once("extract", "llmobserve: could not read usage from an answer", exc_info=True)
            return result
        return _end(call, result, flavour)

    return request


def _skip_usage_event(stream: Any, call: Call) -> None:
    """Read the usage-only chunk we asked for straight from its SSE event and drop it there.

    The client would otherwise build a pydantic `ChatCompletionChunk` the user never sees (about half
    of what a stream cost us). `Stream.__stream__` looks `_iter_events` up on the instance when the
    caller starts iterating, so an instance attribute set now filters the events it parses. An event
    this does not recognise passes on, and the stream proxy still hides and reads it.
    """
    events = stream._iter_events

    def filtered() -> Any:
        for sse in events():
            if not _is_usage_event(call, sse.data):
                yield sse

    async def afiltered() -> Any:
        async for sse in events():
            if not _is_usage_event(call, sse.data):
                yield sse

    stream._iter_events = afiltered if inspect.isasyncgenfunction(events) else filtered


def _is_usage_event(call: Call, data: str) -> bool:
    """True when `data` is a usage-only chat chunk, now recorded on `call` (the cheap test first)."""
    if '"choices":[]' not in data and '"choices": []' not in data:
        return False
    try:
        chunk = json.loads(data)
        if type(chunk) is not dict or chunk.get("choices") != [] or type(chunk.get("usage")) is not dict:
            return False
        return openai_usage.on_chat_chunk(call, _Dict(chunk))
    except Exception:
        return False


def _hook_read(result: Any, call: Call, http_response: Any) -> None:
    """Record a `with_streaming_response` answer once the caller reads its body (`read()`, which
    `parse()`, `text()` and `json()` call on the instance). An instance attribute, so the class's
    `read` stays unpatched and every other call pays nothing for this path."""
    read = result.read
    if inspect.iscoroutinefunction(read):

        async def aread() -> bytes:
            content = await read()
            _late_finish(call, http_response)
            return content  # type: ignore[no-any-return]

        result.read = aread
    else:

        def sread() -> bytes:
            content = read()
            _late_finish(call, http_response)
            return content  # type: ignore[no-any-return]

        result.read = sread


def _sse_call(stream: Any) -> Call | None:
    try:
        return _pending.pop(stream.response, None) if _pending else None
    except Exception:
        return None


def make_sse_wrapper(target: Target, original: Callable[..., Any]) -> Callable[..., Any]:
    """`Stream.__stream__`: watch the events of a raw-mode stream the caller parsed.
    `__stream__` returns a generator (async for `AsyncStream`) without running it: one wrapper serves."""
    flavour = target.flavour
    watch = _watch_async if target.is_async else _watch_sync

    def __stream__(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = _sse_call(self)
        inner = original(self, *args, **kwargs)
        if call is None:
            return inner
        if call.hide_usage_chunk:
            _skip_usage_event(self, call)
        return watch(inner, call, _item_reader(flavour, call.operation))

    return __stream__


class _Watching:
    """How a watched generator ended, recorded once on exit: run to the end (`ok`), an error raised
    through it (`error`), or closed early (GeneratorExit: `ok` only if the final usage arrived)."""

    __slots__ = ("call", "status")

    def __init__(self, call: Call) -> None:
        self.call = call
        self.status: str | None = None

    def __enter__(self) -> _Watching:
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        if exc is None or isinstance(exc, GeneratorExit):
            stream_ended(self.call, self.status)
        else:
            stream_ended(self.call, "error", exc)
        return False


def _watch_sync(inner: Any, call: Call, on_item: Callable[[Call, Any], bool]) -> Any:
    with _Watching(call) as watching:
        for item in inner:
            if not observe_item(call, on_item, item):
                yield item
        watching.status = "ok"


async def _watch_async(inner: Any, call: Call, on_item: Callable[[Call, Any], bool]) -> Any:
    with _Watching(call) as watching:
        async for item in inner:
            if not observe_item(call, on_item, item):
                yield item
        watching.status = "ok"


Factory = Callable[[Target, Callable[..., Any]], Callable[..., Any]]
"""A call kind's factory: (target, the original method) -> the method to set on the class."""

FACTORIES: dict[str, Factory] = {
    "request": make_request_wrapper,
    "sse": make_sse_wrapper,
}
