"""Verdicts on the quantities a model declares conserved (:meth:`nnfield.model.AbstractModel.conserved`).

A run's summary reports exactly the declared quantities, each by its kind:

- an **invariant** (conserved to round-off by the discrete map): its maximum relative drift
  ``max_t |Q(t) - Q(0)| / |Q(0)|`` against a round-off bound ``1e3 eps sqrt(steps)`` (``eps`` of the run's
  precision: the sum of ``steps`` rounding errors of relative size ``~eps`` grows like a random walk);
- a **bounded** quantity (oscillates with an amplitude of the scheme's order in ``dt``, no secular drift): its
  secular trend, the change over the run of the least-squares line through the samples, and its relative
  oscillation about that line (``max - min`` of the residual); "no secular drift" when the trend does not
  exceed the oscillation (or the round-off bound) and the oscillation does not exceed the quantity itself
  (:data:`BOUNDED_LIMIT`: a growth by orders of magnitude, a blow-up that stayed finite, has a residual about
  its line as large as its trend and would otherwise pass).

The scale ``|Q(0)|`` is replaced by ``max_t |Q(t)|`` when ``Q(0) = 0``, and by ``|S(0)|`` when the quantity
declares a scale observable ``S`` (:attr:`nnfield.model.Conserved.scale`) and is zero to round-off of it
(``max_t |Q(t)| <= 1e3 eps sqrt(steps) |S(0)|``, the invariant's round-off bound): judged relative to itself, a
quantity that is zero to round-off oscillates by its own size (a 1+1 Dirac packet of equal positive- and
negative-energy parts on 12 sites has ``energy`` ~1e-16 throughout, and was called "NOT BOUNDED").

A line through a few samples of an oscillation tilts by about the oscillation itself (for ``n`` samples at
unrelated phases of an oscillation of amplitude ``A`` the fitted change over the run scatters by ``~A
sqrt(6/n)``, and with two samples the residual is zero whatever the change), so a bounded quantity with fewer
than :data:`MIN_TREND_SAMPLES` samples is **not judged** for a trend: its verdict says so (``judged = False``),
the run's verdict does not count it as a failure, and only the blow-up bound (:data:`BOUNDED_LIMIT`) applies.

Nor is a bounded quantity judged for a trend when its samples move **one way over the whole run** (no interior
extremum beyond round-off): then the record holds no oscillation to compare a trend with, and a drift looks like
part of an oscillation slower than the run (a Klein-Gordon packet's energy error over less than one of its
periods moves one way and was called "DRIFTS"). The verdict says so and asks for a longer run; a real drift shows
as one once the run records the oscillation that rides on it, and a growth by orders of magnitude is still
"NOT BOUNDED". The same holds for a record of **less than one full oscillation** (fewer than three turning points:
one extremum, or a maximum and a minimum) whose trend exceeds its oscillation: such a record is not judged rather
than called "DRIFTS" (a trend within the recorded oscillation is still judged OK, as before): the line through 0.6,
0.8, 0.9 and 1.0 periods of a pure oscillation
(200 samples, random phase) tilts by more than its residual in 67%, 49%, 35% and 8% of draws, and in none from 1.1
periods on (``tests/test_conservation_s28.py``); short runs of the 2D Maxwell wave, the sine-Gordon kink and the
Dirac mass sweep (40 steps) were called "DRIFTS".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .model import INVARIANT, Conserved


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What a run measured for one declared conserved quantity."""

    name: str
    kind: str
    doc: str
    relative_drift: float
    oscillation: float
    trend: float
    tolerance: float
    ok: bool
    samples: int = 0
    judged: bool = True
    #: why a bounded quantity was not judged for a trend: :data:`FEW_SAMPLES`, :data:`ONE_WAY` or
    #: :data:`PART_PERIOD` (else empty)
    not_judged_because: str = ""
    #: the declared scale observable the quantity was judged relative to, being zero to round-off of it (else empty)
    relative_to: str = ""

    def line(self) -> str:
        """One line for the run summary, e.g. ``discrete_energy (exact invariant): conserved to 3.1e-15
        (round-off bound 3.2e-11): OK``."""
        zero = f", zero to round-off of {self.relative_to}" if self.relative_to else ""
        if self.kind == INVARIANT:
            if self.ok:
                return (f"{self.name} (exact invariant{zero}): conserved to {self.relative_drift:.2g} "
                        f"(round-off bound {self.tolerance:.2g}): OK")
            return (f"{self.name} (exact invariant{zero}): drifted by {self.relative_drift:.2g}, more than round-off "
                    f"({self.tolerance:.2g}): NOT CONSERVED")
        if not self.judged and self.not_judged_because == ONE_WAY:
            verdict = ("it moves one way over the whole run, so no oscillation was recorded to tell a drift from an "
                       "oscillation slower than the run: NOT JUDGED (run longer)")
        elif not self.judged and self.not_judged_because == PART_PERIOD:
            verdict = ("it records less than one full oscillation (fewer than 3 turning points), too little to tell "
                       "a drift from an oscillation slower than the run: NOT JUDGED (run longer)")
        elif not self.judged:
            verdict = (f"too few samples ({self.samples}, at least {MIN_TREND_SAMPLES}) to tell a trend from the "
                       f"oscillation: NOT JUDGED (record more often: output.every)")
        elif self.ok:
            verdict = "no secular drift: OK"
        elif self.oscillation > BOUNDED_LIMIT:
            verdict = "it changes by more than its own size: NOT BOUNDED"
        else:
            verdict = "the trend exceeds the oscillation: DRIFTS"
        return (f"{self.name} (bounded{zero}): oscillates within {self.oscillation:.2g} (relative), secular trend "
                f"{self.trend:.2g}; {verdict}")

    def as_dict(self) -> dict[str, Any]:
        """The fields (the run file's ``conservation`` attribute); ``relative_to`` only where it is set, so the
        attribute of every other verdict is as before session 41."""
        out = dataclasses.asdict(self)
        if not out["relative_to"]:
            del out["relative_to"]
        return out


