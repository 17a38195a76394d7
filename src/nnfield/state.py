"""The state of a network: non-trainable neurons ``phi`` and trainable variables ``pi``."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ._module import Module


class State(Module):
    """``phi[a, i]`` (activation dynamics) and ``pi[a, i]`` (learning dynamics), each ``(K, *lattice.shape)``.

    The biases of the paper are ``beta = B pi`` (eq. 2.10, 4.8).
    """

    phi: Any
    pi: Any

    @classmethod
    def zeros(cls, K: int, shape: tuple[int, ...], dtype: Any = None) -> State:
        z = jnp.zeros((K, *shape), dtype=dtype)
        return cls(z, z)

    def astype(self, dtype: Any) -> State:
        return State(jnp.asarray(self.phi, dtype), jnp.asarray(self.pi, dtype))

    def __add__(self, other: State) -> State:
        return jax.tree_util.tree_map(lambda a, b: a + b, self, other)

    def __sub__(self, other: State) -> State:
        return jax.tree_util.tree_map(lambda a, b: a - b, self, other)

    def scale(self, alpha: Any) -> State:
        return jax.tree_util.tree_map(lambda a: alpha * a, self)

    def norm(self) -> jax.Array:
        """``sqrt(sum phi^2 + pi^2)`` (for a spinor network: the square root of the charge)."""
        return jnp.sqrt(jnp.sum(self.phi**2) + jnp.sum(self.pi**2))


def _key_name(key: Any) -> str:
    tu = jax.tree_util
    if isinstance(key, tu.GetAttrKey):
        return key.name
    if isinstance(key, tu.DictKey):
        return str(key.key)
    if isinstance(key, tu.SequenceKey):
        return str(key.idx)
    return str(key)


def field_items(state: Any) -> dict[str, Any]:
    """The named fields of a state PyTree, ``{name: array}``, names joined from the tree path with ``.``.

    A state is a PyTree of fields, each ``(components, *lattice.shape)``: ``State(phi, pi)`` gives
    ``{"phi": ..., "pi": ...}``; a model with several fields may use e.g. ``{"matter": State(...), "links":
    U, "electric": E}`` (``matter.phi``, ``matter.pi``, ``links``, ``electric``). Snapshots, sharding and
    checkpoints work field by field on these names.
    """
    leaves, _ = jax.tree_util.tree_flatten_with_path(state)
    return {".".join(_key_name(k) for k in path): leaf for path, leaf in leaves}
