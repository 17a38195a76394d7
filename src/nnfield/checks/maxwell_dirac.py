"""Checks of the Maxwell-Dirac network (beyond the paper: the stable Dirac network of Sec. 4/5 with links that
learn with momentum; ``docs/maxwell_dirac.md``), registered for ``nnfield verify``. Each runs in about a second.

Section: ``paper.BEYOND`` where the registry has it (the dynamical gauge fields), else 5.
"""

from __future__ import annotations

import numpy as np

from .. import paper
from ..lattice import Lattice
from ..network import jit_step
from ..paper import Outcome, register
from ..state import State
from ..theories import maxwell_dirac as md
from ..theories.u1 import divergence

EPS = float(np.finfo(np.float64).eps)
SECTION = getattr(paper, "BEYOND", 5)


def _random_state(M: md.MaxwellDiracModel, rng: np.random.Generator) -> dict:
    lat = M.lattice
    D, K = lat.ndim, M.network.matter.K
    return {"links": rng.uniform(-np.pi, np.pi, (D, *lat.shape)), "electric": np.zeros((D, *lat.shape)),
            "matter": State(rng.standard_normal((K, *lat.shape)), rng.standard_normal((K, *lat.shape)))}


@register("Noether (MD)", SECTION, "Maxwell-Dirac: continuity of the network's charge with the learned current "
                                   "(links held by E = 0), to round-off", "exact")
def check_noether() -> Outcome:
    import jax

    rng = np.random.default_rng(11)
    M = md.model(Lattice((5, 4), 0.7), 0.11, charge=1.3, m=0.6)
    s = _random_state(M, rng)

    @jax.jit
    def defect(net: md.MaxwellDiracNetwork, s: dict) -> tuple:
        s1 = net.step(s)
        d_rho = net.matter.network_charge(s["links"], s1["matter"]) - net.matter.network_charge(s["links"], s["matter"])
        d_div = divergence(s1["electric"], 0.7) - divergence(s["electric"], 0.7)
        return d_div - d_rho, d_rho

    res, d_rho = defect(M.network, s)
    worst = float(np.abs(np.asarray(res)).max() / np.abs(np.asarray(d_rho)).max())
    return Outcome("exact" if worst < 1e3 * EPS else "fails", worst,
                   f"2D 5x4, random links and matter, one tick: max |div(E' - E) - (rho' - rho)| relative to "
                   f"|rho' - rho|: {worst:.1e}")


@register("Gauss (MD)", SECTION, "Maxwell-Dirac: Gauss's law with moving links holds to O(dt^2) (the charge is the "
                                 "stable invariant at the links of each tick)", "continuum")
def check_gauss_order() -> Outcome:
    import jax

    from ..theories.maxwell_dirac.initial import charged_packets

    gauss = jax.jit(lambda M, s: M.gauss_residual(s))
    res = []
    dts = (0.04, 0.02)
    for dt in dts:
        M = md.model(Lattice((24,), 0.5), dt, charge=1.0, m=0.5)
        phi, pi = charged_packets(M, 1, width=1.5, momentum=[0.7], field=1.0)
        s = M.encode(phi, pi)
        worst = 0.0
        for _ in range(int(round(1.0 / dt))):  # one compiled tick for both steps (dt is traced)
            s = jit_step(M.network, s)
        worst = max(worst, float(gauss(M, s)))
        res.append(worst)
    order = float(np.log2(res[0] / res[1]))
    return Outcome("continuum" if abs(order - 2) < 0.3 else "fails", order,
                   f"1D packet in an applied field, t = 1: relative Gauss residual {res[0]:.2e} (dt = 0.04), "
                   f"{res[1]:.2e} (dt = 0.02); order in dt {order:.2f}")


@register("covariance (MD)", SECTION, "Maxwell-Dirac: the tick commutes with local gauge transformations",
          "exact")
def check_covariance() -> Outcome:
    import jax

    rng = np.random.default_rng(12)
    M = md.model(Lattice((5, 4), 0.6), 0.07, charge=1.1, m=0.5, bias="wilson")
    D = 2
    phi, pi = rng.standard_normal((D + 4, 5, 4)), rng.standard_normal((D + 4, 5, 4))
    chi = rng.uniform(-np.pi, np.pi, (5, 4))
    tick = jax.jit(lambda p, q: M.decode(M.network.step(M.encode(p, q))))
    a = tick(*M.gauge_transform(phi, pi, chi))
    b = M.gauge_transform(*tick(phi, pi), chi)
    qa = 1.1 * 0.6
    # links compared as angles modulo 2 pi
    dl = np.angle(np.exp(1j * qa * (np.asarray(a[0][:D]) - b[0][:D]))) / qa
    worst = max(float(np.abs(dl).max()), float(np.abs(np.asarray(a[0][D:]) - b[0][D:]).max()),
                float(np.abs(np.asarray(a[1]) - b[1]).max())) / float(np.abs(b[1]).max())
    return Outcome("exact" if worst < 1e4 * EPS else "fails", worst,
                   f"2D Wilson bias, random data and gauge function: max |step(G s) - G step(s)| relative {worst:.1e}")
