"""LiteLLM: OpenAI-routed calls go through the openai client's `post()`; other providers (here
`anthropic/…`, against the fake Anthropic API) over LiteLLM's own HTTP client, recorded by our
LiteLLM callback. Each call is recorded once, with the provider's exact usage."""

from __future__ import annotations

import asyncio
import os
import time

import llmobserve
import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch the price map at import
litellm = pytest.importorskip("litellm")

from tests.sdk.fakes import CHAT_MODEL, error_reply, fixture_reply, load_fixture  # noqa: E402

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


# LiteLLM's own route to Anthropic: the fake answers the recorded cache-read message and the
# recorded cache-write stream (tests/fixtures/provider-payloads/anthropic/).
CACHE_READ = load_fixture("anthropic/prompt_cache_read")["expected_usage"]
CACHE_WRITE_STREAM = load_fixture("anthropic/prompt_cache_write_stream")["expected_usage"]
USAGE = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens")


def _anthropic_args(provider_server):
    return {"model": "anthropic/claude-3-5-sonnet-20240620", "messages": MSG, "api_key": "sk-ant-test",
            "api_base": provider_server.url, "num_retries": 0}


def _only_event(obs):
    """LiteLLM runs sync callbacks in a thread of its own: wait for the event, then make sure no
    second one follows."""
    obs.events(1)
    time.sleep(0.3)
    events = obs.events()
    assert len(events) == 1, events
    return events[0]


async def _only_event_async(obs):
    """LiteLLM runs async callbacks as tasks on the caller's loop: let the loop run meanwhile."""
    for _ in range(100):
        await asyncio.sleep(0.05)
        if obs.events():
            break
    await asyncio.sleep(0.3)
    events = obs.events()
    assert len(events) == 1, events
    return events[0]


def _check_anthropic(ev, expected, stream):
    assert (ev["provider"], ev["model"], ev["operation"], ev["stream"], ev["status"]) == (
        "anthropic", expected["model"], "chat", stream, "ok")
    assert tuple(ev[k] for k in USAGE) == tuple(expected[k] for k in USAGE)
    assert ev["latency_ms"] > 0 and (ev["time_to_first_token_ms"] is not None) == stream


def test_anthropic_route_completion(obs, provider_server):
    with llmobserve.customer("cust_lite"), llmobserve.run("lite-run"):
        resp = litellm.completion(**_anthropic_args(provider_server))
    assert resp.usage.prompt_tokens == CACHE_READ["input_tokens"]
    assert [r["path"] for r in provider_server.requests] == ["/v1/messages"]  # LiteLLM's own HTTP client
    ev = _only_event(obs)
    _check_anthropic(ev, CACHE_READ, stream=False)
    assert (ev["customer_id"], ev["run_name"]) == ("cust_lite", "lite-run")  # the caller's block


def test_anthropic_route_stream(obs, provider_server):
    chunks = list(litellm.completion(**_anthropic_args(provider_server), stream=True))
    assert chunks
    _check_anthropic(_only_event(obs), CACHE_WRITE_STREAM, stream=True)


@same_loop
async def test_anthropic_route_acompletion(obs, provider_server):
    with llmobserve.customer("cust_async"):
        resp = await litellm.acompletion(**_anthropic_args(provider_server))
    assert resp.usage.completion_tokens == CACHE_READ["output_tokens"]
    ev = await _only_event_async(obs)
    _check_anthropic(ev, CACHE_READ, stream=False)
    assert ev["customer_id"] == "cust_async"


@same_loop
async def test_anthropic_route_acompletion_stream(obs, provider_server):
    stream = await litellm.acompletion(**_anthropic_args(provider_server), stream=True)
    assert [c async for c in stream]
    _check_anthropic(await _only_event_async(obs), CACHE_WRITE_STREAM, stream=True)


# Anthropic's documented answers with cache writes of both lifetimes (5 minutes and 1 hour).
WRITE_1H = "anthropic/documented_cache_write_1h"
WRITE_1H_STREAM = "anthropic/documented_cache_write_1h_stream"
USAGE_1H = (*USAGE, "cache_write_1h_tokens")


@pytest.mark.parametrize("name, stream", [(WRITE_1H, False), (WRITE_1H_STREAM, True)])
def test_anthropic_route_one_hour_cache_writes(obs, provider_server, name, stream):
    """LiteLLM carries Anthropic's `cache_creation` split (`prompt_tokens_details.
    cache_creation_token_details`): the one-hour part arrives as `cache_write_1h_tokens`."""
    fixture = load_fixture(name)
    provider_server.reply(fixture_reply(name))
    requested = fixture["request"]["body"]["model"]
    answer = litellm.completion(**{**_anthropic_args(provider_server), "model": f"anthropic/{requested}"},
                                stream=stream)
    if stream:
        assert list(answer)
    expected = fixture["expected_usage"]
    ev = _only_event(obs)
    # LiteLLM's assembled stream names the model as requested, its whole answer as answered.
    model = requested if stream else expected["model"]
    assert (ev["provider"], ev["model"], ev["stream"], ev["status"]) == ("anthropic", model, stream, "ok")
    assert {k: ev[k] for k in USAGE_1H} == {k: expected[k] for k in USAGE_1H}
    assert 0 < ev["cache_write_1h_tokens"] < ev["cache_write_tokens"]


def test_anthropic_route_error_is_recorded_once(obs, provider_server):
    provider_server.reply(error_reply(400))
    with pytest.raises(litellm.BadRequestError):
        litellm.completion(**_anthropic_args(provider_server))
    ev = _only_event(obs)
    assert (ev["provider"], ev["status"], ev["http_status"], ev["input_tokens"]) == ("anthropic", "error", 400, 0)


def test_openai_and_anthropic_routes_side_by_side_each_once(obs, provider_server):
    litellm.completion(**_args(provider_server))
    litellm.completion(**_anthropic_args(provider_server))
    obs.events(2)
    time.sleep(0.3)
    events = obs.events()
    assert sorted(e["provider"] for e in events) == ["anthropic", "openai"], events


def test_shutdown_takes_the_callback_out(obs, provider_server):
    llmobserve.shutdown()
    assert not any(type(c).__name__ == "LLMObserveLogger" for c in litellm.callbacks)
    litellm.completion(**_anthropic_args(provider_server))
    time.sleep(0.3)
    assert obs.ingest.events == []
