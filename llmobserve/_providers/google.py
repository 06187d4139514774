"""Usage from Google's `google-genai` answers (`GenerateContentResponse.usage_metadata`).

`prompt_token_count` already includes `cached_content_token_count`; tool-use prompt tokens are input
too. Thinking tokens (`thoughts_token_count`) are billed as output, beside `candidates_token_count`,
so output = candidates + thoughts and reasoning = thoughts. In a stream every chunk may carry the
running counts: the last one replaces the earlier ones.
"""

from __future__ import annotations

from typing import Any

from .._call import Call


def model_name(model: Any) -> str | None:
    """`models/gemini-2.5-flash` → `gemini-2.5-flash` (the name price lists use)."""
    if not isinstance(model, str):
        return None
    return model[7:] if model.startswith("models/") else model


def from_response(call: Call, resp: Any) -> None:
    """One GenerateContentResponse (a whole answer or one stream chunk)."""
    model = getattr(resp, "model_version", None)
    if isinstance(model, str) and model:
        call.model = model_name(model)
    usage = getattr(resp, "usage_metadata", None)
    if usage is None:
        return
    thoughts = getattr(usage, "thoughts_token_count", None) or 0
    call.input_tokens = (getattr(usage, "prompt_token_count", None) or 0) + (
        getattr(usage, "tool_use_prompt_token_count", None) or 0)
    call.cached_input_tokens = getattr(usage, "cached_content_token_count", None) or 0
    call.output_tokens = (getattr(usage, "candidates_token_count", None) or 0) + thoughts
    call.reasoning_tokens = thoughts


def on_chunk(call: Call, chunk: Any) -> bool:
    """Accumulate one stream chunk; a candidate with a finish reason ends the answer."""
    from_response(call, chunk)
    for candidate in getattr(chunk, "candidates", None) or ():
        if getattr(candidate, "finish_reason", None):
            call.complete = True
    return False
