"""A minimal frozen-dataclass PyTree, so core objects work under ``jit``, ``vmap`` and ``grad``.

Fields declared with ``static_field()`` are part of the tree structure (hashable, compared by value);
all other fields are leaves (arrays or nested PyTrees).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import jax

T = TypeVar("T")


def static_field(**kwargs: Any) -> Any:
    """A dataclass field that is static (part of the PyTree structure, not a leaf)."""
    metadata = dict(kwargs.pop("metadata", {}) or {})
    metadata["static"] = True
    return dataclasses.field(metadata=metadata, **kwargs)


def pytree_dataclass(cls: type[T]) -> type[T]:
    """Make ``cls`` a frozen dataclass registered as a JAX PyTree."""
    cls = dataclasses.dataclass(frozen=True, eq=False)(cls)
    fields = dataclasses.fields(cls)
    data = [f.name for f in fields if not f.metadata.get("static", False)]
    meta = [f.name for f in fields if f.metadata.get("static", False)]
    jax.tree_util.register_dataclass(cls, data_fields=data, meta_fields=meta)
    return cls


def replace(obj: T, **changes: Any) -> T:
    """Return a copy of a PyTree dataclass with some fields replaced."""
    return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
