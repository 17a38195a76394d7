"""The stability gate of a run: the linear stability of the configured network and its largest stable dt.

From the network's one-step Fourier symbol (:mod:`nnfield.analysis`). A network the linear analysis cannot
handle raises :class:`~nnfield.errors.NotAnalysableError` (the runner then goes on, saying so); any other
exception is a bug and surfaces.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from . import analysis
from .config import Config
from .errors import ParameterError

#: coarse Brillouin grids for the dt_max search during ``nnfield run`` (include k = 0, pi/2a and pi/a)
COARSE_GRID = {1: 64, 2: 16, 3: 8}
#: a lattice with at most this many sites is judged on its own momenta (:func:`nnfield.analysis.lattice_modes`),
#: verdict and ``dt_max`` exact; a larger one on Brillouin grids (its modes fill the zone densely; the symbol's
#: eigenvalues at every one of 10^5-10^7 momenta would cost more than the run's set-up)
EXACT_MODES_MAX = 4096


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
    #: the momenta judged: ``"the lattice's N modes"`` (exact) or ``"a n^D Brillouin grid"``
    modes: str = "a Brillouin grid"
    #: whether the verdict was read from the verdict cache (:func:`cached_stability`), not recomputed
    cached: bool = dataclasses.field(default=False, compare=False)
    #: of an unstable network whose growth per unit time ``ln(max |lambda|) / dt`` is the same at ``dt`` and
    #: ``dt / 4`` (:data:`PHYSICAL_RATE_TOL`): that rate, a physical instability of the linearized theory (a
    #: tachyonic mode, e.g. ``V''(0) < 0`` about ``phi = 0``), not of the scheme, whose growth per unit time
    #: vanishes as ``dt -> 0`` (explicit Euler: ``O(dt)``) or appears only above a dt (a CFL bound); else ``None``
    physical_rate: float | None = None

    @property
    def growth_over_run(self) -> float:
        """``max_amplification ** steps`` (inf when it overflows)."""
        with np.errstate(over="ignore"):
            return float(np.float64(self.max_amplification) ** self.steps)

    def describe(self) -> str:
        if self.error:
            return f"stability: not analysed ({self.error})"
        verdict = "stable" if self.stable else "UNSTABLE"
        dtm = _fmt_dt_max(self.dt_max)
        return (
            f"stability: {verdict}, max growth per step {self.max_amplification:.10g} "
            f"({100 * self.fraction_unstable:.3g}% of modes grow, on {self.modes}); dt = {self.dt:g}, largest stable "
            f"dt {dtm}"
            + (f"; the linearized theory itself grows at {self.physical_rate:.6g} per unit time at every dt (a "
               f"physical instability, e.g. V''(0) < 0)" if self.physical_rate is not None else "")
        )

    def refusal(self, source: str, scheme: str | None = None, cause: str | None = None) -> str:
        """The one-line refusal of an unstable run; ``scheme`` (the config's) and ``cause`` (a setting known to
        make the network grow at any dt, e.g. the paper's printed sign) make the advice for ``dt_max = 0``."""
        growth = self.growth_over_run
        over = f"{growth:.3g}" if math.isfinite(growth) else "> 1e308"
        if self.physical_rate is not None and not cause:  # a known cause (the printed sign) is named first
            return (
                f"refusing to run a network whose linearization grows at every dt: the worst mode grows by a factor "
                f"{self.max_amplification:.6g} per step (x {over} over {self.steps} steps, "
                f"{100 * self.fraction_unstable:.3g}% of modes grow) at dt = {self.dt:g}, at the rate "
                f"{self.physical_rate:.6g} per unit time, the same at dt / 4 and dt / 16: a physical instability "
                "of the theory "
                f"linearized about its ground state (a tachyonic mode, e.g. a potential without a minimum), not of the "
                f"scheme. Fix: if that growth is the physics you want (the nonlinear terms may stop it), pass "
                f"--allow-unstable to run anyway (`nnfield analyze {source}` shows the details)"
            )
        if self.dt_max == 0.0 and cause:
            fix = f"this network is unstable at every dt tried (dt / 100 to 100 dt): {cause}"
        elif self.dt_max == 0.0 and scheme == "leapfrog":
            fix = ("this network is unstable at every dt tried (dt / 100 to 100 dt), even with the leapfrog "
                   "scheme; check the lattice spacing and the theory's parameters")
        elif self.dt_max == 0.0:
            fix = ("this network is unstable at every dt tried (dt / 100 to 100 dt); use a stable scheme, e.g. "
                   "scheme = \"leapfrog\", or check the lattice spacing and the theory's parameters")
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
        return "0 (unstable at every dt tried)"
    return f"~{dt_max:.6g}"


def check_stability(cfg: Config, model: Any = None, coarse: bool = True) -> Stability:
    """Max growth factor per step of ``cfg``'s network and its largest stable dt: the gate of ``nnfield run``.

    :func:`network_stability` of the configured network, with ``cfg.build_model(dt).network`` as the factory of
    the ``dt_max`` bisection and the config's ``time.dt`` and ``time.steps``.
    """
    model = cfg.build_model() if model is None else model

    def factory(dt: float) -> Any:
        return cfg.build_model(dt).network

    return network_stability(model.network, factory, dt=cfg.time.dt, steps=cfg.time.steps, coarse=coarse)


def network_stability(network: Any, factory: Any = None, *, dt: float | None = None, steps: int = 1,
                      coarse: bool = True) -> Stability:
    """Linear stability of ``network`` (from its one-step Fourier symbol), judged as ``nnfield run`` judges a
    configured one: the verdict of a network built in Python, which ``Network.run`` does not check.

    A lattice of at most :data:`EXACT_MODES_MAX` sites is judged on its own momenta ``k = 2 pi n / (N a)``
    (:func:`nnfield.analysis.lattice_modes`): the verdict, the fraction of growing modes and the ``dt_max``
    bisection are then exact for runs on it (a 1-site Klein-Gordon lattice has only ``k = 0``: a leapfrog there
    is stable up to ``m dt = 2``, where the whole zone would bound it by ``dt^2 (m^2 + 4 D / a^2) <= 4``). A
    larger lattice is judged on the default Brillouin grid of :func:`nnfield.analysis.eigenvalues`, and the
    ``dt_max`` bisection (which rebuilds the network at other dt) uses a coarse grid when ``coarse`` (fast;
    includes ``k = 0, pi/(2a), pi/a`` on every axis; one of each ``(k, -k)``).

    Args:
        network: the network (its ``lattice`` decides the momenta).
        factory: ``dt -> network`` of the same recipe (e.g. ``lambda dt: kg.model(lat, m, dt).network``) for
            ``dt_max``; without it ``dt_max`` is nan.
        dt: the step the verdict is reported at and the bisection starts from (default ``network.tick``, the
            physical time per step: a builder's ``dt``); another ``dt`` judges ``factory(dt)`` (a
            :class:`~nnfield.errors.ParameterError` without a factory).
        steps: the number of steps of the intended run (``Stability.growth_over_run``).
    Raises:
        NotAnalysableError: a network the linear analysis cannot handle (e.g. per-site coefficients).
    """
    from ._checks import check_number
    from .network import AbstractNetwork, _check_count

    if not isinstance(network, AbstractNetwork):
        hint = "; pass model.network" if isinstance(getattr(network, "network", None), AbstractNetwork) else ""
        raise ParameterError("network", f"expected a network (nnfield.AbstractNetwork), got "
                             f"{type(network).__name__}{hint}")
    _check_count("steps", steps, 0)
    if factory is not None and not callable(factory):
        raise ParameterError("factory", f"expected a callable dt -> network or None, got {type(factory).__name__}")
    if dt is None:
        dt = float(network.tick)
    else:
        check_number("dt", dt, positive=True)
        dt = float(dt)
        if not math.isclose(dt, float(network.tick), rel_tol=1e-12):
            if factory is None:
                raise ParameterError("dt", f"the network steps by {float(network.tick):g}, got dt = {dt:g}; pass a "
                                     f"factory (dt -> network) to judge the recipe at another dt")
            network = factory(dt)
    if factory is not None:
        probe = factory(dt)
        if not isinstance(probe, AbstractNetwork) or probe.lattice != network.lattice:
            raise ParameterError("factory", f"expected factory(dt) to return a network on {network.lattice}, got "
                                 f"{getattr(probe, 'lattice', type(probe).__name__)}")
    m = judged_momenta(network.lattice, coarse_grid=coarse, subset=coarse)
    _, lam = analysis.eigenvalues(network, m.verdict)
    amp = np.abs(lam).max(axis=-1)
    stable = bool(amp.max() <= 1.0 + analysis.STABILITY_TOL)
    dt_max = (analysis.largest_stable_dt(factory, dt, k=m.search, coarse_k=m.subset) if factory is not None
              else math.nan)
    return Stability(
        stable=stable,
        max_amplification=float(amp.max()),
        fraction_unstable=float(np.mean(amp > 1.0 + analysis.STABILITY_TOL)),
        dt=dt,
        dt_max=float(dt_max),
        steps=int(steps),
        modes=m.label,
        physical_rate=None if stable or dt_max != 0.0 else _physical_rate(factory, dt, float(amp.max()), m.verdict),
    )


#: the growth rates per unit time at ``dt``, ``dt / 4`` and ``dt / 16`` agree to this (relative) for a physical
#: instability; explicit Euler's rate ``ln(1 + omega^2 dt^2) / (2 dt)`` falls by 4x per step once ``omega dt`` is
#: small, a CFL violation's vanishes
PHYSICAL_RATE_TOL = 0.1
#: the fractions of ``dt`` at which the rate is compared: with ``dt / 4`` alone, explicit Euler at ``omega dt``
#: about 3.6 (the paper's unit-step Klein-Gordon network, dt = 1) fell by only 10% and was called physical
PHYSICAL_RATE_FRACTIONS = (4, 16)


def _physical_rate(factory: Any, dt: float, amplification: float, momenta: Any) -> float | None:
    """``ln(max |lambda|) / dt`` when it is the same at ``dt / 4`` and ``dt / 16`` (to :data:`PHYSICAL_RATE_TOL`),
    else ``None``.

    A mode of the linearized theory with ``omega^2 = -kappa^2 < 0`` grows as ``exp(kappa t)``; a consistent scheme
    reproduces that at every small dt (leapfrog: ``|lambda| = exp(kappa dt) (1 + O(dt^2))``), so its growth per unit
    time does not depend on dt. A scheme's own instability grows per unit time at a rate that falls with dt
    (explicit Euler, ``O(dt)`` once ``omega dt`` is small) or vanishes below a bound (CFL)."""
    rate = math.log(amplification) / dt
    if not (math.isfinite(rate) and rate > 0):
        return None
    for n in PHYSICAL_RATE_FRACTIONS:
        _, lam = analysis.eigenvalues(factory(dt / n), momenta)
        rate_n = math.log(float(np.abs(lam).max())) * n / dt
        if not abs(rate_n / rate - 1) < PHYSICAL_RATE_TOL:
            return None
    return rate


@dataclasses.dataclass(frozen=True)
class Momenta:
    """The momenta a stability verdict judges (:func:`judged_momenta`); ``None``: :mod:`nnfield.analysis`'s
    default Brillouin grids."""

    verdict: list[np.ndarray] | None  #: of the verdict (growth factor, fraction of growing modes)
    search: list[np.ndarray] | None  #: of the ``dt_max`` search (one of each ``(k, -k)``)
    subset: list[np.ndarray] | None  #: a subset of ``search`` for the search's probes (``coarse_k``)
    label: str  #: ``"the lattice's N modes"`` or ``"a n^D Brillouin grid"``


def judged_momenta(lattice: Any, coarse_grid: bool = True, subset: bool = True) -> Momenta:
    """The momenta of the stability gate (and of ``nnfield analyze``) on ``lattice``: its own (all of them, up to
    :data:`EXACT_MODES_MAX` sites; ``subset``: the dt_max search probes a strided subset of them first), else the
    Brillouin grid, with the dt_max search on :data:`COARSE_GRID` when ``coarse_grid``."""
    n_modes = analysis.lattice_mode_count(lattice)
    per_axis = COARSE_GRID.get(lattice.ndim, 4)
    if n_modes <= EXACT_MODES_MAX:
        return Momenta(analysis.lattice_modes(lattice, half=False), analysis.lattice_modes(lattice),
                       analysis.lattice_subset_modes(lattice, per_axis) if subset else None,
                       f"the lattice's {n_modes} mode{'s' if n_modes > 1 else ''}")
    # one of each (k, -k) for the search: the moduli of their eigenvalues are equal (a real network's symbol)
    return Momenta(None, analysis.half_brillouin_grid(lattice, per_axis) if coarse_grid else None, None,
                   f"a {analysis._default_grid_size(lattice.ndim)}^{lattice.ndim} Brillouin grid")


# ----------------------------------------------------------------------------------------------------------
# the verdict cache
# ----------------------------------------------------------------------------------------------------------
#: the folder, inside JAX's persistent compilation cache, where the stability verdicts of earlier runs are kept
VERDICT_DIR = "nnfield-stability"


@functools.cache
def _source_digest() -> str:
    """SHA-256 over nnfield's own source files and the versions of JAX and NumPy: a verdict computed by other
    code is never reused."""
    import jax

    h = hashlib.sha256(f"jax {jax.__version__} numpy {np.__version__}".encode())
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@functools.cache
def _processor() -> str:
    """The CPU the verdict is computed on (``/proc/cpuinfo``'s model name, else :func:`platform.processor`, with
    the architecture): LAPACK's eigenvalues round differently on different CPUs (``max_amplification`` of
    ``kg_1d_packet`` differed by 1 ulp between an AMD EPYC and an Intel Xeon), so a verdict is not carried from
    one to the other."""
    import platform

    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.machine()} {model or platform.processor()}"


