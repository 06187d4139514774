"""Replay every recorded real provider answer through the real client and the SDK.

Per tests/fixtures/provider-payloads/README.md ("Replaying one"): serve the recorded body, call the
recorded method with the recorded request body, read streams to the end, flush, and compare the
recorded usage event with `expected_usage`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

import anthropic
import openai
import pytest

from .fakes import FIXTURES

CLIENTS = ("openai", "azure", "anthropic")  # google-genai and boto3 answers: tests/sdk/test_google.py, test_bedrock.py
FILES = sorted(
    str(p.relative_to(FIXTURES).with_suffix("")) for p in FIXTURES.glob("*/*.json")
    if json.loads(p.read_text())["call"]["client"] in CLIENTS
)
TOKEN_FIELDS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "cache_write_1h_tokens",
                "output_tokens", "reasoning_tokens")


def test_every_fixture_is_replayed():
    recorded = [f for f in FILES if not f.split("/")[1].startswith("documented_")]
    assert len(recorded) == 39  # the real recordings; documented-shape additions come on top
    assert len(FILES) > 39


def _client(call: dict[str, Any], url: str) -> Any:
    is_async = call["async"]
    if call["client"] == "anthropic":
        cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
        return cls(api_key="sk-ant-test", base_url=url, max_retries=0)
    if call["client"] == "azure":
        cls = openai.AsyncAzureOpenAI if is_async else openai.AzureOpenAI
        return cls(api_key="az-test", api_version=call["api_version"], azure_endpoint=url,
                   azure_deployment=call["azure_deployment"], max_retries=0)
    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    return cls(api_key="sk-test", base_url=url + "/v1", max_retries=0)


def _method(client: Any, api: str) -> Any:
    target = client
    for part in api.split("."):
        target = getattr(target, part)
    return target


def _arguments(method: Any, body: dict[str, Any], call: dict[str, Any]) -> dict[str, Any]:
    """Known argument names are passed as such; the rest go in `extra_body`."""
    known = set(inspect.signature(method).parameters)
    args = {k: v for k, v in body.items() if k in known}
    extra = {k: v for k, v in body.items() if k not in known}
    if call["api"].endswith("messages.stream"):
        args.pop("stream", None)
    if "betas" in call:
        args["betas"] = call["betas"]
    if extra:
        args["extra_body"] = extra
    return args


def _consume_sync(result: Any) -> None:
    if hasattr(result, "__next__"):
        for _ in result:
            pass


async def _consume_async(result: Any) -> None:
    if hasattr(result, "__anext__"):
        async for _ in result:
            pass


def _replay(fixture: dict[str, Any], url: str) -> None:
    call, body = fixture["call"], fixture["request"]["body"]
    client = _client(call, url)
    method = _method(client, call["api"])
    args = _arguments(method, body, call)
    helper = call["api"].endswith(".stream")
    if not call["async"]:
        if helper:
            with method(**args) as stream:
                stream.get_final_message()
        else:
            _consume_sync(method(**args))
        return

    async def run() -> None:
        if helper:
            async with method(**args) as stream:
                await stream.get_final_message()
        else:
            await _consume_async(await method(**args))

    asyncio.run(run())


@pytest.mark.parametrize("name", FILES)
def test_replay(name, obs, provider_server):
    fixture = json.loads((FIXTURES / f"{name}.json").read_text())
    resp, expected = fixture["response"], fixture["expected_usage"]
    provider_server.reply((resp["status"], resp["content_type"], resp["body"]))
    client_kind = fixture["call"]["client"]

    if resp["status"] >= 400:
        error = anthropic.APIStatusError if client_kind == "anthropic" else openai.APIStatusError
        with pytest.raises(error) as info:
            _replay(fixture, provider_server.url)
        assert info.value.status_code == resp["status"]
    else:
        _replay(fixture, provider_server.url)

    ev = obs.one()
    assert {f: ev[f] for f in TOKEN_FIELDS} == {f: expected.get(f, 0) for f in TOKEN_FIELDS}
    assert (ev["model"], ev["stream"], ev["status"]) == (expected["model"], expected["stream"], expected["status"])
    if expected["status"] == "error":
        assert ev["http_status"] == expected["http_status"]
    else:
        assert ev["http_status"] in (None, 200)
    if client_kind == "azure":
        assert ev["provider"] == "azure"
    if expected["stream"]:
        assert ev["time_to_first_token_ms"] is not None
