"""Run a configured network: stability gate, chunked jitted runs, progress bar, HDF5 output.

Data flow (``docs/cli.md``)::

    Config -> model (theory's build) -> initial network state (theory's initial condition)
      -> stability analysis of the network's one-step symbol (refuse if unstable, unless allowed)
      -> for each chunk: nnfield.network.run (one jitted lax.scan; observables inside the scan)
      -> append observables / snapshots to DIR/run.h5, flush; stop cleanly on NaN/Inf

Every chunk has the same length, so the chunk function is compiled once (plus once for a shorter last
chunk when the number of steps is not a multiple of it). Chunk boundaries fall on the observable cadence
and divide the snapshot cadence, so samples and snapshots land exactly on their schedule.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import Partial

from . import io as nio
from .config import Config, largest_divisor_at_most
from .conservation import Verdict, verdicts
from .errors import ConfigError, InputError, NonFiniteError, NotAnalysableError, UnstableError
from .model import AbstractModel
from .network import run as network_run
from .outdir import check_output_dir, prepare_output_dir
from .progress import progress_bar
from .signals import StopRequests
from .stability import Stability, check_stability
from .state import State, field_items

__all__ = [
    "Prepared", "RunResult", "Stability", "build", "check_stability", "choose_chunk", "execute", "observer_for",
    "prepare",
]


# ----------------------------------------------------------------------------------------------------------
# building
# ----------------------------------------------------------------------------------------------------------
def cast_floating(tree: Any, dtype: Any) -> Any:
    """Cast every floating (complex) array leaf of a PyTree to ``dtype`` (its complex counterpart)."""
    dtype = np.dtype(dtype)
    cdtype = np.result_type(dtype, np.complex64)

    def cast(x: Any) -> Any:
        if isinstance(x, (jax.Array, np.ndarray)):
            if jnp.issubdtype(x.dtype, jnp.complexfloating):
                return jnp.asarray(x, cdtype)
            if jnp.issubdtype(x.dtype, jnp.floating):
                return jnp.asarray(x, dtype)
        return x

    return jax.tree_util.tree_map(cast, tree)


def build(cfg: Config) -> tuple[AbstractModel, State]:
    """The model and its initial *network* state at the configured precision."""
    if cfg.dtype == np.float64 and not jax.config.read("jax_enable_x64"):
        raise ConfigError(
            'output.precision: "float64" needs JAX 64-bit mode; call jax.config.update("jax_enable_x64", True) '
            'before creating any array (the nnfield command does), or set precision = "float32"'
        )
    model = cfg.build_model()
    phi, pi = cfg.initial_fields(model)
    dtype = cfg.dtype
    if dtype != np.float64:
        model = cast_floating(model, dtype)
    state = model.initial_state(np.asarray(phi, np.float64), np.asarray(pi, np.float64))
    return model, cast_floating(state, dtype)


def _observe(model: AbstractModel, state: State) -> dict[str, Any]:
    return model.observables(state)


def observer_for(model: AbstractModel, state: State | None = None) -> Callable[[State], dict[str, Any]]:
    """``model.observables`` as a PyTree callable that crosses ``jit``.

    Preferred: ``Partial(_observe, model)``, so the model's arrays are traced arguments (not constants baked
    into the compiled chunk). A model whose ``observables`` needs concrete values of its own leaves (e.g.
    ``np.asarray`` of a parameter) cannot be traced that way; then (checked with ``jax.eval_shape`` on
    ``state``) a closure over the model is used, with the model captured as a constant (the closure is made
    once per run, so the chunk is still compiled once).
    """
    traced = Partial(_observe, model)
    if state is not None:
        try:
            jax.eval_shape(_observe, model, state)
        except jax.errors.JAXTypeError:

            def constant_model(s: State) -> dict[str, Any]:  # the model captured as a constant of the chunk
                return model.observables(s)

            return Partial(constant_model)
    return traced


def choose_chunk(steps: int, every: int, snapshot_every: int, sites: int, chunk: int | None = None) -> int:
    """Ticks per jitted chunk: a multiple of ``every`` dividing ``snapshot_every``, ~2e7 site-updates or
    1/20 of the run (whichever is smaller), preferring a length that divides ``steps`` (one compilation)."""
    if chunk:
        return int(chunk)
    target = max(every, min(max(1, math.ceil(steps / 20)), max(1, int(2e7 // max(sites, 1)))))
    qmax = max(1, target // every)
    best = largest_divisor_at_most(snapshot_every // every, qmax) if snapshot_every else qmax
    if steps % every == 0:
        n_obs = steps // every
        g = math.gcd(n_obs, snapshot_every // every) if snapshot_every else n_obs
        exact = largest_divisor_at_most(g, qmax)
        if 4 * exact >= best:
            best = exact
    return best * every


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


@jax.jit
def _finite(tree: Any) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(tree)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.bool_(True)


def _all_finite(tree: Any) -> bool:
    """Whether every entry of every array in ``tree`` is finite (one jitted reduction on the device)."""
    return bool(_finite(tree))


@jax.jit
def _observe_partial(observer: Any, state: State) -> dict[str, Any]:
    return observer(state)


def _observe_jit(observer: Any, state: State) -> dict[str, Any]:
    """The observables of one state, jitted (compiled once per model structure)."""
    if isinstance(observer, Partial):
        return _observe_partial(observer, state)
    return jax.jit(observer)(state)


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


def prepare(
    cfg: Config, out: str | Path, *, force: bool = False, allow_unstable: bool = False,
    log: Callable[[str], None] | None = None, stop: StopRequests | None = None,
) -> Prepared:
    """Every check a run makes before it writes anything (``nnfield run --dry-run`` stops here).

    Refuses (``ConfigError``) an unusable ``out``, (``InputError``) initial data that is non-finite or too
    large for the precision, (``UnstableError``) an unstable network unless ``allow_unstable``.
    """
    say = log or (lambda _msg: None)
    stop = stop or StopRequests()
    check_output_dir(out, force)
    from .resources import check_memory; check_memory(cfg)  # noqa: E702, I001 (the memory guard, before any work)
    model, state = build(cfg)
    stop.check()
    if not _all_finite(state):
        raise InputError(
            f"the initial data has NaN or Inf values (initial kind = {cfg.initial.kind!r}); check the [initial] "
            f"parameters in {cfg.source}"
        )
    observer = observer_for(model, state)
    obs0 = {k: np.asarray(v)[None] for k, v in jax.device_get(_observe_jit(observer, state)).items()}
    if _first_nonfinite(obs0) is not None:  # finite fields whose observables overflow: the input's fault
        bad = ", ".join(f"{k} = {float(v.ravel()[0]):g}" for k, v in obs0.items()
                        if v.size and not np.all(np.isfinite(v)))
        big = max(float(np.abs(np.asarray(x)).max()) for x in jax.tree_util.tree_leaves(state))
        raise InputError(
            f"the initial data is too large for {cfg.output.precision}: at step 0, before any update, {bad} "
            f"(largest field value {big:.3g}); check the [initial] parameters in {cfg.source} (e.g. amplitude)"
        )
    try:
        stab = check_stability(cfg, cfg.build_model())
    except NotAnalysableError as exc:  # e.g. a network that is not translation invariant; anything else surfaces
        first = (str(exc).strip().splitlines() or [""])[0]
        stab = Stability(True, float("nan"), float("nan"), cfg.time.dt, float("nan"), cfg.time.steps, error=first)
    say(stab.describe())
    if not stab.stable and not allow_unstable:
        raise UnstableError(stab.refusal(cfg.source))
    stop.check()
    return Prepared(model, state, observer, obs0, stab)


def _execute(
    cfg: Config, out: str | Path, force: bool, allow_unstable: bool, progress: bool, console: Any,
    log: Callable[[str], None] | None, stop: StopRequests,
) -> RunResult:
    p = prepare(cfg, out, force=force, allow_unstable=allow_unstable, log=log, stop=stop)
    out_dir, lock = prepare_output_dir(out, force)  # one run per directory until this run returns
    try:
        return _run_into(out_dir, cfg, p.model, p.state, p.observer, p.obs0, p.stability, progress, console, stop)
    finally:
        lock.release()


def _run_into(
    out_dir: Path, cfg: Config, model: AbstractModel, state: Any, observer: Any, obs0: dict[str, np.ndarray],
    stab: Stability, progress: bool, console: Any, stop: StopRequests,
) -> RunResult:
    """The chunked run of :func:`execute` into the prepared, locked ``out_dir`` (a recorded signal stops it
    between chunks)."""
    net = model.network
    config_file = out_dir / nio.CONFIG_FILE
    config_file.write_text(cfg.text, encoding="utf-8")

    lat = cfg.make_lattice()
    steps, every, snap = cfg.time.steps, cfg.output.every, cfg.output.snapshot_every
    tick = float(net.tick)
    chunk = choose_chunk(steps, every, snap, lat.size, cfg.output.chunk)
    K = net.K

    attrs = nio.provenance(cfg.text, cfg.initial.seed)
    attrs.update(
        theory=cfg.theory.name, network=net.name, scheme=cfg.time.scheme,
        shape=list(lat.shape), spacing=lat.spacing, dt=cfg.time.dt, tick=tick, steps=steps, K=K,
        every=every, snapshot_every=snap, chunk=chunk, precision=cfg.output.precision,
        initial=cfg.initial.kind, source=cfg.source, title=cfg.title, state="network",
        stable="unknown" if stab.error else str(stab.stable).lower(),
        max_amplification=stab.max_amplification, dt_max=stab.dt_max, steps_done=0, t_final=0.0,
    )
    run_file = out_dir / nio.RUN_FILE
    fields = {name: tuple(np.shape(x)) for name, x in field_items(state).items()}
    writer = nio.RunWriter(run_file, fields, cfg.dtype, attrs)
    done = 0
    t_start = time.perf_counter()
    first_chunk = 0.0
    later_time = 0.0
    later_steps = 0
    last_snap = -1
    status = nio.STATUS_FAILED

    def snapshot(s: State, step: int) -> None:
        nonlocal last_snap
        writer.append_snapshot(step, step * tick, {k: np.asarray(v) for k, v in field_items(s).items()})
        last_snap = step

    def record(obs: dict[str, Any], steps_: np.ndarray) -> None:
        writer.append_observables(steps_, steps_ * tick, obs)

    try:
        record(obs0, np.array([0]))
        snapshot(state, 0)
        writer.flush()
        with progress_bar(progress, console, steps) as bar:
            while done < steps:
                stop.check()
                n = min(chunk, steps - done)
                t0 = time.perf_counter()
                new_state, obs = network_run(net, state, n, every, observer)
                obs = {k: np.asarray(v) for k, v in jax.device_get(obs).items()} if obs is not None else {}
                ok_state = _all_finite(new_state)
                elapsed = time.perf_counter() - t0
                sample_steps = done + every * np.arange(1, n // every + 1)
                bad = _first_nonfinite(obs)
                if bad is not None or not ok_state:
                    keep = bad if bad is not None else len(sample_steps)
                    record({k: v[:keep] for k, v in obs.items()}, sample_steps[:keep])
                    last_good = int(sample_steps[keep - 1]) if keep else done
                    first_bad = int(sample_steps[bad]) if bad is not None else done + n
                    status = nio.STATUS_NONFINITE
                    writer.set_attrs(status=status, steps_done=last_good, t_final=last_good * tick,
                                     nonfinite_step=first_bad)
                    writer.flush()
                    raise NonFiniteError(
                        f"non-finite values (NaN or Inf) appeared between step {last_good} (t = {last_good * tick:g})"
                        f" and step {first_bad} (t = {first_bad * tick:g}); the run stopped and everything up to "
                        f"step {last_good} is kept in {run_file}. The network is probably unstable "
                        f"({stab.describe()}); see `nnfield analyze {cfg.source}`"
                    )
                record(obs, sample_steps)
                state = new_state
                done += n
                if snap and done % snap == 0:
                    snapshot(state, done)
                writer.set_attrs(steps_done=done, t_final=done * tick)
                writer.flush()
                if first_chunk == 0.0:
                    first_chunk = elapsed
                else:
                    later_time += elapsed
                    later_steps += n
                rate = (later_steps / later_time if later_time > 0 else n / max(elapsed, 1e-9)) * lat.size
                bar.advance(n, rate)
            if steps % every:
                obs_end = jax.device_get(_observe_jit(observer, state))
                if _first_nonfinite({k: np.asarray(v)[None] for k, v in obs_end.items()}) is None:
                    record({k: np.asarray(v)[None] for k, v in obs_end.items()}, np.array([steps]))
            if last_snap != steps:
                snapshot(state, steps)
        status = nio.STATUS_COMPLETED
    except KeyboardInterrupt:
        status = nio.STATUS_INTERRUPTED
        writer.set_attrs(status=status)
        raise
    finally:
        wall = time.perf_counter() - t_start
        rate = (later_steps / later_time if later_time > 0 else done / max(first_chunk, 1e-9)) * lat.size
        if status != nio.STATUS_NONFINITE:
            writer.set_attrs(status=status)
        writer.set_attrs(wall_seconds=wall, first_chunk_seconds=first_chunk, site_updates_per_second=rate)
        writer.close()

    data = nio.load_run(run_file, snapshots="none")
    conservation = verdicts(model.conserved(), data.observables, done, cfg.dtype)
    nio.set_attrs(run_file, conservation=json.dumps([v.as_dict() for v in conservation]))
    return RunResult(
        out_dir, run_file, config_file, status, steps, done, done * tick, wall, first_chunk, rate, chunk, stab,
        conservation,
    )
