"""Shared assertions of the gauge-dynamics tests (``test_maxwell.py``, ``test_scalar_qed.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nnfield.conservation import verdicts
from nnfield.network import run


def assert_energy_bounded_at_order_2(make: Callable[[float], Any], phi: Any, pi: Any, dt: float, window: float,
                                     dts: tuple[float, ...] = (0.1, 0.05, 0.025)) -> None:
    """``make(dt)`` a model: over 1e5 steps at ``dt`` the energy has no secular drift (the least-squares trend is a
    fraction of the oscillation; the error band of the last tenth is no wider than that of the first) and Gauss's
    law holds to 1e-12; over the time ``window`` the oscillation amplitude falls as ``dt^2`` (slope within 0.2)."""
    M = make(dt)
    _, obs = run(M.network, M.encode(phi, pi), 100_000, 10, M.observables)
    e = np.asarray(obs["energy"])
    (v,) = verdicts(M.conserved(), obs, 100_000, np.float64)
    assert v.ok and v.trend < 0.5 * v.oscillation, v
    n = e.size // 10
    assert np.abs(e[-n:] - e[0]).max() < 1.5 * np.abs(e[:n] - e[0]).max()
    assert float(np.max(obs["gauss_residual"])) < 1e-12
    amps = []
    for h in dts:
        M = make(h)
        _, obs = run(M.network, M.encode(phi, pi), int(round(window / h)), 1, M.observables)
        e = np.asarray(obs["energy"])
        amps.append(float(e.max() - e.min()) / e[0])
    slope = np.polyfit(np.log(dts), np.log(amps), 1)[0]
    assert abs(slope - 2) < 0.2, (amps, slope)


def order_against_reference(make: Callable[[float], Any], phi: Any, pi: Any, T: float,
                            dts: tuple[float, ...] = (0.1, 0.05, 0.025)) -> tuple[float, list[float]]:
    """``(order, errors)``: the largest difference of the network run to time ``T`` (``make(dt)`` a model) from the
    physics side's reference solution, and the slope of its log against ``log dt``."""
    ref = make(dts[0]).theory.reference(phi, pi, T)
    errs = []
    for dt in dts:
        M = make(dt)
        s, _ = run(M.network, M.encode(phi, pi), int(round(T / dt)))
        p, q = M.decode(s)
        errs.append(max(np.abs(np.asarray(p) - ref[0]).max(), np.abs(np.asarray(q) - ref[1]).max()))
    return float(np.polyfit(np.log(dts), np.log(errs), 1)[0]), errs
