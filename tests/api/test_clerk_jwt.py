"""/clerk/api-keys with a Clerk session JWT (DESIGN §3): RS256 tokens verified offline with CLERK_JWT_KEY.

The API runs with the public half of a key pair made here; tokens are signed with pyjwt, as Clerk's
frontend API would sign them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.factories import TestUser, create_user, make_event, post_events
from tests.server import BACKENDS, ApiServer


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


CLERK_KEY = new_private_key()


@pytest.fixture(scope="module", params=BACKENDS)
def jwt_api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    server = ApiServer(tmp_path_factory.mktemp("clerk-jwt"), backend=request.param,
                       extra_env={"CLERK_JWT_KEY": public_pem(CLERK_KEY)}).start()
    yield server
    server.stop()


def session_token(sub: str, *, key: rsa.RSAPrivateKey = CLERK_KEY, expires_in: int = 60, **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": sub, "iat": now, "nbf": now - 5, "exp": now + expires_in, "sid": "sess_test",
               "iss": "https://clerk.example.com", **claims}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "ins_test"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(sub: str) -> str:
    """alg "none": a token anyone can make."""
    header, body = {"alg": "none", "typ": "JWT"}, {"sub": sub, "exp": int(time.time()) + 60}
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(body).encode())}."


def hs256_with_public_key(sub: str) -> str:
    """The algorithm-confusion attack: HMAC-signed with the (public) verification key as the secret."""
    header, body = {"alg": "HS256", "typ": "JWT"}, {"sub": sub, "exp": int(time.time()) + 60}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(body).encode())}"
    signature = hmac.new(public_pem(CLERK_KEY).encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def person(jwt_api: ApiServer) -> TestUser:
    return create_user(jwt_api)


def test_a_valid_session_token_lists_that_users_keys(jwt_api: ApiServer, person: TestUser) -> None:
    answer = httpx.get(f"{jwt_api.url}/clerk/api-keys", headers=bearer(session_token(person.id)))

    assert answer.status_code == 200, answer.text
    assert [k["id"] for k in answer.json()["data"]] == [person.key_id]
    assert "api_key" not in answer.json()["data"][0]


def test_a_session_token_creates_and_revokes_keys_of_its_own_user(jwt_api: ApiServer, person: TestUser) -> None:
    token = session_token(person.id)
    created = httpx.post(f"{jwt_api.url}/clerk/api-keys", headers=bearer(token), json={"name": "laptop"})
    assert created.status_code == 201
    new_key = TestUser(id=person.id, email=person.email, api_key=created.json()["api_key"], key_id=created.json()["id"])
    assert post_events(jwt_api, new_key, [make_event()]).json()["accepted"] == 1

    revoked = httpx.delete(f"{jwt_api.url}/clerk/api-keys/{new_key.key_id}", headers=bearer(token))

    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert post_events(jwt_api, new_key, [make_event()]).status_code == 401


def test_a_token_only_reaches_its_own_users_keys(jwt_api: ApiServer, person: TestUser) -> None:
    stranger = create_user(jwt_api)

    answer = httpx.delete(f"{jwt_api.url}/clerk/api-keys/{stranger.key_id}", headers=bearer(session_token(person.id)))

    assert answer.status_code == 404
    assert post_events(jwt_api, stranger, [make_event()]).json()["accepted"] == 1


@pytest.mark.parametrize("make_token", [
    lambda sub: session_token(sub, expires_in=-120),
    lambda sub: session_token(sub, key=new_private_key()),
    unsigned_token,
    hs256_with_public_key,
    lambda sub: session_token(sub)[:-4] + "AAAA",
    lambda sub: jwt.encode({"sub": sub}, CLERK_KEY, algorithm="RS256"),  # no expiry
    lambda sub: "not.a.jwt",
], ids=["expired", "wrong-key", "alg-none", "hs256-confusion", "bad-signature", "no-exp", "garbage"])
def test_a_bad_session_token_is_refused(jwt_api: ApiServer, person: TestUser, make_token) -> None:
    answer = httpx.get(f"{jwt_api.url}/clerk/api-keys", headers=bearer(make_token(person.id)))

    assert answer.status_code == 401
    assert answer.json()["detail"]


def test_a_valid_token_for_an_unknown_user_finds_nothing(jwt_api: ApiServer) -> None:
    answer = httpx.get(f"{jwt_api.url}/clerk/api-keys", headers=bearer(session_token("user_nobody")))

    assert answer.status_code == 404


def test_without_clerk_jwt_key_session_tokens_are_refused(api: ApiServer, user: TestUser) -> None:
    answer = httpx.get(f"{api.url}/clerk/api-keys", headers=bearer(session_token(user.id)))

    assert answer.status_code == 401
    assert "CLERK_JWT_KEY" in answer.json()["detail"]


def test_an_llmo_key_cannot_manage_keys(jwt_api: ApiServer, person: TestUser) -> None:
    assert httpx.get(f"{jwt_api.url}/clerk/api-keys", headers=person.headers).status_code == 403
