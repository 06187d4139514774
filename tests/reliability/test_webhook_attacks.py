"""A hundred hostile Clerk webhook deliveries — tampered, replayed, expired, forged and garbage — are
all refused with a 4xx (never a 5xx) and change nothing; the genuine delivery still works afterwards.

tests/api/routes/test_webhooks.py checks one delivery of each kind; this is the mixed barrage against
one server, with the whole user/key state compared before and after.
"""

from __future__ import annotations

import base64
import json
import random
import secrets
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.factories import clerk_event, create_user, keys_of, send_clerk_event, svix_headers
from tests.reliability.support import admin_users, table
from tests.server import BACKENDS, ApiServer

Delivery = tuple[bytes, dict[str, str]]
ATTACKS = 100


@pytest.fixture(scope="module", params=BACKENDS)
def hook_api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    server = ApiServer(tmp_path_factory.mktemp("webhook-attacks"), backend=request.param).start()
    yield server
    server.stop()


def state(api: ApiServer) -> dict[str, Any]:
    """Everything a delivery could change: the users and every user's keys."""
    users = admin_users(api)
    return {"users": users, "keys": {u["id"]: keys_of(api, u["id"]) for u in users if u["active"]}}


def other_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def fresh_body() -> bytes:
    return json.dumps(clerk_event("user.created")).encode()


def genuine(api: ApiServer, body: bytes | None = None, **kw: Any) -> Delivery:
    body = body or fresh_body()
    return body, svix_headers(api.webhook_secret, body.decode("utf-8", "replace"), **kw)


