"""Ensembles and parameter sweeps in one compiled program (``jax.vmap`` over models and states).

A sweep is a base config and a table of values, e.g. ``{"theory.mass": [0.5, 1.0, 2.0], "initial.seed":
range(8)}``: the members are every combination (24 here). Each member's model and initial state are built
from its own config (so any parameter the config takes can be swept), then stacked: a leaf that differs
between members (the mass, dt, the initial fields) gets a leading member axis, a leaf equal in all members
stays shared. One ``jax.jit(jax.vmap(...))`` of the run then advances every member at once: **one
compilation for the whole ensemble**, however many members (``tests/test_ensemble.py`` counts them).

Members must have the same structure (the same network, lattice shape, scheme, number of neuron types):
sweeping what changes the compiled program (the lattice shape, the network kind) is refused with one line;
run those as separate runs. A parameter that is baked into the model as a Python constant rather than an
array leaf cannot be swept either (also refused, naming it).

From the command line: a ``[sweep]`` table in the config (``nnfield run``), whose keys are ``table.key`` names
of the config and whose values are lists; see ``docs/config.md``.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import math
import os
import time
from collections.abc import Iterable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import Partial

from ._xla import device_array, jit, on_one_cpu
from .config import Config, from_dict
from .config._tables import SWEPT_SECTIONS
from .errors import ConfigError
from .network import _run_impl, _run_snapshots_impl
from .runner import (
    RunResult,
    _ChunkClock,
    _Durable,
    _reopen_run_file,
    _run_attrs,
    _stability,
    _write_atomic,
    build,
    build_template,
    choose_chunk,
    declared_json,
    next_chunk,
    observables_of,
    spectra_for,
    spectra_model,
    unstable_cause,
)

__all__ = ["Ensemble", "EnsembleResult", "build_ensemble", "member_configs", "run_ensemble", "shard_members",
           "stack_members"]


def member_configs(cfg: Config, sweep: Mapping[str, Iterable[Any]]) -> tuple[list[Config], list[dict[str, Any]]]:
    """The configs of every member of ``sweep`` (the Cartesian product of its value lists, in order) and each
    member's swept values. Keys are ``table.key`` (``theory.mass``, ``time.dt``, ``initial.seed``...)."""
    import tomllib

    if not sweep:
        raise ConfigError("sweep: expected at least one key with a list of values, e.g. \"theory.mass\" = [0.5, 1.0]")
    base = tomllib.loads(cfg.text) if cfg.text else None
    if base is None:
        raise ConfigError("sweep: the base config has no TOML text to vary (load it with load_config/parse_config)")
    base.pop("sweep", None)
    keys = list(sweep)
    for key, v in sweep.items():
        if isinstance(v, (str, bytes, Mapping)) or not isinstance(v, Iterable):
            raise ConfigError(f"sweep.{key}: expected a non-empty list of values, got {v!r}; e.g. "
                              f"{{{key!r}: [{v!r}, ...]}}")
    values = [list(v) for v in sweep.values()]
    for key, vals in zip(keys, values, strict=True):
        if not isinstance(key, str) or key.count(".") != 1 or key.split(".")[0] not in SWEPT_SECTIONS:
            # (as the config's [sweep] table: [output] and [parallel] are how the one program computes and
            # records, the same for every member; a swept output.precision used to run in the first's)
            raise ConfigError(f"sweep.{key}: expected a key table.key of [theory], [lattice], [time] or [initial], "
                              f"e.g. \"theory.mass\"")
        if not vals:
            raise ConfigError(f"sweep.{key}: expected a non-empty list of values")
    configs, params = [], []
    for combo in itertools.product(*values):
        data = json.loads(json.dumps(base))  # a deep copy of plain TOML data
        member = dict(zip(keys, combo, strict=True))
        for key, value in member.items():
            table, name = key.split(".")
            data.setdefault(table, {})[name] = value
        configs.append(from_dict(data, text=cfg.text, source=f"{cfg.source} [sweep {member}]"))
        params.append(member)
    return configs, params


