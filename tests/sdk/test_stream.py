"""The stream proxy: transparent to the user, records exactly once however the stream ends."""

from __future__ import annotations

import gc
import threading

from llmobserve._call import Call, event_of
from llmobserve._stream import StreamProxy

from .fakes import CHAT_MODEL

MSG = [{"role": "user", "content": "hi"}]


def test_abandoned_by_close_is_incomplete(obs, oai):
    stream = oai.chat.completions.create(model="m", messages=MSG, stream=True)
    next(stream)
    stream.close()
    stream.close()  # twice: still one event
    ev = obs.one()
    assert (ev["status"], ev["model"], ev["stream"], ev["input_tokens"]) == ("incomplete", CHAT_MODEL, True, 0)
    assert ev["time_to_first_token_ms"] is not None


def test_abandoned_by_with_block_is_incomplete(obs, oai):
    with oai.chat.completions.create(model="m", messages=MSG, stream=True) as stream:
        next(stream)
    assert obs.one()["status"] == "incomplete"


def test_abandoned_by_garbage_collection(obs, oai):
    stream = oai.chat.completions.create(model="m", messages=MSG, stream=True)
    next(stream)
    del stream
    gc.collect()
    assert obs.one()["status"] == "incomplete"


def test_read_to_end_then_closed_records_once(obs, oai):
    with oai.chat.completions.create(model="m", messages=MSG, stream=True) as stream:
        chunks = list(stream)
    stream.close()
    assert len(chunks) == 4
    ev = obs.one()
    assert ev["status"] == "ok" and ev["input_tokens"] == 12


def test_closed_after_final_usage_counts_as_ok(obs, oai):
    stream = oai.chat.completions.create(model="m", messages=MSG, stream=True,
                                         stream_options={"include_usage": True})
    for _ in range(5):  # every chunk including usage, without hitting StopIteration
        next(stream)
    stream.close()
    ev = obs.one()
    assert ev["status"] == "ok" and ev["output_tokens"] == 5


async def test_async_abandoned(obs, aoai):
    stream = await aoai.chat.completions.create(model="m", messages=MSG, stream=True)
    await stream.__anext__()
    await stream.close()
    assert obs.one()["status"] == "incomplete"


async def test_async_with_block(obs, aoai):
    async with await aoai.chat.completions.create(model="m", messages=MSG, stream=True) as stream:
        async for _ in stream:
            pass
    ev = obs.one()
    assert ev["status"] == "ok" and ev["input_tokens"] == 12


def test_proxy_is_transparent(obs, oai):
    import openai

    stream = oai.chat.completions.create(model="m", messages=MSG, stream=True)
    assert isinstance(stream, openai.Stream)
    assert stream.response.status_code == 200
    list(stream)


class _Boom:
    def __init__(self) -> None:
        self.items = [1, 2]

    def __next__(self):
        if self.items:
            return self.items.pop(0)
        raise ConnectionResetError("peer went away")

    def close(self):
        pass


class _Sink:
    """An exporter stand-in: the events as the sender thread would build them from its queue."""

    def __init__(self) -> None:
        self.events = []

    def enqueue(self, item):
        self.events.append(event_of(item))


def _call() -> Call:
    return Call("chat", "openai", "m", True, None)


def test_mid_stream_error_is_reraised_and_recorded(monkeypatch):
    from llmobserve._call import CONFIG

    sink = _Sink()
    monkeypatch.setattr(CONFIG, "exporter", sink)
    proxy = StreamProxy(_Boom(), _call(), lambda call, item: False)
    assert next(proxy) == 1 and next(proxy) == 2
    try:
        next(proxy)
    except ConnectionResetError as exc:
        assert str(exc) == "peer went away"
    proxy.close()
    assert [(e["status"], e["error_type"]) for e in sink.events] == [("error", "ConnectionResetError")]


def test_extractor_failure_never_reaches_user(monkeypatch):
    from llmobserve._call import CONFIG

    sink = _Sink()
    monkeypatch.setattr(CONFIG, "exporter", sink)

    def broken(call, item):
        raise KeyError("bad chunk")

    proxy = StreamProxy(iter([1, 2, 3]), _call(), broken)
    assert list(proxy) == [1, 2, 3]
    assert [e["status"] for e in sink.events] == ["ok"]


def test_finish_once_under_races(monkeypatch):
    from llmobserve._call import CONFIG

    sink = _Sink()
    monkeypatch.setattr(CONFIG, "exporter", sink)
    proxy = StreamProxy(_Boom(), _call(), lambda call, item: False)
    threads = [threading.Thread(target=proxy.close) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    del proxy
    gc.collect()
    assert len(sink.events) == 1


def _count_parsed(monkeypatch, client) -> list[object]:
    """Every SSE chunk the client turns into a model (what costs a stream most), as parsed."""
    parsed: list[object] = []
    original = type(client)._process_response_data

    def spy(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        parsed.append(out)
        return out

    monkeypatch.setattr(type(client), "_process_response_data", spy)
    return parsed


def test_injected_usage_chunk_is_read_without_the_client_parsing_it(obs, oai, monkeypatch):
    parsed = _count_parsed(monkeypatch, oai)
    chunks = list(oai.chat.completions.create(model="m", messages=MSG, stream=True))
    assert len(chunks) == len(parsed) == 4  # the usage chunk we asked for never became a model
    ev = obs.one()
    assert (ev["status"], ev["input_tokens"], ev["output_tokens"]) == ("ok", 12, 5)


def test_usage_chunk_the_user_asked_for_is_theirs(obs, oai, monkeypatch):
    parsed = _count_parsed(monkeypatch, oai)
    chunks = list(oai.chat.completions.create(model="m", messages=MSG, stream=True,
                                              stream_options={"include_usage": True}))
    assert len(chunks) == len(parsed) == 5 and chunks[-1].usage.prompt_tokens == 12
    assert obs.one()["input_tokens"] == 12


async def test_async_injected_usage_chunk_is_not_parsed(obs, aoai, monkeypatch):
    parsed = _count_parsed(monkeypatch, aoai)
    chunks = [c async for c in await aoai.chat.completions.create(model="m", messages=MSG, stream=True)]
    assert len(chunks) == len(parsed) == 4
    assert obs.one()["output_tokens"] == 5
