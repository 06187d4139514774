"""Usage from Anthropic Messages answers and streams.

Anthropic's `input_tokens` excludes cache reads and writes, so input = input + cache_creation +
cache_read. In streams `message_start` holds input and cache counts and the final `message_delta`
holds cumulative counts that replace (never add to) any field it repeats. Thinking is in output_tokens.
`cache_creation.ephemeral_1h_input_tokens` is the part of the cache writes made with a one-hour
lifetime (priced at the 1-hour write rate).
"""

from __future__ import annotations

from typing import Any

from .._call import Call
from ._fields import Fields

_FIELDS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
_1H = "ephemeral_1h_input_tokens"
_USAGE = Fields(*_FIELDS, "cache_creation", "service_tier")
_CREATION = Fields(_1H)
_MESSAGE = Fields("model", "usage")
_EVENT = Fields("type")
_START = Fields("message")
_DELTA = Fields("usage")


def _normalise(call: Call, raw: dict[str, int]) -> None:
    cw = raw.get("cache_creation_input_tokens", 0)
    cr = raw.get("cache_read_input_tokens", 0)
    call.input_tokens = raw.get("input_tokens", 0) + cw + cr
    call.cached_input_tokens = cr
    call.cache_write_tokens = cw
    call.cache_write_1h_tokens = min(raw.get(_1H, 0), cw)
    call.output_tokens = raw.get("output_tokens", 0)
    call.reasoning_tokens = 0


def merge_usage(call: Call, usage: Any) -> None:
    """Fold one usage object into the call's counters (cumulative counts replace earlier ones)."""
    if usage is None:
        return
    raw = call.raw if call.raw is not None else {}
    *counts, creation, tier = _USAGE.read(usage)
    for name, value in zip(_FIELDS, counts):
        if isinstance(value, int):
            raw[name] = value  # replace, never add: message_delta counts are cumulative
    if creation is not None:
        one_hour = _CREATION.read(creation)[0]
        if isinstance(one_hour, int):
            raw[_1H] = one_hour
    call.raw = raw
    if isinstance(tier, str):
        call.service_tier = tier
    _normalise(call, raw)


def from_response(call: Call, msg: Any) -> None:
    """A whole Message (also BetaMessage and ParsedMessage)."""
    if msg is None:
        return
    model, usage = _MESSAGE.read(msg)
    if model:
        call.model = model
    merge_usage(call, usage)


def from_answer(call: Call, msg: Any) -> None:
    """A whole Message as the caller's answer: its usage is read when the event is built."""
    if msg is None:
        return
    model, usage = _MESSAGE.read(msg)
    if model:
        call.model = model
    if usage is not None:
        call.defer_usage(merge_usage, usage)


def on_event(call: Call, event: Any) -> bool:
    """Accumulate one raw stream event."""
    kind = _EVENT.read(event)[0]
    if kind == "message_start":
        from_response(call, _START.read(event)[0])
    elif kind == "message_delta":
        merge_usage(call, _DELTA.read(event)[0])
    elif kind == "message_stop":
        call.complete = True
    return False
