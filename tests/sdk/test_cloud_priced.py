"""Gemini and Bedrock calls, recorded by the SDK and sent to the real API, are priced under their provider.

The SDK observes into the real API process (tests/server.py); the clients call the fake provider.
Each provider's cost must equal genai-prices' own answer for the recorded tokens.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import httpx
import pytest

import llmobserve

pytest.importorskip("google.genai")
pytest.importorskip("boto3")

from api.pricing import reference_cost  # noqa: E402

from .test_bedrock import MODEL, MSG  # noqa: E402
from .test_bedrock import _client as bedrock_client  # noqa: E402
from .test_google import _client as google_client  # noqa: E402


def test_gemini_and_bedrock_priced_by_the_api(api, user, provider_server):
    provider_server.reset()
    llmobserve.observe(api_key=user.api_key, endpoint=api.url, flush_interval=0.02)
    try:
        google_client(provider_server).models.generate_content(model="gemini-2.5-flash", contents="Hi")
        bedrock_client(provider_server).converse(modelId=MODEL, messages=MSG)
        assert llmobserve.flush(10)
    finally:
        llmobserve.shutdown()
    rows = httpx.get(f"{api.url}/v1/analytics/breakdown", params={"by": "provider"}, headers=user.headers,
                     timeout=30).json()["data"]
    cost = {r["key"]: Decimal(r["cost_usd"]) for r in rows}
    now = datetime.now(timezone.utc)
    google = reference_cost(provider="google", model="gemini-2.5-flash", timestamp=now, input_tokens=1200,
                            cached_input_tokens=1024, output_tokens=345)
    bedrock = reference_cost(provider="bedrock", model=MODEL, timestamp=now, input_tokens=1444,
                             cache_write_tokens=1432, output_tokens=200)
    assert google > 0 and bedrock > 0
    assert cost == {"google": google, "bedrock": bedrock}
    summary = httpx.get(f"{api.url}/v1/analytics/summary", headers=user.headers, timeout=30).json()
    assert summary["unpriced_calls"] == 0 and summary["calls"] == 2
