"""The run summary's verdicts on declared conserved quantities (nnfield.conservation), on synthetic series."""

import math

import numpy as np
import pytest

from nnfield.conservation import roundoff_tolerance, verdict
from nnfield.model import Conserved

INV = Conserved("q", "invariant")
BND = Conserved("e", "bounded")


def test_roundoff_tolerance_scales_with_eps_and_sqrt_steps():
    assert roundoff_tolerance(100, np.float64) == pytest.approx(1e3 * np.finfo(np.float64).eps * 10)
    assert roundoff_tolerance(100, np.float32) == pytest.approx(1e3 * np.finfo(np.float32).eps * 10)
    assert roundoff_tolerance(0, np.float64) == roundoff_tolerance(1, np.float64)


def test_invariant_within_roundoff_is_ok_and_a_real_drift_is_not():
    q = 2.0 * (1 + 1e-15 * np.sin(np.arange(50)))
    v = verdict(INV, q, 1000, np.float64)
    assert v.ok and v.relative_drift <= 2e-15 and "conserved to" in v.line() and v.line().endswith("OK")
    q = 2.0 * (1 + 1e-6 * np.arange(50))
    v = verdict(INV, q, 1000, np.float64)
    assert not v.ok and v.relative_drift == pytest.approx(49e-6) and "NOT CONSERVED" in v.line()


def test_bounded_oscillation_is_ok_and_a_secular_trend_is_not():
    t = np.linspace(0, 40 * np.pi, 400)
    v = verdict(BND, 1.0 + 1e-3 * np.sin(t), 400, np.float64)
    assert v.ok and v.oscillation == pytest.approx(2e-3, rel=0.05) and v.trend < 1e-4 and "no secular drift" in v.line()
    v = verdict(BND, 1.0 + 1e-4 * np.sin(t) + 1e-2 * t / t[-1], 400, np.float64)
    assert not v.ok and v.trend > v.oscillation * 0.5 and "DRIFTS" in v.line()


def test_zero_initial_value_and_non_finite_samples():
    v = verdict(INV, [0.0, 1e-17, -1e-17], 10, np.float64)
    assert v.relative_drift == pytest.approx(1.0)  # scale: max |q| when q(0) = 0
    v = verdict(BND, [1.0, math.nan], 10, np.float64)
    assert not v.ok and math.isinf(v.relative_drift)


def test_a_growth_by_orders_of_magnitude_is_not_bounded():
    """Exponential growth that stays finite (an unstable network run with ``--allow-unstable``) has a residual
    about its least-squares line as large as the line's change, so "trend <= oscillation" alone passed it
    ("oscillates within 5.9e+84 ... no secular drift: OK", measured on a sweep member): a bounded quantity
    must also oscillate by less than its own size."""
    t = np.linspace(0, 1, 200)
    v = verdict(BND, np.exp(60 * t), 200, np.float64)
    assert not v.ok and v.oscillation > 1 and "NOT BOUNDED" in v.line()
    v = verdict(BND, 1.0 + 0.4 * np.sin(40 * t), 200, np.float64)  # a large but bounded oscillation
    assert v.ok


def test_few_samples_of_an_oscillation_are_not_judged_for_a_trend():
    """A line through a few samples of an oscillation tilts by about the oscillation itself: with fewer than
    MIN_TREND_SAMPLES samples a bounded quantity is not judged for a trend (not a failure), and the rate at which
    the trend test calls a pure oscillation at random phases a drift is the one MIN_TREND_SAMPLES's comment
    states (4000 draws, fixed seed)."""
    from nnfield.conservation import MIN_TREND_SAMPLES

    rng = np.random.default_rng(0)

    def false_drifts(n: int) -> float:
        calls = [verdict(BND, 1.0 + 1e-4 * np.sin(rng.uniform(0, 2 * np.pi, n)), 1000, np.float64)
                 for _ in range(4000)]
        return float(np.mean([v.trend > max(v.oscillation, v.tolerance) for v in calls]))

    assert false_drifts(2) == 1.0 and false_drifts(6) > 0.05
    assert false_drifts(MIN_TREND_SAMPLES) < 0.005
    # two samples 1e-4 apart (every = 100 of a 100-step run): not judged, not a failure, said in the line
    v = verdict(BND, [1.0, 1.0001], 100, np.float64)
    assert v.ok and not v.judged and v.samples == 2 and "NOT JUDGED" in v.line() and "output.every" in v.line()
    # a trend within round-off is judged (OK) whatever the count; a blow-up is one whatever the count
    v = verdict(BND, [1.0, 1.0 + 1e-16], 100, np.float64)
    assert v.ok and v.judged
    v = verdict(BND, [1.0, 50.0, 3000.0], 100, np.float64)
    assert not v.ok and v.judged and "NOT BOUNDED" in v.line()
    # from MIN_TREND_SAMPLES samples on, a real trend on which the oscillation is recorded is a drift
    n = MIN_TREND_SAMPLES
    v = verdict(BND, 1.0 + 1e-3 * np.linspace(0, 1, n) + 1e-4 * (-1.0) ** np.arange(n), 100, np.float64)
    assert not v.ok and v.judged and "DRIFTS" in v.line()


def test_a_record_that_moves_one_way_is_not_judged_for_a_trend():
    """Samples that move one way over the whole run hold no oscillation to compare a trend with: a quarter or a
    half of one slow period looks like a drift (a user saw "DRIFTS" on a Klein-Gordon packet's energy over less
    than one of its periods). Not judged, said in the line and not a failure; a blow-up is still NOT BOUNDED, a
    drift whose oscillation is recorded still DRIFTS, and a flat record within round-off is judged OK."""
    from nnfield.conservation import ONE_WAY, moves_one_way

    for span in (0.25, 0.5):  # a quarter and a half of one period, 200 samples
        q = 1.0 + 1e-4 * np.cos(2 * np.pi * span * np.linspace(0, 1, 200))
        v = verdict(BND, q, 2000, np.float64)
        assert v.ok and not v.judged and v.not_judged_because == ONE_WAY and v.trend > v.oscillation
        assert "NOT JUDGED (run longer)" in v.line() and "moves one way" in v.line()
    # the same quantity over three periods is judged, and OK
    v = verdict(BND, 1.0 + 1e-4 * np.cos(2 * np.pi * 3 * np.linspace(0, 1, 200)), 2000, np.float64)
    assert v.ok and v.judged
    # a drift with its oscillation recorded (test above) and a growth by orders of magnitude stay failures
    v = verdict(BND, np.exp(60 * np.linspace(0, 1, 200)), 200, np.float64)
    assert not v.ok and v.judged and "NOT BOUNDED" in v.line()
    # round-off jitter does not count as an extremum of a one-way record; a flat record is not one way
    ramp = 1.0 + 1e-6 * np.linspace(0, 1, 100)
    assert moves_one_way(ramp + 2e-16 * (-1.0) ** np.arange(100), np.float64)
    assert not moves_one_way(np.ones(50), np.float64)
    v = verdict(BND, np.ones(50) + 1e-16 * (-1.0) ** np.arange(50), 100, np.float64)
    assert v.ok and v.judged
