#!/usr/bin/env python3
"""A stand-in LLM provider for `make demo` and the walkthrough test: no network, no provider keys, no cost.

It speaks just enough of the OpenAI and Anthropic HTTP APIs for their official Python clients:

| path | answers |
|---|---|
| `POST /v1/chat/completions` | JSON, or an SSE stream (with a usage chunk when `stream_options.include_usage`) |
| `POST /v1/responses` | JSON, or an SSE stream ending in `response.completed` with usage |
| `POST /v1/embeddings` | JSON (float vectors), usage in `prompt_tokens` |
| `POST /v1/messages` | Anthropic JSON, or an SSE stream (`message_start` … `message_delta` … `message_stop`) |
| Gemini `…:generateContent`, `…:streamGenerateContent`; Bedrock `/model/{id}/converse`, `…/converse-stream` | recorded answers, replayed (scripts/fake_cloud.py) |

Usage looks like the real thing: input tokens are estimated from the request text (about 4 characters a
token); OpenAI prompts of 1,024 tokens or more report half of them, in 128-token blocks, as
`cached_tokens` (OpenAI caches prefixes automatically); Anthropic requests with a `cache_control` block
write the cache on the first call and read it afterwards (`cache_creation_input_tokens`,
`cache_read_input_tokens`, which Anthropic keeps outside `input_tokens`). The answered model is the dated
name a provider would answer (`gpt-4o-mini` → `gpt-4o-mini-2024-07-18`).

Errors on request, through headers the clients pass with `extra_headers=`:

- `X-Fake-Status: 429|500|400|…` answers that error in the provider's own shape, with `x-should-retry: false`
  so the client gives up at once (one call, one error event);
- `X-Fake-Fail-Times: N` fails the first N attempts with a retryable 429 (`retry-after-ms: 5`), then
  succeeds: the client's own retries stay inside one call.

Used in-process (`with FakeProvider() as fake: OpenAI(base_url=fake.openai_url)`), or standalone:

    python scripts/fake_provider.py --port 8900
    OPENAI_BASE_URL=http://127.0.0.1:8900/v1 OPENAI_API_KEY=sk-fake python your_app.py

Standard library only, so the demo and tests need nothing else (and never import from tests/).
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

try:  # run as a script (`python scripts/fake_provider.py`) or imported as `scripts.fake_provider`
    from fake_cloud import cloud_answer
except ImportError:
    from scripts.fake_cloud import cloud_answer

# What a provider answers when asked for an alias: the dated model name.
ANSWERED_MODEL = {
    "gpt-4": "gpt-4-0613",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "claude-3-5-haiku-latest": "claude-3-5-haiku-20241022",
    "claude-sonnet-4-0": "claude-sonnet-4-20250514",
    "claude-sonnet-4": "claude-sonnet-4-20250514",
}
OPENAI_CACHE_MIN = 1024  # OpenAI caches prompts of this many tokens or more, in 128-token blocks
REPLY = ("Thanks for reaching out. I looked at the ticket history and the error is caused by an expired "
         "token on the integration; rotating it in Settings and retrying the sync fixes it. ")
ERROR_TYPES = {  # status → (OpenAI error type, Anthropic error type)
    400: ("invalid_request_error", "invalid_request_error"),
    401: ("invalid_request_error", "authentication_error"),
    404: ("invalid_request_error", "not_found_error"),
    429: ("rate_limit_exceeded", "rate_limit_error"),
    500: ("server_error", "api_error"),
    529: ("server_error", "overloaded_error"),
}

Reply = tuple[int, dict[str, str], list[bytes], float]  # status, headers, body parts, pause between parts


def answered_model(requested: str) -> str:
    return ANSWERED_MODEL.get(requested, requested)


def _text_of(value: Any) -> str:
    """Every string inside a request's messages/input/system, for a token estimate."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return " ".join(_text_of(v) for k, v in value.items() if k not in ("role", "type", "cache_control"))
    if isinstance(value, list):
        return " ".join(_text_of(v) for v in value)
    return ""


def _estimate_tokens(text: str) -> int:
    return 1 + len(text) // 4


