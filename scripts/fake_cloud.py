"""Google Gemini and AWS Bedrock routes for scripts/fake_provider.py: recorded answers, replayed.

| path | answers (from tests/fixtures/provider-payloads/) |
|---|---|
| `POST /v1beta/models/{model}:generateContent` | `google/documented_generate_content_cached_thinking` (cached prompt, thinking tokens) |
| `POST /v1beta/models/{model}:streamGenerateContent?alt=sse` | `google/documented_generate_content_stream` |
| `POST /model/{modelId}/converse` | `bedrock/documented_converse_cache_write` |
| `POST /model/{modelId}/converse-stream` | `bedrock/documented_converse_stream_cache_read`, AWS event-stream framed |

The answers are the documented shapes the SDK's own tests replay, each with the `expected_usage` it
records (see the fixtures' README). Point `google-genai` at the fake with
`http_options=HttpOptions(base_url=fake.url)` and boto3's `bedrock-runtime` client with
`endpoint_url=fake.url` (any region and credentials). Standard library only.
"""

from __future__ import annotations

import binascii
import json
import struct
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "provider-payloads"
ROUTES = (  # path suffix -> recorded answer; the stream suffixes first (they end like the others do not)
    (":streamGenerateContent", "google/documented_generate_content_stream"),
    (":generateContent", "google/documented_generate_content_cached_thinking"),
    ("/converse-stream", "bedrock/documented_converse_stream_cache_read"),
    ("/converse", "bedrock/documented_converse_cache_write"),
)
EVENT_STREAM = "application/vnd.amazon.eventstream"

Reply = tuple[int, dict[str, str], list[bytes], float]


def is_cloud_path(path: str) -> bool:
    return any(path.endswith(suffix) for suffix, _ in ROUTES)


def cloud_answer(path: str) -> Reply | None:
    """The recorded answer for a Gemini or Bedrock path, or None for other paths."""
    for suffix, name in ROUTES:
        if path.endswith(suffix):
            resp = json.loads((FIXTURES / f"{name}.json").read_text())["response"]
            if resp["content_type"] == EVENT_STREAM:  # stored as a list of events: frame them
                parts = [event_message(ev["event"], ev["payload"]) for ev in json.loads(resp["body"])]
                return resp["status"], {"Content-Type": EVENT_STREAM}, parts, 0.004
            return resp["status"], {"Content-Type": resp["content_type"]}, [resp["body"].encode()], 0.0
    return None


def event_message(event_type: str, payload: dict[str, Any]) -> bytes:
    """One AWS event-stream message (what Bedrock's ConverseStream answers): total length, headers
    length, prelude CRC32, string headers (`:event-type`, `:content-type`, `:message-type`), the JSON
    payload, and a CRC32 of it all."""
    headers = b""
    for name, value in ((":event-type", event_type), (":content-type", "application/json"),
                        (":message-type", "event")):
        n, v = name.encode(), value.encode()
        headers += struct.pack(">B", len(n)) + n + b"\x07" + struct.pack(">H", len(v)) + v
    body = json.dumps(payload).encode()
    prelude = struct.pack(">II", 12 + len(headers) + len(body) + 4, len(headers))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    message = prelude + headers + body
    return message + struct.pack(">I", binascii.crc32(message))