def stack_members(trees: list[Any]) -> tuple[Any, Any]:
    """Stack PyTrees of identical structure: ``(stacked, axes)`` where a leaf that differs between the trees
    is stacked along a new axis 0 (``axes`` leaf 0) and a leaf equal in all is kept once (``axes`` leaf
    ``None``); ``axes`` is the ``in_axes`` of a ``jax.vmap`` over ``stacked``."""
    flat = [jax.tree_util.tree_flatten(t) for t in trees]
    treedef = flat[0][1]
    for j, (_leaves, other) in enumerate(flat[1:], start=1):
        if other != treedef:
            where = _static_difference(trees[0], trees[j])
            what = f" (first: {where})" if where else ""
            raise ConfigError("sweep: the members differ in structure (network, lattice shape, scheme, number of "
                              f"neuron types or another compile-time part of the model{what}), so they cannot "
                              "share one compiled program; run them separately")
    stacked, axes = [], []
    for i in range(len(flat[0][0])):
        vals = [leaves[i] for leaves, _ in flat]
        if all(_same(vals[0], v) for v in vals[1:]):
            stacked.append(vals[0])
            axes.append(None)
        else:
            if not all(hasattr(v, "shape") or isinstance(v, (int, float, complex)) for v in vals):
                raise ConfigError(f"sweep: a swept value changes a non-array part of the model ({vals[0]!r} vs "
                                  f"{vals[1]!r}), which cannot vary inside one compiled program")
            if all(type(v) is np.ndarray and v.dtype == vals[0].dtype for v in vals):
                # the same array, without the eager programs (stage, stack) and without a second host copy
                stacked.append(device_array(np.stack(vals), private=True))
            else:  # JAX arrays, or Python scalars (which stay weakly typed: ``jax.device_put`` of one is weak)
                stacked.append(jnp.stack([device_array(v) if isinstance(v, np.ndarray) else jax.device_put(v)
                                          for v in vals]))
            axes.append(0)
    return jax.tree_util.tree_unflatten(treedef, stacked), jax.tree_util.tree_unflatten(treedef, axes)


def _static_difference(a: Any, b: Any, path: str = "model") -> str | None:
    """The path of the first static (compile-time) field that differs between two modules of the same kind
    (e.g. ``model.theory``: a Dirac model's physics side holds its mass as a static value), or ``None``."""
    import equinox as eqx

    if type(a) is not type(b):
        return f"{path} ({type(a).__name__} vs {type(b).__name__})"
    if isinstance(a, eqx.Module):
        for f in dataclasses.fields(a):
            va, vb = getattr(a, f.name, None), getattr(b, f.name, None)
            if f.metadata.get("static"):
                try:
                    equal = bool(va == vb)
                except Exception:  # noqa: BLE001 - an array-valued comparison: not equal as a static value
                    equal = va is vb
                if not equal:
                    return f"{path}.{f.name}"
            else:
                found = _static_difference(va, vb, f"{path}.{f.name}")
                if found:
                    return found
    elif isinstance(a, (list, tuple)) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _static_difference(x, y, f"{path}[{i}]")
            if found:
                return found
    elif isinstance(a, dict) and a.keys() == b.keys():
        for k in a:
            found = _static_difference(a[k], b[k], f"{path}[{k!r}]")
            if found:
                return found
    elif jax.tree_util.tree_structure(a) != jax.tree_util.tree_structure(b):
        return path  # another registered PyTree (e.g. dirac.Dirac) whose compile-time part differs
    return None


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if hasattr(a, "shape") or hasattr(b, "shape"):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))
    return bool(a == b)


@dataclasses.dataclass
class Ensemble:
    """The stacked members: ``model`` and ``state`` with a leading member axis on their differing leaves."""

    model: Any
    model_axes: Any
    state: Any
    params: list[dict[str, Any]]
    configs: list[Config]
    #: with ``[output] spectra``: each member's :class:`~nnfield.spectra.Spectra` stacked as the model is
    spectra: Any = None
    spectra_axes: Any = None

    @property
    def size(self) -> int:
        return len(self.params)

    @property
    def observed(self) -> tuple[Any, Any]:
        """``(model, spectra)``: what each member's observer reads (the vmapped argument)."""
        return self.model, self.spectra

    @property
    def observed_axes(self) -> tuple[Any, Any]:
        return self.model_axes, self.spectra_axes


def build_ensemble(cfg: Config, sweep: Mapping[str, Iterable[Any]], spectra: bool = False, *,
                   template: bool = False, host: bool = False) -> Ensemble:
    """Build every member's model and initial state (at its configured precision) and stack them; with
    ``spectra``, also each member's spectra (``[output] spectra``: the occupation numbers use each member's own
    dispersion) and the model it observes them with (:meth:`~nnfield.model.AbstractModel.for_spectra`). With
    ``template`` the states are zeros of the built states' structure, shapes and dtypes, and ``[initial]`` is not
    evaluated (:func:`nnfield.runner.build_template`: what a resumed sweep restores its checkpoint onto). With
    ``host`` every member is built and stacked on the host's CPU (:func:`nnfield.parallel.building`: a sweep split
    over several accelerators never holds all its members on the first)."""
    from .parallel import building

    try:
        with building(host):
            return _build_ensemble(cfg, sweep, spectra, template)
    except ConfigError as exc:  # name the file, as every other config error does
        if str(exc).startswith("sweep") and cfg.source != "<config>":
            raise ConfigError(f"{cfg.source}: {exc}") from None
        raise


