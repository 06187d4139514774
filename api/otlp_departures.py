"""Where real instrumentations depart from the GenAI semantic conventions, and how each is corrected.

Keyed by instrumentation scope (name, and version where the scope carries one), each correction was
found by running that instrumentation over recorded provider answers (tests/otlp/) and is tested there.
Corrections only fill or fix what the conventions define; what an instrumentation does not report at
all cannot be recovered and is listed in docs/opentelemetry.md.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Attrs = dict[str, Any]
_CLASS_REPR = re.compile(r"^<class '([^']+)'>$")


def _version(text: str) -> tuple[int, ...]:
    """'0.62.4' → (0, 62, 4); a pre-release such as '1.1b0' → (1, 1); '' → ()."""
    parts = []
    for piece in text.split("."):
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        parts.append(int(digits.group()))
        if digits.group() != piece:
            break
    return tuple(parts)


def _reasoning_from_legacy_name(attrs: Attrs) -> None:
    if "gen_ai.usage.reasoning.output_tokens" not in attrs and "gen_ai.usage.reasoning_tokens" in attrs:
        attrs["gen_ai.usage.reasoning.output_tokens"] = attrs["gen_ai.usage.reasoning_tokens"]


def _cache_into_input(attrs: Attrs) -> None:
    inp = attrs.get("gen_ai.usage.input_tokens")
    cache = [attrs.get(k) for k in ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_creation.input_tokens")]
    if isinstance(inp, int) and all(isinstance(c, int) or c is None for c in cache):
        attrs["gen_ai.usage.input_tokens"] = inp + sum(c or 0 for c in cache)


def _error_type_from_class_repr(attrs: Attrs) -> None:
    value = attrs.get("error.type")
    if isinstance(value, str) and (found := _CLASS_REPR.match(value)):
        attrs["error.type"] = found.group(1)


@dataclass(frozen=True)
class Departure:
    scopes: tuple[str, ...]
    below: tuple[int, ...] | None  # applies to scope versions below this one (None: every version)
    fix: Callable[[Attrs], None]
    what: str


DEPARTURES = (
    Departure(("opentelemetry.instrumentation.openai.v1", "opentelemetry.instrumentation.openai.v0"), (1,),
              _reasoning_from_legacy_name,
              "OpenLLMetry's openai (0.x) puts reasoning tokens in gen_ai.usage.reasoning_tokens"),
    Departure(("openlit.instrumentation.anthropic",), None, _cache_into_input,
              "OpenLIT's anthropic reports Anthropic's own input_tokens (cache reads and writes outside); "
              "OpenLIT sets no scope version, so this holds for every version"),
    Departure(("opentelemetry.util.genai.handler",), (2,), _error_type_from_class_repr,
              "opentelemetry-util-genai (used by openai-v2) writes error.type as \"<class 'openai.X'>\""),
)


@functools.lru_cache(maxsize=1024)
def corrections(scope: tuple[str, str]) -> tuple[Callable[[Attrs], None], ...]:
    """The fixes known for an instrumentation scope (name, version), found once per scope."""
    name, version = scope
    return tuple(d.fix for d in DEPARTURES
                 if name in d.scopes and (d.below is None or _version(version) < d.below))
