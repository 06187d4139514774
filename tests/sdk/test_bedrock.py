"""AWS Bedrock Runtime through the real boto3 client (`endpoint_url` at the fake provider)."""

from __future__ import annotations

import json

import pytest

boto3 = pytest.importorskip("boto3")

from .fakes import FIXTURES  # noqa: E402

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
MSG = [{"role": "user", "content": [{"text": "What is the refund window?"}]}]
TOKENS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens")


def _client(provider_server):
    from botocore.config import Config

    return boto3.client("bedrock-runtime", endpoint_url=provider_server.url, region_name="us-east-1",
                        aws_access_key_id="AKIDTEST", aws_secret_access_key="secret-test",
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def _check(ev, name):
    exp = json.loads((FIXTURES / "bedrock" / f"{name}.json").read_text())["expected_usage"]
    assert {f: ev[f] for f in TOKENS} == {f: exp[f] for f in TOKENS}
    assert (ev["provider"], ev["model"], ev["operation"], ev["stream"], ev["status"]) == (
        "bedrock", MODEL, "converse", exp["stream"], "ok")


def test_converse(obs, provider_server):
    resp = _client(provider_server).converse(modelId=MODEL, messages=MSG)
    assert resp["usage"]["cacheWriteInputTokens"] == 1432  # the caller's answer untouched
    assert resp["output"]["message"]["content"][0]["text"].startswith("Refunds")
    _check(obs.one(), "documented_converse_cache_write")


def test_converse_stream(obs, provider_server):
    resp = _client(provider_server).converse_stream(modelId=MODEL, messages=MSG)
    events = list(resp["stream"])
    assert [next(iter(e)) for e in events] == [
        "messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"]
    ev = obs.one()
    _check(ev, "documented_converse_stream_cache_read")
    assert ev["time_to_first_token_ms"] is not None


def test_converse_stream_abandoned(obs, provider_server):
    resp = _client(provider_server).converse_stream(modelId=MODEL, messages=MSG)
    next(iter(resp["stream"]))
    resp["stream"].close()
    assert obs.one()["status"] == "incomplete"


def test_other_operations_pass_through(obs, provider_server):
    """InvokeModel (provider-specific bodies) is not a Converse call: not recorded (docs/sdk.md)."""
    provider_server.reply((200, "application/json", '{"ok": true}'))
    resp = _client(provider_server).invoke_model(modelId=MODEL, body=b'{"prompt": "hi"}')
    assert json.loads(resp["body"].read()) == {"ok": True}
    assert obs.events() == []


def test_error_recorded(obs, provider_server):
    provider_server.reply((429, "application/json", '{"message": "Too many requests"}'))
    client = _client(provider_server)
    with pytest.raises(client.exceptions.ClientError):
        client.converse(modelId=MODEL, messages=MSG)
    ev = obs.one()
    assert (ev["status"], ev["http_status"], ev["provider"], ev["model"]) == ("error", 429, "bedrock", MODEL)
