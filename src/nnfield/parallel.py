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

from collections.abc import Iterator
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


#: how long a process that failed waits for the others to leave the run with it (:func:`finish`): processes that
#: refuse alike (a refusal every process makes, after a collective) arrive within milliseconds of each other
LEAVE_AFTER_FAILURE_SECONDS = 5.0


#: threads of this process still working with JAX's runtime (a run's first chunk compiling ahead,
#: ``runner._ChunkProgram.compile_ahead``): :func:`finish` waits for them before it shuts the runtime down, which
#: under a running compile ended the process with SIGABRT (C++ ``terminate``) instead of its exit code
BACKGROUND: list[Any] = []


def wait_background() -> None:
    """Wait for the threads in :data:`BACKGROUND` (each a ``threading.Thread``) to end."""
    while BACKGROUND:
        BACKGROUND.pop().join()


def add_background(thread: Any) -> None:
    """Add a started ``threading.Thread`` to :data:`BACKGROUND` (the ended ones dropped). The interpreter's exit
    waits for them too (``atexit``): a daemon thread still in XLA's C++ code when Python stops it ends the
    process with SIGABRT (a script whose run was refused or interrupted while its first chunk compiled)."""
    global _AT_EXIT
    BACKGROUND[:] = [t for t in BACKGROUND if t.is_alive()] + [thread]
    if not _AT_EXIT:
        import atexit

        atexit.register(wait_background)
        _AT_EXIT = True


_AT_EXIT = False


def finish(success: bool) -> None:
    """Leave a multi-process run together (``jax.distributed.shutdown``, a barrier of every process): process 0
    hosts the coordination service, and a process still running when it exits is ended by the runtime with a
    fatal log of several lines (seen after ``run --dry-run``, whose processes finish within milliseconds of each
    other, and after a refusal every process makes alike: ``--resume`` of a 2-process run in 3 processes on a
    lattice axis of 16 printed it in 4 of 8 processes other than process 0, session 29). After a failure the
    others may never arrive (a process killed, one still computing): they are waited for at most
    :data:`LEAVE_AFTER_FAILURE_SECONDS`, and without all of them nothing more is waited for."""
    if not _INITIALIZED or not (success or _all_arrive("nnfield-leave-after-failure", LEAVE_AFTER_FAILURE_SECONDS)):
        return
    wait_background()
    try:
        jax.distributed.shutdown()
    except Exception:  # noqa: BLE001 - the exit code is already decided; a failed shutdown must not change it
        pass


def _all_arrive(name: str, seconds: float) -> bool:
    """Whether every process of the run reaches the barrier ``name`` within ``seconds`` (the coordination service's
    own barrier, which gives up after its timeout where a collective would wait for ever). ``False`` when it cannot
    be asked (no distributed client)."""
    try:
        from jax._src.distributed import global_state

        client = global_state.client
        if client is None:
            return False
        client.wait_at_barrier(name, int(seconds * 1000))
    except Exception:  # noqa: BLE001 - a timeout, a peer gone, or another JAX: leave at once, as before
        return False
    return True


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


def largest_over_processes(value: float) -> float:
    """``value``'s largest over the processes of a multi-process run (a collective: every process calls it at the
    same point), else ``value``. What a process decides from its own wall clock (a checkpoint due by time, a
    chunk cut to bound its time) must be decided alike by every process, or one of them enters a collective (a
    checkpoint's barrier, another chunk program) that the others never join: a hang."""
    if not multi_process():
        return float(value)
    from jax.experimental import multihost_utils

    return float(np.max(np.asarray(multihost_utils.process_allgather(np.float32(value)))))


def processes_that(flag: bool) -> list[int]:
    """The indices of the processes whose ``flag`` is true (a collective in a multi-process run; in one process
    ``[0]`` or ``[]``)."""
    return [i for i, v in enumerate(gathered(int(bool(flag)))) if v]


