"""customer(), run() and tags(): blocks, decorators, threads and asyncio tasks."""

from __future__ import annotations

import asyncio
import threading

import llmobserve
from llmobserve._context import current_scope

MSG = [{"role": "user", "content": "hi"}]


def test_default_customer_and_tags_from_observe(obs, oai, ingest_server):
    llmobserve.observe(api_key="llmo_test", endpoint=ingest_server.url, flush_interval=0.02,
                       customer_id="cust_1", tags={"env": "test"})
    oai.chat.completions.create(model="m", messages=MSG)
    ev = obs.one()
    assert (ev["customer_id"], ev["tags"], ev["run_id"], ev["run_name"]) == ("cust_1", {"env": "test"}, None, None)


def test_blocks_nest_and_restore(obs, oai, ingest_server):
    llmobserve.observe(api_key="llmo_test", endpoint=ingest_server.url, flush_interval=0.02,
                       customer_id="cust_1", tags={"env": "test", "team": "a"})
    with llmobserve.customer("cust_2"), llmobserve.run("summarise-ticket") as scope:
        run_id = scope.run_id
        with llmobserve.tags(team="b", feature=3):
            oai.chat.completions.create(model="m", messages=MSG)
        oai.chat.completions.create(model="m", messages=MSG)
    oai.chat.completions.create(model="m", messages=MSG)
    a, b, c = obs.events()
    assert (a["customer_id"], a["run_name"], a["run_id"]) == ("cust_2", "summarise-ticket", run_id)
    assert a["tags"] == {"env": "test", "team": "b", "feature": "3"}
    assert (b["customer_id"], b["run_id"], b["tags"]) == ("cust_2", run_id, {"env": "test", "team": "a"})
    assert (c["customer_id"], c["run_id"]) == ("cust_1", None)


def test_each_run_entry_is_a_new_run():
    r = llmobserve.run("job")
    with r as first:
        pass
    with r as second:
        pass
    assert first.run_id != second.run_id and first.run_name == "job"
    assert llmobserve.run("x", run_id="fixed")._derive(current_scope()).run_id == "fixed"


def test_decorators_sync_and_async():
    @llmobserve.customer("cust_d")
    @llmobserve.run("decorated")
    def work():
        s = current_scope()
        return s.customer_id, s.run_name, s.run_id

    @llmobserve.customer("cust_a")
    async def awork():
        await asyncio.sleep(0)
        return current_scope().customer_id

    one, two = work(), work()
    assert one[:2] == ("cust_d", "decorated") and one[2] != two[2]
    assert asyncio.run(awork()) == "cust_a"
    assert current_scope().customer_id is None and work.__name__ == "work"


def test_threads_do_not_share_scope():
    seen = {}
    barrier = threading.Barrier(4)

    def worker(i):
        with llmobserve.customer(f"c{i}"):
            barrier.wait()
            seen[i] = current_scope().customer_id

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {i: f"c{i}" for i in range(4)}


async def test_tasks_do_not_share_scope(obs, aoai):
    async def one(i):
        with llmobserve.customer(f"c{i}"):
            await asyncio.sleep(0.01 * (3 - i))
            await aoai.chat.completions.create(model="m", messages=MSG)

    await asyncio.gather(*(one(i) for i in range(3)))
    assert sorted(e["customer_id"] for e in obs.events()) == ["c0", "c1", "c2"]


def test_observe_twice_does_not_double_patch(obs, oai, ingest_server):
    from llmobserve._instrument import patched_methods

    before = patched_methods()
    llmobserve.observe(api_key="llmo_test", endpoint=ingest_server.url, flush_interval=0.02)
    assert patched_methods() == before
    oai.chat.completions.create(model="m", messages=MSG)
    assert len(obs.events()) == 1


def test_shutdown_restores_original_methods(provider_server, ingest_server):
    import openai

    from llmobserve._instrument import patched_methods

    original = openai._base_client.SyncAPIClient.__dict__["request"]
    ingest_server.reset()
    llmobserve.observe(api_key="llmo_test", endpoint=ingest_server.url, flush_interval=0.02)
    assert openai._base_client.SyncAPIClient.__dict__["request"] is not original
    assert "openai._base_client.AsyncAPIClient.request" in patched_methods()
    llmobserve.shutdown()
    assert patched_methods() == []
    assert openai._base_client.SyncAPIClient.__dict__["request"] is original
