"""Runs over several devices and processes: JAX's own distributed runtime and the lattice domain decomposition.

A run is sharded by splitting the first lattice axis of every field over a 1D mesh of devices
(:mod:`nnfield.sharding`); XLA's SPMD partitioner inserts the halo exchanges of the periodic shifts, so the
same jitted chunk runs on one device or many, and the results agree to round-off (reductions such as the
energy may sum in another order). Several processes (one per GPU, or per node) join with
:func:`initialize` (``jax.distributed``; on CPU with the gloo collectives); every process builds the same
initial state from the config (same seed), keeps only its own shards, computes, and process 0 writes the run
file. Checkpoints are written shard by shard by every process (:mod:`nnfield.checkpoint`).

Config ``[parallel] devices = N | "all"``; command line ``nnfield run --devices N`` and, for several
processes, ``--coordinator HOST:PORT --num-processes P --process-id I`` (or nothing under SLURM/Open MPI,
whose environment ``jax.distributed.initialize`` reads). See ``docs/scaling.md``.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from .errors import ConfigError
from .sharding import AXIS, lattice_mesh

_INITIALIZED = False

#: how a refusal names the device count (the config key, or the command line's override)
DEVICES = "parallel.devices (or --devices)"


def initialize(coordinator: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> None:
    """Join a multi-process run (``jax.distributed.initialize``) before any computation. On CPU the
    cross-process collectives use gloo. With no arguments JAX reads SLURM / Open MPI environments."""
    global _INITIALIZED
    if _INITIALIZED:
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # only used by the CPU backend
    kwargs: dict[str, Any] = {}
    if coordinator is not None:
        kwargs.update(coordinator_address=coordinator, num_processes=num_processes, process_id=process_id)
    # joining blocks in C++ until every process arrives (up to JAX's initialization timeout), where the main
    # thread's Python signal handlers cannot run: in a thread, so that Ctrl-C is still answered
    from .signals import in_thread

    in_thread(lambda: jax.distributed.initialize(**kwargs))
    _INITIALIZED = True


def finish(success: bool) -> None:
    """Leave a multi-process run together (``jax.distributed.shutdown``, a barrier of every process) when this
    process succeeded: process 0 hosts the coordination service, and a process still running when it exits is
    ended by the runtime with a fatal error (seen after ``run --dry-run``, whose processes finish within
    milliseconds of each other). After a failure the others may never arrive, so nothing is waited for."""
    if _INITIALIZED and success:
        try:
            jax.distributed.shutdown()
        except Exception:  # noqa: BLE001 - the exit code is already decided; a failed shutdown must not change it
            pass


def multi_process() -> bool:
    return jax.process_count() > 1


def is_writer() -> bool:
    """Whether this process writes the run file (process 0)."""
    return jax.process_index() == 0


def barrier(name: str) -> None:
    """Wait for every process (no-op in a single-process run)."""
    if multi_process():
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def device_count(requested: int) -> int:
    """The number of devices a run uses: ``requested`` (0: all devices of all processes; in a multi-process run
    the default 1 also means all)."""
    available = jax.device_count()
    n = available if requested == 0 or (requested == 1 and multi_process()) else requested
    if multi_process() and n != available:
        raise ConfigError(f"{DEVICES}: a run over {jax.process_count()} processes uses every device "
                          f"({available}); got {requested} (set devices = \"all\")")
    if n > available:
        raise ConfigError(f"{DEVICES}: expected at most the {available} device(s) available, got {n}; "
                          f"on CPU simulate more with XLA_FLAGS=--xla_force_host_platform_device_count={n}")
    return n


def place(tree: Any, devices: int, axis_size: int) -> Any:
    """Shard every field (leaf of rank >= 2, laid out ``(K, N_1, ...)``) of ``tree`` over ``devices`` along
    ``N_1``; other leaves are replicated. ``devices = 1`` in a single process: ``tree`` unchanged. As with
    :func:`nnfield.sharding.shard_state`, a placed leaf may share a NumPy leaf's buffer on the CPU backend: the
    run never changes its host arrays after placing them; a caller of this function must not either."""
    if devices == 1 and not multi_process():
        return tree
    if axis_size % devices:
        raise ConfigError(f"{DEVICES}: the first lattice axis has {axis_size} sites, not divisible by "
                          f"{devices} devices; choose a lattice size that is a multiple of the device count")
    mesh = lattice_mesh(devices)

    def put(x: Any) -> Any:
        if not hasattr(x, "shape"):
            return x
        arr = np.asarray(x)
        spec = PartitionSpec(None, AXIS, *([None] * (arr.ndim - 2))) if arr.ndim >= 2 else PartitionSpec()
        sharding = NamedSharding(mesh, spec)
        return jax.make_array_from_callback(arr.shape, sharding, lambda index: arr[index])

    return jax.tree_util.tree_map(put, tree)


def place_model(model: Any, devices: int, lattice_shape: tuple[int, ...]) -> Any:
    """The model of a sharded run: every array leaf that is a field over the lattice (its trailing axes are
    ``lattice_shape``; e.g. the per-site link coefficients ``(K, K, N_1, ...)`` of a gauged Dirac network in a
    background field) is sharded over ``devices`` along ``N_1``, like the state; every other array leaf
    (coefficients, Clifford factors) is replicated on every device of every process.

    Placement never changes what a jitted program computes, only where its operands live: a site field that
    stayed whole (replicated) on every device would cost every device the whole lattice's memory (for the
    gauged Dirac network 24.5 times the state's), while the state itself is split. ``devices = 1`` in a single
    process: ``model`` unchanged (the run's chunk program puts its NumPy leaves on the device once,
    ``runner._ChunkProgram``)."""
    if devices == 1 and not multi_process():
        return model
    shape = tuple(int(n) for n in lattice_shape)
    mesh = lattice_mesh(devices)

    def put(x: Any) -> Any:
        if not isinstance(x, (jax.Array, np.ndarray)) or isinstance(x, np.generic):
            return x
        arr = np.asarray(x)
        spec = site_spec(site_axis(arr, shape), arr.ndim)
        return jax.make_array_from_callback(arr.shape, NamedSharding(mesh, spec), lambda index: arr[index])

    return jax.tree_util.tree_map(put, model)


def site_axis(x: Any, lattice_shape: tuple[int, ...]) -> int | None:
    """The axis of ``N_1`` in ``x`` when ``x`` is a field over the lattice (its trailing axes are
    ``lattice_shape``), else ``None`` (the rule :func:`place_model` and :mod:`nnfield.halo` split by)."""
    D = len(lattice_shape)
    if not hasattr(x, "shape") or isinstance(x, np.generic) or len(x.shape) < D:
        return None
    return len(x.shape) - D if tuple(x.shape[len(x.shape) - D:]) == tuple(lattice_shape) else None


def site_spec(axis: int | None, ndim: int) -> PartitionSpec:
    """The partition of an ``ndim``-dimensional array split along ``axis`` (:func:`site_axis`; ``None``:
    replicated)."""
    return PartitionSpec() if axis is None else PartitionSpec(*([None] * axis), AXIS, *([None] * (ndim - axis - 1)))


def replicate(tree: Any) -> Any:
    """Every array leaf of ``tree`` (e.g. a model's coefficients) as a global array replicated on every device
    of every process (what a jitted computation over several processes takes)."""
    mesh = lattice_mesh(jax.device_count())
    sharding = NamedSharding(mesh, PartitionSpec())

    def put(x: Any) -> Any:
        if isinstance(x, (jax.Array, np.ndarray)) and not isinstance(x, np.generic):
            arr = np.asarray(x)
            return jax.make_array_from_callback(arr.shape, sharding, lambda index: arr[index])
        return x

    return jax.tree_util.tree_map(put, tree)


def to_host(x: Any) -> np.ndarray:
    """The whole array on the host of every process (a collective when it is spread over processes)."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)
