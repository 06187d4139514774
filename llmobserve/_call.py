"""The per-call context object and the process-wide configuration it reports to."""

from __future__ import annotations

from time import perf_counter, time
from typing import Any, Callable

from ._context import _scope
from ._log import log_once
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
    """Everything known about one provider call, filled in as the call (or its stream) progresses.

    It is also what the exporter's queue holds: `finish` stamps the latency and the defaults in
    force and enqueues the object itself; the sender thread turns it into the event dict
    (`event()`), reading a whole answer's usage object there too (`defer_usage`), so the caller's
    thread builds no dict and normalises no counters per call. Counters and flags a call may
    never touch are class attributes (read through when unset), so `__init__` sets only what every
    call has: measured, that is about a third of the time of setting all twenty-odd fields.
    """

    # Defaults, shadowed per instance when a call sets them.
    ttft_ms: float | None = None
    input_tokens = cached_input_tokens = cache_write_tokens = cache_write_1h_tokens = 0
    output_tokens = reasoning_tokens = 0
    hide_usage_chunk = complete = done = False
    raw: dict[str, int] | None = None  # provider counters a stream accumulates before normalising
    error_type: str | None = None
    http_status: int | None = None
    status: str | None = None  # set when a stream reports failure in-band; the final status after finish
    mode: Any = None  # the raw-response header of the request (None: the caller gets the parsed answer)
    latency_ms = 0.0
    service_tier: str | None = None
    # A whole answer's usage object and the function that reads it into the counters, run when the
    # event is built (in the sender thread): the caller's thread only keeps a reference to it.
    usage: Any = None
    read_usage: Callable[[Call, Any], None] | None = None
    defaults: tuple[Any, Any] = (None, None)  # observe()'s customer_id and tags when the call finished

    def __init__(self, operation: str, provider: str, model: Any, stream: bool, service_tier: Any) -> None:
        self.operation = operation
        self.provider = provider
        self.model = model if isinstance(model, str) else None
        self.stream = stream
        if service_tier is not None:
            self.service_tier = service_tier if isinstance(service_tier, str) else None
        self.scope = _scope.get()
        self.ts = time()
        self.t0 = perf_counter()

    def finish(self, status: str, exc: BaseException | None = None) -> None:
        """Stamp the end and hand the call to the exporter; once per call. No dict, no JSON here."""
        if self.done:
            return
        self.done = True
        self.latency_ms = (perf_counter() - self.t0) * 1000.0
        exporter = CONFIG.exporter
        if exporter is None:
            return
        if self.status is None:
            self.status = status
        if exc is not None:
            self.error_type = type(exc).__name__
            self.http_status = _http_status(exc)
        config = CONFIG
        if config.customer_id is not None or config.tags is not None:
            self.defaults = (config.customer_id, config.tags)
        exporter.enqueue(self)

    def defer_usage(self, read: Callable[[Call, Any], None], usage: Any) -> None:
        """Read `usage` into the counters when the event is built, not now (the latest one wins)."""
        self.read_usage = read
        self.usage = usage

    def event(self) -> dict[str, Any]:
        """The wire event of a finished call (built in the exporter's thread)."""
        read = self.read_usage
        if read is not None:
            self.read_usage = None
            try:
                read(self, self.usage)
            except Exception:  # the call is still recorded, with the counts read so far
                log_once("extract", "llmobserve: could not read usage from an answer", exc_info=True)
            self.usage = None
        scope = self.scope
        customer_id, tags = self.defaults
        if scope.tags:
            tags = {**tags, **scope.tags} if tags else scope.tags
        return {
            "timestamp": self.ts,  # float; ISO 8601 in the sender thread, which also assigns `id`
            "provider": self.provider,
            "model": self.model,
            "operation": self.operation,
            "customer_id": scope.customer_id or customer_id,
            "run_id": scope.run_id,
            "run_name": scope.run_name,
            "input_tokens": self.input_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "cache_write_1h_tokens": self.cache_write_1h_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "latency_ms": self.latency_ms,
            "time_to_first_token_ms": self.ttft_ms,
            "stream": self.stream,
            "status": self.status,
            "error_type": self.error_type,
            "http_status": self.http_status,
            "service_tier": self.service_tier,
            "tags": tags or {},
            "sdk_version": __version__,
        }


def event_of(item: Any) -> dict[str, Any]:
    """An event dict from what the exporter's queue holds: a dict as is, a finished Call, or a
    fast-path tuple whose first item builds its event (`_whole.event`)."""
    if type(item) is dict:
        return item
    if type(item) is tuple:
        return item[0](item)  # type: ignore[no-any-return]
    return item.event()  # type: ignore[no-any-return]
