"""Every path to a request is recorded once: raw and streaming responses, `post()`, stream helpers.

The choke point is the clients' own `request`; these tests take each path a framework takes
(LangChain's `with_raw_response`, the Agents SDK's `with_streaming_response`, LiteLLM's `post()`) and
check the caller still gets exactly what the client gives, with one event of exact usage.
"""

from __future__ import annotations

import gc
import types

import anthropic
import httpx
import openai
import pytest
from openai.types.chat import ChatCompletion

from .fakes import CHAT_MODEL
from .test_openai import MSG, assert_chat_usage


def test_with_raw_response_is_recorded_and_untouched(obs, oai):
    raw = oai.chat.completions.with_raw_response.create(model="m", messages=MSG)
    assert isinstance(raw, openai._legacy_response.LegacyAPIResponse)
    assert raw.http_response.json()["usage"]["prompt_tokens"] == 12  # body still readable
    assert raw.headers["content-type"] == "application/json"
    assert raw.parse().usage.prompt_tokens == 12
    assert_chat_usage(obs.one())


async def test_async_with_raw_response(obs, aoai):
    raw = await aoai.chat.completions.with_raw_response.create(model="m", messages=MSG)
    assert raw.parse().choices[0].message.content == '{"answer":"hi"}'
    assert_chat_usage(obs.one())


def test_with_raw_response_stream_parsed_by_caller(obs, oai, provider_server):
    raw = oai.chat.completions.with_raw_response.create(model="m", messages=MSG, stream=True)
    chunks = list(raw.parse())
    assert provider_server.requests[-1]["body"]["stream_options"] == {"include_usage": True}
    assert len(chunks) == 4 and all(c.choices for c in chunks)  # our usage chunk stays hidden
    assert_chat_usage(obs.one(), stream=True)


async def test_async_with_raw_response_stream(obs, aoai):
    raw = await aoai.chat.completions.with_raw_response.create(model="m", messages=MSG, stream=True)
    chunks = [c async for c in raw.parse()]
    assert len(chunks) == 4
    ev = obs.one()
    assert_chat_usage(ev, stream=True)
    assert ev["time_to_first_token_ms"] is not None


def test_with_streaming_response_read_by_caller(obs, oai):
    with oai.chat.completions.with_streaming_response.create(model="m", messages=MSG) as resp:
        assert resp.json()["model"] == CHAT_MODEL
    assert_chat_usage(obs.one())


def test_with_streaming_response_parse(obs, oai):
    with oai.chat.completions.with_streaming_response.create(model="m", messages=MSG) as resp:
        assert resp.parse().usage.completion_tokens == 5
    assert_chat_usage(obs.one())


async def test_async_with_streaming_response_stream(obs, aoai):
    """What the Agents SDK's `run_streamed` does: a streaming response whose SSE body it parses."""
    async with aoai.responses.with_streaming_response.create(model="gpt-4.1-nano", input="hi",
                                                             stream=True) as resp:
        events = [e async for e in await resp.parse()]
    assert events[-1].type == "response.completed"
    ev = obs.one()
    assert (ev["operation"], ev["stream"], ev["status"], ev["input_tokens"], ev["output_tokens"]) == (
        "responses", True, "ok", 18, 80)


def test_with_streaming_response_never_read_is_recorded_once(obs, oai):
    with oai.chat.completions.with_streaming_response.create(model="m", messages=MSG) as resp:
        assert resp.status_code == 200
    del resp
    gc.collect()
    ev = obs.one()
    assert (ev["status"], ev["model"], ev["input_tokens"]) == ("ok", "m", 0)


def test_raw_stream_abandoned_is_incomplete(obs, oai):
    raw = oai.chat.completions.with_raw_response.create(model="m", messages=MSG, stream=True)
    stream = raw.parse()
    next(iter(stream))
    del raw, stream
    gc.collect()
    ev = obs.one()
    assert (ev["status"], ev["stream"]) == ("incomplete", True)


def test_client_post_as_litellm_calls_it(obs, oai):
    """LiteLLM calls `post()` itself, with its headers in a MappingProxyType, and parses the result."""
    body = {"model": "gpt-4o-mini", "messages": MSG}
    raw = oai.post("/chat/completions", body=body, cast_to=ChatCompletion,
                   options={"headers": types.MappingProxyType({"X-Stainless-Raw-Response": "true"})})
    assert raw.parse().usage.total_tokens == 17
    plain = oai.post("/chat/completions", body=body, cast_to=ChatCompletion)
    assert plain.model == CHAT_MODEL
    events = obs.events()
    assert len(events) == 2
    for ev in events:
        assert_chat_usage(ev)


def test_client_post_stream_leaves_callers_body_alone(obs, oai, provider_server):
    body = {"model": "gpt-4o-mini", "messages": MSG, "stream": True}
    stream = oai.post("/chat/completions", body=body, cast_to=ChatCompletion, stream=True,
                      stream_cls=openai.Stream[openai.types.chat.ChatCompletionChunk])
    assert len(list(stream)) == 4
    assert "stream_options" not in body  # our option went into a copy
    assert provider_server.requests[-1]["body"]["stream_options"] == {"include_usage": True}
    assert_chat_usage(obs.one(), stream=True)


def test_other_requests_are_not_calls(obs, oai, provider_server):
    provider_server.reply((200, "application/json", '{"object": "list", "data": []}'))
    oai.post("/files/list", body={}, cast_to=httpx.Response)
    assert obs.events() == []


def test_anthropic_raw_and_streaming_responses(obs, ant):
    args = {"model": "claude-3-5-sonnet-20240620", "max_tokens": 10, "messages": MSG}
    raw = ant.messages.with_raw_response.create(**args)
    assert raw.parse().usage.cache_read_input_tokens == 1163
    with ant.messages.with_streaming_response.create(**args, stream=True) as resp:
        for _ in resp.parse():
            pass
    events = obs.events()
    assert [(e["stream"], e["input_tokens"], e["cached_input_tokens"], e["cache_write_tokens"]) for e in events] == [
        (False, 1167, 1163, 0), (True, 1169, 0, 1165)]
    assert all(e["provider"] == "anthropic" and e["status"] == "ok" for e in events)


async def test_async_anthropic_raw(obs, aant):
    raw = await aant.messages.with_raw_response.create(model="m", max_tokens=10, messages=MSG)
    assert obs.one()["input_tokens"] == 1167  # recorded before the caller parses
    parsed = raw.parse()
    parsed = await parsed if hasattr(parsed, "__await__") else parsed
    assert parsed.usage.cache_read_input_tokens == 1163


def test_error_through_raw_response_recorded(obs, oai, provider_server):
    from .fakes import error_reply

    provider_server.reply(error_reply(400))
    with pytest.raises(openai.BadRequestError):
        oai.chat.completions.with_raw_response.create(model="m", messages=MSG)
    ev = obs.one()
    assert (ev["status"], ev["http_status"], ev["error_type"]) == ("error", 400, "BadRequestError")


def test_anthropic_stream_helper_once(obs, ant):
    with ant.messages.stream(model="m", max_tokens=10, messages=MSG) as stream:
        final = stream.get_final_message()
    assert final.usage.cache_creation_input_tokens == 1165
    assert obs.one()["input_tokens"] == 1169


def test_sdk_off_records_nothing(obs, oai):
    import llmobserve

    llmobserve.shutdown()
    oai.chat.completions.with_raw_response.create(model="m", messages=MSG)
    assert anthropic  # imported: both clients stay patched-off
    assert obs.ingest.events == []
