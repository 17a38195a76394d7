"""How well the recorded Dirac current ``J/Q`` gives the velocity ``d<x>/dt`` of a positive-energy packet.

Prints, for the networks' dt -> 0 dynamics (the exact lattice evolution ``exp(-i H t)``, :meth:`Dirac.evolve`), the
relative difference of ``J/Q`` at ``t = 0`` and ``(<x>(T) - <x>(0))/T`` in 1+1 (exact: round-off) and 2+1 (Wilson
O(a^2), forward O(a): the forward map's spin-0 packet mixes its two positive bands), and for the stable network
(order 1) the residual ``(<x>(T) - <x>(0))/T - mean J/Q`` at several dt. The numbers in ``docs/observables.md``.

    python scripts/ehrenfest_current.py
"""

from __future__ import annotations

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

from nnfield.checks.sec4.dynamics import ehrenfest_residual  # noqa: E402
from nnfield.lattice import Lattice  # noqa: E402
from nnfield.theories import dirac as dr  # noqa: E402


def semi_discrete(shape: tuple[int, ...], a: float, bias: str, k0: list[float], T: float) -> np.ndarray:
    M = dr.model(Lattice(shape, a), 1.0, 0.05, network="stable", bias=bias)
    th = M.theory
    phi, pi = dr.gaussian_packet(th, width=1.5, k0=k0, branch="positive")
    p0 = np.asarray(th.pack(phi, pi))
    pT = th.evolve(p0, T)
    v = (np.asarray(th.mean_position(pT)) - np.asarray(th.mean_position(p0))) / T
    return np.abs(np.asarray(th.current(p0)) / float(th.charge(p0)) / v - 1)


def main() -> None:
    print("exact lattice evolution, m = 1, width 1.5: |(J/Q) / (d<x>/dt) - 1| per axis")
    for bias in ("forward", "wilson"):
        print(f"  1+1 {bias:8s} a = 0.5, k0 = 0.8:        {semi_discrete((96,), 0.5, bias, [0.8], 4.0)}")
    for bias in ("wilson", "forward"):
        for a in (0.5, 0.25):
            n = int(24 / a)
            r = semi_discrete((n, n), a, bias, [0.8, 0.6], 2.0)
            print(f"  2+1 {bias:8s} a = {a}, k0 = (0.8, 0.6): {r}")
    print("stable network (Wilson), 1+1, a = 0.5, T = 4: relative Ehrenfest residual, peak-to-peak of J/Q")
    for dt in (0.04, 0.02, 0.01, 0.005):
        r, pp = ehrenfest_residual(dt)
        print(f"  dt = {dt}: residual {r:.3e}, J/Q peak to peak {pp:.3e}")


if __name__ == "__main__":
    main()
