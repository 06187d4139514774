"""Google's google-genai client against the fake provider: whole answers, streams, `client.aio`."""

from __future__ import annotations

import json

import pytest

genai = pytest.importorskip("google.genai")
from google.genai import errors, types  # noqa: E402

from .fakes import FIXTURES, error_reply  # noqa: E402

TOKENS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens")
same_loop = pytest.mark.asyncio(loop_scope="module")


def _expected(name: str) -> dict:
    return json.loads((FIXTURES / "google" / f"{name}.json").read_text())["expected_usage"]


_clients: list = []  # a dropped genai.Client closes its HTTP client at once: keep each alive


def _client(provider_server):
    client = genai.Client(api_key="g-test", http_options=types.HttpOptions(base_url=provider_server.url))
    _clients.append(client)
    return client


def _check(ev, name):
    exp = _expected(name)
    assert {f: ev[f] for f in TOKENS} == {f: exp[f] for f in TOKENS}
    assert (ev["provider"], ev["model"], ev["operation"], ev["stream"], ev["status"]) == (
        "google", exp["model"], "generate_content", exp["stream"], "ok")


def test_generate_content(obs, provider_server):
    resp = _client(provider_server).models.generate_content(model="gemini-2.5-flash", contents="Summarise.")
    assert resp.text.startswith("The contract") and resp.usage_metadata.thoughts_token_count == 260
    assert provider_server.requests[-1]["path"].endswith("models/gemini-2.5-flash:generateContent")
    _check(obs.one(), "documented_generate_content_cached_thinking")


def test_generate_content_stream(obs, provider_server):
    chunks = list(_client(provider_server).models.generate_content_stream(model="gemini-2.5-flash", contents="Hi"))
    assert "".join(c.text for c in chunks) == "The contract runs for two years and renews yearly."
    ev = obs.one()
    _check(ev, "documented_generate_content_stream")
    assert ev["time_to_first_token_ms"] is not None


@same_loop
async def test_aio_generate_content_and_stream(obs, provider_server):
    client = _client(provider_server)
    await client.aio.models.generate_content(model="models/gemini-2.5-flash", contents="Hi")
    stream = await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="Hi")
    async for _ in stream:
        pass
    first, second = obs.events()
    _check(first, "documented_generate_content_cached_thinking")
    _check(second, "documented_generate_content_stream")


def test_stream_abandoned_is_incomplete(obs, provider_server):
    stream = _client(provider_server).models.generate_content_stream(model="gemini-2.5-flash", contents="Hi")
    next(iter(stream))
    stream.close()
    ev = obs.one()
    assert (ev["status"], ev["input_tokens"]) == ("incomplete", 1200)


def test_error_recorded_with_status(obs, provider_server):
    provider_server.reply(error_reply(400))
    with pytest.raises(errors.ClientError) as info:
        _client(provider_server).models.generate_content(model="gemini-2.5-flash", contents="Hi")
    assert info.value.code == 400
    ev = obs.one()
    assert (ev["status"], ev["http_status"], ev["model"], ev["provider"]) == ("error", 400, "gemini-2.5-flash", "google")
