"""Named plug-ins: fusion strategies and recording sources register here under the name params use.

A registry is a dict from name to class, filled by the ``register`` decorator where
each plug-in is defined; params validation reads the names, the stage that uses a
plug-in looks it up. Importing :mod:`mimo_lib` registers the built-in ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(dict[str, T], Generic[T]):
    """Plug-ins of one kind (``"fusion"``, ``"source"``) by name."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator adding a plug-in under ``name``; a name is taken once."""

        def add(plugin: T) -> T:
            if name in self:
                raise ValueError(f"{self.kind} {name!r} is already registered (by {self[name]!r})")
            self[name] = plugin
            return plugin

        return add

    def lookup(self, name: str) -> T:
        """The plug-in registered as ``name``; an unknown name raises, listing the valid ones."""
        if name not in self:
            raise ValueError(f"unknown {self.kind} {name!r}; valid {self.kind}s are {sorted(self)}")
        return self[name]


FUSIONS: Registry = Registry("fusion")
SOURCES: Registry = Registry("source")