def named_processes(indices: list[int]) -> str:
    """``"process 1"`` or ``"processes 1, 3"``: how a refusal names the processes it is about."""
    return f"process{'es' if len(indices) > 1 else ''} {', '.join(str(i) for i in indices)}"


def gathered(value: int) -> list[int]:
    """Every process's ``value`` (a small integer), in process order (a collective in a multi-process run; in one
    process ``[value]``)."""
    if not multi_process():
        return [int(value)]
    from jax.experimental import multihost_utils

    return [int(v) for v in np.asarray(multihost_utils.process_allgather(np.int32(value))).ravel()]


def _host_identity() -> np.ndarray:
    """16 bytes that name this host: a hash of its name and of the kernel's boot id (two nodes with one name, e.g.
    containers that all say ``localhost``, still differ by their boot)."""
    import hashlib
    import socket
    from pathlib import Path

    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    digest = hashlib.sha256(f"{socket.gethostname()}\0{boot}".encode()).digest()[:16]
    return np.frombuffer(digest, np.uint8)


def host_ranks_of(identities: np.ndarray, me: int) -> tuple[int, int, int]:
    """From every process's host identity (rows of ``identities``, in process order): ``(rank, local, most)``, the
    rank of process ``me`` among the processes on its host (by process index), how many processes share its host,
    and the most processes any host of the run has."""
    rows = [bytes(r) for r in np.asarray(identities, np.uint8).reshape(len(identities), -1)]
    mine = [i for i, r in enumerate(rows) if r == rows[me]]
    return mine.index(me), len(mine), max(rows.count(r) for r in set(rows))


def host_ranks() -> tuple[int, int, int]:
    """``(rank, local, most)`` of this process (:func:`host_ranks_of`): which of its host's processes it is, how
    many share its host and the most on any host, from every process's host identity (a collective in a
    multi-process run; ``(0, 1, 1)`` in one process). Exact where the launcher's environment
    (:data:`nnfield.resources.LOCAL_PROCESS_VARS`) says nothing, e.g. ``--coordinator`` given by hand."""
    if not multi_process():
        return 0, 1, 1
    from jax.experimental import multihost_utils

    every = np.asarray(multihost_utils.process_allgather(_host_identity())).reshape(jax.process_count(), -1)
    return host_ranks_of(every, jax.process_index())


#: how long a process waits for the others' turns at building (:func:`in_turns`): a whole lattice of 10^10 sites
#: builds in minutes; a process that has not finished its turn by then is taken as lost
TURN_SECONDS = 6 * 3600.0


def in_turns(rank: int, turns: int, build: Any, wait: Any = None) -> Any:
    """``build()`` in this process's turn: in turn ``t`` (``0 .. turns - 1``) the processes of rank ``t`` on their
    host (:func:`host_ranks`) build, the others wait (the coordination service's barrier, which waits up to
    :data:`TURN_SECONDS` where a gloo collective gives up after 30 s), so that a host holds one whole initial
    state at a time instead of one per process. Every process goes through every turn, also after its own build
    failed; then, if any failed, every process raises (the one that failed its own error, the others one line
    naming it). ``turns = 0``: ``build()`` at once. ``wait``: the barrier (for tests; default the coordination
    service's)."""
    global _TURN_CALLS
    if turns <= 0:
        return build()
    wait = wait or _turn_barrier
    _TURN_CALLS += 1  # (the coordination service's barriers are named once per run; every process counts alike)
    result, error = None, None
    for turn in range(turns):
        if turn == rank:
            try:
                result = build()
            except Exception as exc:  # noqa: BLE001 - re-raised below, after every process has had its turn
                error = exc
        wait(f"nnfield-build-turn-{turn}" + (f"-{_TURN_CALLS}" if _TURN_CALLS > 1 else ""))
    failed = processes_that(error is not None)
    if error is not None:
        raise error
    if failed:
        raise ConfigError(f"{named_processes(failed)} of this {jax.process_count()}-process run could not build its "
                          f"initial state (its own error says why)")
    return result