def _build_ensemble(cfg: Config, sweep: Mapping[str, Iterable[Any]], spectra: bool, template: bool = False
                    ) -> Ensemble:
    configs, params = member_configs(cfg, sweep)
    if len({(c.time.steps, c.output.every) for c in configs}) > 1:
        dt_swept = any(key == "time.dt" for key in sweep)
        hint = ("; a time.dt sweep with [time] t_end gives each member its own number of steps: set [time] steps "
                "instead (every member then runs that many ticks of its own dt)") if dt_swept else ""
        raise ConfigError(f"sweep: time.steps and output.every must be the same for every member{hint}")
    built = [(build_template if template else build)(c) for c in configs]
    models = [m for m, _ in built]
    spec, spec_axes = None, None
    if spectra:
        spec, spec_axes = stack_members([spectra_for(c, m, s) for c, (m, s) in zip(configs, built, strict=True)])
        models = [spectra_model(m, c.dtype) for c, m in zip(configs, models, strict=True)]
    model, model_axes = stack_members(models)
    states = [s for _, s in built]
    state = jax.tree_util.tree_map(_stack_state, *states)
    return Ensemble(model, model_axes, state, params, configs, spec, spec_axes)


def _stack_state(*xs: Any) -> Any:
    """The members' copies of one state leaf stacked along a new first axis. Arrays held whole by one CPU device
    (the usual case) are stacked by NumPy and put on the device once: the same array without an eager ``stack``
    program per leaf shape (compiled on a cold cache, lowered and looked up on a warm one)."""
    if all(isinstance(x, jax.Array) and not x.weak_type and not x.committed and x.dtype == xs[0].dtype
           and on_one_cpu(x) for x in xs):
        return device_array(np.stack([np.asarray(x) for x in xs]), private=True)
    return jnp.stack(xs)


def shard_members(ens: Ensemble, devices: int) -> Ensemble:
    """``ens`` with its members split over ``devices`` devices: the member axis of the state and of every stacked
    leaf of the model (and spectra) sharded, the shared leaves replicated. The vmapped run is then one SPMD
    program in which each device advances its own members, with no communication between them (the members
    are independent). ``devices = 1``: ``ens`` unchanged. The device count must divide the number of members."""
    if devices == 1:
        return ens
    if ens.size % devices:
        from .parallel import DEVICES

        raise ConfigError(f"{DEVICES}: a sweep splits its {ens.size} members over the devices, and "
                          f"{devices} devices do not divide them; use a device count that divides {ens.size}")
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    mesh = Mesh(np.array(jax.devices()[:devices]), ("member",))
    split, whole = NamedSharding(mesh, PartitionSpec("member")), NamedSharding(mesh, PartitionSpec())

    def place(tree: Any, axes: Any) -> Any:
        leaves, treedef = jax.tree_util.tree_flatten(tree)
        # (the axes at the tree's own leaves: a field that is None in the tree, e.g. a Dirac model without a
        # spectral projector, is None in ``axes`` too and must not count as a leaf there)
        where = treedef.flatten_up_to(axes)
        placed = [x if not hasattr(x, "shape") else jax.device_put(x, split if ax == 0 else whole)
                  for x, ax in zip(leaves, where, strict=True)]
        return jax.tree_util.tree_unflatten(treedef, placed)

    state = jax.tree_util.tree_map(lambda x: jax.device_put(x, split), ens.state)
    model = place(ens.model, ens.model_axes)
    spectra = None if ens.spectra is None else place(ens.spectra, ens.spectra_axes)
    return dataclasses.replace(ens, model=model, state=state, spectra=spectra)


