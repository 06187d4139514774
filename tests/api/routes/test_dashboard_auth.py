"""Dashboard sign-up and login: passwords and lockout are kept by the API."""

from __future__ import annotations

import httpx

from tests.factories import create_user
from tests.server import ApiServer


def signup(api: ApiServer, email: str, password: str = "correct horse battery") -> httpx.Response:
    return httpx.post(f"{api.url}/admin/dashboard/signup", headers=api.admin(),
                      json={"email": email, "password": password})


def login(api: ApiServer, email: str, password: str) -> httpx.Response:
    return httpx.post(f"{api.url}/admin/dashboard/login", headers=api.admin(),
                      json={"email": email, "password": password})


def test_sign_up_only_for_an_email_the_api_knows(api: ApiServer) -> None:
    assert signup(api, "stranger@example.com").status_code == 404
    user = create_user(api)
    assert signup(api, user.email).status_code == 200
    assert signup(api, user.email).status_code == 409


def test_login_checks_the_password_and_never_stores_it_plain(api: ApiServer) -> None:
    user = create_user(api)
    signup(api, user.email)
    assert login(api, user.email, "correct horse battery").json()["id"] == user.id
    assert login(api, user.email, "wrong").status_code == 401
    creds = httpx.get(f"{api.url}/admin/dashboard/credentials", headers=api.admin()).json()["usernames"]
    assert creds[user.email]["password"].startswith("$2")
    assert "correct horse battery" not in str(creds)


def test_five_failures_lock_the_account_even_for_the_right_password(api: ApiServer) -> None:
    user = create_user(api)
    signup(api, user.email)
    for _ in range(5):
        assert login(api, user.email, "guess").status_code == 401
    locked = login(api, user.email, "correct horse battery")
    assert locked.status_code == 423
    assert "try again in" in locked.json()["detail"]