#: the largest relative oscillation a bounded quantity may have (its own size)
BOUNDED_LIMIT = 1.0

#: the fewest samples from which a bounded quantity's trend is judged. A pure oscillation sampled at random phases
#: is called a drift by the trend test in 0.18% of 4000 draws at 16 samples, 0.8% at 12, 5% at 8, 12% at 6,
#: always at 2 (``tests/test_conservation.py::test_few_samples_of_an_oscillation_are_not_judged_for_a_trend``)
MIN_TREND_SAMPLES = 16

#: the reasons a bounded quantity is not judged for a trend (:attr:`Verdict.not_judged_because`)
FEW_SAMPLES = "too few samples"
ONE_WAY = "no oscillation recorded"
PART_PERIOD = "less than one oscillation recorded"
#: the fewest turning points (interior extrema beyond round-off) of a record judged for a trend: one full oscillation
MIN_TURNING_POINTS = 3


def _steps(q: np.ndarray, dtype: Any) -> np.ndarray:
    """The successive differences of ``q`` larger than round-off (``8 eps max |q|``, ``eps`` of the precision)."""
    d = np.diff(q)
    return d[np.abs(d) > 8 * float(np.finfo(np.dtype(dtype)).eps) * float(np.abs(q).max())]


def moves_one_way(q: np.ndarray, dtype: Any) -> bool:
    """Whether the samples ``q`` move one way only: no sign change among their successive differences larger than
    round-off (``8 eps max |q|``, ``eps`` of the run's precision)."""
    d = _steps(q, dtype)
    return d.size > 0 and bool(np.all(d > 0) or np.all(d < 0))


def turning_points(q: np.ndarray, dtype: Any) -> int:
    """The interior extrema of the samples ``q``: sign changes among their successive differences larger than
    round-off (0 for a record that :func:`moves_one_way`)."""
    d = _steps(q, dtype)
    return int(np.count_nonzero(np.sign(d[1:]) != np.sign(d[:-1])))


def roundoff_tolerance(steps: int, dtype: Any) -> float:
    """``1e3 eps sqrt(steps)``: the relative drift of an exact invariant that round-off can explain."""
    eps = float(np.finfo(np.dtype(dtype)).eps)
    return 1e3 * eps * math.sqrt(max(int(steps), 1))


def verdict(quantity: Conserved, values: Sequence[float], steps: int, dtype: Any,
            reference: Sequence[float] | None = None) -> Verdict:
    """The :class:`Verdict` of one declared quantity from its recorded samples (first sample: ``t = 0``);
    ``reference``: the samples of its declared scale observable (:attr:`~nnfield.model.Conserved.scale`), if any."""
    q = np.asarray(values, dtype=float).ravel()
    tol = roundoff_tolerance(steps, dtype)
    if q.size == 0 or not np.all(np.isfinite(q)):
        return Verdict(quantity.name, quantity.kind, quantity.doc, math.inf, math.inf, math.inf, tol, False)
    scale = abs(q[0]) if q[0] != 0 else float(np.abs(q).max())
    relative_to = ""
    ref = np.asarray([] if reference is None else reference, dtype=float).ravel()
    if ref.size and np.isfinite(ref[0]) and ref[0] != 0 and float(np.abs(q).max()) <= tol * abs(ref[0]):
        scale, relative_to = abs(float(ref[0])), quantity.scale  # (zero to round-off of its declared scale)
    scale = scale if scale > 0 else 1.0
    drift = float(np.abs(q - q[0]).max() / scale)
    osc = float((q.max() - q.min()) / scale)
    if q.size > 1:  # least-squares line through the samples: its change over the run is the secular trend
        t = np.linspace(-1.0, 1.0, q.size)
        slope = float(np.dot(t, q - q.mean()) / np.dot(t, t))
        trend = float(abs(2.0 * slope) / scale)
        osc = float(np.ptp(q - slope * t) / scale)
    else:
        trend = 0.0
    why = ""
    if quantity.kind != INVARIANT and trend > tol:
        # (less than one oscillation withholds only a DRIFTS: a trend within the recorded oscillation stays OK)
        part = turning_points(q, dtype) < MIN_TURNING_POINTS and trend > max(osc, tol)
        why = (FEW_SAMPLES if q.size < MIN_TREND_SAMPLES else ONE_WAY if moves_one_way(q, dtype) else
               PART_PERIOD if part else "")
    judged = not why
    if quantity.kind == INVARIANT:
        ok = drift <= tol
    else:  # (not judged for a trend: only the blow-up bound)
        ok = (trend <= max(osc, tol) or not judged) and osc <= BOUNDED_LIMIT
    if osc > BOUNDED_LIMIT:
        judged, why = True, ""  # a blow-up is one whatever the sampling
    return Verdict(quantity.name, quantity.kind, quantity.doc, drift, osc, trend, tol, bool(ok), int(q.size),
                   bool(judged), why, relative_to)


def verdicts(
    declared: Sequence[Conserved], observables: Mapping[str, Any], steps: int, dtype: Any
) -> list[Verdict]:
    """Verdicts of every declared quantity found among the recorded ``observables`` (with its declared scale's
    samples where it names one and they were recorded)."""
    return [verdict(c, observables[c.name], steps, dtype, observables[c.scale] if c.scale in observables else None)
            for c in declared if c.name in observables]
