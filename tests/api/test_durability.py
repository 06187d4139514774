"""An acknowledged event is on disk: kill -9 during sustained ingest loses none of them."""

from __future__ import annotations

import io
import signal
import threading
import time

import httpx
import pyarrow as pa

from tests.factories import create_user, make_event
from tests.server import ApiServer


def stored_ids(api: ApiServer, headers: dict[str, str]) -> set[str]:
    answer = httpx.get(f"{api.url}/v1/events/export", headers=headers, params={"format": "arrow"}, timeout=60)
    return set(pa.ipc.open_stream(io.BytesIO(answer.content)).read_all().column("id").to_pylist())


def test_kill_9_during_sustained_ingest_loses_no_acknowledged_event(fresh_api: ApiServer) -> None:
    user = create_user(fresh_api)
    acknowledged: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def send() -> None:
        with httpx.Client(base_url=fresh_api.url, headers=user.headers, timeout=10) as client:
            while not stop.is_set():
                batch = [make_event() for _ in range(200)]
                try:
                    answer = client.post("/v1/events", json={"events": batch})
                except httpx.HTTPError:
                    return  # the server died mid-request: that batch was never acknowledged
                if answer.status_code == 200:
                    with lock:
                        acknowledged.update(e["id"] for e in batch)

    senders = [threading.Thread(target=send) for _ in range(4)]
    for thread in senders:
        thread.start()
    deadline = time.monotonic() + 60  # generous: a loaded CI machine ingests slower, the point is no loss
    while len(acknowledged) < 5_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    fresh_api.stop(signal.SIGKILL)
    stop.set()
    for thread in senders:
        thread.join()
    assert len(acknowledged) >= 1_000, "too little was acknowledged to test anything"

    fresh_api.start()
    missing = acknowledged - stored_ids(fresh_api, user.headers)
    assert not missing, f"{len(missing)} acknowledged events lost"
