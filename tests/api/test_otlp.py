"""The span → event mapping of DESIGN §12 (api/otlp.py), and the per-instrumentation corrections, as pure code."""

from __future__ import annotations

import os
from typing import Any

import pytest

from api.ingest import validate_events
from api.otlp import decode_request, map_request
from tests.otlp_factories import chat_attributes, export, span, to_json


def one(attrs: dict[str, Any] | None = None, *, resource: dict[str, Any] | None = None,
        scope: tuple[str, str] = ("test.genai", "1.0"), **span_args: Any) -> dict[str, Any]:
    mapped = map_request(export(span(attrs, **span_args), resource=resource, scope=scope))
    assert not mapped.rejected, mapped.rejected
    [event] = mapped.events
    return event


@pytest.mark.parametrize(("name", "label"), [
    ("openai", "openai"), ("anthropic", "anthropic"), ("azure.ai.openai", "azure"), ("aws.bedrock", "bedrock"),
    ("gcp.gemini", "google"), ("gcp.vertex_ai", "google"), ("gcp.gen_ai", "google"), ("Groq", "groq"),
])
def test_provider_names_become_our_labels(name: str, label: str) -> None:
    assert one(chat_attributes(**{"gen_ai.provider.name": name}))["provider"] == label


def test_the_deprecated_gen_ai_system_names_the_provider_when_provider_name_is_absent() -> None:
    attrs = chat_attributes(**{"gen_ai.provider.name": None, "gen_ai.system": "az.ai.openai"})
    assert one(attrs)["provider"] == "azure"


def test_deprecated_token_names_are_read() -> None:
    attrs = chat_attributes(**{"gen_ai.usage.input_tokens": None, "gen_ai.usage.output_tokens": None,
                               "gen_ai.usage.prompt_tokens": 70, "gen_ai.usage.completion_tokens": 9})
    event = one(attrs)
    assert (event["input_tokens"], event["output_tokens"]) == (70, 9)


def test_every_token_bucket_and_the_answered_model() -> None:
    event = one(chat_attributes(**{"gen_ai.usage.input_tokens": 1167, "gen_ai.usage.cache_read.input_tokens": 3,
                                   "gen_ai.usage.cache_creation.input_tokens": 1163,
                                   "gen_ai.usage.output_tokens": 300, "gen_ai.usage.reasoning.output_tokens": 256,
                                   "gen_ai.response.model": "o3-2025-04-16"}))
    assert [event[k] for k in ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens",
                               "reasoning_tokens", "model")] == [1167, 3, 1163, 300, 256, "o3-2025-04-16"]
    assert one(chat_attributes(**{"gen_ai.response.model": None}))["model"] == "gpt-4o-mini"  # the requested one


def test_whole_numbers_sent_as_doubles_are_counts() -> None:
    assert one(chat_attributes(**{"gen_ai.usage.input_tokens": 12.0}))["input_tokens"] == 12


@pytest.mark.parametrize(("named", "span_name", "operation"), [
    ("embeddings", "whatever", "embeddings"), (None, "chat gpt-4o", "chat"),
    (None, "text_completion davinci", "text_completion"), (None, "openai.chat", "unknown"),
])
def test_operation_from_the_attribute_else_the_span_name(named: str | None, span_name: str, operation: str) -> None:
    attrs = chat_attributes(**{"gen_ai.operation.name": named})
    assert one(attrs, name=span_name)["operation"] == operation


@pytest.mark.parametrize(("span_attrs", "resource", "customer"), [
    ({"llmobserve.customer_id": "c_span", "enduser.id": "e"}, {"llmobserve.customer_id": "c_res"}, "c_span"),
    ({"enduser.id": "e_span"}, {"llmobserve.customer_id": "c_res"}, "c_res"),
    ({"user.id": "u_span"}, {"enduser.id": "e_res"}, "e_res"),
    ({"user.id": "u_span"}, {}, "u_span"),
    ({}, {"user.id": "u_res"}, "u_res"),
    ({}, {}, None),
])
def test_the_customer_from_llmobserve_customer_id_then_enduser_id_then_user_id(
    span_attrs: dict, resource: dict, customer: str | None
) -> None:
    assert one(chat_attributes(**span_attrs), resource=resource)["customer_id"] == customer


