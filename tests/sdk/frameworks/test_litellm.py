"""LiteLLM: OpenAI-routed calls go through the openai client's `post()`; each is recorded once."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch the price map at import
litellm = pytest.importorskip("litellm")

from tests.sdk.fakes import CHAT_MODEL  # noqa: E402

MSG = [{"role": "user", "content": "hi"}]
same_loop = pytest.mark.asyncio(loop_scope="module")


def _args(provider_server):
    return {"model": "openai/gpt-4o-mini", "messages": MSG, "api_key": "sk-test",
            "api_base": provider_server.url + "/v1", "num_retries": 0}


def _check(ev, stream):
    assert (ev["provider"], ev["model"], ev["operation"], ev["stream"], ev["status"]) == (
        "openai", CHAT_MODEL, "chat", stream, "ok")
    assert (ev["input_tokens"], ev["cached_input_tokens"], ev["output_tokens"], ev["reasoning_tokens"]) == (
        12, 4, 5, 2)


def test_completion(obs, provider_server):
    resp = litellm.completion(**_args(provider_server))
    assert resp.usage.prompt_tokens == 12 and resp.choices[0].message.content == '{"answer":"hi"}'
    _check(obs.one(), stream=False)


@same_loop
async def test_acompletion(obs, provider_server):
    resp = await litellm.acompletion(**_args(provider_server))
    assert resp.usage.completion_tokens == 5
    _check(obs.one(), stream=False)


def test_completion_stream(obs, provider_server):
    chunks = list(litellm.completion(**_args(provider_server), stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == '{"answer":"hi"}'
    _check(obs.one(), stream=True)


@same_loop
async def test_acompletion_stream(obs, provider_server):
    stream = await litellm.acompletion(**_args(provider_server), stream=True)
    chunks = [c async for c in stream]
    assert chunks
    _check(obs.one(), stream=True)
