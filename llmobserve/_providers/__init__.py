"""Provider detection from a client's base URL and class; usage extraction lives per provider."""

from __future__ import annotations

import weakref
from typing import Any

# Exact hosts and host suffixes of known providers. Anything else (a gateway, a local server) is labelled
# by the SDK flavour, or by `observe(provider=...)` when the user gave one.
_HOSTS = {
    "api.openai.com": "openai",
    "api.anthropic.com": "anthropic",
    "openrouter.ai": "openrouter",
    "api.groq.com": "groq",
    "api.deepseek.com": "deepseek",
    "api.mistral.ai": "mistral",
    "api.together.xyz": "together",
    "api.together.ai": "together",
    "api.fireworks.ai": "fireworks",
    "api.x.ai": "xai",
    "api.perplexity.ai": "perplexity",
    "api.cerebras.ai": "cerebras",
    "api.deepinfra.com": "deepinfra",
    "generativelanguage.googleapis.com": "google",
    "api.moonshot.ai": "moonshot",
}
_SUFFIXES = (
    (".openai.azure.com", "azure"),
    (".cognitiveservices.azure.com", "azure"),
    (".services.ai.azure.com", "azure"),
    (".openrouter.ai", "openrouter"),
    (".groq.com", "groq"),
    (".deepseek.com", "deepseek"),
    (".mistral.ai", "mistral"),
    (".together.xyz", "together"),
    (".fireworks.ai", "fireworks"),
    (".x.ai", "xai"),
)
_CLASS_HINTS = (("Azure", "azure"), ("Foundry", "azure"), ("Bedrock", "bedrock"), ("Vertex", "vertex"))
# id(client) -> (weak reference to it, override, provider): a plain dict read by `id` costs a third of
# a WeakKeyDictionary lookup (which builds a weak reference per read); the entry leaves with the client.
_by_client: dict[int, tuple[Any, str | None, str]] = {}


def detect_provider(client: Any, flavour: str, override: str | None) -> str:
    """Name the provider a client talks to; remembered per client object (and override)."""
    key = id(client)
    hit = _by_client.get(key)
    if hit is not None and hit[1] == override and hit[0]() is client:
        return hit[2]
    try:
        host = client.base_url.host or ""
    except Exception:
        host = ""
    found = _lookup(type(client).__name__, host.lower(), flavour, override)
    try:
        ref = weakref.ref(client, lambda r, key=key: _forget(key, r))
    except TypeError:  # not weak-referenceable: looked up each time
        return found
    _by_client[key] = (ref, override, found)
    return found


def _forget(key: int, ref: Any) -> None:
    hit = _by_client.get(key)
    if hit is not None and hit[0] is ref:
        _by_client.pop(key, None)


def _lookup(class_name: str, host: str, flavour: str, override: str | None) -> str:
    if host in _HOSTS:
        return _HOSTS[host]
    for suffix, name in _SUFFIXES:
        if host.endswith(suffix):
            return name
    if override:
        return override
    for hint, name in _CLASS_HINTS:
        if hint in class_name:
            return name
    return flavour
