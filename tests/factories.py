"""Builders for the things tests need: users with keys, and usage events."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from svix.webhooks import Webhook

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


# -- Clerk deliveries --------------------------------------------------------------------------------
CLERK_FIXTURES = Path(__file__).parent / "fixtures" / "clerk"


def new_clerk_id() -> str:
    return "user_" + uuid.uuid4().hex


def clerk_event(name: str, *, user_id: str | None = None, email: str | None = None, **data: Any) -> dict[str, Any]:
    """A documented-shape delivery from tests/fixtures/clerk/<name>.json, with a user id (and, when it has
    one, an email) of its own so tests sharing one API never collide; `data` fields override the rest."""
    event = json.loads((CLERK_FIXTURES / f"{name}.json").read_text())
    event["data"]["id"] = user_id or new_clerk_id()
    addresses = event["data"].get("email_addresses") or []
    if addresses:
        addresses[0]["email_address"] = email or f"clerk-{uuid.uuid4().hex[:10]}@example.org"
    event["data"].update(data)
    return event


def clerk_email(event: dict[str, Any]) -> str:
    return event["data"]["email_addresses"][0]["email_address"]


def read_user(api: ApiServer, user_id: str) -> dict[str, Any] | None:
    """The user as the API shows it (GET /v1/me for that user), or None when there is no such user."""
    answer = httpx.get(f"{api.url}/v1/me", headers=api.admin(user_id))
    return answer.json() if answer.status_code == 200 else None


def keys_of(api: ApiServer, user_id: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{api.url}/clerk/api-keys", headers=api.admin(user_id))
    answer.raise_for_status()
    return answer.json()["data"]


def svix_headers(secret: str, body: str, *, msg_id: str | None = None, when: datetime | None = None) -> dict[str, str]:
    """Genuine Svix headers for `body`, signed the way Clerk's deliveries are."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    when = when or datetime.now(UTC)
    return {"svix-id": msg_id, "svix-timestamp": str(int(when.timestamp())),
            "svix-signature": Webhook(secret).sign(msg_id, when, body)}


def send_clerk_event(api: ApiServer, event: dict[str, Any] | str, *, msg_id: str | None = None,
                     secret: str | None = None, when: datetime | None = None) -> httpx.Response:
    """POST a correctly signed delivery (with the server's own secret unless told otherwise)."""
    body = event if isinstance(event, str) else json.dumps(event)
    headers = svix_headers(secret or api.webhook_secret, body, msg_id=msg_id, when=when)
    return httpx.post(f"{api.url}/webhooks/clerk", content=body,
                      headers={**headers, "Content-Type": "application/json"}, timeout=30)
