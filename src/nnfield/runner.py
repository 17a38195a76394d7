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
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import Partial

from . import analysis
from . import io as nio
from .config import Config
from .errors import ConfigError, NonFiniteError, UnstableError
from .network import run as network_run
from .state import State

#: files a run writes into its output directory (removed by ``--force``; nothing else is touched)
OWNED_FILES = (nio.RUN_FILE, nio.CONFIG_FILE)
OWNED_GLOBS = ("*.png",)
#: coarse Brillouin grids for the dt_max search during ``nnfield run`` (include k = 0, pi/2a and pi/a)
COARSE_GRID = {1: 64, 2: 16, 3: 8}
#: observables whose relative drift is summarised after a run
CONSERVED_HINTS = ("energy", "charge", "norm")


# ----------------------------------------------------------------------------------------------------------
# stability
# ----------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Stability:
    """Linear stability of the configured network (from its one-step Fourier symbol)."""

    stable: bool
    max_amplification: float
    fraction_unstable: float
    dt: float
    dt_max: float
    steps: int
    error: str | None = None

    @property
    def growth_over_run(self) -> float:
        """``max_amplification ** steps`` (inf when it overflows)."""
        with np.errstate(over="ignore"):
            return float(np.float64(self.max_amplification) ** self.steps)

    def describe(self) -> str:
        if self.error:
            return f"stability: not analysed (the linear analysis needs a translation-invariant network; {self.error})"
        verdict = "stable" if self.stable else "UNSTABLE"
        dtm = _fmt_dt_max(self.dt_max)
        return (
            f"stability: {verdict}, max growth per step {self.max_amplification:.10g} "
            f"({100 * self.fraction_unstable:.3g}% of modes grow); dt = {self.dt:g}, largest stable dt {dtm}"
        )

    def refusal(self, source: str) -> str:
        growth = self.growth_over_run
        over = f"{growth:.3g}" if math.isfinite(growth) else "> 1e308"
        if self.dt_max == 0.0:
            fix = "this network is unstable at every dt; use a stable scheme, e.g. scheme = \"leapfrog\""
        elif math.isfinite(self.dt_max):
            fix = f"lower time.dt below {self.dt_max:.6g}"
        else:
            fix = "check the theory parameters"
        return (
            f"refusing to run an unstable network: the worst mode grows by a factor {self.max_amplification:.6g} "
            f"per step (x {over} over {self.steps} steps, {100 * self.fraction_unstable:.3g}% of modes grow) at "
            f"dt = {self.dt:g}; the largest stable dt is {_fmt_dt_max(self.dt_max)}. Fix: {fix}, or pass "
            f"--allow-unstable to run anyway (`nnfield analyze {source}` shows the details)"
        )


def _fmt_dt_max(dt_max: float) -> str:
    if math.isnan(dt_max):
        return "unknown"
    if math.isinf(dt_max):
        return "unbounded (stable at every dt probed)"
    if dt_max == 0.0:
        return "0 (unstable at every dt)"
    return f"~{dt_max:.6g}"


def check_stability(cfg: Config, model: Any = None, coarse: bool = True) -> Stability:
    """Max growth factor per step of ``cfg``'s network and its largest stable dt.

    The verdict uses the default Brillouin grid of :func:`nnfield.analysis.eigenvalues`; the ``dt_max``
    bisection (which rebuilds the model at other dt) uses a coarse grid when ``coarse`` (fast; includes
    ``k = 0, pi/(2a), pi/a`` on every axis).
    """
    model = cfg.build_model() if model is None else model
    net = model.network
    _, lam = analysis.eigenvalues(net)
    amp = np.abs(lam).max(axis=-1)
    lat = cfg.make_lattice()
    grid = analysis.brillouin_grid(lat, COARSE_GRID.get(lat.ndim, 4)) if coarse else None

    def factory(dt: float) -> Any:
        return cfg.build_model(dt).network

    dt_max = analysis.largest_stable_dt(factory, cfg.time.dt, k=grid)
    return Stability(
        stable=bool(amp.max() <= 1.0 + analysis.STABILITY_TOL),
        max_amplification=float(amp.max()),
        fraction_unstable=float(np.mean(amp > 1.0 + analysis.STABILITY_TOL)),
        dt=cfg.time.dt,
        dt_max=float(dt_max),
        steps=cfg.time.steps,
    )


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


