"""kill -9 of the API during sustained ingest, again and again: no acknowledged event is ever lost, the
database reopens every time, and re-sending what was in flight stores each event once (DESIGN §7).

tests/api/test_durability.py covers one cycle; this is the repeated version, for `make soak`.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.factories import TestUser, create_user, make_event, post_events
from tests.reliability.support import exported
from tests.server import ApiServer

CYCLES = 5
SENDERS = 4
BATCH = 200


class Ingest:
    """Senders posting batches until told to stop; remembers what was acknowledged and what was in flight."""

    def __init__(self, api: ApiServer, user: TestUser, cycle: int) -> None:
        self.api, self.user, self.cycle = api, user, cycle
        self.acknowledged: set[str] = set()
        self.in_flight: list[list[dict]] = []  # batches whose answer never came: maybe stored, maybe not
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._send, args=(n,)) for n in range(SENDERS)]

    def _send(self, n: int) -> None:
        with httpx.Client(base_url=self.api.url, headers=self.user.headers, timeout=10) as client:
            i = 0
            while not self.stop.is_set():
                i += 1
                batch = [make_event(run_id=f"c{self.cycle}-s{n}-b{i}") for _ in range(BATCH)]
                try:
                    answer = client.post("/v1/events", json={"events": batch})
                except httpx.HTTPError:
                    with self.lock:
                        self.in_flight.append(batch)
                    return  # the server died mid-request
                assert answer.status_code == 200, answer.text
                assert answer.json()["accepted"] == BATCH
                with self.lock:
                    self.acknowledged.update(e["id"] for e in batch)

    def __enter__(self) -> Ingest:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)


@pytest.mark.soak
def test_repeated_kill_9_during_ingest_loses_no_acknowledged_event(tmp_path: Path) -> None:
    api = ApiServer(tmp_path / "api").start()
    rng = random.Random(9)
    try:
        user = create_user(api)
        acknowledged: set[str] = set()
        in_flight: list[list[dict]] = []
        for cycle in range(CYCLES):
            ingest = Ingest(api, user, cycle)
            with ingest:
                # kill at a different moment each cycle, always with ingest in full swing
                target = rng.randint(3_000, 12_000)
                deadline = time.monotonic() + 30
                while len(ingest.acknowledged) < target and time.monotonic() < deadline:
                    time.sleep(0.01)
                time.sleep(rng.random() * 0.05)
                api.stop(signal.SIGKILL)
            assert len(ingest.acknowledged) >= 3_000, f"cycle {cycle}: ingest too slow to test anything"
            acknowledged |= ingest.acknowledged
            in_flight += ingest.in_flight

            api.start()  # the same data dir: the database must reopen after every crash
            stored = exported(api, user.headers).column("id").to_pylist()
            missing = acknowledged - set(stored)
            assert not missing, f"cycle {cycle}: {len(missing)} acknowledged events lost"
            duplicated = [i for i, n in Counter(stored).items() if n > 1]
            assert not duplicated, f"cycle {cycle}: {len(duplicated)} events stored twice"
            print(f"cycle {cycle}: {len(ingest.acknowledged)} acknowledged, {len(ingest.in_flight)} batches in flight,"
                  f" {len(stored)} stored in all")

        # What was in flight at a kill may or may not be stored: re-sending it stores each event exactly once.
        for batch in in_flight:
            answer = post_events(api, user, batch)
            assert answer.status_code == 200
            assert answer.json()["accepted"] + answer.json()["duplicates"] == len(batch)
        stored = exported(api, user.headers).column("id").to_pylist()
        assert len(stored) == len(set(stored))
        assert set(stored) == acknowledged | {e["id"] for b in in_flight for e in b}
        summary = httpx.get(f"{api.url}/v1/analytics/summary", headers=user.headers).json()
        assert summary["calls"] == len(stored)
    finally:
        api.stop()
