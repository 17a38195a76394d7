"""Run a configured network: stability gate, chunked jitted runs, progress bar, HDF5 output.

Data flow (``docs/cli.md``)::

    Config -> model (theory's build) -> initial network state (theory's initial condition)
      -> stability analysis of the network's one-step symbol (refuse if unstable, unless allowed)
      -> for each chunk: nnfield.network.run (one jitted lax.scan; observables inside the scan), compiled with
         the check of the chunk's final state for NaN/Inf (_ChunkProgram)
      -> append observables / snapshots to DIR/run.h5, flush; stop cleanly on NaN/Inf

Every chunk has the same length, so the chunk function is compiled once (plus once for a shorter last
chunk when the number of steps is not a multiple of it). Chunk boundaries fall on the observable cadence
and divide the snapshot cadence, so samples and snapshots land exactly on their schedule; a small run (at most
``SPAN_WORK`` site-updates, one device) takes chunks of several snapshot intervals instead, the snapshots in
between coming back from the same compiled program (:func:`nnfield.network.run_snapshots`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import json
import math
import os
import platform
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import Partial

from . import io as nio
from . import parallel
from ._accumulate import sums_in_float64
from ._trace import trace_once
from ._xla import SmallRunOnceJit, device_array, jit, on_one_cpu
from .checkpoint import (
    CHECKPOINT_DIR,
    CheckpointError,
    check_compatible,
    check_inputs,
    config_hash,
    damaged_checkpoints,
    input_files,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
    way_back,
)
from .config import Config, largest_divisor_at_most, load_config, parse_config
from .config._tables import MAX_STEPS
from .conservation import Verdict, verdicts
from .errors import ConfigError, InputError, NNFieldError, NonFiniteError, NotAnalysableError, UnstableError
from .model import AbstractModel
from .network import _run_impl, _run_snapshots_impl, as_pytree_callable
from .outdir import RunLock, check_output_dir, prepare_output_dir
from .progress import progress_bar
from .resources import check_memory, release_freed_memory
from .signals import StopRequests
from .spectra import SPECTRUM_K, Spectra
from .stability import Stability, cached_stability, check_stability
from .state import State, field_items

__all__ = [
    "Prepared", "RunResult", "Stability", "build", "check_stability", "choose_chunk", "execute", "observer_for",
    "prepare", "resume",
]


# ----------------------------------------------------------------------------------------------------------
# building
# ----------------------------------------------------------------------------------------------------------
#: the targets :func:`cast_floating` converts on the host (a float32 run's), on x86-64 only: the flush-to-zero rule
#: of :func:`_cast_like_xla_cpu` is x86's (ARM detects tininess before rounding); others go through JAX
_HOST_CASTS = (np.dtype(np.float32), np.dtype(np.complex64)) if platform.machine().lower() in ("x86_64", "amd64") \
    else ()
_FLUSH_BELOW = float(np.finfo(np.float32).tiny) * (1 - 2.0**-25)  # (exact in float64)


def _cast_like_xla_cpu(x: np.ndarray, target: np.dtype) -> np.ndarray:
    """``x`` rounded to ``target`` (float32 or complex64) bit for bit as XLA:CPU's ``convert`` does: round to nearest
    even, overflow to ``inf`` and, unlike NumPy, results below the smallest normal number flushed to a zero of the
    same sign (XLA:CPU runs with flush-to-zero: ``1e-40`` becomes ``0.0``, NumPy keeps the denormal ``9.99995e-41``).
    The flush threshold, measured (``tests/test_eager_programs_s38.py``): ``|x| < tiny (1 - 2^-25)``, ``tiny`` the
    smallest normal float32, i.e. exactly the values that do not round up to ``tiny``."""
    with np.errstate(over="ignore", invalid="ignore"):
        y = x.astype(target)
    parts = np.ascontiguousarray(x).view(np.float64) if x.dtype.kind == "c" else x  # (complex: re, im interleaved)
    out = y.view(np.float32)
    flush = np.abs(parts) < _FLUSH_BELOW  # tiny after rounding to 24 bits with an unbounded exponent (x86 SSE's rule)
    np.copyto(out, np.copysign(np.float32(0), parts).astype(np.float32), where=flush.reshape(out.shape))
    return y


def cast_floating(tree: Any, dtype: Any) -> Any:
    """Cast every floating (complex) array leaf of a PyTree to ``dtype`` (its complex counterpart).

    A JAX leaf held by one CPU device is cast to float32 (complex64) by NumPy, bit for bit as XLA:CPU casts
    (:func:`_cast_like_xla_cpu`), and put back where it was: no eager ``convert_element_type`` program compiled per
    leaf shape (a float32 run paid one on a cold compilation cache for each). Leaves on an accelerator, split over
    devices, or weakly typed are converted by JAX; a NumPy leaf by NumPy, as ``jnp.asarray`` did.
    """
    dtype = np.dtype(dtype)
    cdtype = np.result_type(dtype, np.complex64)

    def cast(x: Any) -> Any:
        if not isinstance(x, (jax.Array, np.ndarray)):
            return x
        if jnp.issubdtype(x.dtype, jnp.complexfloating):
            target = cdtype
        elif jnp.issubdtype(x.dtype, jnp.floating):
            target = dtype
        else:
            return x
        if isinstance(x, np.ndarray):
            y = x.astype(target, copy=False)
            return device_array(y, private=y is not x)  # (a fresh cast is private: no second host copy)
        if x.dtype != target and target in _HOST_CASTS and not x.weak_type and on_one_cpu(x):
            y = _cast_like_xla_cpu(np.asarray(x), target)  # (committed to its device only if ``x`` was, as JAX's)
            return jax.device_put(y, x.sharding) if x.committed else device_array(y, private=True)
        return jnp.asarray(x, target)

    return jax.tree_util.tree_map(cast, tree)


def build(cfg: Config, *, host: bool = False) -> tuple[AbstractModel, State]:
    """The model and its initial *network* state at the configured precision; with ``host``, built on the host's
    CPU (:func:`nnfield.parallel.building`: what a run spread over several devices then splits)."""
    with parallel.building(host):
        model = _build_model(cfg)
        phi, pi = cfg.initial_fields(model)
        state = model.initial_state(np.asarray(phi, np.float64), np.asarray(pi, np.float64))
        return model, cast_floating(state, cfg.dtype)


def split_build_refusal(cfg: Config) -> str | None:
    """Why ``cfg``'s initial data cannot be built split over devices (:func:`build_split`), or ``None``."""
    if cfg.initial_spec.split is None:
        return (f"initial.kind = {cfg.initial.kind!r} of {cfg.theory.name!r} is built whole (built split: "
                f"{_split_kinds()})")
    refusal = cfg.initial_spec.split_refusal
    why = refusal(cfg.theory.typed if cfg.theory.typed is not None else dict(cfg.theory.params)) if refusal else None
    if why:
        return why
    if len(cfg.lattice.shape) < 2:
        return "a 1D lattice's initial data are built whole"
    if getattr(cfg, "sweep", None):
        return "a [sweep] splits its members over the devices, not the lattice"
    if not jax.config.read("jax_enable_x64"):
        return "the split build computes in float64, which needs JAX's 64-bit mode"
    return None


def _split_kinds() -> str:
    """The initial kinds built split, per theory (from the registry): ``"klein-gordon (every kind), maxwell
    (plane_wave, random_photons)"``."""
    from .theories import load_all
    from .theories.registry import THEORIES

    load_all()
    out = []
    for name, spec in sorted(THEORIES.items()):
        kinds = sorted(kind for kind, ini in spec.initial.items() if ini.split is not None)
        if kinds:
            out.append(f"{name} ({'every kind' if len(kinds) == len(spec.initial) else ', '.join(kinds)})")
    return ", ".join(out)


def split_build(cfg: Config, devices: int) -> bool:
    """Whether a run of ``cfg`` over ``devices`` devices builds its initial data split (:func:`build_split`):
    ``[parallel] build = "split"`` (refused, ``ConfigError``, where :func:`split_build_refusal` says why not) or
    ``"auto"`` (where it can), on a run spread over several devices or processes (:func:`nnfield.parallel.split`);
    never with ``"whole"``. The split data equal the whole build's to round-off, not bit for bit."""
    mode = getattr(cfg.parallel, "build", "auto")
    if mode == "whole" or not parallel.split(devices):
        return False
    why = split_build_refusal(cfg)
    if why is not None and mode == "split":
        raise ConfigError(f'{cfg.source}: parallel.build = "split": {why}; set build = "auto" or "whole"')
    return why is None


def build_split(cfg: Config, devices: int) -> tuple[AbstractModel, State]:
    """The model (built on the host, :func:`build`'s ``host``) and the initial network state built split over the
    run's ``devices``: each process draws and transforms only its devices' slabs of the first lattice axis
    (:attr:`nnfield.theories.registry.InitialSpec.split`, e.g. :func:`nnfield.initial.random_spectrum_split`), and
    ``model.initial_state`` encodes them in one program whose outputs are split as :func:`nnfield.parallel.place`
    splits a state. No process ever holds the whole lattice's data (before session 45 each built it whole and then
    kept its shards). The state equals :func:`build`'s to round-off."""
    from .sharding import lattice_mesh

    parallel.check_divisible(cfg.lattice.shape[0], devices)
    with parallel.building(True):
        model = _build_model(cfg)
    phi, pi = cfg.initial_fields_split(model, lattice_mesh(devices))
    shapes = jax.eval_shape(lambda p, q: model.initial_state(p, q), phi, pi)
    dtype = np.dtype(cfg.dtype)
    shapes = jax.tree_util.tree_map(
        lambda s: jax.ShapeDtypeStruct(s.shape, dtype if jnp.issubdtype(s.dtype, jnp.floating) else s.dtype), shapes)
    placed = parallel.place(shapes, devices, cfg.lattice.shape[0])

    def encode(p: jax.Array, q: jax.Array) -> State:
        state = model.initial_state(p, q)
        return jax.tree_util.tree_map(lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x,
                                      state)

    state = jax.jit(encode, out_shardings=jax.tree_util.tree_map(lambda s: s.sharding, placed))(phi, pi)
    del phi, pi
    jax.block_until_ready(state)
    release_freed_memory()  # (the build's freed buffers stay in the C heap otherwise: 656 -> 344 MiB measured)
    return model, state


def _build_model(cfg: Config) -> AbstractModel:
    """The model at the configured precision (float64 refused without JAX's 64-bit mode)."""
    if cfg.dtype == np.float64 and not jax.config.read("jax_enable_x64"):
        raise ConfigError(
            'output.precision: "float64" needs JAX 64-bit mode; call jax.config.update("jax_enable_x64", True) '
            'before creating any array (the nnfield command does), or set precision = "float32"'
        )
    model = cfg.build_model()
    return model if cfg.dtype == np.float64 else cast_floating(model, cfg.dtype)