_TURN_CALLS = 0


def _turn_barrier(name: str) -> None:
    if multi_process() and not _all_arrive(name, TURN_SECONDS):
        raise ConfigError(f"a process of this {jax.process_count()}-process run did not finish its turn at building "
                          f"the initial state within {TURN_SECONDS / 3600:g} h (lost, or killed)")


def check_same_config(fingerprint: str, what: str) -> None:
    """Refuse (one line, in every process) a multi-process run whose processes were given different configs or
    options (``fingerprint``: a hex digest of everything that decides the computation and the loop's control
    flow): each process computes with its own, so they would mix two trajectories into one run file, or wait for
    each other in different collectives. A collective; nothing in a single process."""
    if not multi_process():
        return
    from jax.experimental import multihost_utils

    mine = np.frombuffer(bytes.fromhex(fingerprint), np.uint8)
    every = np.asarray(multihost_utils.process_allgather(mine)).reshape(jax.process_count(), -1)
    differ = [i for i in range(len(every)) if not np.array_equal(every[i], every[0])]
    if differ:
        raise ConfigError(f"{what}: {named_processes(differ)} of this "
                          f"{jax.process_count()}-process run got another config or other options than process 0 "
                          f"(theory, lattice, time, initial, output or parallel settings, or --steps, --devices, "
                          f"--halo); every process must run the same command on the same config")


def check_shared_dir(path: Any, what: str) -> None:
    """Refuse (one line, in every process) a multi-process run whose processes do not all see process 0's output
    directory ``path`` (e.g. ``--out /tmp/run`` on several nodes: a node-local directory each): process 0 writes a
    mark with a random name into it, every process looks for it (a collective; nothing in a single process).
    Where process 0 cannot write it (no such directory), nothing is refused here: every process then meets the
    caller's own refusal. Without this check a process wrote its checkpoint shards into a directory process 0
    never created: one process failed in one line, the others hung in the next collective."""
    if not multi_process():
        return
    import os
    from pathlib import Path

    from jax.experimental import multihost_utils

    nonce = np.frombuffer(os.urandom(16), np.uint8) if is_writer() else np.zeros(16, np.uint8)
    nonce = np.asarray(multihost_utils.broadcast_one_to_all(nonce), np.uint8)
    mark = Path(path) / f".nnfield-shared-{nonce.tobytes().hex()}"
    if is_writer():
        try:
            mark.write_text("every process of a multi-process run must see this directory\n", encoding="utf-8")
        except OSError:
            pass
    barrier("nnfield-shared-dir-marked")
    blind = processes_that(not mark.is_file())
    if is_writer():
        mark.unlink(missing_ok=True)
    if blind and 0 not in blind:
        raise ConfigError(f"{what}: {named_processes(blind)} of this {jax.process_count()}-"
                          f"process run do{'' if len(blind) > 1 else 'es'} not see the directory {path} that process 0 "
                          f"writes (a node-local path such as /tmp?); the output directory must be on a file system "
                          f"every process sees (docs/scaling.md)")


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


def split(devices: int) -> bool:
    """Whether a run over ``devices`` devices (:func:`device_count`) is spread over more than one device or
    process: then its model and initial data are built on the host (:func:`building`) and placed shard by shard."""
    return devices > 1 or multi_process()


def host_device() -> Any:
    """This process's host CPU device (JAX's CPU backend, present beside any accelerator), or ``None`` where JAX
    was started without it (``JAX_PLATFORMS=cuda``)."""
    try:
        return jax.local_devices(backend="cpu")[0]
    except RuntimeError:  # (the CPU backend was left out: build on the default device, as before)
        return None


