"""Request body limit as plain ASGI: answers a readable 413 instead of resetting the connection.

OTLP exporters sending protobuf get the 413 as a protobuf google.rpc.Status, as the OTLP spec asks.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.otlp import PROTOBUF, media_type, status_body

# Past this much we stop draining and close: nobody is owed a polite answer for a gigabyte.
DRAIN_LIMIT = 64 * 1024 * 1024


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int, path_limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = path_limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        limit = self.path_limits.get(scope["path"].rstrip("/"), self.max_bytes)
        protobuf = media_type(headers.get(b"content-type", b"").decode("latin-1")) == PROTOBUF
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._drain(receive)
            await self._too_large(send, limit, protobuf)
            return
        seen = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not response_started:
                await self._drain(receive)
                await self._too_large(send, limit, protobuf)

    async def _drain(self, receive: Receive) -> None:
        drained = 0
        while drained < DRAIN_LIMIT:
            message = await receive()
            if message["type"] != "http.request":
                return
            drained += len(message.get("body", b""))
            if not message.get("more_body"):
                return

    async def _too_large(self, send: Send, limit: int, protobuf: bool) -> None:
        message = f"request body too large: the limit is {limit} bytes; send smaller batches"
        if protobuf:
            body, kind = status_body(413, message, as_protobuf=True), PROTOBUF.encode()
        else:
            body, kind = json.dumps({"detail": message}).encode(), b"application/json"
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
