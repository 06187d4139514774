"""OpenAI client calls through the SDK: every patched method, sync and async, JSON and streams."""

from __future__ import annotations

import openai
import pydantic
import pytest

import llmobserve

from .fakes import CHAT_MODEL, error_reply

MSG = [{"role": "user", "content": "hi"}]


class Answer(pydantic.BaseModel):
    answer: str


def assert_chat_usage(ev: dict, *, stream: bool = False) -> None:
    assert ev["input_tokens"] == 12 and ev["cached_input_tokens"] == 4 and ev["cache_write_tokens"] == 0
    assert ev["output_tokens"] == 5 and ev["reasoning_tokens"] == 2
    assert ev["model"] == CHAT_MODEL and ev["stream"] is stream and ev["status"] == "ok"
    assert ev["provider"] == "openai"


def test_chat_create(obs, oai):
    resp = oai.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    assert resp.choices[0].message.content == '{"answer":"hi"}'
    ev = obs.one()
    assert_chat_usage(ev)
    assert ev["operation"] == "chat" and ev["service_tier"] == "default"
    assert ev["time_to_first_token_ms"] is None and ev["latency_ms"] > 0
    assert ev["http_status"] is None and ev["error_type"] is None
    assert ev["id"] and ev["timestamp"].endswith("+00:00") and ev["sdk_version"] == llmobserve.__version__


def test_client_made_before_observe_and_copies(provider_server, ingest_server):
    client = openai.OpenAI(api_key="sk", base_url=provider_server.url + "/v1", max_retries=0)
    ingest_server.reset()
    llmobserve.observe(api_key="llmo_test", endpoint=ingest_server.url, flush_interval=0.02)
    try:
        client.chat.completions.create(model="m", messages=MSG)
        client.with_options(timeout=5).chat.completions.create(model="m", messages=MSG)
        assert llmobserve.flush(5)
        assert len(ingest_server.events) == 2
    finally:
        llmobserve.shutdown()


def test_module_level_client(obs, provider_server, monkeypatch):
    monkeypatch.setattr(openai, "api_key", "sk-test")
    monkeypatch.setattr(openai, "base_url", provider_server.url + "/v1/")
    monkeypatch.setattr(openai, "max_retries", 0)
    openai.chat.completions.create(model="m", messages=MSG)
    assert_chat_usage(obs.one())


def test_chat_parse(obs, oai):
    resp = oai.chat.completions.parse(model="m", messages=MSG, response_format=Answer)
    assert resp.choices[0].message.parsed == Answer(answer="hi")
    assert_chat_usage(obs.one())


async def test_async_chat_create_and_parse(obs, aoai):
    await aoai.chat.completions.create(model="m", messages=MSG)
    resp = await aoai.chat.completions.parse(model="m", messages=MSG, response_format=Answer)
    assert resp.choices[0].message.parsed.answer == "hi"
    events = obs.events()
    assert len(events) == 2
    for ev in events:
        assert_chat_usage(ev)


def test_chat_stream_injects_and_hides_usage_chunk(obs, oai, provider_server):
    chunks = list(oai.chat.completions.create(model="m", messages=MSG, stream=True))
    assert provider_server.requests[-1]["body"]["stream_options"] == {"include_usage": True}
    assert len(chunks) == 4 and all(c.choices for c in chunks)  # the usage-only chunk is hidden
    ev = obs.one()
    assert_chat_usage(ev, stream=True)
    assert ev["time_to_first_token_ms"] is not None and ev["time_to_first_token_ms"] <= ev["latency_ms"]


def test_chat_stream_user_asked_for_usage_sees_it(obs, oai):
    chunks = list(oai.chat.completions.create(model="m", messages=MSG, stream=True,
                                              stream_options={"include_usage": True}))
    assert len(chunks) == 5 and chunks[-1].usage.prompt_tokens == 12
    assert_chat_usage(obs.one(), stream=True)


def test_chat_stream_capture_off_leaves_request_alone(obs, oai, provider_server, ingest_server):
    llmobserve.observe(api_key="llmo_test", endpoint=ingest_server.url, flush_interval=0.02,
                       capture_stream_usage=False)
    chunks = list(oai.chat.completions.create(model="m", messages=MSG, stream=True))
    assert "stream_options" not in provider_server.requests[-1]["body"]
    assert len(chunks) == 4
    ev = obs.one()
    assert ev["status"] == "ok" and ev["input_tokens"] == 0 and ev["model"] == CHAT_MODEL


