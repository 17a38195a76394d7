"""Helpers shared by the hand-fused numba references of the gauge benchmarks (``u1_step.py``,
``maxwell_dirac_step.py``): the periodic neighbour of a 3D site and the best-of timer."""

from __future__ import annotations

import time
from collections.abc import Callable

try:
    from numba import njit
except ImportError:  # pragma: no cover - numba is in the `bench` extra
    njit = None

if njit is not None:

    @njit(inline="always")
    def neighbour(i, j, k, mu, s, n0, n1, n2):  # the site x + s e_mu (periodic)
        if mu == 0:
            return (i + s) % n0, j, k
        if mu == 1:
            return i, (j + s) % n1, k
        return i, j, (k + s) % n2


def best_of(fn: Callable[[], None], repeats: int) -> float:
    """The shortest wall time of ``repeats`` calls of ``fn``."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
