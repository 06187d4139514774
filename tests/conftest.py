from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import TestUser, create_user
from tests.server import ApiServer


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """The real API process on a temporary DuckDB file, shared by the session (tests use their own users)."""
    server = ApiServer(tmp_path_factory.mktemp("api")).start()
    yield server
    server.stop()


@pytest.fixture
def fresh_api(tmp_path: Path) -> Iterator[ApiServer]:
    """An API process of the test's own, for tests that kill or restart it."""
    server = ApiServer(tmp_path / "api").start()
    yield server
    server.stop()


@pytest.fixture
def user(api: ApiServer) -> TestUser:
    return create_user(api)


@pytest.fixture
def other_user(api: ApiServer) -> TestUser:
    return create_user(api)
