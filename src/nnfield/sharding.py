"""Domain decomposition: shard a lattice state over devices (``jax.sharding``).

The first lattice axis is split over a 1D device mesh; XLA's SPMD partitioner inserts the halo exchange for
the periodic shifts, so the same jitted ``run`` executes on one device or many and gives the same result.
On CPU, several host devices can be simulated with ``XLA_FLAGS=--xla_force_host_platform_device_count=N``
(set before JAX is imported). Multi-host runs initialise ``jax.distributed`` first and use the global mesh.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .state import State

AXIS = "lattice"


def lattice_mesh(n_devices: int | None = None) -> Mesh:
    """A 1D mesh over the first ``n_devices`` devices (all by default)."""
    devices = jax.devices()
    n = len(devices) if n_devices is None else n_devices
    if not 1 <= n <= len(devices):
        raise ValueError(f"n_devices={n_devices}: expected 1..{len(devices)} (devices available: {len(devices)})")
    return Mesh(np.array(devices[:n]), (AXIS,))


def state_sharding(mesh: Mesh, ndim: int) -> NamedSharding:
    """Sharding of a field ``(K, N_1, ..., N_D)``: ``N_1`` split over the mesh, the rest replicated."""
    return NamedSharding(mesh, PartitionSpec(None, AXIS, *([None] * (ndim - 1))))


def shard_state(state: State, mesh: Mesh) -> State:
    """Place ``state`` on ``mesh`` with its first lattice axis split (must be divisible by the device count).

    On the CPU backend a placed field may share the buffer of a NumPy leaf of ``state`` (JAX 0.10's
    ``device_put`` aliases host buffers there, even with ``may_alias=False``; ``tests/test_xla_options.py``):
    do not change a NumPy array after placing it, or pass a copy."""
    ndim = state.phi.ndim - 1
    n_dev = mesh.devices.size
    if state.phi.shape[1] % n_dev:
        raise ValueError(
            f"lattice axis 0 has {state.phi.shape[1]} sites, not divisible by {n_dev} devices; "
            "choose a lattice size that is a multiple of the device count"
        )
    sh = state_sharding(mesh, ndim)
    return jax.tree_util.tree_map(lambda x: jax.device_put(x, sh), state)


def describe(x: Any) -> str:
    """A one-line description of how an array is laid out over devices."""
    sh = getattr(x, "sharding", None)
    return "unsharded" if sh is None else f"{type(sh).__name__} over {len(sh.device_set)} device(s)"
