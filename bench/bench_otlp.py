"""OTLP ingest over HTTP (DESIGN §14: protobuf, 100-span requests, ≥ 20,000 spans/s), beside `/v1/events`
with 100-event batches in the same run and the same API process (commit before ack on both)."""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from pathlib import Path

import httpx

from bench.bench_ingest import http_rate
from bench.load import post_all
from tests.factories import create_user
from tests.otlp_factories import chat_attributes, export, span
from tests.server import ApiServer

SPANS = 100


def _body() -> bytes:
    """100 spans as OpenLLMetry writes a chat call (usage, request parameters, a prompt), one trace each."""
    spans = []
    for i in range(SPANS):
        attrs = chat_attributes(**{"gen_ai.usage.cache_read.input_tokens": 512, "llmobserve.customer_id": f"c{i % 7}",
                                   "openai.response.service_tier": "default", "gen_ai.request.temperature": 0.2,
                                   "gen_ai.response.id": os.urandom(12).hex(), "gen_ai.is_streaming": False,
                                   "gen_ai.prompt.0.content": "Summarise this ticket for the on-call engineer. " * 8})
        spans.append(span(attrs, duration_ms=800.0))
    return export(*spans, scope=("opentelemetry.instrumentation.openai.v1", "0.62.4")).SerializeToString()


def otlp_rate(api: ApiServer, key: str, *, requests: int, clients: int) -> dict[str, float]:
    bodies = [_body() for _ in range(requests)]  # encoded before the clock starts
    load = post_all([api.url], "/v1/traces", bodies, clients=clients,
                    headers={"Authorization": f"Bearer {key}", "Content-Type": "application/x-protobuf"},
                    check=lambda answer: answer.status_code == 200 and answer.content == b"")  # no partial_success
    return {"spans_per_s": load.per_second(SPANS * requests), "p50_ms": load.p50_ms, "p95_ms": load.p95_ms,
            "body_bytes": len(bodies[0])}


def run(rounds: int = 3) -> dict[str, object]:
    otlp: list[dict[str, float]] = []
    events: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        api = ApiServer(Path(tmp)).start()
        try:
            user = create_user(api)
            otlp_rate(api, user.api_key, requests=30, clients=8)  # warm-up
            for _ in range(rounds):  # interleaved, so machine noise hits both alike
                otlp.append(otlp_rate(api, user.api_key, requests=300, clients=8))
                events.append(http_rate(api, user.api_key, batch_size=100, batches=300, clients=8)["events_per_s"])
            stored = httpx.get(f"{api.url}/v1/analytics/summary", headers=user.headers).json()["calls"]
        finally:
            api.stop()
    return {"otlp_spans_per_s": statistics.median(r["spans_per_s"] for r in otlp),
            "otlp_p50_ms": statistics.median(r["p50_ms"] for r in otlp),
            "otlp_p95_ms": statistics.median(r["p95_ms"] for r in otlp),
            "body_bytes": otlp[0]["body_bytes"], "events_100_per_s": statistics.median(events),
            "stored_calls": stored, "rounds": rounds, "load_average": os.getloadavg()[0]}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