class Attacks:
    """Builders of hostile deliveries; `processed` is a genuine delivery the server already applied."""

    def __init__(self, api: ApiServer, processed: Delivery, rng: random.Random) -> None:
        self.api, self.processed, self.rng = api, processed, rng

    def bit_flip(self) -> Delivery:
        body, headers = genuine(self.api)
        flipped = bytearray(body)
        bit = self.rng.randrange(len(flipped) * 8)
        flipped[bit // 8] ^= 1 << (bit % 8)
        return bytes(flipped), headers

    def wrong_secret(self) -> Delivery:
        body = fresh_body()
        return body, svix_headers(other_secret(), body.decode())

    def six_minutes_old(self) -> Delivery:
        return genuine(self.api, when=datetime.now(UTC) - timedelta(minutes=6))

    def six_minutes_ahead(self) -> Delivery:
        return genuine(self.api, when=datetime.now(UTC) + timedelta(minutes=6))

    def replay_with_new_body(self) -> Delivery:
        """The already-processed delivery's headers (valid signature, known svix-id) on another body."""
        _, headers = self.processed
        return fresh_body(), dict(headers)

    def replay_with_edited_body(self) -> Delivery:
        body, headers = self.processed
        return body.replace(b"Example", b"Mallory").replace(b'"user.created"', b'"user.updated"'), dict(headers)

    def signature_for_other_id(self) -> Delivery:
        body, headers = genuine(self.api)
        return body, {**headers, "svix-id": f"msg_{uuid.uuid4().hex}"}

    def signature_for_other_time(self) -> Delivery:
        body, headers = genuine(self.api)
        return body, {**headers, "svix-timestamp": str(int(headers["svix-timestamp"]) - 1)}

    def missing_headers(self) -> Delivery:
        body, headers = genuine(self.api)
        keep = self.rng.sample(sorted(headers), self.rng.randrange(3))
        return body, {k: headers[k] for k in keep}

    def empty_headers(self) -> Delivery:
        body, headers = genuine(self.api)
        return body, {**headers, self.rng.choice(sorted(headers)): ""}

    def garbage_headers(self) -> Delivery:
        body, headers = genuine(self.api)
        junk = self.rng.choice([
            {"svix-timestamp": "yesterday"}, {"svix-timestamp": "-1"}, {"svix-timestamp": "1e30"},
            {"svix-timestamp": "99999999999999999999999999"}, {"svix-timestamp": " 0x10 "},
            {"svix-signature": "garbage"}, {"svix-signature": "v1,"}, {"svix-signature": "v1,@@@,x"},
            {"svix-signature": "v2," + base64.b64encode(secrets.token_bytes(32)).decode()},
            {"svix-signature": "v1," + base64.b64encode(secrets.token_bytes(32)).decode()},
            {"svix-signature": headers["svix-signature"].replace("v1,", "v1a,")},
            {"svix-id": "../../etc/passwd"}, {"svix-id": "' OR 1=1 --"},
        ])
        return body, {**headers, **junk}

    def huge_headers(self) -> Delivery:
        body, headers = genuine(self.api)
        fakes = " ".join("v1," + base64.b64encode(secrets.token_bytes(32)).decode() for _ in range(300))
        huge = self.rng.choice([{"svix-signature": fakes}, {"svix-id": "msg_" + "A" * 20_000},
                                {"svix-timestamp": "1" * 8_000}, {"x-padding": "p" * 30_000}])
        if "x-padding" in huge:
            return body, {**headers, "svix-signature": "v1," + "A" * 44, **huge}
        return body, {**headers, **huge}

    def garbage_body(self) -> Delivery:
        body = self.rng.choice([b"", b"\x00\xff" * 100, b"{" * 5000, secrets.token_bytes(2048), b"null"])
        _, headers = genuine(self.api)  # signed over another body
        return body, headers

    def all(self) -> list[Callable[[], Delivery]]:
        return [self.bit_flip, self.wrong_secret, self.six_minutes_old, self.six_minutes_ahead,
                self.replay_with_new_body, self.replay_with_edited_body, self.signature_for_other_id,
                self.signature_for_other_time, self.missing_headers, self.empty_headers, self.garbage_headers,
                self.huge_headers, self.garbage_body]


def post(api: ApiServer, delivery: Delivery) -> int:
    body, headers = delivery
    answer = httpx.post(f"{api.url}/webhooks/clerk", content=body,
                        headers={**headers, "Content-Type": "application/json"}, timeout=30)
    return answer.status_code


def test_a_hundred_hostile_deliveries_are_refused_and_change_nothing(hook_api: ApiServer) -> None:
    api = hook_api
    create_user(api)  # an operator-created user too, so "nothing changed" covers both kinds
    processed = genuine(api)
    first = httpx.post(f"{api.url}/webhooks/clerk", content=processed[0],
                       headers={**processed[1], "Content-Type": "application/json"})
    assert first.json()["status"] == "created"
    before = state(api)

    rng = random.Random(6)
    attacks = Attacks(api, processed, rng)
    kinds = attacks.all()
    plan = kinds + [rng.choice(kinds) for _ in range(ATTACKS - len(kinds))]  # every kind at least once
    outcomes: Counter[tuple[str, int]] = Counter()
    for build in plan:
        outcomes[(build.__name__, post(api, build()))] += 1

    rows = sorted([name, str(code), str(n)] for (name, code), n in outcomes.items())
    print("\n" + table(rows, ["attack", "status", "count"]))
    bad = {k: n for k, n in outcomes.items() if not 400 <= k[1] < 500}
    assert not bad, f"hostile deliveries not refused with a 4xx: {bad}"
    assert sum(outcomes.values()) == ATTACKS
    assert state(api) == before, "a refused delivery changed users or keys"
    assert api.webhook_secret not in api.log()


def test_an_exact_replay_is_acknowledged_once_and_changes_nothing(hook_api: ApiServer) -> None:
    """Svix re-sends a delivery verbatim when it saw no answer: 200 'duplicate', never a second user or key."""
    delivery = genuine(hook_api)
    assert post(hook_api, delivery) == 200
    before = state(hook_api)
    for _ in range(5):
        answer = httpx.post(f"{hook_api.url}/webhooks/clerk", content=delivery[0],
                            headers={**delivery[1], "Content-Type": "application/json"})
        assert answer.status_code == 200 and answer.json()["status"] == "duplicate"
    assert state(hook_api) == before


def test_the_genuine_delivery_is_still_accepted_after_the_barrage(hook_api: ApiServer) -> None:
    event = clerk_event("user.created")
    answer = send_clerk_event(hook_api, event)
    assert answer.status_code == 200 and answer.json()["status"] == "created"
    assert event["data"]["id"] in {u["id"] for u in admin_users(hook_api)}
    assert len(keys_of(hook_api, event["data"]["id"])) == 1