def _output_tokens(body: dict[str, Any], rng: random.Random) -> int:
    """A plausible answer length, capped by the request's max tokens."""
    wanted = int(60 + 300 * rng.random() ** 2)
    cap = body.get("max_completion_tokens") or body.get("max_tokens") or body.get("max_output_tokens")
    return min(wanted, int(cap)) if isinstance(cap, int) and cap > 0 else wanted


def _has_cache_control(value: Any) -> bool:
    if isinstance(value, dict):
        return "cache_control" in value or any(_has_cache_control(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_cache_control(v) for v in value)
    return False


def _words(n_tokens: int) -> list[str]:
    """Reply text split into stream deltas, roughly as long as the output tokens say."""
    text = (REPLY * (1 + n_tokens * 4 // len(REPLY)))[: max(8, n_tokens * 4)]
    words = text.split(" ")
    size = max(1, len(words) // 6)
    return [" ".join(words[i:i + size]) + " " for i in range(0, len(words), size)]


def _sse(events: list[tuple[str | None, dict[str, Any] | str]]) -> list[bytes]:
    parts = []
    for name, data in events:
        payload = data if isinstance(data, str) else json.dumps(data)
        parts.append(((f"event: {name}\n" if name else "") + f"data: {payload}\n\n").encode())
    return parts


class FakeProvider:
    """A threaded HTTP server on 127.0.0.1 that answers like OpenAI and Anthropic."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency_ms: tuple[int, int] = (15, 90),
                 seed: int | None = None) -> None:
        self.latency_ms = latency_ms
        self.requests = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._cached_prefixes: set[int] = set()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # quiet: the demo prints its own summary
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, headers, parts, pause = owner.answer(self.path.split("?")[0], raw, self.headers)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if len(parts) == 1:
                    self.send_header("Content-Length", str(len(parts[0])))
                    self.end_headers()
                    self.wfile.write(parts[0])
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for part in parts:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                        self.wfile.flush()
                        if pause:
                            time.sleep(pause)
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):  # the client abandoned the stream: allowed
                    self.close_connection = True

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- life cycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_url(self) -> str:
        """`base_url` for `openai.OpenAI` (the OpenAI client expects the `/v1` in it)."""
        return self.url + "/v1"

    @property
    def anthropic_url(self) -> str:
        """`base_url` for `anthropic.Anthropic` (the client adds `/v1/messages` itself)."""
        return self.url

    def start(self) -> FakeProvider:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-provider", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- answers -----------------------------------------------------------------------------------
    def answer(self, path: str, raw: bytes, headers: Any) -> Reply:
        with self._lock:
            self.requests += 1
            delay = self._rng.uniform(*self.latency_ms) / 1000
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            return self._error(path, 400, "request body is not JSON")
        if not isinstance(body, dict):
            return self._error(path, 400, "request body must be a JSON object")
        forced = headers.get("X-Fake-Status")
        if forced and forced.isdigit() and int(forced) >= 400:
            time.sleep(delay / 3)
            return self._error(path, int(forced), f"fake error {forced} (asked for with X-Fake-Status)")
        fail_times = headers.get("X-Fake-Fail-Times") or "0"
        attempt = headers.get("x-stainless-retry-count") or "0"
        if fail_times.isdigit() and attempt.isdigit() and int(attempt) < int(fail_times):
            return self._error(path, 429, "rate limited (attempt %s); retry shortly" % attempt, retry=True)
        time.sleep(delay)
        cloud = cloud_answer(path)  # Gemini and Bedrock: the model is in the path, not the body
        if cloud is not None:
            return cloud
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return self._error(path, 400, "you must provide a model parameter")
        handlers = {"/v1/chat/completions": self._chat, "/v1/responses": self._responses,
                    "/v1/embeddings": self._embeddings, "/v1/messages": self._messages}
        handler = handlers.get(path)
        if handler is None:
            return self._error(path, 404, f"unknown path {path}")
        return handler(body, raw)

    def _error(self, path: str, status: int, message: str, *, retry: bool = False) -> Reply:
        openai_type, anthropic_type = ERROR_TYPES.get(status, ("api_error", "api_error"))
        if path.endswith("/messages"):
            payload: dict[str, Any] = {"type": "error", "error": {"type": anthropic_type, "message": message}}
        else:
            payload = {"error": {"message": message, "type": openai_type, "param": None,
                                 "code": openai_type if status == 429 else None}}
        headers = {"Content-Type": "application/json", "x-should-retry": "true" if retry else "false"}
        if retry:
            headers["retry-after-ms"] = "5"
        return status, headers, [json.dumps(payload).encode()], 0.0

    @staticmethod
    def _json(payload: dict[str, Any]) -> Reply:
        return 200, {"Content-Type": "application/json"}, [json.dumps(payload).encode()], 0.0

    @staticmethod
    def _stream(parts: list[bytes]) -> Reply:
        return 200, {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}, parts, 0.004

    # -- OpenAI ------------------------------------------------------------------------------------
    def _openai_usage(self, text: str, body: dict[str, Any], *, responses: bool = False) -> dict[str, Any]:
        prompt = 7 + _estimate_tokens(text)  # message framing, as the real count has
        cached = (prompt // 2) // 128 * 128 if prompt >= OPENAI_CACHE_MIN else 0
        with self._lock:
            completion = _output_tokens(body, self._rng)
        reasoning = completion // 3 if str(body.get("model", "")).startswith(("o1", "o3", "o4", "gpt-5")) else 0
        if responses:
            return {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": cached},
                    "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": reasoning},
                    "total_tokens": prompt + completion}
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}

    def _chat(self, body: dict[str, Any], raw: bytes) -> Reply:
        usage = self._openai_usage(_text_of(body.get("messages")), body)
        model = answered_model(body["model"])
        created = int(time.time())
        cid = "chatcmpl-" + uuid.uuid4().hex[:24]
        tier = body.get("service_tier") if body.get("service_tier") in ("flex", "priority") else "default"
        if body.get("stream") is not True:
            text = "".join(_words(usage["completion_tokens"])).strip()
            return self._json({
                "id": cid, "object": "chat.completion", "created": created, "model": model, "service_tier": tier,
                "system_fingerprint": "fp_fake", "usage": usage,
                "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                             "message": {"role": "assistant", "content": text, "refusal": None}}]})
        base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "service_tier": tier, "system_fingerprint": "fp_fake"}
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        events: list[tuple[str | None, dict[str, Any] | str]] = [(None, {**base, "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]})]
        for word in _words(usage["completion_tokens"]):
            events.append((None, {**base, "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}))
        events.append((None, {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
        if include_usage:
            events.append((None, {**base, "choices": [], "usage": usage}))
        events.append((None, "[DONE]"))
        return self._stream(_sse(events))

    def _responses(self, body: dict[str, Any], raw: bytes) -> Reply:
        usage = self._openai_usage(_text_of([body.get("instructions"), body.get("input")]), body,
                                   responses=True)
        model = answered_model(body["model"])
        rid, mid = "resp_" + uuid.uuid4().hex, "msg_" + uuid.uuid4().hex
        words = _words(usage["output_tokens"])
        text = "".join(words).strip()
        message = {"id": mid, "type": "message", "status": "completed", "role": "assistant",
                   "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}]}
        response = {"id": rid, "object": "response", "created_at": int(time.time()), "status": "completed",
                    "error": None, "incomplete_details": None, "instructions": body.get("instructions"),
                    "model": model, "output": [message], "parallel_tool_calls": True, "service_tier": "default",
                    "temperature": 1.0, "tool_choice": "auto", "tools": [], "top_p": 1.0, "truncation": "disabled",
                    "usage": usage, "metadata": {}, "text": {"format": {"type": "text"}}}
        if body.get("stream") is not True:
            return self._json(response)
        pending = {**response, "status": "in_progress", "output": [], "usage": None}
        seq = iter(range(10_000))
        events: list[tuple[str | None, dict[str, Any] | str]] = [
            ("response.created", {"type": "response.created", "response": pending, "sequence_number": next(seq)}),
            ("response.in_progress", {"type": "response.in_progress", "response": pending,
                                      "sequence_number": next(seq)}),
            ("response.output_item.added", {"type": "response.output_item.added", "output_index": 0,
                                            "item": {**message, "status": "in_progress", "content": []},
                                            "sequence_number": next(seq)}),
            ("response.content_part.added", {"type": "response.content_part.added", "item_id": mid, "output_index": 0,
                                             "content_index": 0, "sequence_number": next(seq),
                                             "part": {"type": "output_text", "annotations": [], "logprobs": [],
                                                      "text": ""}}),
        ]
        for word in words:
            events.append(("response.output_text.delta", {
                "type": "response.output_text.delta", "item_id": mid, "output_index": 0, "content_index": 0,
                "delta": word, "logprobs": [], "sequence_number": next(seq)}))
        events += [
            ("response.output_text.done", {"type": "response.output_text.done", "item_id": mid, "output_index": 0,
                                           "content_index": 0, "text": text, "logprobs": [],
                                           "sequence_number": next(seq)}),
            ("response.content_part.done", {"type": "response.content_part.done", "item_id": mid, "output_index": 0,
                                            "content_index": 0, "part": message["content"][0],
                                            "sequence_number": next(seq)}),
            ("response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": message,
                                           "sequence_number": next(seq)}),
            ("response.completed", {"type": "response.completed", "response": response,
                                    "sequence_number": next(seq)}),
        ]
        return self._stream(_sse(events))

    def _embeddings(self, body: dict[str, Any], raw: bytes) -> Reply:
        inputs = body.get("input")
        items = inputs if isinstance(inputs, list) and inputs and not isinstance(inputs[0], int) else [inputs]
        tokens = sum(_estimate_tokens(_text_of(item)) for item in items)
        dims = int(body.get("dimensions") or 8)
        rng = random.Random(zlib.crc32(raw))
        data = [{"object": "embedding", "index": i, "embedding": [round(rng.uniform(-1, 1), 6) for _ in range(dims)]}
                for i in range(len(items))]
        if body.get("encoding_format") == "base64":
            import base64
            import struct
            for item in data:
                vector = item["embedding"]
                item["embedding"] = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        return self._json({"object": "list", "data": data, "model": answered_model(body["model"]),
                           "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    # -- Anthropic ---------------------------------------------------------------------------------
    def _anthropic_usage(self, body: dict[str, Any]) -> dict[str, Any]:
        system, messages = body.get("system"), body.get("messages")
        with self._lock:
            output = _output_tokens(body, self._rng)
        total = 7 + _estimate_tokens(_text_of([system, messages]))
        cache_write = cache_read = 0
        if _has_cache_control([system, messages]):
            cached_part = _estimate_tokens(_text_of(system)) if _has_cache_control(system) else total // 2
            cached_part = min(cached_part, total - 1)
            key = zlib.crc32(json.dumps([body["model"], system], sort_keys=True).encode())
            with self._lock:
                seen = key in self._cached_prefixes
                self._cached_prefixes.add(key)
            if seen:
                cache_read = cached_part
            else:
                cache_write = cached_part
        return {"input_tokens": total - cache_write - cache_read, "cache_creation_input_tokens": cache_write,
                "cache_read_input_tokens": cache_read, "output_tokens": output,
                "service_tier": "standard"}

    def _messages(self, body: dict[str, Any], raw: bytes) -> Reply:
        usage = self._anthropic_usage(body)
        model = answered_model(body["model"])
        mid = "msg_" + uuid.uuid4().hex[:24]
        words = _words(usage["output_tokens"])
        if body.get("stream") is not True:
            return self._json({"id": mid, "type": "message", "role": "assistant", "model": model,
                               "content": [{"type": "text", "text": "".join(words).strip()}],
                               "stop_reason": "end_turn", "stop_sequence": None, "usage": usage})
        start_usage = {**usage, "output_tokens": 1}
        events: list[tuple[str | None, dict[str, Any] | str]] = [
            ("message_start", {"type": "message_start", "message": {
                "id": mid, "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": None, "stop_sequence": None, "usage": start_usage}}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}}),
            ("ping", {"type": "ping"}),
        ]
        for word in words:
            events.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                   "delta": {"type": "text_delta", "text": word}}))
        # The final message_delta repeats input and cache counts as cumulative totals (as newer API versions do).
        final = {k: usage[k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
                                       "output_tokens")}
        events += [
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": final}),
            ("message_stop", {"type": "message_stop"}),
        ]
        return self._stream(_sse(events))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A fake OpenAI/Anthropic API for local trials.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    args = parser.parse_args(argv)
    fake = FakeProvider(args.host, args.port)
    print(f"fake provider on {fake.url}")
    print(f"  OPENAI_BASE_URL={fake.openai_url}  ANTHROPIC_BASE_URL={fake.anthropic_url}  (any API key works)")
    try:
        fake._server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        fake._server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
