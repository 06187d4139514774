"""Stream proxies: the user iterates exactly what the client yields; we watch and record once.

`StreamProxy` wraps a client's `Stream`/`AsyncStream`. It collects usage in `__next__`/`__anext__` and
finishes exactly once (lock plus flag) on the end, `close`, `__exit__`/`__aexit__` or garbage
collection; a stream dropped mid-way is recorded as `incomplete` with what was known. Stream helpers
(`messages.stream()`, `chat.completions.stream()`) iterate the proxied stream the request returned.
`observe_item` and `stream_ended` are shared with the generator that watches raw-mode streams.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import wrapt

from ._call import Call
from ._log import log_once

OnItem = Callable[[Call, Any], bool]



def observe_item(call: Call, on_item: OnItem, item: Any) -> bool:
    """Feed one item to the provider's accumulator; True means hide it from the user."""
    if call.ttft_ms is None:
        call.ttft_ms = (time.perf_counter() - call.t0) * 1000.0
    try:
        return on_item(call, item)
    except Exception:
        log_once("stream-extract", "llmobserve: could not read usage from a stream chunk", exc_info=True)
        return False


def stream_ended(call: Call, status: str | None, exc: BaseException | None = None) -> None:
    """Record a stream once; `status=None` (closed early) is ok only if the final usage arrived."""
    if status is None:
        status = "ok" if call.complete else "incomplete"
    try:
        call.finish(status, exc)
    except Exception:
        log_once("finish", "llmobserve: could not record a stream", exc_info=True)


class StreamProxy(wrapt.ObjectProxy):  # type: ignore[misc]
    """Transparent proxy over a sync or async provider stream."""

    def __init__(self, wrapped: Any, call: Call, on_item: OnItem) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_on_item = on_item
        self._self_lock = threading.Lock()
        self._self_done = False
        self._self_next: Any = None

    # -- sync -------------------------------------------------------------------------------------
    def __iter__(self) -> StreamProxy:
        return self

    def __next__(self) -> Any:
        step = self._self_next
        if step is None:  # an iterable without `__next__` (botocore's EventStream): iterate it
            wrapped = self.__wrapped__
            step = self._self_next = wrapped.__next__ if hasattr(wrapped, "__next__") else iter(wrapped).__next__
        while True:
            try:
                item = step()
            except StopIteration:
                self._self_finish("ok")
                raise
            except BaseException as exc:
                self._self_finish("error", exc)
                raise
            if not self._self_observe(item):
                return item

    def __enter__(self) -> StreamProxy:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc)
        finally:
            self._self_finish(None)

    def close(self) -> Any:
        """Sync streams close synchronously; async ones answer a coroutine we finish after."""
        result = self.__wrapped__.close()
        if hasattr(result, "__await__"):
            return self._self_aclose(result)
        self._self_finish(None)
        return result

    # -- async ------------------------------------------------------------------------------------
    def __aiter__(self) -> StreamProxy:
        return self

    async def __anext__(self) -> Any:
        while True:
            try:
                item = await self.__wrapped__.__anext__()
            except StopAsyncIteration:
                self._self_finish("ok")
                raise
            except BaseException as exc:
                self._self_finish("error", exc)
                raise
            if not self._self_observe(item):
                return item

    async def __aenter__(self) -> StreamProxy:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc)
        finally:
            self._self_finish(None)

    async def _self_aclose(self, pending: Any) -> Any:
        try:
            return await pending
        finally:
            self._self_finish(None)

    # -- recording --------------------------------------------------------------------------------
    def _self_observe(self, item: Any) -> bool:
        return observe_item(self._self_call, self._self_on_item, item)

    def _self_finish(self, status: str | None, exc: BaseException | None = None) -> None:
        with self._self_lock:
            if self._self_done:
                return
            self._self_done = True
        stream_ended(self._self_call, status, exc)

    def __del__(self) -> None:
        try:
            if not self._self_done:
                self._self_finish(None)
        except Exception:  # interpreter shutdown or a half-built proxy: nothing to record
            pass