def build_template(cfg: Config, *, host: bool = False, shapes_only: bool = False) -> tuple[AbstractModel, State]:
    """The model and a network state of the PyTree structure, shapes and dtypes :func:`build` gives, all zeros,
    without the initial data: what a resumed run restores its checkpoint onto (:func:`resume`). ``host``: as in
    :func:`build`. ``shapes_only``: the state as :func:`template_shapes` (nothing allocated; what a resume split
    over devices or processes places and restores onto, shard by shard), where the structure can be traced.

    The structure comes from :func:`jax.eval_shape` of ``model.initial_state`` on physics data of shape ``(K,
    *lattice.shape)`` (:func:`template_shapes`), so ``[initial]`` is not evaluated: a resume read an ``[initial]
    kind = "file"`` data file (and projected it onto Gauss's law) only to discard it, and refused to go on when that
    file had been moved away, although the checkpoint holds the whole state. A model whose ``initial_state`` cannot
    be traced (it reads its data's values on the host) falls back to :func:`build`."""
    with parallel.building(host):
        model = _build_model(cfg)
        shapes = template_shapes(cfg, model)
        if shapes is None:
            return build(cfg, host=host)
        if shapes_only:
            return model, shapes
        return model, jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)


def template_shapes(cfg: Config, model: AbstractModel) -> State | None:
    """The network state's structure, shapes and dtypes (``jax.ShapeDtypeStruct`` leaves, at the configured
    precision) from :func:`jax.eval_shape` of ``model.initial_state``, or ``None`` where it cannot be traced.

    A resumed run split over devices or processes places these (:func:`nnfield.parallel.place`: each leaf gets
    its sharding) and restores its checkpoint onto them directly, shard by shard; until session 41 every process
    first built the whole state's zeros on its host (:func:`build_template`)."""
    spec = jax.ShapeDtypeStruct((int(model.network.K), *cfg.lattice.shape), jnp.result_type(float))
    try:
        shapes = jax.eval_shape(lambda phi, pi: model.initial_state(phi, pi), spec, spec)  # (_spectral_shapes)
    except jax.errors.JAXTypeError:  # (e.g. np.asarray of a tracer: the data's values are needed)
        return None
    dtype = np.dtype(cfg.dtype)
    cdtype = np.result_type(dtype, np.complex64)

    def cast(s: jax.ShapeDtypeStruct) -> jax.ShapeDtypeStruct:  # (as cast_floating casts the built state)
        if jnp.issubdtype(s.dtype, jnp.complexfloating):
            return jax.ShapeDtypeStruct(s.shape, cdtype)
        return jax.ShapeDtypeStruct(s.shape, dtype) if jnp.issubdtype(s.dtype, jnp.floating) else s

    return jax.tree_util.tree_map(cast, shapes)


#: whether a fresh run compiles its first chunk's program in a background thread during its set-up
#: (:meth:`_ChunkProgram.compile_ahead`); ``False`` (or ``NNFIELD_COMPILE_AHEAD=0`` in the environment, read at
#: import) compiles it at the first chunk, as before session 43: for A/B measurements, and for
#: ``benchmarks/overhead_budget.py``, whose parts of a run's time add up only when they do not overlap
COMPILE_AHEAD = os.environ.get("NNFIELD_COMPILE_AHEAD", "1") != "0"

#: whether the processes of a multi-process run that share a host build their whole initial state and model one
#: at a time even where the host could hold every build at once (``NNFIELD_BUILD_IN_TURNS=1`` in the environment,
#: read at import; :func:`build_turns`); without it they take turns only where the memory guard finds that only
#: then the host holds them
BUILD_IN_TURNS = os.environ.get("NNFIELD_BUILD_IN_TURNS", "0") == "1"


def build_turns(cfg: Config, members: int, devices: int, say: Callable[[str], None]) -> tuple[int, int]:
    """The memory guard of a fresh or resumed run, and how its processes build: ``(rank, turns)`` for
    :func:`nnfield.parallel.in_turns` (``turns = 0``: every process at once).

    Each process of a multi-process run builds the whole initial state and model on its host before it keeps its
    shards, unless the run builds its initial data split (:func:`split_build`: each process its share, no turns).
    The processes on one host are counted from every process's host identity
    (:func:`nnfield.parallel.host_ranks`); where the host cannot hold that many builds at once but can hold one
    beside what the others keep (:func:`nnfield.resources.check_memory` with ``turns``), or with
    :data:`BUILD_IN_TURNS`, they take turns, rank by rank. The guard's verdict is shared: where it refuses in one
    process (hosts differ in memory), every process refuses (before, the others went on to the next collective
    and waited there for ever). Collectives in a multi-process run; nothing in one process."""
    rank, local, most = parallel.host_ranks()
    split = members == 1 and split_build(cfg, devices)  # (each process its own slabs: no turns; session 45)
    try:
        need = check_memory(cfg, members, devices, local=local, turns=True, split_build=split)
        verdict, refusal = (1 if need or BUILD_IN_TURNS else 0), None
    except InputError as exc:
        verdict, refusal = 2, exc
    every = parallel.gathered(verdict)
    if refusal is not None:
        raise refusal
    if 2 in every:
        failed = [i for i, v in enumerate(every) if v == 2]
        raise InputError(f"{cfg.source}: the memory guard refused this run in {parallel.named_processes(failed)} "
                         f"(its own error says why)")
    if 1 not in every or most < 2 or split:
        return rank, 0
    say(f"building the initial state in turns: {most} processes per host, one at a time (this process: turn "
        f"{rank + 1} of {most})")
    return rank, most


#: whether a single-precision run's observables accumulate their sums in float64 (:func:`observables_of`);
#: ``False`` sums in the run's precision, as before session 42 (for A/B measurements:
#: ``benchmarks/float32_observer.py``)
SUMS_IN_FLOAT64 = True


def observables_of(model: AbstractModel, state: State, spectra: Spectra | None = None) -> dict[str, Any]:
    """``model.observables(state)`` and, with ``spectra``, the spectra of ``model.spectral_fields``: what a run
    records at each sample.

    A single-precision run's observables accumulate their sums in float64 (:func:`nnfield._accumulate.
    sums_in_float64`, with JAX's 64-bit mode, which the nnfield command and the tests use); their elementwise
    arithmetic, and the dynamics, stay in float32. Before session 42 a float32 sum over the lattice erred by up to
    ``1e-4`` relative (a 3D Dirac example's charge 1.6e-4 off on 24^3; ``scripts/float32_observables.py``). The
    spectra keep the run's precision: their per-shell sums are short (measured 1e-7-9e-7 of the float64 spectra of
    the same state), and the FFT is where their time goes.
    """
    if SUMS_IN_FLOAT64 and np.dtype(_state_dtype(state)) != np.float64:
        obs = sums_in_float64(lambda s: model.observables(s))(state)  # (closed over: the model may need its values)
    else:
        obs = model.observables(state)
    return obs if spectra is None else {**obs, **spectra.of_model(model, state)}


def _observables(model: AbstractModel, state: State) -> dict[str, Any]:
    return observables_of(model, state)


def _observables_spectra(model: AbstractModel, spectra: Spectra, state: State) -> dict[str, Any]:
    return observables_of(model, state, spectra)


def _observables_split(model: AbstractModel, split: Any, spectra: Spectra | None, state: State) -> dict[str, Any]:
    with split.active():  # (while traced: the model's lattice_fftn distributed over the split's mesh)
        return observables_of(model, state, spectra)


#: the observer traced once per run (:func:`nnfield._trace.trace_once`): by the step-0 program and again, inlined
#: from JAX's cache, in the chunk program (it was traced twice; a 2+1 gauged Dirac observer about 0.1 s each)
_observe = trace_once(_observables)
_observe_spectra = trace_once(_observables_spectra)
_observe_split = trace_once(_observables_split)


def spectra_for(cfg: Config, model: AbstractModel, state: Any) -> Spectra | None:
    """The spectra a run records (``[output] spectra``), or ``None``; a ``ConfigError`` for a model that names
    no fields for them (``AbstractModel.spectral_fields``)."""
    if not cfg.output.spectra:
        return None
    if not _spectral_shapes(model, state):
        raise ConfigError(f"{cfg.source}: output.spectra: the {cfg.theory.name!r} model records no spectra (it "
                          "names no spectral fields); delete the key or set spectra = false")
    lattice = model.lattice
    return Spectra.of(lattice, model.dispersion(lattice.momenta()))


def _spectral_shapes(model: AbstractModel, state: Any) -> Any:
    """:func:`jax.eval_shape` of ``model.spectral_fields`` on ``state``, through a function of its own.

    Not of the bound method itself: equinox's bound methods compare by value, and JAX's trace cache (a weak-keyed
    dictionary of the functions it traced) compares a new bound method with an earlier one of the same model
    (equal hashes: nnfield's models hash by identity), i.e. ``tree_equal`` of every array of the model, eagerly.
    That cost a 3D gauged Dirac run on 32^3 split over 4 devices 0.13 s of compiled comparisons, and on 4 fake
    CPU devices ``scripts/measure_memory.py`` hung in the comparison's collective (session 37; it had been read as
    XLA's rendezvous timeout in sessions 34 and 36). A lambda compares by identity."""
    return jax.eval_shape(lambda s: model.spectral_fields(s), state)


def split_spectra_for(cfg: Config, model: AbstractModel, state: Any, devices: int) -> Spectra | None:
    """:func:`spectra_for` of a run whose initial data are built split (:func:`split_build`): where the lattice has
    at least 2 dimensions and the model's spectral fields are real, the split tables built block by block
    (:meth:`nnfield.spectra.Spectra.split_of`: the tables :func:`_observed` would split, never on the whole FFT
    grid; the same spectra, the bin centres to round-off); otherwise :func:`spectra_for`."""
    if not cfg.output.spectra or len(cfg.lattice.shape) < 2 or not _spectral_shapes(model, state) \
            or not _real_spectral_fields(model, state):
        return spectra_for(cfg, model, state)
    from .sharding import lattice_mesh

    return Spectra.split_of(model.lattice, lattice_mesh(devices), model.dispersion)


def _observed(spectra: Spectra | None, model: AbstractModel, state: Any, devices: int) -> Spectra | None:
    """The spectra the observer computes: on a lattice split over several devices, :meth:`Spectra.split_over`
    (each device transforms its own block; its tables split like the distributed FFT leaves the modes) when the
    lattice has at least 2 dimensions and the model's spectral fields are real, or the model declares the sources of
    its spectral modes (the Dirac spinor: its modes and the projector's block on each device, session 41);
    otherwise ``spectra`` itself, on every device of every process in a multi-process run (as the model is). Before
    session 34 a split run's spectra took the whole FFT, for which XLA gathered the whole field on every device."""
    if spectra is None:
        return None
    if spectra.mesh is not None:  # (split already: split_spectra_for)
        return spectra
    if devices > 1:
        from .sharding import lattice_mesh

        split = None
        if _real_spectral_fields(model, state):
            split = spectra.split_over(lattice_mesh(devices))
        elif _has_spectral_sources(model, state):
            split = spectra.split_over(lattice_mesh(devices), model.mode_tables(), _state_dtype(state))
        if split is not None:
            return split
    return parallel.replicate(spectra) if parallel.multi_process() else spectra


