"""Domain decomposition: shard a lattice state over devices (``jax.sharding``).

The first lattice axis is split over a 1D device mesh; XLA's SPMD partitioner inserts the halo exchange for
the periodic shifts, so the same jitted ``run`` executes on one device or many and gives the same result.
On CPU, several host devices can be simulated with ``XLA_FLAGS=--xla_force_host_platform_device_count=N``
(set before JAX is imported). Multi-host runs initialise ``jax.distributed`` first and use the global mesh.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ._module import Module
from .state import State

AXIS = "lattice"

_TRACING = threading.local()  # the mesh of the lattice split a model's functions are being traced for


class LatticeSplit(Module):
    """The mesh a run's lattice is split over, as a PyTree without leaves (the mesh a static field): what a split
    run's observer carries, so that while it is traced the model's transforms are distributed
    (:func:`lattice_fftn`). ``with split.active():`` makes it the mesh of the functions traced inside (in this
    thread)."""

    mesh: Any = eqx.field(static=True)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        before = getattr(_TRACING, "mesh", None)
        _TRACING.mesh = self.mesh
        try:
            yield
        finally:
            _TRACING.mesh = before


def traced_split() -> Mesh | None:
    """The mesh of :meth:`LatticeSplit.active` around the current trace, or ``None`` (one device, or a function
    traced outside a split run's observer)."""
    return getattr(_TRACING, "mesh", None)


def lattice_fftn(x: Any, D: int) -> jax.Array:
    """``jnp.fft.fftn`` over the last ``D`` axes of ``x`` (the lattice's; any before them, e.g. a spinor's
    components, are not transformed); traced for a run split over several devices
    (:meth:`LatticeSplit.active`, ``D >= 2``), the distributed FFT (:func:`nnfield.initial.forward_fft_split`:
    equal to round-off, each device its slab), where XLA would gather the whole field on every device for the
    FFT (session 47: the gauged Dirac field's ``<k>``). A 1D lattice keeps the whole FFT."""
    mesh = traced_split()
    axes = tuple(range(x.ndim - D, x.ndim))
    if mesh is None or D < 2 or mesh.size < 2 or x.shape[x.ndim - D] % mesh.size:
        return jnp.fft.fftn(x, axes=axes)
    from .initial._split import forward_fft_split

    return forward_fft_split(mesh, D, lead=x.ndim - D)(x)


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
