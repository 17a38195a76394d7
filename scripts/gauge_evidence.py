r"""The measured numbers behind ``docs/gauge_dynamics.md`` (dynamical U(1) gauge fields), printed as Markdown.

Each item runs the same code as the tests (``tests/test_maxwell.py``, ``tests/test_scalar_qed.py``, slow ones
included) and prints what it measured::

    python scripts/gauge_evidence.py            # everything (~5 min on a quiet 2-core machine)
    python scripts/gauge_evidence.py gauss masses
"""

from __future__ import annotations

import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from nnfield import Lattice  # noqa: E402
from nnfield.conservation import verdicts  # noqa: E402
from nnfield.network import run  # noqa: E402
from nnfield.theories import maxwell, u1  # noqa: E402
from nnfield.theories import scalar_qed as sq  # noqa: E402
from nnfield.theories.u1.measure import centroid, leapfrog_omega, mode_frequency  # noqa: E402


def gauss() -> None:
    M = sq.model(Lattice((8, 8, 8), 0.5), 0.05, charge=1.0, lam=0.5, v=1.0)
    phi, pi = sq.higgs_vacuum(M.lattice, 1.0, 0.5, 1.0, 0.0, 9, 0.2, 0.1)
    _, obs = run(M.network, M.encode(phi, pi), 10_000, 100, M.observables)
    q0 = float(np.abs(np.asarray(M.fields(M.encode(phi, pi))["charge_density"])).sum()) * M.lattice.cell_volume
    print(f"- Gauss law, 3D scalar QED 8^3 (a = 0.5, dt = 0.05, charged fluctuations), 10^4 steps: max relative "
          f"residual {float(np.max(obs['gauss_residual'])):.1e}; total charge |Q| <= "
          f"{float(np.abs(np.asarray(obs['charge'])).max()):.1e} (a^D sum |rho| = {q0:.3g})")


def energy() -> None:
    for name, M, data, steps in (
        ("Maxwell 3D 6^3, a = 1, dt = 0.2 (bound 0.577)", maxwell.model(Lattice((6, 6, 6), 1.0), 0.2),
         u1.random_photons(Lattice((6, 6, 6), 1.0), 11, 0.2), 100_000),
        ("scalar QED 2D 8^2, a = 0.5, dt = 0.1 (bound ~0.33)", sq.model(Lattice((8, 8), 0.5), 0.1),
         sq.higgs_vacuum(Lattice((8, 8), 0.5), 1.0, 0.5, 1.0, 0.0, 2, 0.2, 0.1), 100_000),
    ):
        _, obs = run(M.network, M.encode(*data), steps, 10, M.observables)
        (v,) = verdicts(M.conserved(), obs, steps, np.float64)
        e = np.asarray(obs["energy"])
        n = e.size // 10
        print(f"- energy, {name}, 10^5 steps: oscillation {v.oscillation:.2e}, least-squares trend {v.trend:.2e} "
              f"(relative); error band first/last tenth {np.abs(e[:n] - e[0]).max() / e[0]:.2e} / "
              f"{np.abs(e[-n:] - e[0]).max() / e[0]:.2e}; Gauss residual {float(np.max(obs['gauss_residual'])):.1e}")
    for name, make, data, T in (
        ("Maxwell 3D", lambda dt: maxwell.model(Lattice((6, 6, 6), 1.0), dt),
         u1.random_photons(Lattice((6, 6, 6), 1.0), 11, 0.2), 200),
        ("scalar QED 2D", lambda dt: sq.model(Lattice((8, 8), 0.5), dt),
         sq.higgs_vacuum(Lattice((8, 8), 0.5), 1.0, 0.5, 1.0, 0.0, 2, 0.2, 0.1), 100),
    ):
        dts, amps = (0.1, 0.05, 0.025), []
        for dt in dts:
            M = make(dt)
            _, obs = run(M.network, M.encode(*data), int(round(T / dt)), 1, M.observables)
            e = np.asarray(obs["energy"])
            amps.append(float(e.max() - e.min()) / e[0])
        slope = np.polyfit(np.log(dts), np.log(amps), 1)[0]
        print(f"- energy oscillation, {name}, t = {T}: {', '.join(f'{a:.3e}' for a in amps)} at dt = {dts}: "
              f"slope {slope:.3f}")


