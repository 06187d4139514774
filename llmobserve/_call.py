"""The per-call context object and the process-wide configuration it reports to."""

from __future__ import annotations

import time
from typing import Any

from ._context import _scope
from ._version import __version__


class Config:
    """What `observe()` set; read on every call, replaced (not mutated) on reconfiguration."""

    __slots__ = ("active", "customer_id", "tags", "provider", "capture_stream_usage", "exporter", "before_call")

    def __init__(self) -> None:
        self.active = False
        # One optional check run with the new Call before the provider is invoked (the budget
        # enforcement hook of issue 11): one attribute read on the call path when unset.
        self.before_call: Any = None
        self.customer_id: str | None = None
        self.tags: dict[str, str] | None = None
        self.provider: str | None = None
        self.capture_stream_usage = True
        self.exporter: Any = None


CONFIG = Config()


def _http_status(exc: BaseException) -> int | None:
    """The HTTP status an SDK's error carries: `status_code` (openai, anthropic), `code`
    (google-genai) or botocore's `response["ResponseMetadata"]["HTTPStatusCode"]`."""
    code = getattr(exc, "status_code", None)
    if not isinstance(code, int):
        code = getattr(exc, "code", None)
    if not isinstance(code, int):
        meta = getattr(exc, "response", None)
        meta = meta.get("ResponseMetadata") if isinstance(meta, dict) else None
        code = meta.get("HTTPStatusCode") if isinstance(meta, dict) else None
    return code if isinstance(code, int) and 100 <= code <= 599 else None


class Call:
    """Everything known about one provider call, filled in as the call (or its stream) progresses."""

    __slots__ = (
        "operation", "provider", "model", "stream", "t0", "ts", "ttft_ms", "input_tokens",
        "cached_input_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens",
        "reasoning_tokens", "service_tier", "hide_usage_chunk", "complete", "raw", "scope", "error_type",
        "status", "done",
    )

    def __init__(self, operation: str, provider: str, model: Any, stream: bool, service_tier: Any) -> None:
        self.operation = operation
        self.provider = provider
        self.model = model if isinstance(model, str) else None
        self.stream = stream
        self.service_tier = service_tier if isinstance(service_tier, str) else None
        self.scope = _scope.get()
        self.ts = time.time()
        self.t0 = time.perf_counter()
        self.ttft_ms: float | None = None
        self.input_tokens = self.cached_input_tokens = self.cache_write_tokens = 0
        self.cache_write_1h_tokens = self.output_tokens = self.reasoning_tokens = 0
        self.hide_usage_chunk = False
        self.complete = False
        self.raw: dict[str, int] | None = None  # provider counters a stream accumulates before normalising
        self.error_type: str | None = None
        self.status: str | None = None  # set when a stream reports failure in-band
        self.done = False

    def finish(self, status: str, exc: BaseException | None = None) -> None:
        """Build the event (cheap: a dict, no JSON) and hand it to the exporter; once per call."""
        if self.done:
            return
        self.done = True
        exporter = CONFIG.exporter
        if exporter is None:
            return
        latency_ms = (time.perf_counter() - self.t0) * 1000.0
        http_status = None
        error_type = self.error_type
        if exc is not None:
            error_type = type(exc).__name__
            http_status = _http_status(exc)
        scope = self.scope
        tags = CONFIG.tags
        if scope.tags:
            tags = {**tags, **scope.tags} if tags else scope.tags
        exporter.enqueue({
            "timestamp": self.ts,  # float; ISO 8601 in the sender thread, which also assigns `id`
            "provider": self.provider,
            "model": self.model,
            "operation": self.operation,
            "customer_id": scope.customer_id or CONFIG.customer_id,
            "run_id": scope.run_id,
            "run_name": scope.run_name,
            "input_tokens": self.input_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "cache_write_1h_tokens": self.cache_write_1h_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "latency_ms": latency_ms,
            "time_to_first_token_ms": self.ttft_ms,
            "stream": self.stream,
            "status": self.status or status,
            "error_type": error_type,
            "http_status": http_status,
            "service_tier": self.service_tier,
            "tags": tags or {},
            "sdk_version": __version__,
        })
