"""Patches as data: the table of targets, and `instrument()`/`uninstrument()` looping over it.

Methods are patched on the clients' base *classes*, so clients made before or after `observe()`,
`with_options()` copies, the module-level `openai.chat.completions` client and every path a caller
takes to a request (resource methods, raw and streaming responses, `post()`) are covered.
A provider SDK is patched only once the host program imports it (an import hook fires then), so
`observe()` never pays the ~0.8 s import of a provider the program does not use.
"""

from __future__ import annotations

import functools
import sys
import threading
from types import FunctionType
from typing import Any

import wrapt

from . import _litellm
from ._log import log_once
from ._cloud import FACTORIES as CLOUD_FACTORIES
from ._wrappers import FACTORIES as CLIENT_FACTORIES
from ._wrappers import Target

FACTORIES = {**CLIENT_FACTORIES, **CLOUD_FACTORIES}

# Every request of the openai and anthropic clients passes through `request` on their base client
# classes; streams a raw-mode caller parses later are built from `Stream`/`AsyncStream`.
TARGETS: tuple[Target, ...] = tuple(
    t
    for sdk in ("openai", "anthropic")
    for t in (
        Target(f"{sdk}._base_client", "SyncAPIClient", "request", sdk, "request", False),
        Target(f"{sdk}._base_client", "AsyncAPIClient", "request", sdk, "request", True),
        Target(f"{sdk}._streaming", "Stream", "__stream__", sdk, "sse", False),
        Target(f"{sdk}._streaming", "AsyncStream", "__stream__", sdk, "sse", True),
    )
) + tuple(
    # google-genai: one HTTP request each; boto3: every call, of which Converse/ConverseStream count.
    Target("google.genai.models", cls, method, "google", "genai", cls == "AsyncModels")
    for cls in ("Models", "AsyncModels")
    for method in ("_generate_content", "_generate_content_stream")
) + (
    Target("botocore.client", "BaseClient", "_make_api_call", "bedrock", "bedrock", False),
)

_patched: dict[tuple[type, str], Any] = {}  # (class, method) -> the original attribute
_lock = threading.RLock()
_hooks_registered = False


def _try_wrap(target: Target) -> bool:
    """Patch one target if its module is loaded and the method exists; skip quietly otherwise."""
    module = sys.modules.get(target.module)
    cls = getattr(module, target.cls, None) if module is not None else None
    if not isinstance(cls, type) or target.method not in cls.__dict__:
        return False
    with _lock:
        if (cls, target.method) in _patched:  # same class reached through another module path
            return True
        original = cls.__dict__[target.method]
        try:
            setattr(cls, target.method, make_method(target, original))
        except Exception:
            log_once("patch", "llmobserve: could not patch %s.%s", target.cls, target.method, exc_info=True)
            return False
        _patched[(cls, target.method)] = original
    return True


def make_method(target: Target, original: Any) -> Any:
    """The function that replaces `original` on its class: the call kind's wrapper, a plain function
    (binding a plain function to its instance is the interpreter's own fast path), named and
    documented as the original, with `__wrapped__` pointing at it."""
    call_original = original if isinstance(original, FunctionType) else _binder(original)
    method = FACTORIES[target.kind](target, call_original)
    return functools.wraps(original)(method)


def _binder(descriptor: Any) -> Any:
    """Call a method that is not a plain function (another tool's wrapper, say) as the class would."""

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        return descriptor.__get__(self, type(self))(*args, **kwargs)

    return call


def _on_import(module: Any) -> None:
    from ._call import CONFIG

    if CONFIG.active and module.__name__ == "litellm":
        _litellm.register(module)
    elif CONFIG.active:
        for target in TARGETS:
            if target.module == module.__name__:
                _try_wrap(target)


def instrument() -> None:
    """Patch every loaded target now; patch the rest when (if ever) the program imports them."""
    global _hooks_registered
    with _lock:
        for target in TARGETS:
            _try_wrap(target)
        _litellm.register()  # LiteLLM's own HTTP routes: its callback interface (only once it is imported)
        if not _hooks_registered:
            for name in sorted({t.module for t in TARGETS} | {"litellm"}):
                wrapt.register_post_import_hook(_on_import, name)
            _hooks_registered = True


def uninstrument() -> None:
    """Put every original method back (the import hooks stay, inert while the SDK is off)."""
    with _lock:
        for (cls, method), original in _patched.items():
            setattr(cls, method, original)
        _patched.clear()
        _litellm.unregister()


def patched_methods() -> list[str]:
    """`Class.method` names currently patched (for tests and debugging)."""
    return sorted(f"{cls.__module__}.{cls.__qualname__}.{m}" for cls, m in _patched)
