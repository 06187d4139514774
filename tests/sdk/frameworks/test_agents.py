"""Agent frameworks over the openai client: instructor, pydantic-ai, the OpenAI Agents SDK."""

from __future__ import annotations

import openai
import pydantic
import pytest

from tests.sdk.fakes import CHAT_MODEL

same_loop = pytest.mark.asyncio(loop_scope="module")
MSG = [{"role": "user", "content": "hi"}]


class Answer(pydantic.BaseModel):
    answer: str


def _chat(ev, stream=False):
    assert (ev["provider"], ev["model"], ev["operation"], ev["stream"], ev["status"]) == (
        "openai", CHAT_MODEL, "chat", stream, "ok")
    assert (ev["input_tokens"], ev["cached_input_tokens"], ev["output_tokens"], ev["reasoning_tokens"]) == (
        12, 4, 5, 2)


def test_instructor(obs, oai):
    instructor = pytest.importorskip("instructor")
    client = instructor.from_openai(oai, mode=instructor.Mode.JSON)
    answer = client.chat.completions.create(model="gpt-4o-mini", response_model=Answer, messages=MSG)
    assert answer.answer == "hi"
    _chat(obs.one())


@same_loop
async def test_instructor_async(obs, aoai):
    instructor = pytest.importorskip("instructor")
    client = instructor.from_openai(aoai, mode=instructor.Mode.JSON)
    answer = await client.chat.completions.create(model="gpt-4o-mini", response_model=Answer, messages=MSG)
    assert answer.answer == "hi"
    _chat(obs.one())


def _pydantic_ai_agent(provider_server):
    pytest.importorskip("pydantic_ai")
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    provider = OpenAIProvider(base_url=provider_server.url + "/v1", api_key="sk-test")
    return Agent(OpenAIChatModel("gpt-4o-mini", provider=provider))


def test_pydantic_ai_run_sync(obs, provider_server):
    result = _pydantic_ai_agent(provider_server).run_sync("hi")
    assert result.output == '{"answer":"hi"}'
    _chat(obs.one())


@same_loop
async def test_pydantic_ai_run_stream(obs, provider_server):
    async with _pydantic_ai_agent(provider_server).run_stream("hi") as result:
        text = await result.get_output()
    assert text == '{"answer":"hi"}'
    _chat(obs.one(), stream=True)


def _agents_agent(provider_server):
    agents = pytest.importorskip("agents")
    from agents.models.openai_responses import OpenAIResponsesModel

    agents.set_tracing_disabled(True)  # the Agents SDK would otherwise export traces to OpenAI
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=provider_server.url + "/v1", max_retries=0)
    model = OpenAIResponsesModel(model="gpt-4.1-nano", openai_client=client)
    return agents, agents.Agent(name="assistant", instructions="Be brief.", model=model)


def _responses(ev, stream, output):
    assert (ev["provider"], ev["model"], ev["operation"], ev["stream"], ev["status"]) == (
        "openai", "gpt-4.1-nano-2025-04-14", "responses", stream, "ok")
    assert (ev["input_tokens"], ev["output_tokens"]) == (18 if stream else 14, output)


@same_loop
async def test_openai_agents_run(obs, provider_server):
    agents, agent = _agents_agent(provider_server)
    result = await agents.Runner.run(agent, "hi")
    assert result.final_output
    _responses(obs.one(), stream=False, output=8)


@same_loop
async def test_openai_agents_run_streamed(obs, provider_server):
    agents, agent = _agents_agent(provider_server)
    result = agents.Runner.run_streamed(agent, "hi")
    async for _ in result.stream_events():
        pass
    assert result.final_output
    _responses(obs.one(), stream=True, output=80)


def _llama(provider_server):
    pytest.importorskip("llama_index.llms.openai")
    from llama_index.llms.openai import OpenAI

    return OpenAI(model="gpt-4o-mini", api_key="sk-test", api_base=provider_server.url + "/v1", max_retries=0)


def test_llama_index_chat_and_complete(obs, provider_server):
    from llama_index.core.llms import ChatMessage

    llm = _llama(provider_server)
    assert llm.chat([ChatMessage(role="user", content="hi")]).message.content == '{"answer":"hi"}'
    assert llm.complete("hi").text == '{"answer":"hi"}'
    events = obs.events()
    assert len(events) == 2
    for ev in events:
        _chat(ev)


def test_llama_index_stream_chat(obs, provider_server):
    from llama_index.core.llms import ChatMessage

    text = "".join(r.delta or "" for r in _llama(provider_server).stream_chat([ChatMessage(role="user", content="hi")]))
    assert text == '{"answer":"hi"}'
    _chat(obs.one(), stream=True)


@same_loop
async def test_llama_index_achat(obs, provider_server):
    from llama_index.core.llms import ChatMessage

    resp = await _llama(provider_server).achat([ChatMessage(role="user", content="hi")])
    assert resp.message.content == '{"answer":"hi"}'
    _chat(obs.one())
