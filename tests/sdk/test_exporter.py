"""The exporter: batching, retries with the same ids, 401/413 handling, bounded memory, exit deadline."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest

import llmobserve
from llmobserve._exporter import Exporter

from .fakes import dead_url


def make(url: str, **kw) -> Exporter:
    opts = {"endpoint": url, "api_key": "llmo_test", "flush_interval": 0.02, **kw}
    return Exporter(**opts)


def ev(i: int = 0) -> dict:
    return {"timestamp": time.time(), "model": "m", "input_tokens": i, "latency_ms": 1.5, "tags": {},
            "http_status": None}


def test_batches_with_key_and_wire_types(ingest_server):
    ingest_server.reset()
    exp = make(ingest_server.url, batch_size=10)
    for i in range(25):
        exp.enqueue(ev(i))
    assert exp.flush(5)
    exp.shutdown()
    got = ingest_server.events
    assert [e["input_tokens"] for e in got] == list(range(25))
    assert [p["n"] for p in ingest_server.posts] == [10, 10, 5]
    assert ingest_server.posts[0]["headers"]["Authorization"] == "Bearer llmo_test"
    assert len({e["id"] for e in got}) == 25 and got[0]["timestamp"].endswith("+00:00")
    assert isinstance(got[0]["input_tokens"], int) and got[0]["http_status"] is None


def test_retry_keeps_the_same_ids(ingest_server):
    ingest_server.reset()
    ingest_server.plan = [503, 429]
    exp = make(ingest_server.url)
    exp.enqueue(ev())
    exp.enqueue(ev())
    assert exp.flush(5)
    exp.shutdown()
    ids = [p["ids"] for p in ingest_server.posts]
    assert len(ids) == 3 and ids[0] == ids[1] == ids[2]
    assert len(ingest_server.events) == 2


def test_401_is_not_retried_and_logged_once(ingest_server, caplog):
    from llmobserve._log import reset_once

    reset_once("auth")
    ingest_server.reset()
    ingest_server.plan = [401, 401]
    exp = make(ingest_server.url, batch_size=1)
    with caplog.at_level(logging.WARNING, logger="llmobserve"):
        exp.enqueue(ev())
        exp.enqueue(ev())
        assert exp.flush(5)
    exp.shutdown()
    assert len(ingest_server.posts) == 2 and exp.failed == 2
    assert sum("refused the key" in r.message for r in caplog.records) == 1


def test_413_splits_the_batch(ingest_server):
    ingest_server.reset()
    ingest_server.max_events = 3
    exp = make(ingest_server.url, batch_size=10)
    for i in range(10):
        exp.enqueue(ev(i))
    assert exp.flush(5)
    exp.shutdown()
    assert sorted(e["input_tokens"] for e in ingest_server.events) == list(range(10))


def test_api_down_bounded_queue_counts_drops():
    exp = make(dead_url(), max_queue_size=100, batch_size=50)
    t0 = time.perf_counter()
    for i in range(10_000):
        exp.enqueue(ev(i))
    assert time.perf_counter() - t0 < 1.0  # never blocks the caller
    assert len(exp._queue) <= 100
    assert exp.dropped >= 10_000 - 100 - 50
    assert exp.flush(0.2) is False
    t0 = time.perf_counter()
    exp.shutdown(timeout=0.5)
    assert time.perf_counter() - t0 < 1.0


def test_api_down_host_calls_unaffected(provider_server, oai):
    provider_server.reset()
    llmobserve.observe(api_key="llmo_test", endpoint=dead_url(), flush_interval=0.01, max_queue_size=20)
    try:
        for _ in range(60):
            resp = oai.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
            assert resp.usage.prompt_tokens == 12
        from llmobserve._call import CONFIG

        exp = CONFIG.exporter
        assert len(exp._queue) <= 20 and exp.dropped + exp.failed + len(exp._queue) >= 30
    finally:
        llmobserve.shutdown(timeout=0.2)


EXIT_SCRIPT = textwrap.dedent("""
    import sys, time, llmobserve
    from llmobserve._call import Call
    url = sys.argv[1]
    if url != "none":
        llmobserve.observe(api_key="llmo_x", endpoint=url, flush_interval=0.01)
        for _ in range(2000):
            Call("chat", "openai", "m", False, None).finish("ok")
        time.sleep(0.05)
""")


def _exit_time(url: str) -> float:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", EXIT_SCRIPT, url], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return time.perf_counter() - t0


def test_exit_deadline_with_api_down_or_hanging():
    hang = socket.socket()  # accepts connections (backlog) but never answers
    hang.bind(("127.0.0.1", 0))
    hang.listen(16)
    try:
        base = _exit_time("none")
        refused = _exit_time(dead_url())
        hanging = _exit_time(f"http://127.0.0.1:{hang.getsockname()[1]}")
    finally:
        hang.close()
    assert refused - base < 2.0, (base, refused)
    assert hanging - base < 2.0, (base, hanging)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_child_gets_a_fresh_sender(ingest_server):
    ingest_server.reset()
    exp = make(ingest_server.url)
    exp.enqueue(ev(1))
    assert exp.flush(5)
    pid = os.fork()
    if pid == 0:  # child: the parent's thread does not exist here; a new one must start
        code = 1
        try:
            exp.enqueue(ev(2))
            code = 0 if exp.flush(5) else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    exp.shutdown()
    assert os.waitstatus_to_exitcode(status) == 0
    assert sorted(e["input_tokens"] for e in ingest_server.wait_for(2)) == [1, 2]