def building(split_run: bool) -> Any:
    """The context in which a run's model and initial state are built: for a run spread over several devices
    (``split_run``, :func:`split`) JAX's default device is the host's CPU (:func:`host_device`), so that the whole
    lattice, which :func:`place` then splits, never sits on one accelerator (a run sharded because its state does
    not fit one GPU failed there: the build put the whole state on the first GPU of every process). A run on one
    device builds on its device as before. JAX's default device is thread-local: enter this in the thread that
    builds (e.g. inside a function given to :meth:`nnfield.signals.StopRequests.call`)."""
    import contextlib

    host = host_device() if split_run else None
    return contextlib.nullcontext() if host is None else jax.default_device(host)


def _local_copy(arr: np.ndarray, mesh: Any) -> Any:
    """The callback :func:`jax.make_array_from_callback` places a shard of ``arr`` with: a copy of the shard when the
    mesh is on the CPU, where ``device_put`` of a NumPy view may alias its buffer (14 of 40 shards in one measurement,
    ``docs/scaling.md``) and so keep the *whole* array alive for as long as the shard lives: the whole initial state
    in every process of a CPU run for the run's length, although each keeps only its shards. An accelerator copies
    the shard to its memory anyway."""
    if all(d.platform == "cpu" for d in mesh.devices.flat):
        return lambda index: np.array(arr[index], copy=True)
    return lambda index: arr[index]


def check_divisible(axis_size: int, devices: int) -> None:
    """Refuse (``ConfigError``, one line) a first lattice axis of ``axis_size`` sites that ``devices`` devices
    cannot split evenly."""
    if axis_size % devices:
        raise ConfigError(f"{DEVICES}: the first lattice axis has {axis_size} sites, not divisible by "
                          f"{devices} devices; choose a lattice size that is a multiple of the device count")


def place(tree: Any, devices: int, axis_size: int) -> Any:
    """Shard every field (leaf of rank >= 2, laid out ``(K, N_1, ...)``) of ``tree`` over ``devices`` along
    ``N_1``; other leaves are replicated. ``devices = 1`` in a single process: ``tree`` unchanged. A
    ``jax.ShapeDtypeStruct`` leaf gets the sharding it would have (nothing is allocated: a resume's template). As with
    :func:`nnfield.sharding.shard_state`, a placed leaf may share a NumPy leaf's buffer on the CPU backend: the
    run never changes its host arrays after placing them; a caller of this function must not either."""
    if devices == 1 and not multi_process():
        return tree
    check_divisible(axis_size, devices)
    mesh = lattice_mesh(devices)

    def put(x: Any) -> Any:
        if not hasattr(x, "shape"):
            return x
        ndim = len(x.shape)
        spec = PartitionSpec(None, AXIS, *([None] * (ndim - 2))) if ndim >= 2 else PartitionSpec()
        sharding = NamedSharding(mesh, spec)
        if isinstance(x, jax.ShapeDtypeStruct):  # (a resume's template: the sharding only, nothing allocated)
            return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding)
        arr = np.asarray(x)
        return jax.make_array_from_callback(arr.shape, sharding, _local_copy(arr, mesh))

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
        return _place_array(x, mesh, shape)

    return jax.tree_util.tree_map(put, model)


def _place_array(x: Any, mesh: Any, shape: tuple[int, ...]) -> jax.Array:
    """``x`` on ``mesh``: split along ``N_1`` when it is a field over a lattice of ``shape`` (:func:`site_axis`),
    else replicated; each shard a copy on a CPU mesh (:func:`_local_copy`)."""
    arr = np.asarray(x)
    spec = site_spec(site_axis(arr, shape), arr.ndim)
    return jax.make_array_from_callback(arr.shape, NamedSharding(mesh, spec), _local_copy(arr, mesh))


