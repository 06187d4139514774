"""LangChain's chat models: `invoke` goes through `with_raw_response`, `stream` through `create`."""

from __future__ import annotations

import pytest

pytest.importorskip("langchain_openai")
pytest.importorskip("langchain_anthropic")

from langchain_anthropic import ChatAnthropic  # noqa: E402
from langchain_openai import ChatOpenAI  # noqa: E402

from tests.sdk.fakes import CHAT_MODEL  # noqa: E402

# LangChain keeps one async HTTP client per process: its async tests share one event loop.
same_loop = pytest.mark.asyncio(loop_scope="module")


def _openai(provider_server, **kw):
    return ChatOpenAI(model="gpt-4o-mini", api_key="sk-test", base_url=provider_server.url + "/v1",
                      max_retries=0, **kw)


def _anthropic(provider_server, **kw):
    return ChatAnthropic(model="claude-3-5-sonnet-20240620", api_key="sk-ant-test",
                         base_url=provider_server.url, max_retries=0, **kw)


def _chat_event(ev, stream):
    assert (ev["provider"], ev["model"], ev["operation"], ev["stream"], ev["status"]) == (
        "openai", CHAT_MODEL, "chat", stream, "ok")
    assert (ev["input_tokens"], ev["cached_input_tokens"], ev["output_tokens"], ev["reasoning_tokens"]) == (
        12, 4, 5, 2)


def test_chat_openai_invoke(obs, provider_server):
    msg = _openai(provider_server).invoke("hi")
    assert msg.content == '{"answer":"hi"}' and msg.usage_metadata["input_tokens"] == 12
    _chat_event(obs.one(), stream=False)


@same_loop
async def test_chat_openai_ainvoke(obs, provider_server):
    msg = await _openai(provider_server).ainvoke("hi")
    assert msg.usage_metadata["output_tokens"] == 5
    _chat_event(obs.one(), stream=False)


def test_chat_openai_stream(obs, provider_server):
    text = "".join(chunk.content for chunk in _openai(provider_server).stream("hi"))
    assert text == '{"answer":"hi"}'
    _chat_event(obs.one(), stream=True)


def test_chat_openai_stream_usage_asked_by_langchain(obs, provider_server):
    chunks = list(_openai(provider_server, stream_usage=True).stream("hi"))
    assert sum((c.usage_metadata or {}).get("input_tokens", 0) for c in chunks) == 12  # LangChain's own view
    _chat_event(obs.one(), stream=True)


@same_loop
async def test_chat_openai_astream(obs, provider_server):
    chunks = [c async for c in _openai(provider_server).astream("hi")]
    assert chunks
    _chat_event(obs.one(), stream=True)


def _anthropic_event(ev, stream):
    assert (ev["provider"], ev["model"], ev["operation"], ev["stream"], ev["status"]) == (
        "anthropic", "claude-3-5-sonnet-20240620", "messages", stream, "ok")


def test_chat_anthropic_invoke(obs, provider_server):
    msg = _anthropic(provider_server).invoke("hi")
    assert msg.content
    ev = obs.one()
    _anthropic_event(ev, stream=False)
    assert (ev["input_tokens"], ev["cached_input_tokens"], ev["cache_write_tokens"], ev["output_tokens"]) == (
        1167, 1163, 0, 202)


@same_loop
async def test_chat_anthropic_ainvoke(obs, provider_server):
    await _anthropic(provider_server).ainvoke("hi")
    ev = obs.one()
    _anthropic_event(ev, stream=False)
    assert ev["input_tokens"] == 1167


def test_chat_anthropic_stream(obs, provider_server):
    chunks = list(_anthropic(provider_server).stream("hi"))
    assert chunks
    ev = obs.one()
    _anthropic_event(ev, stream=True)
    assert (ev["input_tokens"], ev["cache_write_tokens"], ev["output_tokens"]) == (1169, 1165, 201)
