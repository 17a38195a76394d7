"""The stability gate of a run: the linear stability of the configured network and its largest stable dt.

From the network's one-step Fourier symbol (:mod:`nnfield.analysis`). A network the linear analysis cannot
handle raises :class:`~nnfield.errors.NotAnalysableError` (the runner then goes on, saying so); any other
exception is a bug and surfaces.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from . import analysis
from .config import Config

#: coarse Brillouin grids for the dt_max search during ``nnfield run`` (include k = 0, pi/2a and pi/a)
COARSE_GRID = {1: 64, 2: 16, 3: 8}


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
            return f"stability: not analysed ({self.error})"
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