def place_leftovers(leaves: list[Any], lattice_shape: tuple[int, ...]) -> list[Any]:
    """In a single process whose run is split over several devices (some leaf already on the lattice's mesh of more
    than one device, :func:`place_model`), every array leaf still on one device or on the host placed as
    :func:`place_model` places a model's (site fields split along ``N_1``, others replicated); otherwise ``leaves``
    unchanged.

    For what a run adds after placing its model: the Dirac model's positive-energy projector and the spectra's
    tables of a complex field's whole FFT (``runner.observer_for``). A jitted program reshards such a leaf at every
    call: a 3D Dirac run with spectra on 4 devices copied its ``(4, 4, N^3)`` complex projector, the shells' index
    and their ``|k|`` device to device at every chunk (session 37, ``JAX_TRANSFER_GUARD=log``)."""
    mesh = next((x.sharding.mesh for x in leaves if isinstance(x, jax.Array) and isinstance(x.sharding, NamedSharding)
                 and x.sharding.mesh.size > 1 and tuple(x.sharding.mesh.axis_names) == (AXIS,)), None)
    if mesh is None or multi_process():
        return leaves
    shape = tuple(int(n) for n in lattice_shape)

    def put(x: Any) -> Any:
        if type(x) in (float, int, complex):  # (a Python number: replicated, weakly typed as it was)
            return jax.device_put(x, NamedSharding(mesh, PartitionSpec()))
        on_one = isinstance(x, jax.Array) and len(x.sharding.device_set) == 1
        if not (on_one or (isinstance(x, np.ndarray) and not isinstance(x, np.generic))):
            return x
        return _place_array(x, mesh, shape)

    return [put(x) for x in leaves]


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


#: the most bytes a gather of :func:`to_host` replicates on each device at once (the blocks of every process together)
GATHER_BLOCK_BYTES = 64 << 20


def to_host(x: Any, block_bytes: int | None = None, keep: bool = True) -> np.ndarray | None:
    """The whole array on the host of every process (a collective when it is spread over processes); with
    ``keep=False`` this process takes part in the collective but keeps nothing (``None``): a run's processes other
    than the writer (:func:`is_writer`), which used to hold every snapshot whole on their hosts (session 47).

    JAX's ``process_allgather`` of a global array replicates it whole on every device of every process, which a
    run split because its state does not fit one GPU cannot hold (each snapshot of a multi-process run went that
    way before session 34). An array larger than ``block_bytes`` (:data:`GATHER_BLOCK_BYTES`) is gathered in blocks
    of rows of its split axis instead (:func:`host_pieces`), so a device holds at most ``block_bytes`` of it at
    once. The result is the same array, bit for bit (``tests/test_gather_s34.py``). The run's writer takes the
    pieces one by one instead (:class:`HostPieces`, session 48), never holding the whole array."""
    if not (isinstance(x, jax.Array) and not x.is_fully_addressable):
        return np.asarray(x) if keep else None
    out = np.empty(x.shape, x.dtype) if keep else None
    for index, block in host_pieces(x, block_bytes, keep):
        if out is not None:
            out[index] = block
    return out


