"""One HTTP load loop for the ingest benchmarks: request bodies encoded before the clock starts, sent by
`clients` threads (each with its own keep-alive connection, spread over the servers as a load balancer
would), every answer checked, the wall time and each request's latency measured."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Load:
    elapsed_s: float
    latencies_s: list[float]

    def per_second(self, items: int) -> float:
        return items / self.elapsed_s

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies_s) * 1000

    @property
    def p95_ms(self) -> float:
        return statistics.quantiles(self.latencies_s, n=20)[-1] * 1000


def post_all(base_urls: Sequence[str], path: str, bodies: Sequence[bytes], *, headers: dict[str, str], clients: int,
             check: Callable[[httpx.Response], bool], timeout: float = 120) -> Load:
    """POST every body once to `path`; `check` must hold for each answer (else AssertionError)."""
    index, lock, latencies = iter(range(len(bodies))), threading.Lock(), []

    def worker(n: int) -> None:
        with httpx.Client(base_url=base_urls[n % len(base_urls)], headers=headers, timeout=timeout) as client:
            while True:
                with lock:
                    i = next(index, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                answer = client.post(path, content=bodies[i])
                assert check(answer), f"{answer.status_code}: {answer.text[:500]}"
                with lock:
                    latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Load(time.perf_counter() - started, latencies)
