"""The API goes away; the host program must not notice (DESIGN §8: host program unaffected).

Real pieces throughout: the `openai` client calls a local fake provider, the SDK's real exporter sends
to a real API process. The API starts *down* (a free port nobody listens on), the host makes its calls,
then a real API is started on that very port and the queued events must arrive, up to the queue cap
(full queue → the oldest are dropped, and counted).

Exporter facts this relies on (llmobserve/_exporter.py): a refused connection is retried with backoff
0.5 s doubling to 30 s; the sender holds one batch (≤ batch_size) outside the queue while it retries;
the queue is a deque of `max_queue_size`. The fast test keeps the outage to a few seconds so the next
retry after recovery comes within ~4 s; the soak test sits a minute at the 30 s ceiling.
"""

from __future__ import annotations

import signal
import statistics
import time
import tracemalloc
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

import llmobserve
from llmobserve._call import CONFIG
from tests.factories import TestUser, create_user
from tests.reliability.support import exported
from tests.sdk.fakes import FakeIngest, FakeProvider
from tests.server import ApiServer

CAP = 200  # max_queue_size
BATCH = 50


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeProvider]:
    server = FakeProvider()
    server.requests = deque(maxlen=10)  # type: ignore[assignment]  # it records every request: not our heap to measure
    yield server
    server.close()


@pytest.fixture
def client(provider: FakeProvider) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=provider.url + "/v1", max_retries=0)


@pytest.fixture
def down_api(tmp_path: Path) -> Iterator[tuple[ApiServer, TestUser]]:
    """An API that has issued a key and then stopped: its port is free and refuses connections."""
    api = ApiServer(tmp_path / "api").start()
    user = create_user(api)
    api.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(api.url + "/health", timeout=1)
    yield api, user
    llmobserve.shutdown(timeout=0.5)
    api.stop()


def timed_calls(client: openai.OpenAI, start: int, n: int) -> list[float]:
    """n chat calls, each in a run named after its index; their wall-clock latencies in ms."""
    latencies = []
    for i in range(start, start + n):
        with llmobserve.run(f"call-{i}"):
            t0 = time.perf_counter()
            answer = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
            latencies.append((time.perf_counter() - t0) * 1000)
        assert answer.choices[0].message.content == '{"answer":"hi"}'
    return latencies


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def observe_down(api: ApiServer, user: TestUser) -> None:
    llmobserve.observe(api_key=user.api_key, endpoint=api.url, customer_id="outage",
                       max_queue_size=CAP, batch_size=BATCH, flush_interval=0.05, timeout=2.0)


def check_delivery(api: ApiServer, user: TestUser, made: int, flush_timeout: float) -> None:
    """After recovery: every event the exporter kept arrives, the newest CAP always among them."""
    exporter = CONFIG.exporter
    assert llmobserve.flush(timeout=flush_timeout), "queued events not delivered after the API came back"
    names = exported(api, user.headers).column("run_name").to_pylist()
    stored = {int(n.removeprefix("call-")) for n in names}
    assert len(names) == len(stored), "an event was stored twice"
    assert exporter.failed == 0
    assert exporter.sent == len(stored) == made - exporter.dropped
    assert set(range(made - CAP, made)) <= stored, "the newest events must survive a full queue"
    assert CAP <= len(stored) <= CAP + BATCH  # the queue, plus the one batch held while retrying
    summary = httpx.get(f"{api.url}/v1/analytics/summary", headers=user.headers).json()
    assert summary["calls"] == len(stored) and summary["customers"] == 1
    print(f"made {made} calls, {exporter.dropped} dropped by the full queue, {len(stored)} delivered")


def baseline(client: openai.OpenAI, provider: FakeProvider) -> list[float]:
    """Latency of the same calls with the SDK recording into a healthy (fake) ingest."""
    ingest = FakeIngest()
    try:
        llmobserve.observe(api_key="llmo_x", endpoint=ingest.url, max_queue_size=CAP, batch_size=BATCH,
                           flush_interval=0.05)
        timed_calls(client, 0, 50)  # warm-up: connections, imports, caches
        latencies = timed_calls(client, 0, 400)
        assert llmobserve.flush(5)
        return latencies
    finally:
        llmobserve.shutdown(timeout=1)
        ingest.close()


