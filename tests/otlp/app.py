"""An instrumented program, as a user runs one: the real OpenTelemetry SDK and OTLP/HTTP exporter, one
instrumentation, and the real openai/anthropic clients replaying recorded provider answers.

Run by tests/otlp/test_instrumentations.py with the interpreter of `.venv-otel` (the `otel-apps` extra:
these instrumentations pin client versions the SDK's own tests do not use). The exporter is configured
only through the standard environment (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS).

    python tests/otlp/app.py INSTRUMENTATION PROVIDER_URL FIXTURE...

Each fixture's call runs in a trace of its own under a root span named after the fixture; one JSON line
per fixture on stdout says its trace id and the usage attributes the instrumentation put on its spans.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "provider-payloads"
REPORTED = ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.reasoning.output_tokens",
            "gen_ai.usage.reasoning_tokens", "gen_ai.usage.prompt_tokens", "gen_ai.usage.completion_tokens",
            "gen_ai.response.model", "gen_ai.request.model", "gen_ai.provider.name", "gen_ai.system",
            "gen_ai.operation.name", "error.type")


def instrument(name: str, provider: TracerProvider) -> None:
    if name == "openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
        OpenAIInstrumentor().instrument(tracer_provider=provider)
    elif name == "openllmetry":
        from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor as LlmetryOpenAI
        LlmetryOpenAI().instrument(tracer_provider=provider)
        AnthropicInstrumentor().instrument(tracer_provider=provider)
    elif name == "openlit":
        import openlit
        # OpenLIT reuses the global provider set above; its price list is fetched from GitHub unless given.
        empty = Path(__file__).with_name("openlit-prices.json")
        openlit.init(disable_metrics=True, disable_events=True, pricing_json=str(empty),
                     disabled_instrumentors=["httpx", "requests", "urllib", "urllib3", "aiohttp-client"])
    else:
        raise SystemExit(f"unknown instrumentation {name}")


def _client(call: dict[str, Any], url: str) -> Any:
    import anthropic
    import openai

    is_async = call["async"]
    if call["client"] == "anthropic":
        return (anthropic.AsyncAnthropic if is_async else anthropic.Anthropic)(
            api_key="sk-ant-test", base_url=url, max_retries=0)
    if call["client"] == "azure":
        return (openai.AsyncAzureOpenAI if is_async else openai.AzureOpenAI)(
            api_key="az-test", api_version=call["api_version"], azure_endpoint=url,
            azure_deployment=call["azure_deployment"], max_retries=0)
    return (openai.AsyncOpenAI if is_async else openai.OpenAI)(api_key="sk-test", base_url=url + "/v1", max_retries=0)


def _call(fixture: dict[str, Any], url: str) -> None:
    """The recorded call, as tests/sdk/test_real_payloads.py makes it (unknown arguments in extra_body)."""
    call, body = fixture["call"], fixture["request"]["body"]
    method: Any = _client(call, url)
    for part in call["api"].split("."):
        method = getattr(method, part)
    known = set(inspect.signature(method).parameters)
    args = {k: v for k, v in body.items() if k in known}
    extra = {k: v for k, v in body.items() if k not in known}
    helper = call["api"].endswith(".stream")
    if helper:
        args.pop("stream", None)
    if "betas" in call:
        args["betas"] = call["betas"]
    if extra:
        args["extra_body"] = extra
    if not call["async"]:
        if helper:
            with method(**args) as stream:
                stream.get_final_message()
            return
        result = method(**args)
        if hasattr(result, "__next__"):
            for _ in result:
                pass
        return

    async def run() -> None:
        if helper:
            async with method(**args) as stream:
                await stream.get_final_message()
            return
        result = await method(**args)
        if hasattr(result, "__anext__"):
            async for _ in result:
                pass

    asyncio.run(run())


def main(argv: list[str]) -> int:
    name, url, names = argv[0], argv[1], argv[2:]
    provider = TracerProvider(resource=Resource.create({"service.name": f"replay-{name}",
                                                        "llmobserve.customer_id": f"cust_{name}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # endpoint and headers from the env
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    trace.set_tracer_provider(provider)
    instrument(name, provider)
    tracer = trace.get_tracer("llmobserve.tests.replay")
    lines = []
    for fixture_name in names:
        fixture = json.loads((FIXTURES / f"{fixture_name}.json").read_text())
        with tracer.start_as_current_span(fixture_name) as root:
            try:
                _call(fixture, url)
                raised = None
            except Exception as exc:  # noqa: BLE001 - error answers are part of the replay
                raised = type(exc).__name__
        trace_id = format(root.get_span_context().trace_id, "032x")
        spans = [s for s in memory.get_finished_spans()
                 if format(s.context.trace_id, "032x") == trace_id and s.parent is not None
                 and any(k.startswith("gen_ai.") for k in s.attributes)]
        lines.append({"fixture": fixture_name, "trace_id": trace_id, "raised": raised, "spans": [
            {"scope": [s.instrumentation_scope.name, s.instrumentation_scope.version or ""],
             "error": s.status.status_code.name == "ERROR",
             "attributes": {k: s.attributes[k] for k in REPORTED if k in s.attributes}} for s in spans]})
    ok = provider.force_flush(30_000)
    provider.shutdown()
    for line in lines:
        print(json.dumps(line))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
