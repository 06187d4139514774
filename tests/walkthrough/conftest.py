"""Fixtures for the walkthrough tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.server import ApiServer


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """One API on the embedded store: these tests exercise the client side; tests/api runs both stores."""
    server = ApiServer(tmp_path_factory.mktemp("api")).start()
    yield server
    server.stop()