def test_run_name_is_the_root_span_when_exported_else_llmobserve_run_name() -> None:
    trace = os.urandom(16)
    child = span(chat_attributes(**{"llmobserve.run_name": "from-attribute"}), trace_id=trace, parent=os.urandom(8))
    assert map_request(export(child)).events[0]["run_name"] == "from-attribute"
    root = span({"http.route": "/summarise"}, name="summarise-ticket", trace_id=trace)
    [event] = map_request(export(root, child)).events
    assert event["run_name"] == "summarise-ticket"
    assert event["run_id"] == trace.hex()
    on_resource = span(chat_attributes(), parent=os.urandom(8))
    assert map_request(export(on_resource, resource={"llmobserve.run_name": "nightly"})).events[0]["run_name"] == "nightly"


def test_tags_from_llmobserve_tag_attributes_span_over_resource() -> None:
    event = one(chat_attributes(**{"llmobserve.tag.team": "search", "llmobserve.tag.beta": True}),
                resource={"llmobserve.tag.team": "core", "llmobserve.tag.region": "eu"})
    assert event["tags"] == {"team": "search", "region": "eu", "beta": "true"}


def test_an_error_span_is_an_error_event_with_its_error_type() -> None:
    event = one(chat_attributes(**{"error.type": "openai.RateLimitError", "http.response.status_code": 429,
                                   "gen_ai.usage.input_tokens": None, "gen_ai.usage.output_tokens": None}), error=True)
    assert (event["status"], event["error_type"], event["http_status"], event["input_tokens"]) == (
        "error", "openai.RateLimitError", 429, 0)
    assert one(chat_attributes(**{"error.type": "x"}))["error_type"] is None  # not an error span: no error


def test_json_with_hex_ids_decodes_to_the_same_spans() -> None:
    request = export(span(), span())
    decoded = decode_request(to_json(request), content_type="application/json; charset=utf-8",
                             content_encoding=None, max_bytes=10**6)
    assert decoded == request


def test_mapped_events_pass_the_ingest_validation_unchanged() -> None:
    mapped = map_request(export(span(), span(chat_attributes(**{"llmobserve.customer_id": "c"}))))
    batch = validate_events(mapped.events)
    assert (len(batch.events), batch.rejected) == (2, [])


# -- corrections by instrumentation scope -----------------------------------------------------------
def test_openllmetry_openai_reasoning_tokens_under_their_legacy_name_are_read() -> None:
    attrs = chat_attributes(**{"gen_ai.usage.output_tokens": 228, "gen_ai.usage.reasoning_tokens": 192})
    assert one(attrs, scope=("opentelemetry.instrumentation.openai.v1", "0.62.4"))["reasoning_tokens"] == 192
    assert one(attrs, scope=("another.instrumentation", "0.62.4"))["reasoning_tokens"] == 0  # only that scope
    assert one(attrs, scope=("opentelemetry.instrumentation.openai.v1", "1.0.0"))["reasoning_tokens"] == 0


def test_openlit_anthropic_input_tokens_get_the_cache_counts_added() -> None:
    attrs = chat_attributes(**{"gen_ai.provider.name": "anthropic", "gen_ai.usage.input_tokens": 4,
                               "gen_ai.usage.cache_creation.input_tokens": 1163,
                               "gen_ai.usage.cache_read.input_tokens": 0})
    assert one(attrs, scope=("openlit.instrumentation.anthropic", ""))["input_tokens"] == 1167
    assert one(attrs, scope=("opentelemetry.instrumentation.anthropic", "0.62.4"))["input_tokens"] == 4


def test_util_genai_class_repr_error_types_are_cleaned() -> None:
    attrs = chat_attributes(**{"error.type": "<class 'openai.BadRequestError'>"})
    assert one(attrs, scope=("opentelemetry.util.genai.handler", "1.1b0"), error=True)["error_type"] == \
        "openai.BadRequestError"
