"""Background delivery of usage events to `POST {endpoint}/v1/events`.

The caller only appends to a bounded deque (full → the oldest event is dropped and counted): a finished
`Call` (or an event dict); a daemon thread builds the event dicts, serialises, batches and posts with
the standard library's keep-alive `http.client`.
Nothing here ever raises into the host program.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
import uuid
import weakref
from collections import deque
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from ._call import event_of
from ._log import log_once, logger, reset_once
from ._version import __version__

_STOP = object()  # sentinel: the worker sends what is left, then exits
_MAX_BACKOFF = 30.0
_exporters: weakref.WeakSet[Exporter] = weakref.WeakSet()
_fork_hook_installed = False


class Exporter:
    """Bounded queue plus one sender thread; `enqueue` never blocks and never raises."""

    def __init__(
        self,
        *,
        endpoint: str,
        api_key: str | None,
        max_queue_size: int = 10_000,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        timeout: float = 5.0,
    ) -> None:
        parts = urlsplit(endpoint.rstrip("/"))
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if self._https else 80)
        self._path = (parts.path or "") + "/v1/events"
        self._headers = {
            "Content-Type": "application/json",
            "User-Agent": f"llmobserve-python/{__version__}",
        }
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._maxlen = max(1, int(max_queue_size))
        self._batch_size = max(1, int(batch_size))
        self._interval = float(flush_interval)
        self._timeout = float(timeout)
        self.dropped = 0  # events lost to a full queue
        self.failed = 0  # events given up on (refused, or undeliverable before exit)
        self.sent = 0
        self._reset_runtime()
        _exporters.add(self)
        _install_fork_hook()

    def _reset_runtime(self) -> None:
        self._queue: deque[Any] = deque(maxlen=self._maxlen)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._retry_now = threading.Event()  # cuts a retry backoff short: a flush or shutdown wants it now
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._conn: http.client.HTTPConnection | None = None
        self._busy = False
        self._urgent = False
        self._closed = False
        self._deadline: float | None = None

    # -- caller side -----------------------------------------------------------------------------
    def enqueue(self, event: Any) -> None:
        """Hand one event (a finished `Call`, or a dict) to the sender; O(1), lock-free on the common path."""
        q = self._queue
        if len(q) >= self._maxlen:
            self.dropped += 1
        q.append(event)
        if self._thread is None:
            self._start()
        if len(q) == self._batch_size:  # the crossing only: the sender keeps going while a batch is full
            self._wake.set()

    def take_pending(self) -> list[Any]:
        """Empty the queue, answering the events it held (observe() moves them to a new exporter)."""
        pending = [ev for ev in list(self._queue) if ev is not _STOP]
        self._queue.clear()
        return pending

    def flush(self, timeout: float = 5.0) -> bool:
        """Send everything queued now; True when the queue drained within `timeout` seconds."""
        if self._thread is None and self._queue:
            self._start()
        deadline = time.monotonic() + timeout
        self._urgent = True
        self._wake.set()
        self._retry_now.set()
        try:
            while time.monotonic() < deadline:
                if not self._queue and not self._busy:
                    return True
                time.sleep(0.002)
            return not self._queue and not self._busy
        finally:
            self._urgent = False

    def shutdown(self, timeout: float = 2.0) -> None:
        """Stop the sender after one last attempt to deliver, giving up after `timeout` seconds."""
        if self._closed:
            return
        self._closed = True
        self._deadline = time.monotonic() + timeout
        if self._thread is None:
            if not self._queue:
                return
            self._start()
        self._queue.append(_STOP)
        self._stopping.set()
        self._wake.set()
        self._retry_now.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(max(0.0, self._deadline - time.monotonic()))

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                t = threading.Thread(target=self._run, name="llmobserve-exporter", daemon=True)
                t.start()
                self._thread = t

    # -- sender thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                if not self._stopping.is_set() and len(self._queue) < self._batch_size and not self._urgent:
                    self._wake.wait(self._interval)
                    self._wake.clear()
                self._busy = True
                batch, stop = self._take()
                if batch:
                    self._deliver(batch)
                self._busy = False
                if stop or (self._stopping.is_set() and not self._queue):
                    break
        except Exception:  # never let the thread die loudly in the host
            log_once("worker", "llmobserve exporter stopped unexpectedly", exc_info=True)
        finally:
            self._busy = False
            if self._conn is not None:
                self._conn.close()

    def _take(self) -> tuple[list[dict[str, Any]], bool]:
        batch: list[dict[str, Any]] = []
        q = self._queue
        while q and len(batch) < self._batch_size:
            try:
                item = q.popleft()
            except IndexError:  # emptied meanwhile by observe() moving the queue to a new exporter
                break
            if item is _STOP:
                return batch, True
            try:
                batch.append(event_of(item))
            except Exception:  # a Call that cannot be turned into an event: count it, keep going
                self.failed += 1
                log_once("event", "llmobserve: could not build an event", exc_info=True)
        return batch, False

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        """Post one batch, retrying 429/5xx/network errors with backoff; split it on 413."""
        body = _serialise(batch)
        backoff = 0.5
        while True:
            if self._deadline is not None and time.monotonic() >= self._deadline:
                self.failed += len(batch)
                return
            outcome = self._post_once(body, len(batch))
            if outcome == "done":
                return
            if outcome == "split":
                if len(batch) == 1:
                    self.failed += 1
                    log_once("413", "llmobserve: an event is larger than the API accepts; dropped")
                    return
                half = len(batch) // 2
                self._deliver(batch[:half])
                self._deliver(batch[half:])
                return
            if self._stopping.is_set():  # exiting: one attempt per batch, no waiting
                self.failed += len(batch)
                return
            self._retry_now.wait(backoff)
            self._retry_now.clear()
            backoff = min(backoff * 2, _MAX_BACKOFF)

    def _post_once(self, body: bytes, n: int) -> str:
        """One POST; answers 'done', 'retry' or 'split' and logs (once) what went wrong."""
        try:
            status, data = self._request(body)
        except (OSError, http.client.HTTPException) as exc:
            log_once("unreachable", "llmobserve: API at %s:%s unreachable (%s); will retry",
                     self._host, self._port, exc.__class__.__name__)
            return "retry"
        if status == 200:
            self.sent += n
            reset_once("unreachable")
            try:
                rejected = json.loads(data or b"{}").get("rejected") or []
            except ValueError:
                rejected = []
            if rejected:
                self.failed += len(rejected)
                log_once("rejected", "llmobserve: API rejected %d event(s), first: %s", len(rejected), rejected[0])
            return "done"
        if status == 413:
            return "split"
        if status == 429 or status >= 500:
            log_once("unreachable", "llmobserve: API answered %s; will retry", status)
            return "retry"
        self.failed += n
        if status in (401, 403):
            log_once("auth", "llmobserve: API refused the key (HTTP %s); events are not being stored", status)
        else:
            log_once(f"http{status}", "llmobserve: API refused a batch (HTTP %s): %s", status, data[:300])
        return "done"

    def _request(self, body: bytes) -> tuple[int, bytes]:
        timeout = self._timeout
        if self._deadline is not None:
            timeout = max(0.05, min(timeout, self._deadline - time.monotonic()))
        for attempt in (0, 1):  # a kept-alive connection the server closed fails once: reconnect
            conn = self._conn
            if conn is None:
                cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
                conn = self._conn = cls(self._host, self._port, timeout=timeout)
            else:
                conn.timeout = timeout
                if conn.sock is not None:
                    conn.sock.settimeout(timeout)
            try:
                conn.request("POST", self._path, body, self._headers)
                resp = conn.getresponse()
                return resp.status, resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                self._conn = None
                if attempt:
                    raise
            except BaseException:
                conn.close()
                self._conn = None
                raise
        raise AssertionError("unreachable")


def _serialise(batch: list[dict[str, Any]]) -> bytes:
    """Wire form of a batch: ids assigned once (kept across retries), timestamps as ISO 8601 UTC."""
    for ev in batch:
        ts = ev.get("timestamp")
        if isinstance(ts, float):
            ev["timestamp"] = datetime.fromtimestamp(ts, timezone.utc).isoformat()
        if "id" not in ev:
            ev["id"] = str(uuid.uuid4())
    return json.dumps({"events": batch}, separators=(",", ":"), default=str).encode()


def _after_fork_in_child() -> None:
    for exp in list(_exporters):
        closed = exp._closed
        exp._reset_runtime()  # the parent's thread and locks do not exist here; its events are its own
        exp._closed = closed


def _install_fork_hook() -> None:
    global _fork_hook_installed
    if not _fork_hook_installed and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _fork_hook_installed = True


__all__ = ["Exporter", "logger"]
