"""Usage from OpenAI-shaped answers: Chat Completions, Responses, Embeddings (also Azure and compatibles).

`prompt_tokens`/`input_tokens` already include cached tokens; `*_details` objects may be missing
(older answers) and every missing count is 0.
"""

from __future__ import annotations

from typing import Any

from .._call import Call


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def apply_usage(call: Call, usage: Any) -> None:
    # One getter for the whole usage object: the clients' models are read by attribute, JSON by key.
    get = usage.get if isinstance(usage, dict) else lambda name: getattr(usage, name, None)
    inp = get("prompt_tokens")
    if inp is None:
        inp = get("input_tokens")
    out = get("completion_tokens")
    if out is None:
        out = get("output_tokens")
    in_details = get("prompt_tokens_details") or get("input_tokens_details")
    out_details = get("completion_tokens_details") or get("output_tokens_details")
    call.input_tokens = inp or 0
    call.output_tokens = out or 0
    if in_details is None:
        call.cached_input_tokens = call.cache_write_tokens = 0
    else:
        call.cached_input_tokens = _get(in_details, "cached_tokens") or 0
        call.cache_write_tokens = _get(in_details, "cache_write_tokens") or 0
    call.reasoning_tokens = _get(out_details, "reasoning_tokens") or 0 if out_details is not None else 0


def _note_model_and_tier(call: Call, obj: Any) -> None:
    """The model as the provider answered it, and the service tier it says it used."""
    model = _get(obj, "model")
    if model:
        call.model = model
    tier = _get(obj, "service_tier")
    if isinstance(tier, str):
        call.service_tier = tier


def from_response(call: Call, resp: Any) -> None:
    """A whole answer: ChatCompletion, ParsedChatCompletion, Response, CreateEmbeddingResponse."""
    _note_model_and_tier(call, resp)
    usage = _get(resp, "usage")
    if usage is not None:
        apply_usage(call, usage)


def on_chat_chunk(call: Call, chunk: Any) -> bool:
    """Accumulate one chat chunk; True when it is our injected usage-only chunk, to hide from the user."""
    _note_model_and_tier(call, chunk)
    usage = _get(chunk, "usage")
    if usage is None:
        return False
    apply_usage(call, usage)
    call.complete = True
    return call.hide_usage_chunk and not _get(chunk, "choices")


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
