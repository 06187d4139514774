"""Patches as data: the table of targets, and `instrument()`/`uninstrument()` looping over it.

Methods are patched on the resource *classes*, so clients made before or after `observe()`,
`with_options()` copies and the module-level `openai.chat.completions` client are all covered.
A provider SDK is patched only once the host program imports it (an import hook fires then), so
`observe()` never pays the ~0.8 s import of a provider the program does not use.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import wrapt

from ._log import log_once
from ._wrappers import FACTORIES, Target

_OAI_CHAT = "openai.resources.chat.completions.completions"
_OAI_CHAT_OLD = "openai.resources.chat.completions"  # openai < 1.66: a module, not a package
_OAI_BETA_CHAT = "openai.resources.beta.chat.completions"  # openai 1.4x–1.9x: beta `parse`
_OAI_RESPONSES = "openai.resources.responses.responses"
_OAI_EMBEDDINGS = "openai.resources.embeddings"
_ANT = "anthropic.resources.messages.messages"
_ANT_OLD = "anthropic.resources.messages"
_ANT_BETA = "anthropic.resources.beta.messages.messages"


def _both(module: str, sync_cls: str, method: str, operation: str, flavour: str, kind: str = "call") -> list[Target]:
    return [
        Target(module, sync_cls, method, operation, flavour, kind, False),
        Target(module, "Async" + sync_cls, method, operation, flavour, kind, True),
    ]


TARGETS: tuple[Target, ...] = tuple(
    t
    for module in (_OAI_CHAT, _OAI_CHAT_OLD)
    for method in ("create", "parse")
    for t in _both(module, "Completions", method, "chat", "openai")
) + tuple(
    _both(_OAI_BETA_CHAT, "Completions", "parse", "chat", "openai")
    + _both(_OAI_RESPONSES, "Responses", "create", "responses", "openai")
    + _both(_OAI_RESPONSES, "Responses", "parse", "responses", "openai")
    + _both(_OAI_EMBEDDINGS, "Embeddings", "create", "embeddings", "openai")
) + tuple(
    t
    for module in (_ANT, _ANT_OLD, _ANT_BETA)
    for t in (
        _both(module, "Messages", "create", "messages", "anthropic")
        + _both(module, "Messages", "parse", "messages", "anthropic")
        # `stream` is a plain `def` on both classes: it returns a manager, sync or async.
        + [Target(module, "Messages", "stream", "messages", "anthropic", "manager", False),
           Target(module, "AsyncMessages", "stream", "messages", "anthropic", "manager", False)]
    )
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
            setattr(cls, target.method, wrapt.FunctionWrapper(original, FACTORIES[target.kind](target)))
        except Exception:
            log_once("patch", "llmobserve: could not patch %s.%s", target.cls, target.method, exc_info=True)
            return False
        _patched[(cls, target.method)] = original
    return True


def _on_import(module: Any) -> None:
    from ._call import CONFIG

    if CONFIG.active:
        for target in TARGETS:
            if target.module == module.__name__:
                _try_wrap(target)


def instrument() -> None:
    """Patch every loaded target now; patch the rest when (if ever) the program imports them."""
    global _hooks_registered
    with _lock:
        for target in TARGETS:
            _try_wrap(target)
        if not _hooks_registered:
            for name in sorted({t.module for t in TARGETS}):
                wrapt.register_post_import_hook(_on_import, name)
            _hooks_registered = True


def uninstrument() -> None:
    """Put every original method back (the import hooks stay, inert while the SDK is off)."""
    with _lock:
        for (cls, method), original in _patched.items():
            setattr(cls, method, original)
        _patched.clear()


def patched_methods() -> list[str]:
    """`Class.method` names currently patched (for tests and debugging)."""
    return sorted(f"{cls.__module__}.{cls.__qualname__}.{m}" for cls, m in _patched)
