"""A bounded quantity is called DRIFTS only when its record holds one full oscillation (session 28).

A line through less than one period of an oscillation tilts by about the oscillation itself: 40-step runs of the
2D Maxwell wave, the sine-Gordon kink and the Dirac mass sweep were called "DRIFTS" (a pure oscillation over 0.6,
0.8, 0.9 and 1.0 periods, 200 samples at a random phase: 67%, 49%, 35% and 8% of draws). Such a record (fewer than
three turning points) with a trend beyond its oscillation is now "NOT JUDGED (run longer)", as a record that moves
one way already was; a trend within the recorded oscillation is still judged OK (the shipped Maxwell-Dirac
examples' charge).
"""

from __future__ import annotations

import numpy as np
import pytest

from nnfield.conservation import MIN_TURNING_POINTS, PART_PERIOD, turning_points, verdict
from nnfield.model import Conserved

BND = Conserved("energy", "bounded", "")


def _pure(span: float, phase: float, n: int = 200) -> np.ndarray:
    return 1.0 + 1e-4 * np.cos(2 * np.pi * span * np.linspace(0, 1, n) + phase)


@pytest.mark.parametrize("span", [0.6, 0.8, 0.9, 1.0])
def test_less_than_one_oscillation_is_never_called_a_drift(span: float) -> None:
    rng = np.random.default_rng(0)
    calls = [verdict(BND, _pure(span, rng.uniform(0, 2 * np.pi)), 2000, np.float64) for _ in range(300)]
    assert all(v.ok for v in calls)
    assert all(v.judged for v in calls if v.trend <= max(v.oscillation, v.tolerance))  # OK stays a judged OK
    assert all(v.judged for v in calls if turning_points(_pure(span, 0.0), np.float64) >= MIN_TURNING_POINTS)
    tilted = [v for v in calls if v.trend > max(v.oscillation, v.tolerance)]  # what the old rule called DRIFTS
    assert tilted and all(not v.judged and v.not_judged_because == PART_PERIOD for v in tilted)
    assert "less than one full oscillation" in tilted[0].line() and "NOT JUDGED (run longer)" in tilted[0].line()


def test_two_oscillations_are_judged_and_a_drift_on_them_is_one() -> None:
    """Two periods hold three turning points at any phase (1.5 periods at 98% of phases): judged, and OK."""
    rng = np.random.default_rng(1)
    for _ in range(200):
        v = verdict(BND, _pure(2.0, rng.uniform(0, 2 * np.pi)), 2000, np.float64)
        assert v.judged and v.ok
    t = np.linspace(0, 1, 200)
    v = verdict(BND, _pure(2.0, 0.3) + 5e-4 * t, 2000, np.float64)  # a drift 2.5x the oscillation's range
    assert v.judged and not v.ok and "DRIFTS" in v.line()


def test_turning_points_ignore_round_off() -> None:
    ramp = 1.0 + 1e-6 * np.linspace(0, 1, 100)
    assert turning_points(ramp + 2e-16 * (-1.0) ** np.arange(100), np.float64) == 0
    assert turning_points(_pure(2.0, 0.0), np.float64) == 3  # (interior extrema at 1/2, 1 and 3/2 periods)
