"""What every theory recipe provides: a network, its physics side, and the map between their states."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import jax

from ..state import State


@runtime_checkable
class Model(Protocol):
    """A network recipe together with the physics it should reproduce.

    ``network`` has ``step(state) -> state``, ``lattice``, ``K``, ``tick`` and ``order``; ``theory`` is the
    independent physics side. ``initial_state`` maps physics data (field and conjugate momentum, each
    ``(K, *shape)``) to a network state, ``physics_state`` maps back, and ``observables`` returns the scalars
    recorded during a run (a dict of JAX scalars, jittable).
    """

    network: Any
    theory: Any

    def initial_state(self, phi: jax.Array, pi: jax.Array) -> State: ...

    def physics_state(self, state: State) -> tuple[jax.Array, jax.Array]: ...

    def observables(self, state: State) -> dict[str, jax.Array]: ...