def assert_unaffected(healthy: list[float], outage: list[float]) -> None:
    print(f"latency ms  healthy p50 {p(healthy, 50):.3f} p99 {p(healthy, 99):.3f} | "
          f"API down p50 {p(outage, 50):.3f} p99 {p(outage, 99):.3f} max {max(outage):.1f}")
    # A blocked call would show up as hundreds of ms (a connect timeout, a backoff sleep); allow noise only.
    assert p(outage, 50) <= p(healthy, 50) * 1.5 + 0.5
    assert p(outage, 99) <= p(healthy, 99) * 3 + 15
    assert max(outage) < 250


def assert_memory_bounded(client: openai.OpenAI, start: int, n: int) -> None:
    """With the queue already full, n more calls leave the traced heap where it was (drop-oldest)."""
    tracemalloc.start()
    try:
        timed_calls(client, start, 100)  # settle allocator and client caches under tracing
        before = tracemalloc.get_traced_memory()[0]
        timed_calls(client, start + 100, n - 100)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    print(f"heap growth over {n - 100} calls with a full queue: {grown / 1024:.0f} KiB")
    # A queued call holds ~1.5 KiB (its answer's small usage objects; the event dict is built in the
    # sender thread): the full queue of CAP calls ~300 KiB, where an unbounded one would grow by ~1 MiB.
    assert grown < CAP * 2 * 1024
    assert len(CONFIG.exporter._queue) == CAP


def test_api_down_then_up_host_unaffected_memory_bounded_events_delivered(
        down_api: tuple[ApiServer, TestUser], client: openai.OpenAI, provider: FakeProvider) -> None:
    api, user = down_api
    healthy = baseline(client, provider)
    observe_down(api, user)

    outage = timed_calls(client, 0, 600)
    assert_unaffected(healthy, outage)
    t0 = time.monotonic()
    assert_memory_bounded(client, 600, 800)
    made = 1_400
    print(f"memory phase {time.monotonic() - t0:.1f}s")
    assert CONFIG.exporter.sent == 0 and CONFIG.exporter.dropped >= made - CAP - BATCH

    t0 = time.monotonic()
    api.start()  # same port, same database: the key the SDK holds is valid again
    print(f"API start {time.monotonic() - t0:.1f}s")
    t0 = time.monotonic()
    check_delivery(api, user, made, flush_timeout=20)
    print(f"delivery {time.monotonic() - t0:.1f}s")


@pytest.mark.soak
def test_a_minute_long_outage_under_steady_traffic(down_api: tuple[ApiServer, TestUser], client: openai.OpenAI,
                                                   provider: FakeProvider) -> None:
    """A minute down with calls trickling in (the exporter reaches its 30 s backoff ceiling), an API
    that then comes back, crashes (kill -9) while the backlog drains, and comes back again."""
    api, user = down_api
    healthy = baseline(client, provider)
    observe_down(api, user)
    outage: list[float] = []
    made = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        outage += timed_calls(client, made, 100)
        made += 100
        time.sleep(0.5)
    assert_unaffected(healthy, outage)
    assert len(CONFIG.exporter._queue) <= CAP

    api.start()
    api.stop(signal.SIGKILL)  # it dies again before the exporter's next retry
    api.start()
    check_delivery(api, user, made, flush_timeout=45)


def test_flush_retries_at_once_once_the_api_is_back() -> None:
    """`flush()` promises to "send every queued event now"; an API that is back must not wait out a backoff."""
    from llmobserve._exporter import Exporter

    ingest = FakeIngest()
    ingest.plan = [503, 503, 503]  # three failures: the sender now sleeps 2 s before its next attempt
    exporter = Exporter(endpoint=ingest.url, api_key="llmo_x", flush_interval=0.01)
    try:
        exporter.enqueue({"timestamp": time.time(), "provider": "openai", "model": "m"})
        with ingest.cond:
            ingest.cond.wait_for(lambda: len(ingest.posts) == 3, timeout=5)
        time.sleep(0.05)
        # the API is healthy again (the plan is used up); flush must get the event through now
        assert exporter.flush(timeout=1.0)
    finally:
        exporter.shutdown(timeout=0.1)
        ingest.close()