def photons() -> None:
    lat = Lattice((16, 16, 4), 0.5)
    dt = 0.1
    M = maxwell.model(lat, dt)
    k = [2 * np.pi * 2 / 8.0, 2 * np.pi / 8.0, 0.0]
    w2 = sum(4 / 0.5**2 * np.sin(kk * 0.5 / 2) ** 2 for kk in k)
    for pol in ([0.0, 1.0, 0.0], [0.0, 0.0, 1.0]):
        A, E = u1.plane_wave(lat, [2, 1, 0], pol, 1e-6, travelling=False)
        _, obs = run(M.network, M.encode(A, E), 400, 1,
                     lambda s: {"e": s["electric"][2, 1, 0, 0] + s["electric"][1, 1, 0, 0]})
        Om = mode_frequency(np.concatenate([[0.0], np.asarray(obs["e"])]), dt)
        print(f"- photon k = 2 pi (2, 1, 0) / 8, polarization {pol}: 4 sin^2(W dt/2)/dt^2 = "
              f"{4 * np.sin(Om * dt / 2) ** 2 / dt**2:.12f}, (4/a^2) sum sin^2(k a/2) = {w2:.12f}")
    chi = np.random.default_rng(3).standard_normal((8, 8, 8))
    M = maxwell.model(Lattice((8, 8, 8), 1.0), 0.2)
    A = u1.transform_links(np.zeros((3, 8, 8, 8)), chi)
    s, _ = run(M.network, M.encode(A, np.zeros_like(A)), 500)
    print(f"- longitudinal (pure gauge) links, 500 steps: max |E| {np.abs(np.asarray(s['electric'])).max():.1e}, "
          f"links moved by {np.abs(np.asarray(s['links']) - A).max():.1e}")


def _uniform(M: sq.ScalarQEDModel, dt: float, steps: int) -> dict[str, float]:
    D = M.lattice.ndim
    vac = np.asarray(M.network.pack(M.network.zero_state(np.float64)).phi)
    phi, pi = vac.copy(), np.zeros_like(vac)
    phi[D] += 1e-6
    pi[0] += 1e-6
    h0 = np.sqrt(2.0) * M.tree_masses()["vev"]
    _, obs = run(M.network, M.encode(phi, pi), steps, 1,
                 lambda s: {"higgs": s["matter"].phi[0].mean() - h0, "photon": s["electric"][0].mean()})
    return {w: mode_frequency(np.concatenate([[1e-6], np.asarray(obs[w])]), dt) for w in ("higgs", "photon")}


def masses() -> None:
    for dt in (0.2, 0.1, 0.05, 0.025):
        M = sq.model(Lattice((4, 4, 4), 0.5), dt, charge=1.0, lam=0.3, v=1.0)
        tree = M.tree_masses()
        Om = _uniform(M, dt, int(60 / dt))
        print(f"- dt = {dt}: measured Omega_H = {Om['higgs']:.8f} ({Om['higgs'] / tree['higgs'] - 1:+.2e} vs "
              f"m_H = {tree['higgs']:.8f}), Omega_A = {Om['photon']:.8f} ({Om['photon'] / tree['photon'] - 1:+.2e} vs "
              f"m_A = {tree['photon']:.8f}); (2/dt) sin(Omega dt/2): "
              f"{leapfrog_omega(Om['higgs'], dt) / tree['higgs'] - 1:+.1e}, "
              f"{leapfrog_omega(Om['photon'], dt) / tree['photon'] - 1:+.1e}")


def vortex() -> None:
    lat = Lattice((33, 33), 0.3)
    mid = np.full(2, 16 * 0.3)
    for q in (1.0, 0.7):
        M = sq.model(lat, 0.05, charge=q, lam=q**2 / 2, v=1.0)
        phi, pi = sq.vortex(M, relax_steps=300)
        s1, obs = run(M.network, M.encode(phi, pi), 10_000, 100, M.observables)
        moved = np.abs(centroid(np.asarray(M.fields(s1)["magnetic_energy"]), lat, mid) - mid).max()
        print(f"- vortex q = {q} (BPS), 33^2, a = 0.3, 10^4 steps: flux - 2 pi/q = "
              f"{np.abs(np.asarray(obs['flux']) - 2 * np.pi / q).max():.1e}; core moved {moved:.1e}; Gauss residual "
              f"{float(np.max(obs['gauss_residual'])):.1e}")
    for a in (0.4, 0.3, 0.2):
        n = int(round(12.0 / a))
        M = sq.model(Lattice((n, n), a), 0.05, charge=1.0, lam=0.5, v=1.0)
        phi, pi = sq.vortex(M, relax_steps=int(8000 * (0.3 / a) ** 2))
        e = float(M.observables(M.encode(phi, pi))["energy"])
        print(f"- relaxed BPS vortex, a = {a} ({n}^2): energy {e:.6f}, 2 pi v^2 = {2 * np.pi:.6f} "
              f"({e / (2 * np.pi) - 1:+.2e})")


ITEMS = {"gauss": gauss, "energy": energy, "photons": photons, "masses": masses, "vortex": vortex}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(ITEMS):
        t0 = time.perf_counter()
        print(f"### {name}")
        ITEMS[name]()
        print(f"({time.perf_counter() - t0:.0f} s)\n", flush=True)
