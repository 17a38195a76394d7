r"""Site-updates per second of the dynamical-gauge (scalar QED) network step: nnfield vs a hand-fused numba loop.

The update (both implementations): the staggered leapfrog of :class:`nnfield.theories.u1.GaugeNetwork` with the
scalar matter of :mod:`nnfield.theories.scalar_qed`, ``D = 3``, links ``theta = a q A``, ``Phi = phi_1 + i phi_2``:

    kick(dt):   E_mu  <- E_mu - dt q a dL/dtheta_mu,    pi <- pi - dt dL/dphi
    drift(dt):  theta <- theta + dt q a E,              phi <- phi + dt pi

with ``L = sum (1 - cos P)/(q^2 a^4) + sum_mu |U_mu Phi(x+mu) - Phi(x)|^2/(2 a^2) + V`` (the merged kicks of
``advance``: ``K(dt/2) [D K(dt)]^(n-1) D K(dt/2)``). Written out for numba:

    dL/dtheta_mu(x) = (1/(q^2 a^4)) sum_{nu != mu} [sin P_{mu nu}(x) - sin P_{mu nu}(x - nu)]
                      + Im(conj Phi(x) U_mu(x) Phi(x + mu)) / a^2
    dL/dPhi(x)      = sum_mu [2 Phi(x) - U_mu(x) Phi(x + mu) - conj U_mu(x - mu) Phi(x - mu)] / a^2
                      + (m^2 + 2 lambda (|phi|^2 - v^2)) Phi(x)          (complex notation: d/dphi_1 + i d/dphi_2)

(a) nnfield: ``scalar_qed.model(...).network`` advanced by ``nnfield.network.run`` (one jitted program; the
    learning gradient is ``jax.grad`` of the loss);
(b) numba: one hand-fused ``prange`` sweep per step for the kick and one for the drift (the kick needs the
    neighbours' plaquettes, so it cannot be fused with the drift of the same step in place).

Rates are site-updates per second (one site = 3 links + 3 E + 2 phi + 2 pi); the ratio nnfield/numba is measured
in the same run. Usage::

    python benchmarks/u1_step.py --quick              # 32^3 and 64^3, float64
    python benchmarks/u1_step.py --sizes 64 96        # more sizes

Timings are the best of ``--repeats`` runs; the machine may be shared: the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from _numba_lattice import best_of  # noqa: E402  (benchmarks/, on the path of a script)
from nnfield import Lattice  # noqa: E402
from nnfield.network import _run_jit  # noqa: E402  (the jitted scan behind nnfield.network.run)
from nnfield.theories import scalar_qed as sq  # noqa: E402

try:
    import numba
    from numba import njit, prange
except ImportError:  # pragma: no cover - numba is in the `bench` extra
    numba = None

DT, Q, LAM, V, M, A = 0.05, 1.0, 0.5, 1.0, 0.0, 0.5

if numba is not None:
    from _numba_lattice import neighbour as _sh

    @njit(parallel=True, boundscheck=False)
    def _kick(th, E, p1, p2, q1, q2, h, q, a, lam, v2, m2):
        n0, n1, n2 = p1.shape
        ia2 = 1.0 / (a * a)
        cw = 1.0 / (q * q * a**4)
        qa = q * a
        for i_ in prange(n0):
            i = np.int64(i_)  # a prange index may be unsigned: uint64 + int64 would be float64
            for j in range(n1):
                for k in range(n2):
                    x1, x2 = p1[i, j, k], p2[i, j, k]
                    g1 = 0.0
                    g2 = 0.0
                    for mu in range(3):
                        a0, b0, c0 = _sh(i, j, k, mu, 1, n0, n1, n2)
                        am, bm, cm = _sh(i, j, k, mu, -1, n0, n1, n2)
                        t = th[mu, i, j, k]
                        c, s = np.cos(t), np.sin(t)
                        y1, y2 = p1[a0, b0, c0], p2[a0, b0, c0]
                        u1 = c * y1 - s * y2  # U Phi(x + mu)
                        u2 = s * y1 + c * y2
                        tm = th[mu, am, bm, cm]
                        cm_, sm_ = np.cos(tm), np.sin(tm)
                        z1, z2 = p1[am, bm, cm], p2[am, bm, cm]
                        w1 = cm_ * z1 + sm_ * z2  # conj U(x - mu) Phi(x - mu)
                        w2 = -sm_ * z1 + cm_ * z2
                        g1 += (2 * x1 - u1 - w1) * ia2
                        g2 += (2 * x2 - u2 - w2) * ia2
                        # dL/dtheta_mu(x): hopping Im(conj Phi U Phi') and the plaquettes through the link
                        gt = (x1 * u2 - x2 * u1) * ia2
                        for nu in range(3):
                            if nu == mu:
                                continue
                            an, bn, cn = _sh(i, j, k, nu, 1, n0, n1, n2)
                            # P_{mu nu}(x) = th_mu(x) + th_nu(x + mu) - th_mu(x + nu) - th_nu(x)
                            P = t + th[nu, a0, b0, c0] - th[mu, an, bn, cn] - th[nu, i, j, k]
                            # P_{mu nu}(x - nu) = th_mu(x - nu) + th_nu(x - nu + mu) - th_mu(x) - th_nu(x - nu)
                            d0, d1, d2 = _sh(i, j, k, nu, -1, n0, n1, n2)
                            e0, e1, e2 = _sh(d0, d1, d2, mu, 1, n0, n1, n2)
                            P2 = th[mu, d0, d1, d2] + th[nu, e0, e1, e2] - t - th[nu, d0, d1, d2]
                            gt += cw * (np.sin(P) - np.sin(P2))
                        E[mu, i, j, k] -= h * qa * gt
                    r2 = 0.5 * (x1 * x1 + x2 * x2)
                    fac = m2 + 2 * lam * (r2 - v2)
                    q1[i, j, k] -= h * (g1 + fac * x1)
                    q2[i, j, k] -= h * (g2 + fac * x2)

    @njit(parallel=True, boundscheck=False)
    def _drift(th, E, p1, p2, q1, q2, h, qa):
        n0 = p1.shape[0]
        for i in prange(n0):
            th[:, i] += (h * qa) * E[:, i]
            p1[i] += h * q1[i]
            p2[i] += h * q2[i]


def numba_run(th, E, p1, p2, q1, q2, steps, dt=DT):
    """``steps`` ticks in place (merged kicks, as ``GaugeNetwork.advance``)."""
    _kick(th, E, p1, p2, q1, q2, dt / 2, Q, A, LAM, V**2, M**2)
    for n in range(steps):
        _drift(th, E, p1, p2, q1, q2, dt, Q * A)
        _kick(th, E, p1, p2, q1, q2, dt if n < steps - 1 else dt / 2, Q, A, LAM, V**2, M**2)


def bench(n: int, steps: int, check_steps: int, repeats: int) -> dict:
    lat = Lattice((n, n, n), A)
    model = sq.model(lat, DT, charge=Q, lam=LAM, v=V, m=M)
    phi0, pi0 = sq.higgs_vacuum(lat, Q, LAM, V, M, 1, 0.1, 0.05)
    state = model.encode(phi0, pi0)
    net = model.network
    jax.block_until_ready(_run_jit(net, state, check_steps, 1, None))
    jax.block_until_ready(_run_jit(net, state, steps, 1, None))  # compile

    def run_nnfield() -> None:
        jax.block_until_ready(_run_jit(net, state, steps, 1, None))

    if numba is None:
        t_nn = best_of(run_nnfield, repeats)
        return {"n": n, "steps": steps, "nnfield": n**3 * steps / t_nn}
    out: dict = {"n": n, "steps": steps}
    if True:
        def fresh():
            s = {k: np.array(v) for k, v in (("th", state["links"]), ("E", state["electric"]))}
            return (s["th"], s["E"], np.array(state["matter"].phi[0]), np.array(state["matter"].phi[1]),
                    np.array(state["matter"].pi[0]), np.array(state["matter"].pi[1]))

        arrs = fresh()
        numba_run(*arrs, check_steps)  # compile + check
        ref = _run_jit(net, state, check_steps, 1, None)[0]
        diff = max(float(np.abs(arrs[0] - np.asarray(ref["links"])).max()),
                   float(np.abs(arrs[2] - np.asarray(ref["matter"].phi[0])).max()),
                   float(np.abs(arrs[4] - np.asarray(ref["matter"].pi[0])).max()))
        arrs = fresh()
        # interleaved: one nnfield run, one numba run, ``repeats`` times; the best of each (a burst of other load
        # on the shared machine then hits both alike instead of one implementation's whole series)
        t_nn = t_nb = float("inf")
        for _ in range(repeats):
            t_nn = min(t_nn, best_of(run_nnfield, 1))
            t_nb = min(t_nb, best_of(lambda: numba_run(*arrs, steps), 1))
        out.update(nnfield=n**3 * steps / t_nn, numba=n**3 * steps / t_nb, ratio=t_nb / t_nn, diff=diff)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    ap.add_argument("--quick", action="store_true", help="32^3 and 64^3, fewer steps")
    ap.add_argument("--steps", type=int, default=None, help="steps per timed run (default ~2e7 site-updates)")
    ap.add_argument("--check-steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    rows = []
    for n in args.sizes:
        steps = args.steps or max(4, int((5e6 if args.quick else 2e7) // n**3))
        print(f"timing {n}^3, {steps} steps ...", file=sys.stderr, flush=True)
        rows.append(bench(n, steps, args.check_steps, args.repeats))
    threads = numba.get_num_threads() if numba is not None else 0
    print(f"\n| lattice | steps | nnfield Msite/s | numba Msite/s ({threads} threads) | nnfield/numba | max diff "
          f"after {args.check_steps} steps |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['n']}^3 | {r['steps']} | {r['nnfield'] / 1e6:.3g} | {r.get('numba', float('nan')) / 1e6:.3g} | "
              f"{r.get('ratio', float('nan')):.2f} | {r.get('diff', float('nan')):.1e} |")
    print(f"\nfloat64, scalar QED 3D (lambda = {LAM}, v = {V}, q = {Q}, a = {A}, dt = {DT}); load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} (shared machine)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
