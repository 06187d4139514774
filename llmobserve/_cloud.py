"""Wrapper factories for the cloud SDKs: Google's `google-genai` and AWS Bedrock Runtime via boto3.

- `genai`: `Models._generate_content` / `_generate_content_stream` (and the `AsyncModels` pair), each
  one HTTP request, so automatic function calling and continuation hops each count once, as billed.
  `models.generate_content`, `generate_content_stream` and `client.aio.models.*` all pass there.
- `bedrock`: botocore's `BaseClient._make_api_call`, the one path of every boto3 call; only the
  `bedrock-runtime` operations `Converse` and `ConverseStream` are recorded. A stream's `stream`
  entry in the answer becomes a transparent proxy that records once, like the other streams.
"""

from __future__ import annotations

from typing import Any, Callable

from ._call import Call
from ._log import log_once
from ._providers import bedrock as bedrock_usage
from ._providers import google as google_usage
from ._stream import StreamProxy
from ._wrappers import Factory, Target, _fail, _watch_async, _watch_sync, before_call, start_guarded


def _genai_start(kwargs: dict[str, Any], stream: bool) -> Call:
    call = Call("generate_content", "google", google_usage.model_name(kwargs.get("model")), stream, None)
    before_call(call)
    return call


def _genai_call(kwargs: dict[str, Any], stream: bool) -> Call | None:
    return start_guarded(_genai_start, kwargs, stream)  # type: ignore[no-any-return]


def _genai_done(call: Call, resp: Any) -> None:
    try:
        google_usage.from_response(call, resp)
        call.finish("ok")
    except Exception:
        log_once("extract", "llmobserve: could not read usage from an answer", exc_info=True)


def make_genai_wrapper(target: Target, original: Callable[..., Any]) -> Callable[..., Any]:
    """`_generate_content` (a whole answer) or `_generate_content_stream` (chunks), sync or async."""
    stream = target.method.endswith("_stream")

    if target.is_async:

        async def async_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            call = _genai_call(kwargs, stream)
            if call is None:
                return await original(self, *args, **kwargs)
            try:
                result = await original(self, *args, **kwargs)
            except BaseException as exc:
                _fail(call, exc)
                raise
            if stream:  # an async iterator of chunks
                return _watch_async(result, call, google_usage.on_chunk)
            _genai_done(call, result)
            return result

        return async_wrapper

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = _genai_call(kwargs, stream)
        if call is None:
            return original(self, *args, **kwargs)
        if stream:  # a generator: the request is made on the first chunk, errors arrive there
            return _watch_sync(original(self, *args, **kwargs), call, google_usage.on_chunk)
        try:
            result = original(self, *args, **kwargs)
        except BaseException as exc:
            _fail(call, exc)
            raise
        _genai_done(call, result)
        return result

    return wrapper


_BEDROCK_OPERATIONS = {"Converse": False, "ConverseStream": True}


def _bedrock_start(client: Any, args: Any) -> Call | None:
    stream = _BEDROCK_OPERATIONS.get(args[0])
    if stream is None or client.meta.service_model.service_name != "bedrock-runtime":
        return None
    params = args[1] if isinstance(args[1], dict) else {}
    call = Call("converse", "bedrock", params.get("modelId"), stream, None)
    tier = params.get("serviceTier")
    if isinstance(tier, dict) and isinstance(tier.get("type"), str):
        call.service_tier = tier["type"]
    before_call(call)
    return call


def _bedrock_call(client: Any, args: Any) -> Call | None:
    if len(args) < 2 or args[0] not in _BEDROCK_OPERATIONS:  # every other boto3 call: straight through
        return None
    return start_guarded(_bedrock_start, client, args)  # type: ignore[no-any-return]


def make_bedrock_wrapper(target: Target, original: Callable[..., Any]) -> Callable[..., Any]:
    """botocore's `_make_api_call(operation_name, api_params)`: Converse answers and streams."""

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = _bedrock_call(self, args)
        if call is None:
            return original(self, *args, **kwargs)
        try:
            result = original(self, *args, **kwargs)
        except BaseException as exc:
            _fail(call, exc)
            raise
        try:
            if call.stream and isinstance(result, dict) and result.get("stream") is not None:
                result["stream"] = StreamProxy(result["stream"], call, bedrock_usage.on_event)
            else:
                bedrock_usage.from_response(call, result)
                call.finish("ok")
        except Exception:
            log_once("extract", "llmobserve: could not read usage from an answer", exc_info=True)
        return result

    return wrapper


FACTORIES: dict[str, Factory] = {
    "genai": make_genai_wrapper,
    "bedrock": make_bedrock_wrapper,
}