def _has_spectral_sources(model: AbstractModel, state: Any) -> bool:
    """Whether ``model`` declares the sources of its spectral modes (:meth:`~nnfield.model.AbstractModel.
    spectral_sources`: then a split lattice takes their distributed FFT and the model's per-mode map)."""
    return jax.eval_shape(lambda s: model.spectral_sources(s), state) is not None


def _real_spectral_fields(model: AbstractModel, state: Any) -> bool:
    """Whether every spectral field of ``model`` (:meth:`~nnfield.model.AbstractModel.spectral_fields`) is real."""
    shapes = _spectral_shapes(model, state)
    return bool(shapes) and all(not jnp.issubdtype(x.dtype, jnp.complexfloating)
                                for x in jax.tree_util.tree_leaves(shapes))


def spectra_model(model: AbstractModel, dtype: Any) -> AbstractModel:
    """``model.for_spectra()`` at the run's precision ``dtype``: what it precomputes with NumPy (the Dirac model's
    positive-energy projector, complex128) is cast like the model's other leaves (:func:`cast_floating`).

    Until session 32 a float32 run held that projector in complex128 (``K^2`` complex numbers per site, twice the
    bytes) and cast it to complex64 in the compiled chunk at every sample, a copy of its own: a 2D Dirac run with
    spectra held 1.2x what the memory guard estimated (``scripts/measure_memory.py --compare --precision
    float32``)."""
    out = model.for_spectra()
    return out if np.dtype(dtype) == np.float64 else cast_floating(out, dtype)


def _state_dtype(state: Any) -> Any:
    """The floating dtype of ``state``'s leaves (``float64`` if it has none)."""
    for leaf in jax.tree_util.tree_leaves(state):
        if jnp.issubdtype(leaf.dtype, jnp.floating):
            return leaf.dtype
    return np.float64


def observer_for(model: AbstractModel, state: State | None = None, spectra: Spectra | None = None,
                 devices: int = 1) -> Callable[[State], dict[str, Any]]:
    """``model.observables`` (and, with ``spectra``, the spectra of ``model.spectral_fields``) as a PyTree
    callable that crosses ``jit``; on a lattice split over ``devices`` (more than one), traced with the split
    active (:class:`nnfield.sharding.LatticeSplit`: a model's :func:`~nnfield.sharding.lattice_fftn` is then the
    distributed FFT, where XLA would gather the whole field on every device).

    Preferred: ``Partial(_observe, model)``, so the model's arrays are traced arguments (not constants baked
    into the compiled chunk). A model whose ``observables`` needs concrete values of its own leaves (e.g.
    ``np.asarray`` of a parameter) cannot be traced that way; then (checked with ``jax.eval_shape`` on
    ``state``) a closure over the model is used, with the model captured as a constant (the closure is made
    once per run, so the chunk is still compiled once).
    """
    if spectra is not None and spectra.mode_tables is None:  # (with mode tables: split, they hold what it would)
        model = spectra_model(model, np.float64 if state is None else _state_dtype(state))
    split = None
    if devices > 1:
        from .sharding import LatticeSplit, lattice_mesh

        split = LatticeSplit(lattice_mesh(devices))
        traced = Partial(_observe_split, model, split, spectra)
    else:
        traced = Partial(_observe, model) if spectra is None else Partial(_observe_spectra, model, spectra)
    if state is not None:
        try:  # traced by the jit that computes the initial observables, which then reuses this trace
            jax.eval_shape(_observe_partial._choose((traced, state), {}), traced, state)
        except jax.errors.JAXTypeError:

            def constant_model(s: State) -> dict[str, Any]:  # the model captured as a constant of the chunk
                with contextlib.nullcontext() if split is None else split.active():
                    return observables_of(model, s, spectra)

            return Partial(constant_model)
    return traced


#: a run of at most this many site-updates in all (sites x steps) is small: two chunks, which may span several
#: snapshot intervals (4.2e6; 2e6 until session 40, which left 2.05e6-site-update 1D examples at 32-40 chunks)
SPAN_WORK = 1 << 22