def _member_run(observed: Any, state: Any, steps: int, every: int, snapshot_every: int = 0) -> tuple[Any, ...]:
    """One member's ``steps`` ticks: ``(state, observables)``, with ``snapshot_every`` also the states after each
    interval (:func:`nnfield.network.run_snapshots`: a chunk spanning several snapshot intervals)."""
    model, spectra = observed
    observer = Partial(_observe, model, spectra)
    if snapshot_every:
        return _run_snapshots_impl(model.network, state, steps // snapshot_every, snapshot_every, every, observer)
    return _run_impl(model.network, state, steps, every, observer)


def _observe(model: Any, spectra: Any, state: Any) -> Any:
    return observables_of(model, state, spectra)


@dataclasses.dataclass
class EnsembleResult:
    """Final states (leading member axis), observables ``{name: (members, samples, ...)}``, the sample steps,
    and each member's swept values."""

    state: Any
    observables: dict[str, np.ndarray]
    steps: np.ndarray
    params: list[dict[str, Any]]


def run_ensemble(ens: Ensemble, steps: int | None = None, every: int | None = None) -> EnsembleResult:
    """Advance every member ``steps`` ticks (default: the config's) in one jitted, vmapped ``lax.scan``,
    recording observables every ``every`` ticks (default: the config's ``output.every``)."""
    from .network import _check_count

    cfg = ens.configs[0]
    if steps is not None:
        _check_count("steps", steps, 0)
    if every is not None:
        _check_count("every", every, 1)
    steps = cfg.time.steps if steps is None else int(steps)
    every = cfg.output.every if every is None else int(every)
    state, obs = _ensemble_jit(ens.observed, ens.state, ens.observed_axes, steps, every)
    obs = {k: np.asarray(v) for k, v in jax.device_get(obs).items()}
    return EnsembleResult(state, obs, every * np.arange(1, steps // every + 1), ens.params)


def _ensemble_impl(observed: Any, state: Any, axes: Any, steps: int, every: int, snapshot_every: int = 0
                   ) -> tuple[Any, ...]:
    return jax.vmap(lambda m, s: _member_run(m, s, steps, every, snapshot_every), in_axes=(axes, 0))(observed, state)


class _Static:
    """A hashable wrapper for the ``in_axes`` PyTree (a static argument of the jitted ensemble run)."""

    def __init__(self, tree: Any):
        self.tree = tree
        leaves, self.treedef = jax.tree_util.tree_flatten(tree, is_leaf=lambda x: x is None)
        self.key = (self.treedef, tuple(leaves))

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Static) and self.key == other.key


_jitted = jit(lambda model, state, axes, steps, every, snap: _ensemble_impl(model, state, axes.tree, steps, every,
                                                                            snap), static_argnums=(2, 3, 4, 5))


def _ensemble_jit(model: Any, state: Any, model_axes: Any, steps: int, every: int, snapshot_every: int = 0
                  ) -> tuple[Any, ...]:
    return _jitted(model, state, _Static(model_axes), steps, every, snapshot_every)


def compilations() -> int:
    """How many programs the ensemble runner has compiled in this process (for tests and benchmarks)."""
    return _jitted.cache_size()


# ----------------------------------------------------------------------------------------------------------
# `nnfield run` of a config with a [sweep] table
# ----------------------------------------------------------------------------------------------------------
def _observe_members(observed: Any, state: Any, axes: Any) -> Any:
    return jax.vmap(lambda o, s: _observe(*o, s), in_axes=(axes, 0))(observed, state)


_observe_jitted = jit(lambda model, state, axes: _observe_members(model, state, axes.tree), static_argnums=(2,))


def _advance(ens: Ensemble, state: Any, n: int, every: int, snapshot_every: int = 0
             ) -> tuple[Any, dict[str, np.ndarray], Any]:
    """``n`` ticks of every member: the new state, the observables ``{name: (members, samples, ...)}`` on the host
    and, with ``snapshot_every`` (a chunk of several snapshot intervals), the states after each interval with
    leaves ``(members, intervals, ...)``, else ``None``."""
    out = _ensemble_jit(ens.observed, state, ens.observed_axes, n, every, snapshot_every)
    snaps = out[2] if snapshot_every else None
    return out[0], {k: np.asarray(v) for k, v in jax.device_get(out[1]).items()}, snaps


def distinct_networks(configs: list[Config]) -> list[int]:
    """The first member of each distinct network among a sweep's member ``configs`` (the same theory parameters
    and ``dt``: one stability verdict serves them all)."""
    first: dict[Any, int] = {}
    for i, c in enumerate(configs):
        first.setdefault((repr(sorted(c.theory.params.items())), c.time.dt), i)
    return sorted(first.values())


def check_sweep(cfg: Config, out: Any, *, force: bool = False, allow_unstable: bool = False, log: Any = None,
                stop: Any = None) -> tuple[Ensemble, Any, dict[str, Any]]:
    """Every check of a sweep before it runs (``nnfield run``, and ``--dry-run`` alone), as
    :func:`nnfield.runner.prepare` makes them for one run: the output directory, the memory guard (every member
    at once), each member's config, model and initial state (stacked into one program; ``InputError`` for
    non-finite data), the stability gate of every distinct network (theory parameters and dt; ``UnstableError``
    naming the first unstable member unless ``allow_unstable``) and step 0's observables (``InputError`` when not
    finite). Returns the ensemble, the first member's stability verdict and step 0's observables."""
    from .errors import InputError, UnstableError
    from .outdir import check_output_dir
    from .resources import check_memory
    def call(f: Any, *a: Any) -> Any:
        return f(*a) if stop is None else stop.call(f, *a)

    check_output_dir(out, force)
    members = math.prod(len(v) for v in cfg.sweep.values())
    devices = _sweep_devices(cfg, members)
    if cfg.parallel.halo:  # (nothing to exchange, nothing to check: the guard need not count the check)
        if log is not None:
            log("parallel.halo: not used (a sweep splits its members over the devices, not the lattice)")
        cfg = dataclasses.replace(cfg, parallel=dataclasses.replace(cfg.parallel, halo=False))
    check_memory(cfg, members, devices)  # the memory guard, before any member is built
    # (split over devices: built on the host, so that no accelerator holds every member at once)
    ens = shard_members(call(functools.partial(build_ensemble, host=devices > 1), cfg, cfg.sweep,
                             cfg.output.spectra), devices)
    finite = np.all([np.isfinite(np.asarray(x)).reshape(ens.size, -1).all(axis=1)
                     for x in jax.tree_util.tree_leaves(ens.state)], axis=0)  # per member
    if not finite.all():
        j = int(np.flatnonzero(~finite)[0])
        raise InputError(f"sweep member {j} {ens.params[j]}: the initial data has NaN or Inf values (initial kind "
                         f"= {cfg.initial.kind!r}); check the [initial] parameters in {cfg.source}")
    seen: dict[int, Any] = {}
    for i in distinct_networks(ens.configs):
        seen[i] = call(_stability, ens.configs[i])
        if not seen[i].stable and not allow_unstable:
            member = ens.configs[i]
            refusal = seen[i].refusal(cfg.source, member.time.scheme, unstable_cause(member)).replace(
                f"`nnfield analyze {cfg.source}`", f"`nnfield analyze {cfg.source} --member {i}`")
            raise UnstableError(f"sweep member {i} {ens.params[i]}: {refusal}")
    unstable = sum(not v.stable for v in seen.values())
    checked = (f"{len(seen)} distinct network(s) checked stable" if not unstable else
               f"{len(seen)} distinct network(s) checked, {unstable} unstable (--allow-unstable)")
    if log is not None:
        log(f"sweep: {ens.size} members ({', '.join(cfg.sweep)}); {checked}; one compiled program")
    # step 0's observables (after the stability gate: an unstable network can also make them inf)
    obs0 = call(lambda: jax.device_get(_observe_jitted(ens.observed, ens.state, _Static(ens.observed_axes))))
    for j, p in enumerate(ens.params):
        bad = [k for k, v in obs0.items() if not np.all(np.isfinite(np.asarray(v)[j]))]
        if bad:
            raise InputError(f"sweep member {j} {p}: the initial data is too large for {cfg.output.precision}: at "
                             f"step 0, before any update, {', '.join(bad)} is not finite; check the [initial] "
                             f"parameters in {cfg.source} (e.g. amplitude)")
    return ens, next(iter(seen.values())), obs0


def execute_sweep(cfg: Config, out: Any, *, force: bool = False, allow_unstable: bool = False,
                  progress: bool = True, console: Any = None, log: Any = None) -> Any:
    """Run every member of ``cfg.sweep`` at once into ``out/run.h5`` (``nnfield run`` of a config with a
    ``[sweep]`` table). The file holds observables ``(samples, members, ...)`` and snapshots ``(snapshots,
    members, K, *shape)``, the members' values in the attribute ``sweep`` (JSON list). Every distinct network
    (theory parameters and dt) passes the stability gate. Checkpointed like a single run (the stacked state of
    every member, ``[output] checkpoint_*``), so ``nnfield run --resume DIR`` continues an interrupted or killed
    sweep and ``--steps N`` extends a finished one (:func:`resume_sweep`)."""
    from pathlib import Path

    from . import io as nio
    from .outdir import prepare_output_dir
    from .signals import StopRequests
    from .state import field_items

    with StopRequests() as stop:
        ens, stab, obs0 = check_sweep(cfg, out, force=force, allow_unstable=allow_unstable, log=log, stop=stop)
        out_dir, lock = prepare_output_dir(out, force)
        try:
            _write_atomic(Path(out_dir) / nio.CONFIG_FILE, cfg.text)
            model0 = ens.configs[0].build_model()
            steps, every, snap = cfg.time.steps, cfg.output.every, cfg.output.snapshot_every
            sites = cfg.make_lattice().size * ens.size
            # a small sweep: chunks of several snapshot intervals (one dispatch and one file append each)
            chunk = choose_chunk(steps, every, snap, sites, cfg.output.chunk, span_snapshots=True)
            attrs = _run_attrs(ens.configs[0], model0.network, stab, chunk)
            attrs.update(members=ens.size, sweep=json.dumps(ens.params, default=float), state="network (members)",
                         member_ticks=json.dumps(_member_ticks(ens)), conserved=declared_json(model0),
                         processes=1, devices=_device_count(ens), halo=0)  # (members split: no lattice halo)
            if ens.spectra is not None:  # the bins are the lattice's, the same for every member
                attrs.update(ens.spectra.attrs())
            fields = {k: tuple(np.shape(v)) for k, v in field_items(ens.state).items()}
            # created under a temporary name, renamed once in SWMR mode (as runner._fresh_run: a plain v110 file
            # killed while open for writing never opens again)
            writer = nio.RunWriter(Path(out_dir) / f"{nio.RUN_FILE}.new", fields, cfg.dtype, attrs)
            try:
                writer.append_observables([0], [0.0], {k: np.asarray(v)[None] for k, v in obs0.items()})
                writer.append_snapshot(0, 0.0, {k: np.asarray(v) for k, v in field_items(ens.state).items()})
                writer.start_swmr()
                writer.commit(0)
                os.replace(writer.path, Path(out_dir) / nio.RUN_FILE)
                writer.path = Path(out_dir) / nio.RUN_FILE
            except BaseException:
                writer.set_attrs(status=nio.STATUS_FAILED)
                writer.close()
                raise
            loop = _SweepLoop(Path(out_dir), cfg, ens, model0, stab, writer, ens.state, done=0, last_snap=0,
                              chunk=chunk, stop=stop)
            return loop.run(progress, console)
        finally:
            lock.release()


def _sweep_devices(cfg: Config, members: int) -> int:
    """The devices a sweep's members are split over (``[parallel] devices`` / ``--devices``), checked: one
    process only, a count that divides the members."""
    from . import parallel

    if parallel.multi_process():
        raise ConfigError("sweep: a [sweep] runs in one process (its members split over that process's devices with "
                          "[parallel] devices); run it without --distributed / --num-processes")
    devices = parallel.device_count(cfg.parallel.devices)
    if members % devices:
        raise ConfigError(f"{parallel.DEVICES}: a sweep splits its {members} members over the devices, and {devices} "
                          f"devices do not divide them; use a device count that divides {members}")
    return devices


def resume_sweep(out_dir: Any, cfg: Config, ckpt: Any, attrs: Mapping[str, Any], *, progress: bool = True,
                 console: Any = None, log: Any = None, stop: Any) -> Any:
    """Continue the sweep in ``out_dir`` from checkpoint ``ckpt``: what :func:`nnfield.runner.resume` does for a
    config with a ``[sweep]`` (it has locked the directory, checked the checkpoint against the config and set
    ``cfg``'s total of steps; ``attrs`` are the run file's attributes). Every member is rebuilt from its config
    and its state read from the checkpoint (stacked along the member axis); the run file is cut back to the
    checkpoint's counts and the loop goes on, so the sweep's datasets are bit-identical to an uninterrupted
    sweep's (``tests/test_ensemble.py``)."""
    from pathlib import Path

    from .checkpoint import load_checkpoint

    say = log or (lambda _msg: None)
    devices = _sweep_devices(cfg, math.prod(len(v) for v in cfg.sweep.values()))
    # the members' states come from the checkpoint: [initial] is not evaluated (a data file may be gone)
    ens = shard_members(stop.call(build_ensemble, cfg, cfg.sweep, cfg.output.spectra, template=True,
                                  host=devices > 1), devices)
    state = stop.call(load_checkpoint, ckpt, ens.state)
    stab = stop.call(_stability, ens.configs[0])  # (the first run's verdict, cached: the result's attribute)
    m = ckpt.manifest
    say(f"resuming the sweep ({ens.size} members) from the checkpoint at step {ckpt.step} (t = "
        f"{float(m['time']):g}) to step {cfg.time.steps}")
    writer = _reopen_run_file(Path(out_dir), cfg, ckpt, attrs, devices=devices)
    model0 = ens.configs[0].build_model()
    loop = _SweepLoop(Path(out_dir), cfg, ens, model0, stab, writer, state, done=ckpt.step,
                      last_snap=int(m["last_snapshot"]), chunk=int(m["chunk"]), stop=stop)
    return loop.run(progress, console)


def _device_count(ens: Ensemble) -> int:
    """How many devices the members are split over (:func:`shard_members`)."""
    return len(jax.tree_util.tree_leaves(ens.state)[0].sharding.device_set)


def _member_ticks(ens: Ensemble) -> list[float]:
    """Each member's tick (a ``dt`` sweep: they differ; the file's time axis is the first member's)."""
    return [float(x) for x in np.broadcast_to(np.asarray(ens.model.network.tick, float), (ens.size,))]


class _SweepLoop(_Durable):
    """The chunked loop of a sweep (every member at once): compute a chunk, append, commit, checkpoint when due
    (the stacked state of every member, as :class:`nnfield.runner._Loop` does for one run)."""

    def __init__(self, out_dir: Any, cfg: Config, ens: Ensemble, model0: Any, stab: Any, writer: Any, state: Any,
                 *, done: int, last_snap: int, chunk: int, stop: Any) -> None:
        self._start(out_dir, cfg, stab, writer, state, done=done, last_snap=last_snap, chunk=chunk, stop=stop,
                    tick=model0.network.tick)
        self.ens, self.model0 = ens, model0

    def snapshot(self, state: Any, step: int) -> None:
        from .state import field_items

        self.writer.append_snapshot(step, step * self.tick, {k: np.asarray(v) for k, v in field_items(state).items()})
        self.last_snap = step

    def _meta_extra(self) -> dict[str, Any]:
        return {"members": self.ens.size}

    def run(self, progress: bool, console: Any) -> Any:
        from . import io as nio
        from .progress import progress_bar
        from .state import field_items

        cfg, ens, writer, stop = self.cfg, self.ens, self.writer, self.stop
        steps, every, snap, tick = cfg.time.steps, cfg.output.every, cfg.output.snapshot_every, self.tick
        span = snap if snap and self.chunk > snap else 0
        sites = cfg.make_lattice().size * ens.size
        ticks = _member_ticks(ens)
        status, conservation = nio.STATUS_FAILED, []
        clock = _ChunkClock(sites)  # the rate is that of the chunks after the first (no compile), as a run's
        bad: list[tuple[int, int]] = []
        t0 = time.perf_counter()
        try:
            with progress_bar(progress, console, steps) as bar:
                if self.done:
                    bar.advance(self.done, 0.0)
                if self.last_ckpt != self.done:
                    self.checkpoint()
                while self.done < steps:
                    n, ev = next_chunk(self.done, steps, self.chunk, every, snap)
                    inner = span if span and n % span == 0 and self.done % span == 0 else 0
                    c0 = time.perf_counter()
                    new_state, obs, snaps = stop.call(_advance, ens, self.state, n, ev, inner)
                    sample = self.done + ev * np.arange(1, n // ev + 1)
                    writer.append_observables(sample, sample * tick, {k: np.swapaxes(v, 0, 1) for k, v in
                                                                    obs.items()})
                    if snaps is not None:  # the states after each interval: leaves (members, intervals, ...)
                        stacked = {k: np.asarray(v) for k, v in field_items(snaps).items()}
                        for i in range(n // inner):
                            at = self.done + (i + 1) * inner
                            writer.append_snapshot(at, at * tick, {k: v[:, i] for k, v in stacked.items()})
                            self.last_snap = at
                    self.state = new_state
                    self.done += n
                    if snaps is None and snap and self.done % snap == 0:
                        self.snapshot(self.state, self.done)
                    writer.commit(self.done)
                    writer.set_attrs(steps_done=self.done, t_final=self.done * tick)
                    if self.done < steps and self.checkpoint_due():
                        self.checkpoint()
                    elapsed = time.perf_counter() - c0
                    bar.advance(n, clock.add(n, elapsed))
                if self.last_ckpt != self.done:  # the final state (`--resume DIR --steps N` extends from here), unless
                    self.checkpoint()  # saved already (a resumed run killed after it: saved again, it was replaced)
                if steps % every:  # the last step's sample (off the cadence), as a single run records it
                    obs_end = stop.call(lambda: jax.device_get(_observe_jitted(ens.observed, self.state,
                                                                              _Static(ens.observed_axes))))
                    writer.append_observables([steps], [steps * tick],
                                              {k: np.asarray(v)[None] for k, v in obs_end.items()})
                if self.last_snap != steps:
                    self.snapshot(self.state, steps)
                writer.commit(steps)
            recorded = writer.observables()
            conservation = member_verdicts(self.model0.conserved(), recorded, ens.params, self.done, cfg.dtype)
            writer.set_attrs(conservation=json.dumps([v.as_dict() for v in conservation]))
            bad = nonfinite_members(recorded, writer.sample_steps())
            if bad:  # the members are independent: the others ran to the end and are kept
                status = nio.STATUS_NONFINITE
                writer.set_attrs(nonfinite_members=json.dumps(
                    [{"member": j, "params": ens.params[j], "step": step} for j, step in bad], default=float))
            else:
                status = nio.STATUS_COMPLETED
        except nio.WriteError as exc:
            self.kept_up_to(exc, writer.path)
            raise
        except KeyboardInterrupt:  # also Terminated (SIGTERM)
            status = nio.STATUS_INTERRUPTED
            self.checkpoint_interrupted()
            raise
        finally:
            wall = time.perf_counter() - t0
            first_chunk, rate = clock.first, clock.rate(self.done - self.start_done)
            writer.set_attrs(status=status, steps_done=self.done, t_final=self.done * tick, wall_seconds=wall,
                             first_chunk_seconds=first_chunk, site_updates_per_second=rate, chunk=self.chunk)
            writer.close()
        nio.write_xdmf(writer.path)  # run.xmf for ParaView/VisIt: one attribute per member and component
        if bad:
            from .errors import NonFiniteError

            which = "; ".join(f"member {j} {_label(ens.params[j])} from step {step} (t = {step * ticks[j]:g})"
                              for j, step in bad[:5])
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            every_one = len(bad) == ens.size
            others = ("every member's samples are kept" if every_one else
                      f"the others ran to step {self.done}, finite, and every member's samples are kept")
            raise NonFiniteError(
                f"non-finite values (NaN or Inf) in {len(bad)} of {ens.size} sweep members: {which}{more} (the "
                f"first sample where one appeared). The members are independent: {others} in {writer.path}. "
                f"Those networks are probably unstable; see `nnfield analyze CONFIG --member {bad[0][0]}`",
                kept="the run file keeps every member's samples" + (
                    "" if every_one else "; the other members are finite"))
        return RunResult(self.out_dir, writer.path, self.out_dir / nio.CONFIG_FILE, status, steps, self.done,
                         self.done * tick, wall, first_chunk, rate, self.chunk,
                         self.stab, conservation)


def _label(params: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k} = {v}" for k, v in params.items()) + "}"


def nonfinite_members(observables: Mapping[str, Any], steps: np.ndarray) -> list[tuple[int, int]]:
    """``(member, step)`` of every member of a sweep's recorded observables (``(samples, members, ...)``, sampled
    at ``steps``) with a non-finite sample, ``step`` the first such sample's."""
    first: dict[int, int] = {}
    for v in observables.values():
        v = np.asarray(v)
        if v.ndim < 2 or not np.issubdtype(v.dtype, np.inexact):
            continue
        finite = np.isfinite(v).reshape(v.shape[0], v.shape[1], -1).all(axis=2)  # (samples, members)
        for j in np.flatnonzero(~finite.all(axis=0)):
            k = int(np.argmin(finite[:, j]))
            first[int(j)] = min(first.get(int(j), k), k)
    return [(j, int(steps[k])) for j, k in sorted(first.items())]


def member_verdicts(declared: Any, observables: Mapping[str, Any], params: list[dict[str, Any]], steps: int,
                    dtype: Any) -> list[Any]:
    """One conservation verdict per declared quantity for a sweep: each member's own
    (:func:`nnfield.conservation.verdict` of its column of ``(samples, members)``), reported as the worst member's
    (a failing one first, else the largest drift of an invariant or trend of a bounded quantity), named with that
    member's swept values."""
    from .conservation import verdict
    from .model import INVARIANT

    out = []
    for c in declared:
        if c.name not in observables:
            continue
        col = np.asarray(observables[c.name])
        ref = np.asarray(observables[c.scale]) if c.scale in observables else None
        per = [verdict(c, col[:, j], steps, dtype, None if ref is None else ref[:, j]) for j in range(col.shape[1])]
        worst = max(range(len(per)), key=lambda j: (not per[j].ok, per[j].relative_drift if c.kind == INVARIANT
                                                    else per[j].trend))
        who = ", ".join(f"{k} = {v}" for k, v in params[worst].items())
        out.append(dataclasses.replace(per[worst], name=f"{c.name} [worst of {len(per)} members: {who}]"))
    return out
