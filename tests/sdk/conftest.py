"""Fixtures for the SDK tests: fake provider + fake ingest servers, an observed SDK, real clients."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

import llmobserve
from llmobserve._call import CONFIG

from tests.server import ApiServer

from .fakes import FakeIngest, FakeProvider


@pytest.fixture(scope="session")
def provider_server() -> Iterator[FakeProvider]:
    server = FakeProvider()
    yield server
    server.close()


@pytest.fixture(scope="session")
def ingest_server() -> Iterator[FakeIngest]:
    server = FakeIngest()
    yield server
    server.close()


class Observed:
    """The SDK observing into the fake ingest; `events()` flushes and answers what arrived."""

    def __init__(self, ingest: FakeIngest) -> None:
        self.ingest = ingest

    def events(self, n: int | None = None) -> list[dict[str, Any]]:
        assert llmobserve.flush(timeout=5)
        if n is not None:
            return self.ingest.wait_for(n)
        return list(self.ingest.events)

    def one(self) -> dict[str, Any]:
        events = self.events()
        assert len(events) == 1, events
        return events[0]

    @property
    def exporter(self) -> Any:
        return CONFIG.exporter


@pytest.fixture
def obs(provider_server: FakeProvider, ingest_server: FakeIngest) -> Iterator[Observed]:
    provider_server.reset()
    ingest_server.reset()
    llmobserve.observe(api_key="llmo_test", endpoint=ingest_server.url, flush_interval=0.02)
    yield Observed(ingest_server)
    llmobserve.shutdown(timeout=2)


@pytest.fixture
def oai(provider_server: FakeProvider) -> Any:
    import openai

    return openai.OpenAI(api_key="sk-test", base_url=provider_server.url + "/v1", max_retries=0)


@pytest.fixture
def aoai(provider_server: FakeProvider) -> Any:
    import openai

    return openai.AsyncOpenAI(api_key="sk-test", base_url=provider_server.url + "/v1", max_retries=0)


@pytest.fixture
def ant(provider_server: FakeProvider) -> Any:
    import anthropic

    return anthropic.Anthropic(api_key="sk-ant-test", base_url=provider_server.url, max_retries=0)


@pytest.fixture
def aant(provider_server: FakeProvider) -> Any:
    import anthropic

    return anthropic.AsyncAnthropic(api_key="sk-ant-test", base_url=provider_server.url, max_retries=0)


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """One API on the embedded store: these tests exercise the client side; tests/api runs both stores."""
    server = ApiServer(tmp_path_factory.mktemp("api")).start()
    yield server
    server.stop()