def host_pieces(x: Any, block_bytes: int | None = None, keep: bool = True
                ) -> Iterator[tuple[tuple[slice, ...], np.ndarray | None]]:
    """``x`` on this process's host piece by piece: ``(index, block)`` with ``x[index] == block``, the pieces
    covering ``x`` once (``block`` is ``None`` with ``keep=False``). Every process must draw every piece of a
    global array spread over processes (each is a collective; the blocks of :func:`to_host`); a global array
    this process holds gives its shards (each once), anything else one piece, itself."""
    whole = tuple(slice(0, n) for n in np.shape(x))
    if not isinstance(x, jax.Array):
        yield whole, (np.asarray(x) if keep else None)
        return
    if x.is_fully_addressable:
        seen: set[tuple[tuple[int, int], ...]] = set()
        for sh in x.addressable_shards:
            index = tuple(slice(*sl.indices(n)[:2]) for sl, n in zip(sh.index, x.shape, strict=True))
            key = tuple((sl.start, sl.stop) for sl in index)
            if key not in seen:
                seen.add(key)
                yield index, (np.asarray(sh.data) if keep else None)
        return
    from jax.experimental import multihost_utils

    limit = GATHER_BLOCK_BYTES if block_bytes is None else int(block_bytes)
    rows = _process_rows(x)
    if x.nbytes <= limit or rows is None:
        got = multihost_utils.process_allgather(x, tiled=True)
        yield whole, (np.asarray(got) if keep else None)
        return
    axis, owned = rows  # owned[p]: the global rows process p holds, in the order it sends them
    local = {int(sh.index[axis].start or 0): sh.data for sh in x.addressable_shards}
    host = np.concatenate([np.asarray(local[a]) for a in sorted(local)], axis=axis)  # this process's rows, in order
    count = len(owned[jax.process_index()])
    row_bytes = x.nbytes // x.shape[axis]
    want = max(1, limit // max(1, row_bytes * jax.process_count()))
    block = max(d for d in range(1, count + 1) if count % d == 0 and d <= want)
    for j in range(0, count, block):
        piece = np.ascontiguousarray(np.take(host, np.arange(j, j + block), axis=axis))
        every = np.asarray(multihost_utils.process_allgather(piece))  # (processes, *piece.shape)
        for p, theirs in enumerate(owned):
            for lo, hi, at in _runs(theirs[j:j + block]):  # (contiguous runs of global rows)
                index = list(whole)
                index[axis] = slice(lo, hi)
                part = [slice(None)] * x.ndim
                part[axis] = slice(at, at + hi - lo)
                yield tuple(index), (every[p][tuple(part)] if keep else None)


def _runs(rows: np.ndarray) -> Iterator[tuple[int, int, int]]:
    """The contiguous runs ``(first, stop, offset)`` of the increasing global indices ``rows``."""
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    for a, b in zip(np.r_[0, breaks], np.r_[breaks, len(rows)], strict=True):
        yield int(rows[a]), int(rows[b - 1]) + 1, int(a)


class HostPieces:
    """A field for :meth:`nnfield.io.RunWriter.append_snapshot` that the writer takes piece by piece
    (:func:`host_pieces`): a multi-process run's writer then holds one gathered block at a time, never the whole
    snapshot (session 48; it had held each snapshot whole while writing it). ``shape``, ``dtype``: the array's.
    :meth:`pieces` must be drawn to its end by every process (the gathers are collectives): the writer does, also
    when a write fails, and :class:`nnfield.io.NullWriter` (the other processes) draws without keeping."""

    def __init__(self, x: Any, block_bytes: int | None = None):
        self.x, self.block_bytes = x, block_bytes
        self.shape, self.dtype = tuple(np.shape(x)), np.dtype(x.dtype)

    def pieces(self, keep: bool = True) -> Iterator[tuple[tuple[slice, ...], np.ndarray | None]]:
        return host_pieces(self.x, self.block_bytes, keep)


def _process_rows(x: jax.Array) -> tuple[int, list[np.ndarray]] | None:
    """``(axis, rows)`` of a global array split along one axis: ``rows[p]`` the global indices along ``axis`` that
    process ``p`` holds (its shards by start, each process as many), or ``None`` for any other layout (replicated,
    split along several axes, uneven)."""
    index = x.sharding.devices_indices_map(x.shape)
    split = {a for idx in index.values() for a, sl in enumerate(idx)
             if (sl.start or 0) != 0 or (sl.stop if sl.stop is not None else x.shape[a]) != x.shape[a]}
    if len(split) != 1:
        return None
    axis = split.pop()
    held: dict[int, dict[int, int]] = {}
    for device, idx in index.items():
        start = idx[axis].start or 0
        stop = idx[axis].stop if idx[axis].stop is not None else x.shape[axis]
        held.setdefault(device.process_index, {})[int(start)] = int(stop)
    if sorted(held) != list(range(jax.process_count())):
        return None
    rows = [np.concatenate([np.arange(a, held[p][a]) for a in sorted(held[p])]) for p in range(jax.process_count())]
    if len({r.size for r in rows}) != 1:
        return None
    return axis, rows