async def test_async_chat_stream(obs, aoai):
    stream = await aoai.chat.completions.create(model="m", messages=MSG, stream=True)
    chunks = [c async for c in stream]
    assert len(chunks) == 4
    assert_chat_usage(obs.one(), stream=True)


def test_chat_stream_helper_records_once(obs, oai):
    with oai.chat.completions.stream(model="m", messages=MSG, response_format=Answer) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    assert final.choices[0].message.parsed == Answer(answer="hi")
    assert_chat_usage(obs.one(), stream=True)


async def test_async_chat_stream_helper_records_once(obs, aoai):
    async with aoai.chat.completions.stream(model="m", messages=MSG) as stream:
        async for _ in stream:
            pass
    assert_chat_usage(obs.one(), stream=True)


def test_responses_create_and_parse(obs, oai):
    oai.responses.create(model="gpt-4.1-nano", input="hi")
    oai.responses.parse(model="gpt-4.1-nano", input="hi")
    events = obs.events()
    assert len(events) == 2
    for ev in events:
        assert (ev["operation"], ev["model"], ev["input_tokens"], ev["output_tokens"]) == (
            "responses", "gpt-4.1-nano-2025-04-14", 14, 8)


def test_responses_stream_and_helper(obs, oai):
    list(oai.responses.create(model="gpt-4.1-nano", input="hi", stream=True))
    with oai.responses.stream(model="gpt-4.1-nano", input="hi") as stream:
        stream.get_final_response()
    events = obs.events()
    assert len(events) == 2
    for ev in events:
        assert (ev["stream"], ev["status"], ev["input_tokens"], ev["output_tokens"]) == (True, "ok", 18, 80)
        assert ev["time_to_first_token_ms"] is not None


async def test_async_responses(obs, aoai):
    await aoai.responses.create(model="gpt-4.1-nano", input="hi")
    await aoai.responses.parse(model="gpt-4.1-nano", input="hi")
    stream = await aoai.responses.create(model="gpt-4.1-nano", input="hi", stream=True)
    async for _ in stream:
        pass
    async with aoai.responses.stream(model="gpt-4.1-nano", input="hi") as s:
        await s.get_final_response()
    events = obs.events()
    assert [e["stream"] for e in events] == [False, False, True, True]


def test_embeddings_sync_and_async(obs, oai, aoai):
    import asyncio

    resp = oai.embeddings.create(model="text-embedding-ada-002", input="hi")
    assert len(resp.data[0].embedding) > 0
    asyncio.run(aoai.embeddings.create(model="text-embedding-ada-002", input="hi"))
    events = obs.events()
    assert len(events) == 2
    for ev in events:
        assert (ev["operation"], ev["input_tokens"], ev["output_tokens"], ev["model"]) == (
            "embeddings", 8, 0, "text-embedding-ada-002")


def test_error_is_reraised_unchanged_and_recorded(obs, oai, provider_server):
    provider_server.reply(error_reply(429))
    with pytest.raises(openai.RateLimitError) as info:
        oai.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    assert info.value.status_code == 429
    ev = obs.one()
    assert (ev["status"], ev["error_type"], ev["http_status"], ev["model"]) == (
        "error", "RateLimitError", 429, "gpt-4o-mini")
    assert ev["input_tokens"] == 0


def test_connection_error_recorded_without_status(obs):
    from .fakes import dead_url

    client = openai.OpenAI(api_key="sk", base_url=dead_url() + "/v1", max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="m", messages=MSG)
    ev = obs.one()
    assert (ev["status"], ev["error_type"], ev["http_status"]) == ("error", "APIConnectionError", None)


@pytest.mark.parametrize(("base_url", "provider"), [
    ("https://api.groq.com/openai/v1", "groq"),
    ("https://openrouter.ai/api/v1", "openrouter"),
    ("https://api.deepseek.com", "deepseek"),
    ("https://my-gw.example.com/v1", "openai"),
])
def test_provider_detection(base_url, provider):
    from llmobserve._providers import detect_provider

    client = openai.OpenAI(api_key="sk", base_url=base_url)
    assert detect_provider(client, "openai", None) == provider


def test_provider_override_for_unknown_hosts(obs, oai, ingest_server):
    llmobserve.observe(api_key="llmo_test", endpoint=ingest_server.url, flush_interval=0.02, provider="vllm")
    oai.chat.completions.create(model="m", messages=MSG)
    assert obs.one()["provider"] == "vllm"


def test_azure_client_is_azure():
    from llmobserve._providers import detect_provider

    client = openai.AzureOpenAI(api_key="k", api_version="2024-02-01", azure_endpoint="https://x.openai.azure.com")
    assert detect_provider(client, "openai", None) == "azure"