def build(cfg: Config) -> tuple[Any, State]:
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


def _observe(model: Any, state: State) -> dict[str, Any]:
    return model.observables(state)


def observer_for(model: Any, state: State | None = None) -> Callable[[State], dict[str, Any]]:
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


def _largest_divisor_at_most(n: int, limit: int) -> int:
    best = 1
    for d in range(1, int(math.isqrt(max(n, 1))) + 1):
        if n % d == 0:
            for c in (d, n // d):
                if best < c <= limit:
                    best = c
    return best


def choose_chunk(steps: int, every: int, snapshot_every: int, sites: int, chunk: int | None = None) -> int:
    """Ticks per jitted chunk: a multiple of ``every`` dividing ``snapshot_every``, ~2e7 site-updates or
    1/20 of the run (whichever is smaller), preferring a length that divides ``steps`` (one compilation)."""
    if chunk:
        return int(chunk)
    target = max(every, min(max(1, math.ceil(steps / 20)), max(1, int(2e7 // max(sites, 1)))))
    qmax = max(1, target // every)
    best = _largest_divisor_at_most(snapshot_every // every, qmax) if snapshot_every else qmax
    if steps % every == 0:
        n_obs = steps // every
        g = math.gcd(n_obs, snapshot_every // every) if snapshot_every else n_obs
        exact = _largest_divisor_at_most(g, qmax)
        if 4 * exact >= best:
            best = exact
    return best * every


# ----------------------------------------------------------------------------------------------------------
# output directory
# ----------------------------------------------------------------------------------------------------------
def check_output_dir(out: str | Path, force: bool) -> Path:
    """Refuse (``ConfigError``) an output path that is a file, or a non-empty directory without ``force``."""
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise ConfigError(f"--out {p}: exists and is not a directory; choose another --out")
    if p.is_dir() and any(p.iterdir()) and not force:
        raise ConfigError(
            f"--out {p}: the output directory already exists and is not empty; pass --force to overwrite "
            f"its run files, or choose another --out"
        )
    return p


def prepare_output_dir(out: str | Path, force: bool) -> Path:
    """Create ``out``; an existing non-empty directory needs ``force`` (which removes only nnfield's files:
    ``run.h5``, ``config.toml`` and ``*.png``; anything else in it is left alone)."""
    p = check_output_dir(out, force)
    if p.is_dir():
        for name in OWNED_FILES:
            (p / name).unlink(missing_ok=True)
        for pattern in OWNED_GLOBS:
            for f in p.glob(pattern):
                f.unlink()
    p.mkdir(parents=True, exist_ok=True)
    return p


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
    drift: dict[str, float]


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
    say = log or (lambda _msg: None)
    check_output_dir(out, force)
    model, state = build(cfg)
    if not _all_finite(state):
        raise NonFiniteError(
            f"the initial state has NaN or Inf values (initial kind = {cfg.initial.kind!r}); check the [initial] "
            f"parameters in {cfg.source}"
        )
    net = model.network
    try:
        stab = check_stability(cfg, cfg.build_model())
    except (ConfigError, UnstableError):
        raise
    except Exception as exc:  # e.g. a network that is not translation invariant
        first = (str(exc).strip().splitlines() or [""])[0]
        stab = Stability(True, float("nan"), float("nan"), cfg.time.dt, float("nan"), cfg.time.steps,
                         error=f"{type(exc).__name__}: {first}")
    say(stab.describe())
    if not stab.stable and not allow_unstable:
        raise UnstableError(stab.refusal(cfg.source))

    out_dir = prepare_output_dir(out, force)
    config_file = out_dir / nio.CONFIG_FILE
    config_file.write_text(cfg.text, encoding="utf-8")

    lat = cfg.make_lattice()
    steps, every, snap = cfg.time.steps, cfg.output.every, cfg.output.snapshot_every
    tick = float(getattr(net, "tick", cfg.time.dt))
    chunk = choose_chunk(steps, every, snap, lat.size, cfg.output.chunk)
    observer = observer_for(model, state)
    K = int(np.shape(state.phi)[0])

    attrs = nio.provenance(cfg.text, cfg.initial.seed)
    attrs.update(
        theory=cfg.theory.name, network=str(getattr(net, "name", type(net).__name__)), scheme=cfg.time.scheme,
        shape=list(lat.shape), spacing=lat.spacing, dt=cfg.time.dt, tick=tick, steps=steps, K=K,
        every=every, snapshot_every=snap, chunk=chunk, precision=cfg.output.precision,
        initial=cfg.initial.kind, source=cfg.source, title=cfg.title, state="network",
        stable="unknown" if stab.error else str(stab.stable).lower(),
        max_amplification=stab.max_amplification, dt_max=stab.dt_max,
    )
    run_file = out_dir / nio.RUN_FILE
    writer = nio.RunWriter(run_file, (K, *lat.shape), cfg.dtype, attrs)
    done = 0
    t_start = time.perf_counter()
    first_chunk = 0.0
    later_time = 0.0
    later_steps = 0
    last_snap = -1
    status = nio.STATUS_FAILED
    drift: dict[str, float] = {}

    def snapshot(s: State, step: int) -> None:
        nonlocal last_snap
        writer.append_snapshot(step, step * tick, np.asarray(s.phi), np.asarray(s.pi))
        last_snap = step

    def record(obs: dict[str, Any], steps_: np.ndarray) -> None:
        writer.append_observables(steps_, steps_ * tick, obs)

    try:
        obs0 = jax.device_get(_observe_jit(observer, state))
        record({k: np.asarray(v)[None] for k, v in obs0.items()}, np.array([0]))
        snapshot(state, 0)
        writer.flush()
        with _progress(progress, console, steps) as bar:
            while done < steps:
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
    for name, values in data.observables.items():
        if values.ndim == 1 and any(h in name for h in CONSERVED_HINTS):
            drift[name] = data.max_relative_drift(name)
    return RunResult(
        out_dir, run_file, config_file, status, steps, done, done * tick, wall, first_chunk, rate, chunk, stab, drift
    )


# ----------------------------------------------------------------------------------------------------------
# progress bar
# ----------------------------------------------------------------------------------------------------------
class _Bar:
    def __init__(self, progress: Any, task: Any) -> None:
        self.progress, self.task = progress, task

    def advance(self, n: int, rate: float) -> None:
        if self.progress is not None:
            self.progress.update(self.task, advance=n, rate=_fmt_rate(rate), description="running")


def _fmt_rate(rate: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if rate >= scale:
            return f"{rate / scale:.3g} {unit}site-upd/s"
    return f"{rate:.3g} site-upd/s"


class _progress:
    """A rich progress bar (steps, elapsed, ETA, site-updates/s) on stderr; a no-op when disabled."""

    def __init__(self, enabled: bool, console: Any, total: int) -> None:
        self.enabled, self.console, self.total = enabled, console, total
        self.progress: Any = None

    def __enter__(self) -> _Bar:
        if not self.enabled:
            return _Bar(None, None)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description:>9}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("steps"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[rate]}"),
            console=self.console or Console(stderr=True),
        )
        self.progress.__enter__()
        task = self.progress.add_task("compiling", total=self.total, rate="")
        return _Bar(self.progress, task)

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)
