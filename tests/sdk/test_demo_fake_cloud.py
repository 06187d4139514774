"""The demo's fake provider (scripts/fake_provider.py) answers google-genai and boto3's Bedrock Runtime
with the recorded answers of scripts/fake_cloud.py: the real clients read them, and the SDK records
each call with the fixture's expected usage (here, beside the SDK's fixtures, for the `obs` fixture)."""

from __future__ import annotations

import json

import pytest

from scripts.fake_cloud import FIXTURES
from scripts.fake_provider import FakeProvider

genai = pytest.importorskip("google.genai")
boto3 = pytest.importorskip("boto3")

TOKENS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens")
BEDROCK_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
MSG = [{"role": "user", "content": [{"text": "What is the refund window?"}]}]
GEMINI = "google/documented_generate_content_cached_thinking"
GEMINI_STREAM = "google/documented_generate_content_stream"
_clients: list = []  # a dropped genai.Client closes its HTTP client at once: keep each alive


@pytest.fixture
def fake():
    with FakeProvider(latency_ms=(0, 1)) as provider:
        yield provider


def _expected(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())["expected_usage"]


def _check(ev, name, provider, model, operation):
    exp = _expected(name)
    assert {f: ev[f] for f in TOKENS} == {f: exp[f] for f in TOKENS}
    assert (ev["provider"], ev["model"], ev["operation"], ev["stream"], ev["status"]) == (
        provider, model, operation, exp["stream"], "ok")


def test_gemini_whole_and_streamed(obs, fake):
    from google.genai import types

    client = genai.Client(api_key="g-demo", http_options=types.HttpOptions(base_url=fake.url))
    _clients.append(client)
    resp = client.models.generate_content(model="gemini-2.5-flash", contents="Summarise the contract.")
    assert resp.text.startswith("The contract")
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="Hi"))
    assert "".join(c.text for c in chunks) == "The contract runs for two years and renews yearly."
    whole, streamed = obs.events()
    _check(whole, GEMINI, "google", _expected(GEMINI)["model"], "generate_content")
    _check(streamed, GEMINI_STREAM, "google", _expected(GEMINI_STREAM)["model"], "generate_content")


def test_bedrock_converse_and_stream(obs, fake):
    from botocore.config import Config

    client = boto3.client("bedrock-runtime", endpoint_url=fake.url, region_name="us-east-1",
                          aws_access_key_id="AKIDDEMO", aws_secret_access_key="demo",
                          config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    resp = client.converse(modelId=BEDROCK_MODEL, messages=MSG)
    assert resp["output"]["message"]["content"][0]["text"].startswith("Refunds")
    events = list(client.converse_stream(modelId=BEDROCK_MODEL, messages=MSG)["stream"])
    assert next(iter(events[-1])) == "metadata"
    whole, streamed = obs.events()
    _check(whole, "bedrock/documented_converse_cache_write", "bedrock", BEDROCK_MODEL, "converse")
    _check(streamed, "bedrock/documented_converse_stream_cache_read", "bedrock", BEDROCK_MODEL, "converse")


def test_openai_routes_unchanged(fake):
    reply = fake.answer("/v1/chat/completions", b'{"model": "gpt-4o-mini", "messages": []}', {})
    assert reply[0] == 200 and json.loads(reply[2][0])["model"] == "gpt-4o-mini-2024-07-18"
