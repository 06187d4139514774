"""Usage from OpenAI-shaped answers: Chat Completions, Responses, Embeddings (also Azure and compatibles).

`prompt_tokens`/`input_tokens` already include cached tokens; `*_details` objects may be missing
(older answers) and every missing count is 0. Each object is read once for all the names needed from
it (`Fields`: one C call on the clients' own models).
"""

from __future__ import annotations

from typing import Any

from .._call import Call
from ._fields import Fields
from ._fields import field as _get

_ANSWER = Fields("model", "service_tier", "usage")
_CHUNK = Fields("model", "service_tier", "usage", "choices")
_CHAT_USAGE = Fields("prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details")
_USAGE = Fields("input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details")
_IN_DETAILS = Fields("cached_tokens", "cache_write_tokens")
_OUT_DETAILS = Fields("reasoning_tokens")


def apply_usage(call: Call, usage: Any) -> None:
    inp, out, in_details, out_details = _CHAT_USAGE.read(usage)
    if inp is None or out is None or in_details is None or out_details is None:  # Responses, embeddings
        inp2, out2, in_details2, out_details2 = _USAGE.read(usage)
        inp = inp2 if inp is None else inp
        out = out2 if out is None else out
        in_details = in_details or in_details2
        out_details = out_details or out_details2
    call.input_tokens = inp or 0
    call.output_tokens = out or 0
    if in_details is None:
        call.cached_input_tokens = call.cache_write_tokens = 0
    else:
        cached, written = _IN_DETAILS.read(in_details)
        call.cached_input_tokens = cached or 0
        call.cache_write_tokens = written or 0
    call.reasoning_tokens = (_OUT_DETAILS.read(out_details)[0] or 0) if out_details is not None else 0


def _note(call: Call, model: Any, tier: Any) -> None:
    """The model as the provider answered it and the service tier it says it used."""
    if model:
        call.model = model
    if isinstance(tier, str):
        call.service_tier = tier


def from_response(call: Call, resp: Any) -> None:
    """A whole answer: ChatCompletion, ParsedChatCompletion, Response, CreateEmbeddingResponse.
    Its usage object is read when the event is built (`Call.defer_usage`)."""
    if resp is None:
        return
    model, tier, usage = _ANSWER.read(resp)
    if model:
        call.model = model
    if isinstance(tier, str):
        call.service_tier = tier
    if usage is not None:
        call.defer_usage(apply_usage, usage)


def on_chat_chunk(call: Call, chunk: Any) -> bool:
    """Accumulate one chat chunk; True when it is our injected usage-only chunk, to hide from the user."""
    model, tier, usage, choices = _CHUNK.read(chunk)
    _note(call, model, tier)
    if usage is None:
        return False
    apply_usage(call, usage)
    call.complete = True
    return call.hide_usage_chunk and not choices


_DONE = {"response.completed": None, "response.incomplete": None, "response.failed": "error"}


def on_response_event(call: Call, event: Any) -> bool:
    """Accumulate one Responses stream event (usage arrives in the terminal event)."""
    kind = _get(event, "type")
    if kind in _DONE:
        resp = _get(event, "response")
        from_response(call, resp)
        call.complete = True
        if _DONE[kind]:
            call.status = "error"
            call.error_type = str(_get(_get(resp, "error"), "code") or "response.failed")
    elif kind == "response.created":
        from_response(call, _get(event, "response"))
    return False