def _verdict_key(cfg: Config) -> str:
    """What the verdict depends on: the network's config (theory, lattice, dt, scheme, initial data, precision:
    :func:`~nnfield.checkpoint.config_hash`, without the number of steps), the contents of the files the theory
    and the initial data read, 64-bit mode, :func:`_source_digest`, the rule of which momenta are judged
    (:data:`EXACT_MODES_MAX`), the CPU (:func:`_processor`), and how the impulse kernel is compiled (the
    process's ``XLA_FLAGS`` and ``NNFIELD_XLA_DEFAULTS``): the test suite's ``nnfield`` processes compile without
    LLVM's optimizations, and a verdict one of them stored in the user's cache gave ``kg_1d_packet`` a
    ``max_amplification`` 1 ulp from a run's own (session 40)."""
    import jax

    from .checkpoint import config_hash

    files = {}  # e.g. gauged-dirac's `theory.file`, a gauge `initial.path`: their contents, not only their names
    for table, params in (("theory", cfg.theory.params), ("initial", cfg.initial.params)):
        for k, v in sorted(params.items()):
            if isinstance(v, str) and os.path.isfile(v):
                files[f"{table}.{k}"] = hashlib.sha256(Path(v).read_bytes()).hexdigest()
    compiler = {k: os.environ.get(k, "") for k in ("XLA_FLAGS", "NNFIELD_XLA_DEFAULTS")}
    content = [config_hash(cfg), files, bool(jax.config.read("jax_enable_x64")), _source_digest(),
               f"modes: the lattice's own up to {EXACT_MODES_MAX} sites", _processor(), compiler]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def verdict_cache_dir() -> Path | None:
    """Where verdicts are kept: ``<JAX's compilation cache dir>/nnfield-stability`` while JAX's persistent
    compilation cache is on (the ``nnfield`` command turns it on unless ``--no-compilation-cache`` or
    ``NNFIELD_COMPILATION_CACHE=0``), else ``None`` (no verdict cache)."""
    import jax

    root = jax.config.jax_compilation_cache_dir
    return Path(root) / VERDICT_DIR if root else None


