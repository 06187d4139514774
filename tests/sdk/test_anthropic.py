"""Anthropic client calls through the SDK: create, parse, stream=True, the stream helper, beta."""

from __future__ import annotations

import anthropic
import pytest

from .fakes import error_reply, fixture_reply

MSG = [{"role": "user", "content": "hi"}]
MODEL = "claude-3-5-sonnet-20240620"


def kw(**extra):
    return {"model": "claude-3-5-sonnet", "max_tokens": 64, "messages": MSG, **extra}


def assert_cache_read(ev):  # anthropic/prompt_cache_read: input 4 + cache_read 1163
    assert (ev["input_tokens"], ev["cached_input_tokens"], ev["cache_write_tokens"], ev["output_tokens"],
            ev["reasoning_tokens"]) == (1167, 1163, 0, 202, 0)
    assert (ev["model"], ev["provider"], ev["operation"], ev["stream"], ev["status"]) == (
        MODEL, "anthropic", "messages", False, "ok")


def assert_cache_write_stream(ev):  # anthropic/prompt_cache_write_stream
    assert (ev["input_tokens"], ev["cached_input_tokens"], ev["cache_write_tokens"], ev["output_tokens"]) == (
        1169, 0, 1165, 201)
    assert (ev["model"], ev["stream"], ev["status"]) == (MODEL, True, "ok")
    assert ev["time_to_first_token_ms"] is not None


def test_create_and_parse(obs, ant):
    msg = ant.messages.create(**kw())
    assert msg.usage.cache_read_input_tokens == 1163
    ant.messages.parse(**kw())
    events = obs.events()
    assert len(events) == 2
    for ev in events:
        assert_cache_read(ev)


async def test_async_create_and_parse(obs, aant):
    await aant.messages.create(**kw())
    await aant.messages.parse(**kw())
    events = obs.events()
    assert len(events) == 2
    for ev in events:
        assert_cache_read(ev)


def test_create_stream(obs, ant):
    events = list(ant.messages.create(**kw(stream=True)))
    assert events[0].type == "message_start" and events[-1].type == "message_stop"
    assert_cache_write_stream(obs.one())


async def test_async_create_stream(obs, aant):
    stream = await aant.messages.create(**kw(stream=True))
    async for _ in stream:
        pass
    assert_cache_write_stream(obs.one())


def test_stream_helper_text_stream(obs, ant):
    with ant.messages.stream(**kw()) as stream:
        text = "".join(stream.text_stream)
    assert text
    assert_cache_write_stream(obs.one())


def test_stream_helper_get_final_message(obs, ant):
    with ant.messages.stream(**kw()) as stream:
        final = stream.get_final_message()
    assert final.usage.output_tokens == 201
    assert_cache_write_stream(obs.one())


async def test_async_stream_helper(obs, aant):
    async with aant.messages.stream(**kw()) as stream:
        async for _ in stream.text_stream:
            pass
        final = await stream.get_final_message()
    assert final.usage.output_tokens == 201
    assert_cache_write_stream(obs.one())


def test_stream_helper_abandoned_is_incomplete(obs, ant):
    with ant.messages.stream(**kw()) as stream:
        next(iter(stream))
    ev = obs.one()
    assert ev["status"] == "incomplete" and ev["input_tokens"] == 1169 and ev["stream"] is True


def test_beta_messages(obs, ant, provider_server):
    provider_server.reply(fixture_reply("anthropic/messages_beta_structured_output"))
    ant.beta.messages.create(**kw(betas=["structured-outputs-2025-11-13"]))
    with ant.beta.messages.stream(**kw()) as stream:
        stream.get_final_message()
    ant.beta.messages.parse(**kw())
    events = obs.events()
    assert [(e["input_tokens"], e["output_tokens"], e["stream"]) for e in events] == [
        (222, 39, False), (1169, 201, True), (1167, 202, False)]


async def test_async_beta_messages(obs, aant):
    await aant.beta.messages.create(**kw())
    async with aant.beta.messages.stream(**kw()) as stream:
        await stream.get_final_message()
    events = obs.events()
    assert [e["stream"] for e in events] == [False, True]


def test_error_reraised_and_recorded(obs, ant, provider_server):
    provider_server.reply(error_reply(529))
    with pytest.raises(anthropic.APIStatusError) as info:
        ant.messages.create(**kw())
    assert info.value.status_code == 529
    ev = obs.one()
    assert (ev["status"], ev["http_status"], ev["model"], ev["input_tokens"]) == (
        "error", 529, "claude-3-5-sonnet", 0)
    assert ev["error_type"] == type(info.value).__name__


def test_stream_helper_error(obs, ant, provider_server):
    provider_server.reply(error_reply(400))
    with pytest.raises(anthropic.BadRequestError):
        with ant.messages.stream(**kw()):
            pass
    ev = obs.one()
    assert (ev["status"], ev["http_status"], ev["stream"]) == ("error", 400, True)


def test_unknown_host_is_anthropic_flavour(obs, ant):
    ant.messages.create(**kw())
    assert obs.one()["provider"] == "anthropic"
