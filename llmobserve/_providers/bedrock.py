"""Usage from AWS Bedrock Runtime's Converse API (boto3 `converse`, `converse_stream`).

Bedrock's `inputTokens` counts only the uncached input: `cacheReadInputTokens` and
`cacheWriteInputTokens` come on top (`totalTokens` = input + output + cache reads + cache writes), so
input = inputTokens + cacheReadInputTokens + cacheWriteInputTokens, as for Anthropic. Reasoning is
inside `outputTokens` with no separate count. A stream's usage arrives in its final `metadata` event.
"""

from __future__ import annotations

from typing import Any

from .._call import Call


def apply_usage(call: Call, usage: Any) -> None:
    if not isinstance(usage, dict):
        return
    read = usage.get("cacheReadInputTokens") or 0
    write = usage.get("cacheWriteInputTokens") or 0
    call.input_tokens = (usage.get("inputTokens") or 0) + read + write
    call.cached_input_tokens = read
    call.cache_write_tokens = write
    call.output_tokens = usage.get("outputTokens") or 0
    call.reasoning_tokens = 0


def from_response(call: Call, resp: Any) -> None:
    """A whole Converse answer (a dict)."""
    if isinstance(resp, dict):
        apply_usage(call, resp.get("usage"))
        tier = (resp.get("serviceTier") or {}).get("type") if isinstance(resp.get("serviceTier"), dict) else None
        if isinstance(tier, str):
            call.service_tier = tier


def on_event(call: Call, event: Any) -> bool:
    """Accumulate one ConverseStream event (`{"messageStop": …}`, `{"metadata": {"usage": …}}`)."""
    if isinstance(event, dict):
        meta = event.get("metadata")
        if meta is not None:
            apply_usage(call, meta.get("usage"))
            call.complete = True
    return False
