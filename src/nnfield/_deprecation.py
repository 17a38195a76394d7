"""Deprecated aliases for one release: a module-level ``__getattr__`` that warns and names the new name."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any


def deprecated_names(module: str, aliases: Mapping[str, str], namespace: Mapping[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving each old name in ``aliases`` to its new name in ``namespace``.

    Every access issues a :class:`DeprecationWarning` naming the new name; other names raise ``AttributeError``.
    """

    def __getattr__(name: str) -> Any:
        new = aliases.get(name)
        if new is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(f"{module}.{name} is deprecated; use {module}.{new} (same object)", DeprecationWarning,
                      stacklevel=2)
        return namespace[new]

    return __getattr__


def deprecated_method(cls_name: str, old: str, new: str) -> Callable[..., Any]:
    """A method ``old`` that warns and calls the method ``new`` with the same arguments."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        warnings.warn(f"{cls_name}.{old} is deprecated; use {cls_name}.{new}", DeprecationWarning, stacklevel=2)
        return getattr(self, new)(*args, **kwargs)

    method.__name__ = old
    method.__doc__ = f"Deprecated alias of :meth:`{new}`."
    return method