def choose_chunk(steps: int, every: int, snapshot_every: int, sites: int, chunk: int | None = None,
                 span_snapshots: bool = False) -> int:
    """Ticks per jitted chunk: a multiple of ``every`` dividing ``snapshot_every``, ~2e7 site-updates or
    1/20 of the run (whichever is smaller; for a small run, at most :data:`SPAN_WORK` site-updates in all, half
    the run instead of a twentieth), preferring a length that divides ``steps`` (one compilation).

    The twentieth is for the progress bar, checkpoints and Ctrl-C on long runs. A small run takes about two
    seconds at most, for the costliest theory here (3D Maxwell-Dirac: about 2e6 site-updates per second on 2 CPU
    cores), and twenty chunks of it cost twenty dispatches, transfers and file appends: 3-4 ms each for the 2D
    Klein-Gordon example ``kg_2d_plane_wave``, whose 1000 steps compute in about 0.07 s (session 40).

    With ``span_snapshots``, a small run (at most :data:`SPAN_WORK` site-updates in all, snapshots on, ``steps`` a
    multiple of ``snapshot_every``) takes chunks of several snapshot intervals instead (the states in between come
    back from :func:`nnfield.network.run_snapshots`): two chunks where the interval count allows, so that the
    second measures the rate without the compile, and at most 1e6 stacked snapshot sites. Its chunks then cost
    one dispatch and one file append each, not one per 1/20 of a run that takes milliseconds.
    """
    if chunk:
        return int(chunk)
    if (span_snapshots and snapshot_every and steps % snapshot_every == 0 and steps * sites <= SPAN_WORK
            and steps // snapshot_every >= 2):
        intervals = steps // snapshot_every
        q = largest_divisor_at_most(intervals, max(1, min(intervals // 2, 1_000_000 // max(sites, 1))))
        if q > 1:
            return q * snapshot_every
    parts = 2 if steps * sites <= SPAN_WORK else 20
    target = max(every, min(max(1, math.ceil(steps / parts)), max(1, int(2e7 // max(sites, 1)))))
    qmax = max(1, target // every)
    best = largest_divisor_at_most(snapshot_every // every, qmax) if snapshot_every else qmax
    if steps % every == 0:
        n_obs = steps // every
        g = math.gcd(n_obs, snapshot_every // every) if snapshot_every else n_obs
        exact = largest_divisor_at_most(g, qmax)
        if 4 * exact >= best:
            best = exact
    return best * every


def unstable_cause(cfg: Config) -> str | None:
    """A setting of ``cfg`` known to make its network grow at every ``dt`` (for the refusal's advice), else
    ``None``: the paper's printed sign of ``A`` in (3.8) (``docs/errata.md``)."""
    if cfg.theory.params.get("sign") == "printed":
        return ('theory.sign = "printed" is the sign of A as printed in (3.8), under which every mode grows '
                '(docs/errata.md); use sign = "corrected"')
    return None


def next_chunk(done: int, steps: int, chunk: int, every: int, snapshot_every: int) -> tuple[int, int]:
    """The next chunk of a run at step ``done``: its length ``n`` and the interval of its samples.

    On the cadence (``done`` a multiple of ``every``; every step of a fresh run's loop) ``(min(chunk, steps -
    done), every)``, as :func:`choose_chunk` planned. A run extended from a total that was not a multiple of
    ``every`` (``nnfield run --resume DIR --steps N`` after a run of, e.g., 103 steps with ``every = 5``) first
    returns onto the cadence: a chunk to the next multiple of ``every`` that samples once, at its end; then,
    while ``done`` is off the snapshot cadence, chunks that end on the next multiple of ``snapshot_every``. So
    the extended run samples and snapshots at the same steps as a run of ``N`` steps from the start.
    """
    n = min(chunk, steps - done)
    if done % every:
        n = min(n, every - done % every)
        return n, (n if (done + n) % every == 0 else every)  # (n < every: no sample; the end's is added)
    if snapshot_every and done % snapshot_every:
        n = min(n, snapshot_every - done % snapshot_every)
    return n, every


# ----------------------------------------------------------------------------------------------------------
# running
# ----------------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class RunResult:
    out_dir: Path
    run_file: Path
    config_file: Path
    status: str
    steps: int
    steps_done: int
    t_final: float
    wall_seconds: float
    first_chunk_seconds: float
    site_updates_per_second: float
    chunk: int
    stability: Stability
    conservation: list[Verdict]


def _finite_impl(tree: Any) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(tree)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.bool_(True)


_finite = jax.jit(_finite_impl)


#: above this many bytes on an accelerator, :func:`_all_finite` reduces on the device instead of copying to the host
HOST_CHECK_BYTES = 16 << 20


def _on_host(x: Any) -> bool:
    """Whether ``x`` is checked on the host by :func:`_all_finite`: held whole by this process, and on the CPU
    or small (copying a large field off an accelerator costs more than the compile it saves)."""
    if not getattr(x, "is_fully_addressable", True):
        return False
    if isinstance(x, jax.Array) and x.nbytes > HOST_CHECK_BYTES:
        return all(d.platform == "cpu" for d in x.devices())
    return True


def _all_finite(tree: Any) -> bool:
    """Whether every entry of every array in ``tree`` is finite: checked on the host when this process holds
    every array whole on the CPU (or it is small: :func:`_on_host`), with no program to compile (the check of the
    initial data ran once per run and cost a compile, about 0.06 s on a cold cache); else by one jitted reduction
    on the devices (a multi-process run, a large field on an accelerator)."""
    leaves = jax.tree_util.tree_leaves(tree)
    if all(_on_host(x) for x in leaves):
        return all(bool(np.isfinite(np.asarray(x)).all()) for x in leaves)
    return bool(_finite(tree))


def _observe_partial_impl(observer: Any, state: State) -> dict[str, Any]:
    return observer(state)


#: the step-0 observables: compiled once per run, called once (on a small lattice without LLVM's optimizations)
_observe_partial = SmallRunOnceJit(_observe_partial_impl)


def _observe_jit(observer: Any, state: State) -> dict[str, Any]:
    """The observables of one state, jitted (compiled once per model structure)."""
    if isinstance(observer, Partial):
        return _observe_partial(observer, state)
    return jit(observer)(state)


def _finite_snapshots(fields: dict[str, Any]) -> np.ndarray:
    """Whether each of a chunk's stacked snapshots (leading axis) is finite in every field: reduced where the
    fields are (on a run split over processes, every process gets the answer, not the fields)."""
    leaves = list(fields.values())
    if not leaves:
        return np.ones(0, bool)

    def rows(*xs: Any) -> Any:
        return functools.reduce(jnp.logical_and, [jnp.all(jnp.isfinite(x.reshape(x.shape[0], -1)), axis=1)
                                                  for x in xs])

    return np.asarray(parallel.to_host(jax.jit(rows)(*leaves)), bool)


def _first_nonfinite(obs: dict[str, np.ndarray]) -> int | None:
    """Index of the first sample with a non-finite value in any observable (``None``: all finite)."""
    bad = None
    for v in obs.values():
        v = np.asarray(v)
        if v.size == 0 or not np.issubdtype(v.dtype, np.inexact):
            continue
        rows = ~np.isfinite(v.reshape(v.shape[0], -1)).all(axis=1)
        if rows.any():
            j = int(np.argmax(rows))
            bad = j if bad is None else min(bad, j)
    return bad


def execute(
    cfg: Config,
    out: str | Path,
    *,
    force: bool = False,
    allow_unstable: bool = False,
    progress: bool = True,
    console: Any = None,
    log: Callable[[str], None] | None = None,
) -> RunResult:
    """Run ``cfg`` into ``out`` (see the module docstring).

    Raises:
        ConfigError: bad config values found while building, or ``out`` exists without ``force``.
        UnstableError: the network is linearly unstable and ``allow_unstable`` is false.
        NonFiniteError: NaN/Inf appeared; everything up to the last finite sample is kept in ``run.h5``.
    """
    if cfg.sweep:  # an ensemble: every member in one compiled program
        from .ensemble import execute_sweep

        return execute_sweep(cfg, out, force=force, allow_unstable=allow_unstable, progress=progress,
                             console=console, log=log)
    with StopRequests() as stop:  # SIGINT/SIGTERM stop the run at its next safe point
        return _execute(cfg, out, force, allow_unstable, progress, console, log, stop)


@dataclasses.dataclass
class Prepared:
    """What :func:`prepare` checked and built: the model, its initial state, the observer, the step-0
    observables and the stability verdict (everything before the output directory is touched)."""

    model: AbstractModel
    state: Any
    observer: Any
    obs0: dict[str, np.ndarray]
    stability: Stability
    spectra: Spectra | None = None
    #: the network the chunk program advances: ``model.network``, or it wrapped in the explicit halo exchange
    network: Any = None
    #: the run's chunk program, its first chunk compiling ahead (:func:`prepare` with ``compile_ahead``), or None
    program: Any = None


def _initial_observables(observer: Any, state: Any) -> dict[str, np.ndarray]:
    return {k: np.asarray(v)[None] for k, v in jax.device_get(_observe_jit(observer, state)).items()}


def _stability(cfg: Config) -> Stability:
    """The run's stability gate, read back from the verdict cache when the same network was analysed before
    (:func:`nnfield.stability.cached_stability`)."""
    return cached_stability(cfg, _analyse)


def _analyse(cfg: Config) -> Stability:
    try:
        return check_stability(cfg, cfg.build_model())
    except NotAnalysableError as exc:  # e.g. a network that is not translation invariant; anything else surfaces
        first = (str(exc).strip().splitlines() or [""])[0]
        return Stability(True, float("nan"), float("nan"), cfg.time.dt, float("nan"), cfg.time.steps, error=first,
                         modes="none (not analysed)")


def prepare(
    cfg: Config, out: str | Path, *, force: bool = False, allow_unstable: bool = False,
    log: Callable[[str], None] | None = None, stop: StopRequests | None = None, compile_ahead: bool = False,
) -> Prepared:
    """Every check a run makes before it writes anything (``nnfield run --dry-run`` stops here).

    Refuses (``ConfigError``) an unusable ``out``, (``InputError``) initial data that is non-finite or too
    large for the precision, (``UnstableError``) an unstable network unless ``allow_unstable``. The long steps
    (building, the first compile, the stability analysis) run through ``stop.call``, so a signal is answered
    at once. With ``compile_ahead`` (a run follows), once the network has passed the stability gate the first
    chunk's program starts compiling in a background thread (:meth:`_ChunkProgram.compile_ahead`), while step 0
    is observed and the run file is written.
    """
    say = log or (lambda _msg: None)
    stop = stop or StopRequests()
    parallel.check_same_config(run_fingerprint(cfg), cfg.source)  # (several processes: the same run in each)
    check_output_dir(out, force)
    devices = parallel.device_count(cfg.parallel.devices)
    if devices > 1:  # (before any work or message: a split build had said it was building first)
        parallel.check_divisible(cfg.lattice.shape[0], devices)
    rank, turns = build_turns(cfg, 1, devices, say)  # the memory guard, before any work

    def built() -> tuple[Any, Any, Any]:
        if split_build(cfg, devices):  # each process its own slabs (session 45)
            say(f"initial data: built split over the {devices} devices, each process its own slabs (parallel.build)")
            model, state = stop.call(build_split, cfg, devices)
            with parallel.building(True):
                spectra = split_spectra_for(cfg, model, state, devices)
            return parallel.place_model(model, devices, cfg.lattice.shape), state, spectra
        model, state = stop.call(build, cfg, host=parallel.split(devices))  # (split: on the host, never on a GPU)
        with parallel.building(parallel.split(devices)):  # (before placing: omega_k of the whole lattice, host)
            spectra = spectra_for(cfg, model, state)  # (host arrays: the run file's bins are written from it)
        return (parallel.place_model(model, devices, cfg.lattice.shape),
                parallel.place(state, devices, cfg.lattice.shape[0]), spectra)

    model, state, spectra = parallel.in_turns(rank, turns, built)  # (the whole state freed before the next turn)
    if not stop.call(_all_finite, state):
        raise InputError(
            f"the initial data has NaN or Inf values (initial kind = {cfg.initial.kind!r}); check the [initial] "
            f"parameters in {cfg.source}"
        )
    stab = stop.call(_stability, cfg)
    say(stab.describe() + (" (the verdict of an earlier run of this network)" if stab.cached else ""))
    if not stab.stable and not allow_unstable:  # first: an unstable network can also make step 0's values inf
        raise UnstableError(stab.refusal(cfg.source, cfg.time.scheme, unstable_cause(cfg)))
    network = chunk_network(cfg, model, state, devices, say, stop)
    observer = observer_for(model, state, _observed(spectra, model, state, devices), devices)
    program = None
    if compile_ahead and COMPILE_AHEAD:  # the first chunk's program compiles while step 0 is observed and written
        program = _ChunkProgram(network, observer, ())
        program.compile_ahead(state, *first_chunk(cfg, devices)[1:])
    with _settled_on_error(program):  # (refused: the compile started above must not outlive the run)
        obs0 = stop.call(_initial_observables, observer, state)
        if _first_nonfinite(obs0) is not None:  # finite fields whose observables overflow: the input's fault
            bad = ", ".join(f"{k} = {float(v.ravel()[0]):g}" for k, v in obs0.items()
                            if v.size and not np.all(np.isfinite(v)))
            big = max(float(np.abs(np.asarray(x)).max()) for x in jax.tree_util.tree_leaves(state))
            raise InputError(
                f"the initial data is too large for {cfg.output.precision}: at step 0, before any update, {bad} "
                f"(largest field value {big:.3g}); check the [initial] parameters in {cfg.source} (e.g. amplitude)"
            )
        stop.check()
    return Prepared(model, state, observer, obs0, stab, spectra, network, program)


def run_fingerprint(cfg: Config) -> str:
    """A digest of everything in ``cfg`` that decides a run's computation and its loop (the trajectory's
    :func:`~nnfield.checkpoint.config_hash`, the steps, the output and checkpoint cadence, the devices and the
    halo), which every process of a multi-process run must agree on (:func:`nnfield.parallel.check_same_config`)."""
    import hashlib

    what = [config_hash(cfg), cfg.time.steps, dataclasses.asdict(cfg.output), dataclasses.asdict(cfg.parallel)]
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=repr).encode()).hexdigest()


def chunk_network(cfg: Config, model: AbstractModel, state: Any, devices: int, say: Callable[[str], None],
                  stop: StopRequests) -> Any:
    """The network a run's chunk program advances: ``model.network``; with ``[parallel] halo`` on more than one
    device, wrapped in the explicit halo exchange when it reproduces XLA's partitioning
    (:func:`nnfield.halo.with_halo`, which says what it chose)."""
    if not cfg.parallel.halo:
        return model.network
    if devices < 2:
        say("parallel.halo: not used (the lattice is not split: one device)")
        return model.network
    from . import halo

    return stop.call(halo.with_halo, model.network, state, devices, say)


def _execute(
    cfg: Config, out: str | Path, force: bool, allow_unstable: bool, progress: bool, console: Any,
    log: Callable[[str], None] | None, stop: StopRequests,
) -> RunResult:
    p = prepare(cfg, out, force=force, allow_unstable=allow_unstable, log=log, stop=stop, compile_ahead=True)
    lock = None
    try:
        with _settled_on_error(p.program):  # (a refusal after prepare: its first chunk may still be compiling)
            parallel.barrier("nnfield-checked")  # every process checked the directory before process 0 fills it
            if parallel.is_writer():
                out_dir, lock = prepare_output_dir(out, force)  # one run per directory until this run returns
            out_dir = Path(out)
            parallel.barrier("nnfield-prepared")
            parallel.check_shared_dir(out_dir, f"--out {out_dir}")  # (several processes: all see process 0's dir)
            return _fresh_run(out_dir, cfg, p, progress and parallel.is_writer(), console, stop)
    finally:
        if lock is not None:
            lock.release()


def _run_attrs(cfg: Config, net: Any, stab: Stability, chunk: int) -> dict[str, Any]:
    lat = cfg.make_lattice()
    attrs = nio.provenance(cfg.text, cfg.initial.seed)
    attrs.update(
        theory=cfg.theory.name, network=net.name, scheme=cfg.time.scheme,
        shape=list(lat.shape), spacing=lat.spacing, dt=cfg.time.dt, tick=float(net.tick), steps=cfg.time.steps,
        K=net.K, every=cfg.output.every, snapshot_every=cfg.output.snapshot_every, chunk=chunk,
        precision=cfg.output.precision, initial=cfg.initial.kind, source=cfg.source, title=cfg.title,
        state="network", stable="unknown" if stab.error else str(stab.stable).lower(),
        max_amplification=stab.max_amplification, dt_max=stab.dt_max, stability_modes=stab.modes,
        config_hash=config_hash(cfg),
    )
    return attrs


def _fresh_run(out_dir: Path, cfg: Config, p: Prepared, progress: bool, console: Any, stop: StopRequests
               ) -> RunResult:
    """A new run into the prepared, locked ``out_dir``: config copy, run file with step 0, then the loop."""
    net = p.model.network
    chunk = first_chunk(cfg, parallel.device_count(cfg.parallel.devices))[0]
    fields = {name: tuple(np.shape(x)) for name, x in field_items(p.state).items()}
    # the fields in pieces: the writer writes each gathered block as it comes (its other processes draw theirs in
    # NullWriter.append_snapshot; the gathers are collectives), never holding the whole snapshot (session 48)
    snapshot0 = {k: parallel.HostPieces(v) for k, v in field_items(p.state).items()}
    writer: Any
    if parallel.is_writer():
        _write_atomic(out_dir / nio.CONFIG_FILE, cfg.text)
        attrs = _run_attrs(cfg, net, p.stability, chunk)
        attrs.update(processes=jax.process_count(), devices=parallel.device_count(cfg.parallel.devices),
                     conserved=declared_json(p.model), halo=int(getattr(p.network, "ghost", 0)))
        if p.spectra is not None:  # the bins of the spectrum_* observables (coordinate k)
            attrs.update(p.spectra.attrs())
        # created under a temporary name and renamed once in SWMR mode: a kill before that leaves no run.h5,
        # never one that cannot be opened (a plain v110 file killed while open for writing cannot)
        writer = nio.RunWriter(out_dir / f"{nio.RUN_FILE}.new", fields, cfg.dtype, attrs)
    else:
        writer = nio.NullWriter(out_dir / nio.RUN_FILE)
    try:
        writer.append_observables(np.array([0]), np.array([0.0]), p.obs0)
        writer.append_snapshot(0, 0.0, snapshot0)
        writer.start_swmr()
        writer.commit(0)
        if parallel.is_writer():
            os.replace(writer.path, out_dir / nio.RUN_FILE)
            writer.path = out_dir / nio.RUN_FILE
    except BaseException:
        writer.set_attrs(status=nio.STATUS_FAILED)
        writer.close()
        raise
    loop = _Loop(out_dir, cfg, p.model, p.observer, p.stability, writer, p.state, done=0, last_snap=0,
                 chunk=chunk, stop=stop, layout=obs_layout(p.obs0, sampled=True), network=p.network,
                 program=p.program)
    return loop.run(progress, console)


@contextlib.contextmanager
def _settled_on_error(program: Any) -> Any:
    """On an exception, wait for ``program``'s compile ahead (:meth:`_ChunkProgram.settle`; ``None``: nothing) before
    it propagates: the run then ends, and a multi-process run shuts JAX's runtime down, which a running compile does
    not survive."""
    try:
        yield
    except Exception:
        if program is not None:
            program.settle()
        raise


def first_chunk(cfg: Config, devices: int) -> tuple[int, int, int, int]:
    """A fresh run's chunk length (:func:`choose_chunk`) and its first chunk's ``(n, every, snapshot_every)``, the
    arguments of its first call of the chunk program (:meth:`_Loop.run`, :func:`chunk_call`)."""
    single = not parallel.multi_process() and devices == 1
    o = cfg.output
    chunk = choose_chunk(cfg.time.steps, o.every, o.snapshot_every, cfg.make_lattice().size, o.chunk,
                         span_snapshots=single)
    return (chunk, *chunk_call(0, cfg.time.steps, chunk, o.every, o.snapshot_every))


def chunk_call(done: int, steps: int, chunk: int, every: int, snap: int) -> tuple[int, int, int]:
    """The chunk program's ``(n, every, snapshot_every)`` for the next chunk at step ``done``: :func:`next_chunk`'s
    length and sample interval, and ``snap`` when the chunk spans several whole snapshot intervals from a
    snapshot (the states in between come back stacked), else 0."""
    n, ev = next_chunk(done, steps, chunk, every, snap)
    inner = snap if snap and n > snap and n % snap == 0 and done % snap == 0 else 0
    return n, ev, inner


def declared_json(model: AbstractModel) -> str:
    """The quantities ``model`` declares conserved, ``[{"name", "kind"}, ...]`` (JSON): the run file's ``conserved``
    attribute, written at the start so that ``nnfield plot`` of an interrupted run (no verdicts yet) shows them."""
    return json.dumps([{"name": c.name, "kind": c.kind} for c in model.conserved()])


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file, fsync and rename (never a half-written file)."""
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


#: chunks after the first are cut to about this many seconds of wall time (checkpoints, progress, Ctrl-C)
MAX_CHUNK_SECONDS = 5.0


class _Durable:
    """Checkpointing of a chunked loop, shared by a run's :class:`_Loop` and a sweep's
    (:class:`nnfield.ensemble._SweepLoop`): the state at ``done`` with the run file's counts and the cadence in
    the manifest (what ``--resume`` needs to cut the run file back and go on), when due by ``[output]
    checkpoint_every`` (ticks or wall-clock seconds)."""

    out_dir: Path
    cfg: Config
    writer: Any
    state: Any
    done: int
    tick: float
    hash: str
    inputs: dict[str, str]
    last_snap: int
    chunk: int
    last_ckpt: int
    last_ckpt_time: float

    def _meta_extra(self) -> dict[str, Any]:
        """More manifest entries (a sweep: its number of members)."""
        return {}

    def checkpoint(self) -> None:
        n_obs, n_snap = self.writer.counts
        meta = {
            "config_hash": self.hash, "time": self.done * self.tick, "seed": int(self.cfg.initial.seed),
            "observables": n_obs, "snapshots": n_snap, "last_snapshot": self.last_snap, "chunk": self.chunk,
            "every": self.cfg.output.every, "snapshot_every": self.cfg.output.snapshot_every,
            "steps": self.cfg.time.steps, "inputs": self.inputs, **self._meta_extra(),
            "nnfield_version": nio.provenance_version(),
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
        save_checkpoint(self.out_dir, self.state, self.done, meta, keep=self.cfg.output.checkpoint_keep)
        self.last_ckpt = self.done
        self.last_ckpt_time = time.monotonic()

    def checkpoint_due(self) -> bool:
        o = self.cfg.output
        by_steps = o.checkpoint_steps and self.done // o.checkpoint_steps > self.last_ckpt // o.checkpoint_steps
        # (decided alike by every process of a multi-process run: one process checkpointing alone waits for ever;
        # no collective without a time cadence, which every process has alike: run_fingerprint)
        by_time = o.checkpoint_seconds and parallel.largest_over_processes(
            time.monotonic() - self.last_ckpt_time) >= o.checkpoint_seconds
        return bool(by_steps or by_time)

    def checkpoint_interrupted(self) -> None:
        """On a signal: the last completed chunk's state, so that ``nnfield run --resume DIR`` continues from it
        (unless it is already checkpointed or the run file is broken)."""
        if self.last_ckpt != self.done and not self.writer._broken:
            try:
                self.checkpoint()
            except (OSError, KeyboardInterrupt):
                pass

    def _start(self, out_dir: Any, cfg: Config, stab: Any, writer: Any, state: Any, *, done: int, last_snap: int,
               chunk: int, stop: Any, tick: float) -> None:
        """The loop's durable state: a fresh loop (``done = 0``) checkpoints its step 0 first."""
        self.out_dir, self.cfg, self.stab = out_dir, cfg, stab
        self.writer, self.state, self.done, self.last_snap, self.chunk, self.stop = (
            writer, state, done, last_snap, chunk, stop)
        self.tick = float(tick)
        self.hash = config_hash(cfg)
        self.inputs = input_files(cfg)  # (the files the model reads: checked by --resume)
        self.last_ckpt = done if done else -1
        self.last_ckpt_time = time.monotonic()
        self.start_done = done

    def kept_up_to(self, exc: nio.WriteError, path: Any) -> None:
        """Add to a failed write's message what the run file keeps (up to the steps done)."""
        exc.args = (exc.args[0], f"{exc.args[1]}; {path} keeps everything up to step {self.done}")


@dataclasses.dataclass
class _ChunkClock:
    """The rate of a loop's chunks in site-updates per second: of the chunks after the first (without the
    compile), else of the first. ``first`` is the first chunk's wall time (the run's ``first_chunk_seconds``)."""

    sites: int
    first: float = 0.0
    later_time: float = 0.0
    later_steps: int = 0

    def add(self, n: int, elapsed: float) -> float:
        """Count a chunk of ``n`` steps that took ``elapsed`` seconds; the rate to show (the progress bar)."""
        if self.first == 0.0:
            self.first = elapsed
        else:
            self.later_time += elapsed
            self.later_steps += n
        return self.rate(n, elapsed)

    def rate(self, first_steps: int, first_time: float | None = None) -> float:
        """The rate of the later chunks, else ``first_steps`` over ``first_time`` (default: the first chunk)."""
        first = self.first if first_time is None else first_time
        return (self.later_steps / self.later_time if self.later_time > 0 else
                first_steps / max(first, 1e-9)) * self.sites


class _Loop(_Durable):
    """The chunked run: compute a chunk (in a worker thread), append, commit, checkpoint when due."""

    def __init__(
        self, out_dir: Path, cfg: Config, model: AbstractModel, observer: Any, stab: Stability,
        writer: nio.RunWriter, state: Any, *, done: int, last_snap: int, chunk: int, stop: StopRequests,
        layout: Layout | None = None, network: Any = None, program: Any = None,
    ) -> None:
        self._start(out_dir, cfg, stab, writer, state, done=done, last_snap=last_snap, chunk=chunk, stop=stop,
                    tick=model.network.tick)
        self.model, self.observer = model, observer
        if layout is None:  # the observables' names, shapes and dtypes, from one trace of the observer
            layout = obs_layout(stop.call(jax.eval_shape, as_pytree_callable(observer), state))
        if program is None:
            program = _ChunkProgram(model.network if network is None else network, observer, layout)
        program.layout = layout  # (a program compiled ahead was compiled for the layout the observer's trace gave)
        self.program = program

    # -- pieces ------------------------------------------------------------------------------------------
    def snapshot(self, s: Any, step: int) -> None:
        # in pieces: gathered block by block as the writer writes them (the other processes draw theirs and keep
        # nothing; collectives in multi-process runs), never whole on a host (session 48)
        fields = {k: parallel.HostPieces(v) for k, v in field_items(s).items()}
        self.writer.append_snapshot(step, step * self.tick, fields)
        self.last_snap = step

    def inner_snapshots(self, snaps: Any, start: int, interval: int, until: int | None = None) -> None:
        """The snapshots a chunk of several snapshot intervals returned (stacked states after each ``interval``
        ticks from step ``start``); with ``until``, only the finite ones up to that step (a failed chunk)."""
        items = field_items(snaps)
        count = np.shape(next(iter(items.values())))[0] if items else 0
        finite = _finite_snapshots(items) if until is not None else None  # (every process: the same answer)
        if parallel.multi_process():  # each snapshot in pieces, as :meth:`snapshot` (a slice of the stack each)
            def one_of(j: int) -> dict[str, Any]:
                return {k: parallel.HostPieces(v[j]) for k, v in items.items()}
        else:  # one process: the stack on the host at once, as before (no slicing program per snapshot)
            host = {k: np.asarray(v) for k, v in items.items()}

            def one_of(j: int) -> dict[str, Any]:
                return {k: v[j] for k, v in host.items()}
        for j in range(count):
            step = start + (j + 1) * interval
            if until is not None and (step > until or not finite[j]):
                break
            one = one_of(j)
            self.writer.append_snapshot(step, step * self.tick, one)
            self.last_snap = step

    def record(self, obs: dict[str, Any], steps_: np.ndarray) -> None:
        self.writer.append_observables(steps_, steps_ * self.tick, obs)

    def bound_chunk(self, n: int, elapsed: float) -> None:
        """Cut the chunk length so a chunk takes about ``MAX_CHUNK_SECONDS`` (automatic chunks only)."""
        cfg = self.cfg
        if cfg.output.chunk or elapsed <= MAX_CHUNK_SECONDS or self.chunk <= cfg.output.every:
            return
        every, snap = cfg.output.every, cfg.output.snapshot_every
        qmax = max(1, int(0.5 * MAX_CHUNK_SECONDS / (elapsed / n)) // every)
        q = largest_divisor_at_most(snap // every, qmax) if snap else qmax
        self.chunk = min(self.chunk, q * every)

    # -- the loop ----------------------------------------------------------------------------------------
    def run(self, progress: bool, console: Any) -> RunResult:
        cfg, writer, stop = self.cfg, self.writer, self.stop
        steps, every, snap, tick = cfg.time.steps, cfg.output.every, cfg.output.snapshot_every, self.tick
        sites = cfg.make_lattice().size
        run_file = writer.path
        t_start = time.perf_counter()
        clock = _ChunkClock(sites)
        status = nio.STATUS_FAILED
        conservation: list[Verdict] = []
        try:
            with progress_bar(progress, console, steps) as bar:
                if self.done:
                    bar.advance(self.done, 0.0)
                if self.last_ckpt != self.done:
                    self.checkpoint()
                while self.done < steps:
                    stop.check()
                    n, ev, inner = chunk_call(self.done, steps, self.chunk, every, snap)
                    t0 = time.perf_counter()
                    new_state, obs, ok_state, snaps = stop.call(self.program, self.state, n, ev, inner)
                    # (the slowest process's time: every process cuts the next chunks alike, bound_chunk)
                    elapsed = parallel.largest_over_processes(time.perf_counter() - t0)
                    sample_steps = self.done + ev * np.arange(1, n // ev + 1)
                    bad = _first_nonfinite(obs)
                    if bad is not None or not ok_state:
                        status = nio.STATUS_NONFINITE
                        if snaps is not None:  # the finite snapshots up to the last finite sample
                            keep = bad if bad is not None else len(sample_steps)
                            last_good = int(sample_steps[keep - 1]) if keep else self.done
                            self.inner_snapshots(snaps, self.done, inner, until=last_good)
                        self._nonfinite(obs, sample_steps, bad, n)
                    self.record(obs, sample_steps)
                    self.state = new_state
                    if snaps is not None:
                        self.inner_snapshots(snaps, self.done, inner)
                    self.done += n
                    if snaps is None and snap and self.done % snap == 0:
                        self.snapshot(self.state, self.done)
                    writer.commit(self.done)
                    writer.set_attrs(steps_done=self.done, t_final=self.done * tick)
                    if self.done < steps and self.checkpoint_due():
                        self.checkpoint()
                    shown = clock.add(n, elapsed)
                    self.bound_chunk(n, elapsed)
                    bar.advance(n, shown)
                if self.last_ckpt != self.done:  # the final state (`--resume DIR --steps N` extends from here), unless
                    self.checkpoint()  # saved already (a resumed run killed after it: saved again, it was replaced)
                if steps % every:
                    obs_end = stop.call(_initial_observables, self.observer, self.state)
                    if _first_nonfinite(obs_end) is None:
                        self.record(obs_end, np.array([steps]))
                if self.last_snap != steps:
                    self.snapshot(self.state, steps)
                writer.commit(steps)
            if parallel.is_writer():  # the summary's verdicts, stored with the final attributes before the close
                conservation = verdicts(self.model.conserved(), writer.observables(), self.done, cfg.dtype)
                writer.set_attrs(conservation=json.dumps([v.as_dict() for v in conservation]))
            status = nio.STATUS_COMPLETED
        except nio.WriteError as exc:
            self.kept_up_to(exc, run_file)
            raise
        except KeyboardInterrupt:  # also Terminated (SIGTERM)
            status = nio.STATUS_INTERRUPTED
            self.checkpoint_interrupted()
            raise
        finally:
            wall = time.perf_counter() - t_start
            first_chunk, rate = clock.first, clock.rate(self.done - self.start_done)
            if status != nio.STATUS_NONFINITE:
                writer.set_attrs(status=status)
            writer.set_attrs(wall_seconds=wall, first_chunk_seconds=first_chunk, site_updates_per_second=rate,
                             chunk=self.chunk, steps_done=self.done, t_final=self.done * tick)
            writer.close()
        if parallel.is_writer() and len(cfg.lattice.shape) in (2, 3):  # (a 1D run has none: not opened for it)
            nio.write_xdmf(run_file)  # run.xmf beside run.h5 for ParaView/VisIt (2D and 3D runs)
        return RunResult(
            self.out_dir, run_file, self.out_dir / nio.CONFIG_FILE, status, steps, self.done, self.done * tick,
            wall, first_chunk, rate, self.chunk, self.stab, conservation,
        )

    def _snapshot_last_finite(self, step: int) -> None:
        """The state at ``step``, the last finite sample of a failed chunk, as the run's last snapshot (what one
        looks at to see how a network blew up): recomputed from the chunk's start, which is kept (one compile)."""
        state = self.state
        if step > self.done:
            n = step - self.done
            state = self.stop.call(self.program, state, n, n, 0)[0]
        if _all_finite(state):
            self.snapshot(state, step)

    def _nonfinite(self, obs: dict[str, np.ndarray], sample_steps: np.ndarray, bad: int | None, n: int) -> None:
        """Keep the finite samples of the failed chunk, record where it broke, raise :class:`NonFiniteError`."""
        keep = bad if bad is not None else len(sample_steps)
        self.record({k: v[:keep] for k, v in obs.items()}, sample_steps[:keep])
        last_good = int(sample_steps[keep - 1]) if keep else self.done
        first_bad = int(sample_steps[bad]) if bad is not None else self.done + n
        tick = self.tick
        if self.cfg.output.snapshot_every and self.last_snap != last_good:
            self._snapshot_last_finite(last_good)
        self.writer.commit(last_good)  # the record names the step its samples reach (docs/data.md, /commit)
        self.writer.set_attrs(status=nio.STATUS_NONFINITE, nonfinite_step=first_bad, steps_done=last_good,
                              t_final=last_good * tick)
        self.done = last_good
        raise NonFiniteError(
            f"non-finite values (NaN or Inf) appeared between step {last_good} (t = {last_good * tick:g})"
            f" and step {first_bad} (t = {first_bad * tick:g}); the run stopped and everything up to "
            f"step {last_good} is kept in {self.writer.path}. The network is probably unstable "
            f"({self.stab.describe()}); see `nnfield analyze {self.cfg.source}`"
        )


def _chunk_impl(net: Any, state: Any, n: int, every: int, observer: Any, snapshot_every: int
                ) -> tuple[Any, Any, Any, jax.Array]:
    """The program of one chunk: :func:`nnfield.network.run` (or, with ``snapshot_every``,
    :func:`nnfield.network.run_snapshots`) and whether the final state is finite, in one compiled call."""
    if snapshot_every:
        new_state, obs, snaps = _run_snapshots_impl(net, state, n // snapshot_every, snapshot_every, every,
                                                    observer)
    else:
        (new_state, obs), snaps = _run_impl(net, state, n, every, observer), None
    return new_state, obs, snaps, _finite_impl(new_state)


#: one observable's name, shape per sample and dtype (what :class:`_ChunkProgram` packs and unpacks)
Layout = tuple[tuple[str, tuple[int, ...], str], ...]


def obs_layout(obs: dict[str, Any], sampled: bool = False) -> Layout:
    """The :data:`Layout` of observables ``obs`` (one state's values, or with ``sampled`` a leading sample
    axis, e.g. the step-0 values ``(1, ...)``), in name order."""
    return tuple((k, tuple(np.shape(v))[1 if sampled else 0:], np.dtype(v.dtype).str) for k, v in sorted(obs.items()))


def _pack(obs: dict[str, Any], layout: Layout) -> tuple[jax.Array, ...]:
    """One flat vector per dtype of ``layout`` (its observables raveled and concatenated in name order)."""
    groups: dict[str, list[jax.Array]] = {}
    for name, _, dt in layout:
        groups.setdefault(dt, []).append(jnp.ravel(obs[name]))
    return tuple(jnp.concatenate(v) for v in groups.values())


def _unpack(packed: tuple[np.ndarray, ...], layout: Layout, samples: int) -> dict[str, np.ndarray]:
    """The observables ``{name: (samples, *shape)}`` from :func:`_pack`'s vectors (views, no copy)."""
    vectors = dict(zip(dict.fromkeys(dt for _, _, dt in layout), packed, strict=True))
    offset = dict.fromkeys(vectors, 0)
    out = {}
    for name, shape, dt in layout:
        size = samples * math.prod(shape)
        out[name] = vectors[dt][offset[dt]:offset[dt] + size].reshape(samples, *shape)
        offset[dt] += size
    return out


def _packed_chunk_impl(treedef: Any, layout: Layout, leaves: list[Any], state: Any, n: int, every: int,
                       snapshot_every: int) -> tuple[Any, tuple[jax.Array, ...], Any, jax.Array]:
    net, observer = jax.tree_util.tree_unflatten(treedef, leaves)
    new_state, obs, snaps, finite = _chunk_impl(net, state, n, every, observer, snapshot_every)
    return new_state, _pack(obs, layout), snaps, finite


_chunk_jit = jit(_packed_chunk_impl, static_argnames=("treedef", "layout", "n", "every", "snapshot_every"))


#: the chunk programs :meth:`_ChunkProgram.compile_ahead` compiled in this process, by what JAX's jit cache keys
#: them on (the static structure, the arguments' shapes, dtypes and shardings, the chunk's static numbers): the
#: same run again in the process traces nothing ahead (its call finds the program in JAX's cache)
_COMPILED_AHEAD: set[Any] = set()


def _avals(tree: Any) -> tuple[Any, ...]:
    """The leaves of ``tree`` as JAX's jit cache sees them: shape, dtype, weak type and sharding of each array, the
    type of anything else."""
    out = []
    for x in jax.tree_util.tree_leaves(tree):
        if hasattr(x, "shape") and hasattr(x, "dtype"):
            out.append((tuple(x.shape), np.dtype(x.dtype).str, bool(getattr(x, "weak_type", False)),
                        repr(getattr(x, "sharding", None)), getattr(x, "committed", None), type(x).__name__))
        else:
            out.append((type(x).__name__, x if isinstance(x, (int, float, complex, str, bool)) else None))
    return tuple(out)


class _ChunkProgram:
    """The compiled chunk of one run (:func:`_chunk_impl`), with the per-call costs outside the program cut.

    Measured on the 1+1 Dirac example (150 ticks on 256 sites, observables every 2 ticks: a program of about
    0.5 ms), a call of the plain jitted chunk cost about 0.2 ms to dispatch (flattening the network's and the
    observer's modules, converting their NumPy leaves) and 0.17 ms to fetch its eight outputs (seven observables
    and the finiteness flag). Here the network and the observer are flattened once per run (their NumPy leaves
    put on the device once, their structure a static argument), the jit variant chosen once, and the
    observables come back packed, one vector per dtype, unpacked on the host by their :data:`Layout`: the same
    values bit for bit, one transfer. 0.81 -> 0.66 ms per call in that example (median of 400, interleaved)."""

    def __init__(self, net: Any, observer: Any, layout: Layout) -> None:
        leaves, self.treedef = jax.tree_util.tree_flatten((net, as_pytree_callable(observer)))
        if not parallel.multi_process():  # (a multi-process run passes host values as they are: replicated)
            leaves = parallel.place_leftovers(leaves, net.lattice.shape)  # (a split run: placed once, not per call)
            leaves = [device_array(x) if isinstance(x, np.ndarray) else x for x in leaves]
            # Python numbers (dt, masses, coefficients) as device scalars once: each call put them on the device
            # again (weakly typed either way, so the program is the same; session 37)
            leaves = [jax.device_put(x) if type(x) in (float, int, complex) else x for x in leaves]
        self.leaves = leaves
        self.layout = layout
        self._jitted: Any = None
        self._observer, self._ahead = observer, None

    def compile_ahead(self, state: Any, n: int, every: int, snapshot_every: int = 0) -> None:
        """Start compiling the program of a call with these arguments in a background thread: the next call waits
        for it and then finds the program compiled (JAX's jit cache), so the compile overlaps the work done
        until then (a fresh run's step-0 observation, run file and snapshot: :func:`prepare`).

        The layout compiled for is the observer's traced output (``jax.eval_shape``), which equals the step-0
        observables' layout that the run then sets; were they to differ, the call would compile its own program
        as before. Nothing the background compile raises is kept: the call compiles (and raises) as it would
        have. The values are the same bit for bit (the same program, compiled earlier). An interrupted run does
        not wait for it (a daemon thread); a multi-process run's end and the interpreter's exit do
        (:func:`nnfield.parallel.add_background`)."""
        import threading

        key = (self.treedef, _avals(self.leaves), _avals(state), int(n), int(every), int(snapshot_every))
        try:
            if key in _COMPILED_AHEAD:  # (compiled in this process already: the call finds it, nothing to trace)
                return
        except TypeError:  # (an unhashable static part: no memo)
            key = None

        def work() -> None:
            try:
                layout = obs_layout(jax.eval_shape(as_pytree_callable(self._observer), state))
                args = (self.treedef, layout, self.leaves, state)
                kwargs = {"n": int(n), "every": int(every), "snapshot_every": int(snapshot_every)}
                _chunk_jit._choose(args, kwargs).lower(*args, **kwargs).compile()
                if key is not None:
                    _COMPILED_AHEAD.add(key)
            except Exception:  # noqa: BLE001 - the call itself compiles and reports (see the docstring)
                pass

        self._ahead = threading.Thread(target=work, name="nnfield-compile-ahead", daemon=True)
        self._ahead.start()
        parallel.add_background(self._ahead)

    def settle(self) -> None:
        """Wait for a compile started by :meth:`compile_ahead`, if any (before a run that failed returns: a
        multi-process run then shuts JAX's runtime down, which a running compile does not survive)."""
        if self._ahead is not None:
            self._ahead.join()

    def __call__(self, state: Any, n: int, every: int, snapshot_every: int = 0
                 ) -> tuple[Any, dict[str, np.ndarray], bool, Any]:
        """One chunk: ``n`` ticks (compiled once per length), its observables on the host, whether the state is
        finite, and (with ``snapshot_every``, a chunk of several snapshot intervals) the stacked states after
        each interval, else ``None`` (run in the worker thread of :meth:`StopRequests.call`)."""
        if self._ahead is not None:  # (two compiles of one program at once would not share their work)
            self._ahead.join()
            self._ahead = None
        args = (self.treedef, self.layout, self.leaves, state)
        kwargs = {"n": int(n), "every": int(every), "snapshot_every": int(snapshot_every)}
        if self._jitted is None:
            self._jitted = _chunk_jit._choose(args, kwargs)
        new_state, packed, snaps, finite = _chunk_jit._call(self._jitted, args, kwargs)
        if self._jitted is not _chunk_jit._nested:  # a new program if the backend refused one of the options
            self._jitted = _chunk_jit._jitted
        packed, finite = jax.device_get((packed, finite))
        obs = _unpack(tuple(np.asarray(v) for v in packed), self.layout, int(n) // int(every))
        return new_state, obs, bool(finite), snaps


# ----------------------------------------------------------------------------------------------------------
# resuming and extending
# ----------------------------------------------------------------------------------------------------------
def resume(
    out: str | Path, steps: int | None = None, *, progress: bool = True, console: Any = None,
    log: Callable[[str], None] | None = None, devices: int | None = None, halo: bool | None = None,
) -> RunResult:
    """Continue the run in ``out`` from its newest checkpoint (``nnfield run --resume DIR [--steps N]``).

    An interrupted or killed run goes on to its total of steps (the run file's: also that of an extension
    interrupted before its first checkpoint); ``steps`` (the new total, more than the steps done) extends a
    finished one, or changes the total of an unfinished one. The run file is cut back to what the checkpoint had
    recorded, so the resumed run's state, observables and snapshots are bit-identical to an uninterrupted run's (same
    nnfield, JAX and machine; a different version is named in the log). Refused with one line
    (:class:`~nnfield.checkpoint.CheckpointError`, ``ConfigError``): no run or no checkpoint in ``out``, a
    directory in use, a checkpoint from another config or a newer schema, a complete run without ``steps``, a
    ``config.toml`` whose ``steps`` differ from the run's total without ``steps``.
    ``devices`` (``--devices N``) overrides the config's ``[parallel] devices``: a checkpoint is restored onto
    any device count (it is stored whole, shard by shard); ``halo`` (``--halo``/``--no-halo``) its ``halo``.
    """
    with StopRequests() as stop:
        out_dir = Path(out)
        run_file = out_dir / nio.RUN_FILE
        parallel.check_shared_dir(out_dir, f"--resume {out_dir}")  # (several processes: all see the same run)
        if not out_dir.is_dir() or not run_file.is_file():
            raise ConfigError(f"--resume {out_dir}: no run here (no {nio.RUN_FILE}); start one with "
                              f"`nnfield run CONFIG --out {out_dir}`")
        # refuses a directory another run is writing into (in a multi-process run process 0 holds the lock)
        lock = RunLock(out_dir, "--resume").acquire() if parallel.is_writer() else None
        try:
            return _resume_locked(out_dir, steps, progress and parallel.is_writer(), console, log, stop, devices,
                                  halo)
        finally:
            if lock is not None:
                lock.release()


def resume_devices(cfg: Config, attrs: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """The device count of a ``--resume`` without ``--devices``: the run's own (its ``devices`` attribute) where it
    differs from what the config gives and that many devices are here, with a note; else ``None`` (the config's),
    with a note when the run ran on another count. A run started with ``--devices 2`` resumed on the config's one
    device, silently, and so equalled the uninterrupted run only to round-off (session 48)."""
    ran = attrs.get("devices")
    if not isinstance(ran, (int, np.integer)) or isinstance(ran, bool) or ran < 1 or parallel.multi_process():
        return None, None
    ran = int(ran)
    try:
        configured = parallel.device_count(cfg.parallel.devices)
    except ConfigError:
        configured = None
    if configured == ran:
        return None, None
    first = None if cfg.sweep else cfg.lattice.shape[0]  # (a sweep splits its members: checked where it is resumed)
    if ran <= jax.device_count() and (first is None or first % ran == 0):
        return ran, (f"note: resuming on {ran} devices, as the run ran (its config gives {configured}; pass "
                     "--devices N to choose)")
    return None, (f"note: the run ran on {ran} devices ({jax.device_count()} available here): resuming on "
                  f"{configured}; the continuation equals the uninterrupted run to round-off, not bit for bit")


def _resume_locked(out_dir: Path, steps: int | None, progress: bool, console: Any,
                   log: Callable[[str], None] | None, stop: StopRequests, devices: int | None = None,
                   halo: bool | None = None) -> RunResult:
    say = log or (lambda _msg: None)
    run_file = out_dir / nio.RUN_FILE
    try:
        attrs, held = nio.read_header(run_file)
    except nio.DamagedRunFileError as exc:  # (its metadata damaged: a RuntimeError's traceback before)
        raise CheckpointError(f"--resume {out_dir}: {exc}; the run cannot go on from a damaged record: start it "
                              "again with --force") from None
    except nio.NotARunFileError as exc:  # (not HDF5 at all, truncated)
        raise CheckpointError(f"--resume {out_dir}: {exc}") from None
    version = int(attrs.get("schema_version", 0))
    if version > nio.SCHEMA_VERSION:
        raise CheckpointError(f"--resume {out_dir}: {run_file} has schema version {version}, newer than this "
                              f"nnfield writes ({nio.SCHEMA_VERSION}); upgrade nnfield")
    config_path = out_dir / nio.CONFIG_FILE
    if not config_path.is_file():
        raise CheckpointError(f"--resume {out_dir}: {config_path} is missing; the run cannot be resumed without it")
    cfg = load_config(config_path)
    # --devices, --halo over [parallel] (not part of the config hash: where a run computes does not change it)
    if devices is None:
        devices, note = resume_devices(cfg, attrs)
        if note:
            say(note)
    overrides = {k: f(v) for k, f, v in (("devices", int, devices), ("halo", bool, halo)) if v is not None}
    if overrides:
        cfg = dataclasses.replace(cfg, parallel=dataclasses.replace(cfg.parallel, **overrides))
    ckpt = latest_checkpoint(out_dir)
    damaged = damaged_checkpoints(out_dir)  # (a manifest that does not read, or whose checksum fails: never used)
    if ckpt is None:
        # (the wording without damaged checkpoints is the one scripts and tests/test_faults.py recognise)
        what, why = (("no usable checkpoint", f"{len(damaged)} damaged: their manifest.json does not read or its "
                      "checksum fails") if damaged else
                     ("no checkpoint", "the run stopped before its first one, or they were deleted"))
        raise CheckpointError(f"--resume {out_dir}: {what} in {out_dir / CHECKPOINT_DIR} ({why}); start it again "
                              f"with `nnfield run {config_path} --out {out_dir} --force`")
    for path in damaged:
        say(f"note: {path} is damaged (its manifest.json does not read or its checksum fails): not used; it is "
            "removed once the resumed run has saved a newer checkpoint")
    covered = _covered_checkpoint(out_dir, held, attrs)
    if covered is None:
        raise CheckpointError(f"--resume {out_dir}: {run_file} holds the run up to step {_held_steps(held, attrs)} "
                              f"only, before its oldest checkpoint (step {list_checkpoints(out_dir)[0].step}): the "
                              f"file lost its last chunks (a power failure, or a copy made while the run wrote); "
                              f"start the run again with `nnfield run {config_path} --out {out_dir} --force`")
    if covered.path != ckpt.path:  # (two listings: equal checkpoints, never the same object)
        say(f"note: {run_file} holds the run up to step {_held_steps(held, attrs)} only (it lost its last chunks: "
            f"a power failure, or a copy made while the run wrote); resuming from the checkpoint at step "
            f"{covered.step}, not the newest (step {ckpt.step})")
        ckpt = covered
    check_compatible(ckpt, config_hash(cfg), str(config_path))
    check_inputs(ckpt, cfg, str(config_path))
    m = ckpt.manifest
    bad = [k for k in _RUN_MANIFEST if not isinstance(m.get(k), (int, float)) or isinstance(m.get(k), bool)]
    if bad:  # (a manifest without a checksum, written before 2026-12-05: a KeyError's traceback)
        raise CheckpointError(f"checkpoint {ckpt.path}: its manifest.json lacks {', '.join(bad)} (damaged)"
                              f"{way_back(ckpt)}")
    # the run's total: the run file's (an extension sets it before its first chunk; the newest checkpoint may
    # still be one of the extended run, whose total it holds)
    run_total = int(attrs.get("steps", m["steps"]))
    config_steps = _noted_steps(cfg.text) or cfg.time.steps
    if steps is None and config_steps != run_total:
        raise ConfigError(f"--resume {out_dir}: {config_path} sets {config_steps} steps, but the run's total is "
                          f"{run_total}; to change the total pass --steps {config_steps}, else restore "
                          f"steps = {run_total} in {config_path}")
    total = int(steps) if steps is not None else run_total
    status = nio.resolve_status(str(attrs.get("status", "")), run_file)
    if steps is None and ckpt.step >= total and status == nio.STATUS_COMPLETED:
        raise ConfigError(f"--resume {out_dir}: the run is complete ({ckpt.step} steps); pass --steps N (a new "
                          f"total above {ckpt.step}) to extend it")
    if steps is not None and total <= ckpt.step:
        raise ConfigError(f"--steps: expected a new total above the {ckpt.step} steps already done, got {total}")
    # (steps is None and ckpt.step == total: killed after its last checkpoint; the loop only finishes the file)
    if total > MAX_STEPS:
        raise ConfigError(f"--steps: expected at most {MAX_STEPS} (2^53), got {total}")
    if m.get("nnfield_version") != nio.provenance_version():
        say(f"note: the checkpoint was written by nnfield {m.get('nnfield_version')}, this is "
            f"{nio.provenance_version()}; the continuation may differ from an uninterrupted run in the last bits")
    for key in ("every", "snapshot_every"):  # the run's cadence: its file's layout, kept by a resumed run
        if getattr(cfg.output, key) != int(m[key]):
            raise ConfigError(f"--resume {out_dir}: output.{key} = {getattr(cfg.output, key)} in {config_path}, but "
                              f"the run records with output.{key} = {int(m[key])}; a resumed run keeps its cadence: "
                              f"restore it, or start a new run with `nnfield run {config_path} --out NEW_DIR`")
    if bool(cfg.output.spectra) != (SPECTRUM_K in attrs):  # what the run records: its file's observables
        was = "with" if SPECTRUM_K in attrs else "without"
        raise ConfigError(f"--resume {out_dir}: output.spectra = {str(cfg.output.spectra).lower()} in {config_path}, "
                          f"but the run records {was} spectra; a resumed run records what it recorded: restore it, "
                          f"or start a new run with `nnfield run {config_path} --out NEW_DIR`")
    cfg = dataclasses.replace(
        cfg, time=dataclasses.replace(cfg.time, steps=total),
        output=dataclasses.replace(cfg.output, every=int(m["every"]), snapshot_every=int(m["snapshot_every"])),
    )
    text = cfg.text if total == config_steps else _with_steps(cfg.text, total, cfg)
    cfg = dataclasses.replace(cfg, text=text)
    parallel.check_same_config(run_fingerprint(cfg), f"--resume {out_dir}")  # (several processes: the same run)
    members = math.prod(len(v) for v in cfg.sweep.values()) if cfg.sweep else 1
    n_devices = parallel.device_count(cfg.parallel.devices)
    rank, turns = build_turns(cfg, members, n_devices, say)  # the guard a fresh run has (--steps)
    if cfg.sweep:  # every member at once, from the stacked checkpoint (one process)
        from .ensemble import resume_sweep

        return resume_sweep(out_dir, cfg, ckpt, attrs, progress=progress, console=console, log=log, stop=stop)
    # (not the initial data: the checkpoint holds the state; split over devices: the model built on the host, as a
    # fresh run, and the state restored shard by shard onto the placed shapes, never whole on a host)
    split = parallel.split(n_devices)
    split_tables = split_build(cfg, n_devices)  # (the spectra tables as a fresh run of this config builds them)

    def built() -> tuple[Any, Any, Any]:
        model, template = stop.call(build_template, cfg, host=split, shapes_only=split)
        with parallel.building(split):  # (before placing, as a fresh run)
            spectra = (split_spectra_for(cfg, model, template, n_devices) if split_tables
                       else spectra_for(cfg, model, template))
        return (parallel.place_model(model, n_devices, cfg.lattice.shape),
                parallel.place(template, n_devices, cfg.lattice.shape[0]), spectra)  # (the checkpoint's shards)

    model, template, spectra = parallel.in_turns(rank, turns, built)
    state = stop.call(load_checkpoint, ckpt, template)
    observer = observer_for(model, state, _observed(spectra, model, state, n_devices), n_devices)
    stab = stop.call(_stability, cfg)
    network = chunk_network(cfg, model, state, n_devices, say, stop)
    program = None
    if COMPILE_AHEAD and ckpt.step < total:  # the first chunk's program compiles while the run file is cut back
        program = _ChunkProgram(network, observer, ())
        program.compile_ahead(state, *chunk_call(ckpt.step, total, int(m["chunk"]), cfg.output.every,
                                                 cfg.output.snapshot_every))
    say(f"resuming from the checkpoint at step {ckpt.step} (t = {float(m['time']):g}) to step {total}")
    with _settled_on_error(program):  # (failed before its first chunk: the compile must not outlive the run)
        parallel.barrier("nnfield-resume-read")  # every process has read the run file before process 0 rebuilds it
        writer: Any = (_reopen_run_file(out_dir, cfg, ckpt, attrs, devices=n_devices,
                                        halo=int(getattr(network, "ghost", 0))) if parallel.is_writer() else
                       nio.NullWriter(run_file, (int(m["observables"]), int(m["snapshots"]))))
        parallel.barrier("nnfield-resume-reopened")
        loop = _Loop(out_dir, cfg, model, observer, stab, writer, state, done=ckpt.step,
                     last_snap=int(m["last_snapshot"]), chunk=int(m["chunk"]), stop=stop, network=network,
                     program=program)
        return loop.run(progress, console)


#: the numbers a run's checkpoint manifest holds for ``--resume`` (:meth:`_Durable.checkpoint`)
_RUN_MANIFEST = ("steps", "time", "observables", "snapshots", "last_snapshot", "chunk", "every", "snapshot_every")


def _held_steps(held: tuple[int | None, int, int], attrs: dict[str, Any]) -> int | None:
    """The steps a run file holds: its commit record's (a running or killed run), else its final ``steps_done``
    (``None`` when it records neither: a file older than schema 2)."""
    steps = held[0] if held[0] is not None else attrs.get("steps_done")
    return None if steps is None else int(steps)


def _covered_checkpoint(out_dir: Path, held: tuple[int | None, int, int], attrs: dict[str, Any]) -> Any:
    """The newest checkpoint whose step, samples and snapshots the run file holds (``held``:
    :func:`nnfield.io.committed_counts`), or ``None``. Normally the newest: the run file is committed before each
    checkpoint. A run file that lost its last chunks (the page cache lost in a power failure: checkpoints are
    fsynced, the run file is not; a directory copied while the run wrote) is behind it, and the run resumes from
    an older one (cutting the file back to counts it lacks failed with a traceback)."""
    steps = _held_steps(held, attrs)
    for c in reversed(list_checkpoints(out_dir)):
        m = c.manifest
        if (int(m.get("observables", 0)) <= held[1] and int(m.get("snapshots", 0)) <= held[2]
                and (steps is None or c.step <= steps)):
            return c
    return None


def _reopen_run_file(out_dir: Path, cfg: Config, ckpt: Any, attrs: dict[str, Any], devices: int = 1,
                     halo: int = 0) -> nio.RunWriter:
    """The run file cut back to what checkpoint ``ckpt`` had recorded, reopened for appending (in SWMR mode) with
    ``cfg``'s total of steps and this resumption in its ``resumed`` attribute; the config file rewritten if
    ``cfg.text`` changed (an extension). The resumed run's datasets then continue exactly where the
    checkpoint's did."""
    m = ckpt.manifest
    run_file, config_path = out_dir / nio.RUN_FILE, out_dir / nio.CONFIG_FILE
    total, text = cfg.time.steps, cfg.text
    resumed = json.loads(str(attrs.get("resumed", "[]")) or "[]")
    resumed.append({"from_step": ckpt.step, "steps": total, "date": datetime.datetime.now(datetime.UTC).isoformat(
        timespec="seconds"), "nnfield": nio.provenance_version(), "devices": devices})
    tmp = out_dir / f"{nio.RUN_FILE}.resume-tmp"
    try:
        nio.rebuild_run_file(run_file, tmp, int(m["observables"]), int(m["snapshots"]), {
            "steps": total, "config": text, "resumed": json.dumps(resumed),
            "devices": devices, "processes": jax.process_count(), "halo": halo, "title": cfg.title,
        })
    except BaseException as exc:
        tmp.unlink(missing_ok=True)  # (a half-written copy: run.h5 itself is untouched)
        if isinstance(exc, nio.DamagedRunFileError):
            raise ConfigError(f"--resume {out_dir}: {exc}. The run cannot go on from a damaged record: start it "
                              "again with --force, or copy what reads elsewhere first") from None
        raise
    writer = nio.RunWriter.reopen(tmp)  # switched to SWMR before it replaces run.h5 (see _fresh_run)
    try:
        writer.start_swmr()
        writer.commit(ckpt.step)
    except BaseException:
        writer.close()
        raise
    os.replace(tmp, run_file)
    writer.path = run_file
    if text != config_path.read_text(encoding="utf-8"):
        _write_atomic(config_path, text)
    return writer


def _with_steps(text: str, total: int, cfg: Config) -> str:
    """The config text with ``[time] steps`` (or ``t_end``) set to ``total``; checked by parsing it back (if the
    edit does not give the same trajectory with ``total`` steps, a note is prepended instead)."""
    lines = text.splitlines(keepends=True)
    out, in_time, done = [], False, False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("["):
            in_time = stripped.split("#")[0].strip() == "[time]"
        key = stripped.split("=", 1)[0].strip() if "=" in stripped else ""
        if in_time and not done and key in ("steps", "t_end"):
            out.append(f"steps = {total}  # extended by `nnfield run --resume --steps {total}` (was: {stripped})\n")
            done = True
        else:
            out.append(line)
    new = "".join(out)
    try:
        check = parse_config(new, source=cfg.source)
        if done and check.time.steps == total and config_hash(check) == config_hash(cfg):
            return new
    except NNFieldError:
        pass
    return f"{_EXTENDED_NOTE.format(total=total)}\n" + text


#: the first line :func:`_with_steps` prepends to a config whose ``steps`` it cannot edit in place (an inline
#: ``time = {...}`` table, dotted keys): the run's total from then on, as :func:`_noted_steps` reads it back
_EXTENDED_NOTE = "# extended to {total} steps by `nnfield run --resume --steps {total}`"


def _noted_steps(text: str) -> int | None:
    """The total of steps a config's first line notes (:data:`_EXTENDED_NOTE`), else ``None``."""
    first = text.split("\n", 1)[0]
    pattern = re.escape(_EXTENDED_NOTE).replace(re.escape("{total}"), r"(\d+)")
    match = re.fullmatch(pattern, first.rstrip("\r"))
    return int(match.group(1)) if match else None
