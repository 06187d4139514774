"""Reading a few named values from answer objects cheaply, whatever shape the client gave them.

The clients' answers are pydantic models (built by the clients without validation, so a declared
field can be absent), the raw paths' JSON is a dict, other tools hand plain objects. Two costs
matter on the call path: a Python call per attribute read, and asking a pydantic model for a name it
lacks, which goes through its `__getattr__` raising and catching AttributeError (~8 µs measured, as
much as the rest of a call's recording). So `Fields` compiles, once per class, one reader for its
names: `operator.attrgetter` (one C call) when the model declares them all, the field dict plus the
extras (`__pydantic_extra__`, where an `extra="allow"` model keeps what it did not declare) when not,
`dict.get` for dicts, `getattr(..., None)` for anything else. Missing values read as None.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, Callable

Reader = Callable[[Any], tuple[Any, ...]]


class Fields:
    """A fixed tuple of names, read from any object as a tuple of values (None when missing)."""

    __slots__ = ("names", "_by_class")

    def __init__(self, *names: str) -> None:
        self.names = names
        self._by_class: dict[type, Reader] = {}

    def reader(self, cls: type) -> Reader:
        """The compiled reader of this class (a bare `attrgetter` for a model declaring every name:
        it raises AttributeError on an instance missing one, where `read` falls back)."""
        reader = self._by_class.get(cls)
        if reader is None:
            reader = self._by_class[cls] = self._compile(cls)
        return reader

    def read(self, obj: Any) -> tuple[Any, ...]:
        reader = self._by_class.get(type(obj))
        if reader is None:
            reader = self._by_class[type(obj)] = self._compile(type(obj))
        try:
            return reader(obj)
        except AttributeError:  # a declared field absent from this instance
            return self._loose(obj)

    def _compile(self, cls: type) -> Reader:
        names = self.names
        if issubclass(cls, dict):
            return lambda obj: tuple(map(obj.get, names))
        declared = getattr(cls, "__pydantic_fields__", None)
        if not isinstance(declared, dict):
            return self._getattrs
        if all(name in declared for name in names):
            # attrgetter of one name answers the value, not a tuple: asking twice keeps it one C call.
            return attrgetter(*names) if len(names) > 1 else attrgetter(names[0], names[0])  # type: ignore[return-value]
        return self._loose

    def _loose(self, obj: Any) -> tuple[Any, ...]:
        """A pydantic model by its field dict and extras, without ever raising."""
        values = getattr(obj, "__dict__", None)
        if not isinstance(values, dict):
            return self._getattrs(obj)
        extra = getattr(obj, "__pydantic_extra__", None) or {}
        return tuple(values[n] if n in values else extra.get(n) for n in self.names)

    def _getattrs(self, obj: Any) -> tuple[Any, ...]:
        return tuple(getattr(obj, n, None) for n in self.names)


_ONE: dict[str, Fields] = {}


def field(obj: Any, name: str) -> Any:
    """One named value of `obj` (None for None or a missing name); for the paths off the hot one."""
    if obj is None:
        return None
    fields = _ONE.get(name)
    if fields is None:
        fields = _ONE[name] = Fields(name)
    return fields.read(obj)[0]
