"""Local HTTP stand-ins: a fake LLM provider (JSON and SSE) and a fake llmobserve ingest API.

Both are threaded stdlib servers on 127.0.0.1 with an ephemeral port. The real `openai` and
`anthropic` clients talk to the provider; the SDK's real exporter talks to the ingest.
"""

from __future__ import annotations

import binascii
import json
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "provider-payloads"
Reply = tuple[int, str, str]  # status, content type, body


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def fixture_reply(name: str) -> Reply:
    resp = load_fixture(name)["response"]
    if resp["content_type"] == "application/vnd.amazon.eventstream":  # stored as a list of events
        return resp["status"], resp["content_type"], event_stream(json.loads(resp["body"]))  # type: ignore[return-value]
    return resp["status"], resp["content_type"], resp["body"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[_Server, str]:
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# -- synthetic provider answers ---------------------------------------------------------------------
CHAT_MODEL = "gpt-4o-mini-2024-07-18"
CHAT_USAGE = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17,
              "prompt_tokens_details": {"cached_tokens": 4},
              "completion_tokens_details": {"reasoning_tokens": 2}}


def chat_json() -> str:
    return json.dumps({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": CHAT_MODEL,
        "service_tier": "default",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": '{"answer":"hi"}'}}],
        "usage": CHAT_USAGE,
    })


def chat_sse(include_usage: bool) -> str:
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": CHAT_MODEL}
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {"content": '{"answer":'}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {"content": '"hi"}'}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]
    if include_usage:
        chunks.append({**base, "choices": [], "usage": CHAT_USAGE})
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


def event_stream(events: list[dict[str, Any]]) -> bytes:
    """AWS event-stream framing (what Bedrock's ConverseStream answers): one message per event.

    Each message: total length, headers length, prelude CRC32, headers (`:event-type`,
    `:content-type`, `:message-type`, as strings), the JSON payload, and a CRC32 of it all.
    """
    out = b""
    for ev in events:
        headers = b""
        for name, value in ((":event-type", ev["event"]), (":content-type", "application/json"),
                            (":message-type", "event")):
            n, v = name.encode(), value.encode()
            headers += struct.pack(">B", len(n)) + n + b"\x07" + struct.pack(">H", len(v)) + v
        payload = json.dumps(ev["payload"]).encode()
        prelude = struct.pack(">II", 12 + len(headers) + len(payload) + 4, len(headers))
        prelude += struct.pack(">I", binascii.crc32(prelude))
        message = prelude + headers + payload
        out += message + struct.pack(">I", binascii.crc32(message))
    return out


def cloud_reply(path: str) -> Reply | None:
    """Google (`:generateContent`) and Bedrock (`/converse`) answers, from the documented fixtures."""
    if path.endswith(":streamGenerateContent"):
        return fixture_reply("google/documented_generate_content_stream")
    if path.endswith(":generateContent"):
        return fixture_reply("google/documented_generate_content_cached_thinking")
    if path.endswith("/converse-stream"):
        return fixture_reply("bedrock/documented_converse_stream_cache_read")
    if path.endswith("/converse"):
        return fixture_reply("bedrock/documented_converse_cache_write")
    return None


def default_reply(path: str, body: dict[str, Any]) -> Reply:
    """What the fake provider answers when a test did not queue a specific reply."""
    stream = body.get("stream") is True
    cloud = cloud_reply(path)
    if cloud is not None:
        return cloud
    if path.endswith("/chat/completions"):
        if stream:
            include = bool((body.get("stream_options") or {}).get("include_usage"))
            return 200, "text/event-stream", chat_sse(include)
        return 200, "application/json", chat_json()
    if path.endswith("/responses"):
        return fixture_reply("openai/responses_stream" if stream else "openai/responses_basic")
    if path.endswith("/embeddings"):
        return fixture_reply("openai/embeddings_ada002_base64")
    if path.endswith("/messages"):
        return fixture_reply("anthropic/prompt_cache_write_stream" if stream else "anthropic/prompt_cache_read")
    return 404, "application/json", '{"error": {"message": "no such route"}}'


def error_reply(status: int) -> Reply:
    body = {"error": {"message": f"fake error {status}", "type": "invalid_request_error", "code": None}}
    return status, "application/json", json.dumps(body)


class FakeProvider:
    """A fake LLM API. Queue replies with `reply(...)`; otherwise `default_reply` answers."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.queued: list[Reply] = []
        self.delay = 0.0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.loads(raw or b"{}")
                owner.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
                status, ctype, text = owner.queued.pop(0) if owner.queued else default_reply(
                    self.path.split("?")[0], body)
                if owner.delay:
                    time.sleep(owner.delay)
                data = text if isinstance(text, bytes) else text.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server, self.url = _serve(Handler)

    def reply(self, *replies: Reply) -> None:
        self.queued.extend(replies)

    def reset(self) -> None:
        self.requests.clear()
        self.queued.clear()
        self.delay = 0.0

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeIngest:
    """A fake `POST /v1/events`; `plan` holds statuses to answer first (then 200)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.posts: list[dict[str, Any]] = []
        self.plan: list[int] = []
        self.max_events: int | None = None  # answer 413 to bigger batches
        self.cond = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                payload = json.loads(raw)
                events = payload["events"]
                with owner.cond:
                    owner.posts.append({"headers": dict(self.headers), "n": len(events),
                                        "ids": [e["id"] for e in events]})
                    status = owner.plan.pop(0) if owner.plan else 200
                    if owner.max_events is not None and len(events) > owner.max_events:
                        status = 413
                    if status == 200:
                        owner.events.extend(events)
                    owner.cond.notify_all()
                answer = {"accepted": len(events), "duplicates": 0, "rejected": []} if status == 200 else {
                    "detail": "nope"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server, self.url = _serve(Handler)

    def wait_for(self, n: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.events) >= n, timeout)
            return list(self.events)

    def reset(self) -> None:
        with self.cond:
            self.events.clear()
            self.posts.clear()
            self.plan.clear()
            self.max_events = None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def dead_url() -> str:
    """A local URL nobody listens on (connection refused at once)."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


Factory = Callable[..., Any]
