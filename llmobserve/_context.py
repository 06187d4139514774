"""Per-block attribution: customer, run and tags, carried in one contextvar.

One `Scope` object per block keeps the hot path to a single `ContextVar.get()`. The managers work as
`with` blocks and as decorators on sync and async functions; a decorator opens a fresh scope per call,
so one decorated function running in many threads or tasks never shares a token.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import uuid
from typing import Any, Callable, Mapping, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Scope:
    """Immutable attribution for the calls made inside one block."""

    __slots__ = ("customer_id", "run_id", "run_name", "tags")

    def __init__(
        self,
        customer_id: str | None = None,
        run_id: str | None = None,
        run_name: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        self.customer_id = customer_id
        self.run_id = run_id
        self.run_name = run_name
        self.tags = tags  # None means "no block tags"; never mutated after creation


EMPTY = Scope()
_scope: contextvars.ContextVar[Scope] = contextvars.ContextVar("llmobserve_scope", default=EMPTY)


def current_scope() -> Scope:
    """The attribution in force for the running thread or task."""
    return _scope.get()


class _ScopeManager:
    """Base for `customer()`, `run()` and `tags()`: a context manager and a decorator."""

    def _derive(self, parent: Scope) -> Scope:  # pragma: no cover - abstract
        raise NotImplementedError

    def _enter(self) -> contextvars.Token[Scope]:
        return _scope.set(self._derive(_scope.get()))

    def __enter__(self) -> Scope:
        token = self._enter()
        self.__dict__.setdefault("_tokens", []).append(token)
        return _scope.get()

    def __exit__(self, *exc: object) -> None:
        _scope.reset(self.__dict__["_tokens"].pop())

    async def __aenter__(self) -> Scope:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(*exc)

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                token = self._enter()
                try:
                    return await func(*args, **kwargs)
                finally:
                    _scope.reset(token)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = self._enter()
            try:
                return func(*args, **kwargs)
            finally:
                _scope.reset(token)

        return wrapper  # type: ignore[return-value]


class customer(_ScopeManager):
    """Attribute the calls made inside the block (or decorated function) to one of your customers."""

    def __init__(self, customer_id: str) -> None:
        self.customer_id = str(customer_id)

    def _derive(self, parent: Scope) -> Scope:
        return Scope(self.customer_id, parent.run_id, parent.run_name, parent.tags)


class run(_ScopeManager):
    """Group the calls made inside the block into one named run; each entry starts a new run id."""

    def __init__(self, name: str, *, run_id: str | None = None) -> None:
        self.name = str(name)
        self.run_id = run_id

    def _derive(self, parent: Scope) -> Scope:
        run_id = self.run_id or str(uuid.uuid4())
        return Scope(parent.customer_id, run_id, self.name, parent.tags)


class tags(_ScopeManager):
    """Add string tags to the calls made inside the block; inner blocks override outer keys."""

    def __init__(self, mapping: Mapping[str, object] | None = None, /, **kwargs: object) -> None:
        merged = {**(mapping or {}), **kwargs}
        self.tags = {str(k): str(v) for k, v in merged.items()}

    def _derive(self, parent: Scope) -> Scope:
        merged = {**parent.tags, **self.tags} if parent.tags else dict(self.tags)
        return Scope(parent.customer_id, parent.run_id, parent.run_name, merged)
