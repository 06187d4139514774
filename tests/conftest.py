from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.store import Store, open_store
from tests.factories import TestUser, create_user
from tests.server import BACKENDS, ApiServer


@pytest.fixture(scope="session", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """The real API process on a temporary DuckDB file or PostgreSQL database, shared by the session
    (tests use their own users)."""
    server = ApiServer(tmp_path_factory.mktemp(f"api-{request.param}"), backend=request.param).start()
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def fresh_api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiServer]:
    """An API process of the test's own, for tests that kill or restart it."""
    server = ApiServer(tmp_path / "api", backend=request.param).start()
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store opened in this process, on a fresh DuckDB file or a fresh PostgreSQL database."""
    if request.param == "postgresql":
        from tests.postgres import shared_server

        db = open_store(database_url=shared_server().create_database(), duckdb_path="", pool_size=4)
    else:
        db = open_store(database_url=None, duckdb_path=str(tmp_path / "store.duckdb"))
    yield db
    db.close()


@pytest.fixture
def user(api: ApiServer) -> TestUser:
    return create_user(api)


@pytest.fixture
def other_user(api: ApiServer) -> TestUser:
    return create_user(api)