def cached_stability(cfg: Config, compute: Any) -> Stability:
    """``compute(cfg)``, or the verdict an earlier run stored for the same network (:func:`_verdict_key`).

    The linear analysis of a run (a compiled impulse response and a bisection for ``dt_max``: 0.5-3 s) is a
    pure function of the configured network and of nnfield's code, so a rerun of the same config reads it back
    (``Stability.cached``). Kept beside JAX's compiled programs and switched off with them; any problem reading or
    writing the cache only means the analysis is recomputed.
    """
    folder = verdict_cache_dir()
    if folder is None:
        return compute(cfg)
    path = folder / f"{_verdict_key(cfg)}.json"
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        return Stability(
            stable=bool(d["stable"]), max_amplification=float(d["max_amplification"]),
            fraction_unstable=float(d["fraction_unstable"]), dt=cfg.time.dt, dt_max=float(d["dt_max"]),
            steps=cfg.time.steps, error=d["error"], modes=str(d["modes"]), cached=True,
            physical_rate=None if d["physical_rate"] is None else float(d["physical_rate"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        pass
    stab = compute(cfg)
    d = {k: getattr(stab, k) for k in ("stable", "max_amplification", "fraction_unstable", "dt_max", "error", "modes",
                                      "physical_rate")}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(d), encoding="utf-8")  # JSON keeps nan/inf (Python's float repr)
        os.replace(tmp, path)
    except OSError:
        pass
    return stab
