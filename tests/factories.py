"""Builders for the things tests need: users with keys, and usage events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.server import ApiServer


@dataclass
class TestUser:
    __test__ = False  # not a pytest class
    id: str
    email: str
    api_key: str
    key_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


def create_user(api: ApiServer, email: str | None = None, **fields: Any) -> TestUser:
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    answer = httpx.post(f"{api.url}/admin/users", headers=api.admin(), json={"email": email, **fields})
    answer.raise_for_status()
    body = answer.json()
    return TestUser(id=body["user"]["id"], email=email, api_key=body["api_key"], key_id=body["key_id"])


def make_event(**overrides: Any) -> dict[str, Any]:
    event = {
        "id": str(uuid.uuid4()),
        "timestamp": datetime.now(UTC).isoformat(),
        "provider": "openai",
        "model": "gpt-4o-mini-2024-07-18",
        "operation": "chat",
        "customer_id": "cust_1",
        "input_tokens": 1000,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "output_tokens": 100,
        "reasoning_tokens": 0,
        "latency_ms": 420.0,
        "stream": False,
        "status": "ok",
        "sdk_version": "test",
    }
    event.update(overrides)
    return event


def post_events(api: ApiServer, user: TestUser, events: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(f"{api.url}/v1/events", headers=user.headers, json={"events": events}, timeout=30)
