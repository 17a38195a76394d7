r"""Site-updates per second of the Maxwell-Dirac network tick: nnfield vs a hand-fused numba loop.

The update (both implementations): one tick of :class:`nnfield.theories.maxwell_dirac.MaxwellDiracNetwork` in
3D with the forward bias map (4.24), ``K = 4`` neuron types, links ``theta = a q A`` (the configuration of
``examples/maxwell_dirac_field_3d.toml``), step ``h``, ``U = cos theta - sin theta X_0``::

    theta'  = theta + h q a E,     theta_m = theta + (h/2) q a E
    phi'    = phi + h (ac phi + sv X_0 phi + B(theta_m) pi),   (B(th) f)(x) = sum_mu X_mu (U_mu(x) f(x+mu) - f(x)) / a
    pi'     = pi - h (sv X_0 pi - ac pi + B(theta')^T phi')
    E'      = E - h q a (dL_W/dtheta + dL_D/dtheta)(theta'),   L_D = -sum phi' . X_0 B(theta') T (pi + pi')

Written out for numba (``X^T = -X``, ``U^T = cos + sin X_0``, ``dU/dtheta = -sin - cos X_0``)::

    (B^T g)(x)          = sum_mu [X_mu g(x) - U_mu(x - mu)^T X_mu g(x - mu)] / a
    dL_D/dtheta_mu(x)   = -phi'(x) . X_0 X_mu (dU/dtheta)_mu(x) w(x + mu) / a,        w = T (pi + pi')
    dL_W/dtheta_mu(x)   = (1/(q^2 a^4)) sum_{nu != mu} [sin P_{mu nu}(x) - sin P_{mu nu}(x - nu)]

(a) nnfield: the model of ``maxwell_dirac.model`` advanced by ``nnfield.network.run`` (one jitted program; the
    learning gradients are ``jax.grad``/``jax.vjp`` of the losses);
(b) numba: three hand-fused ``prange`` sweeps per tick (activation and links' drift; learning of ``pi`` and ``w``;
    the links' learning), the minimum: each needs the previous one's result at the neighbours. ``sin``/``cos`` of
    each link twice per tick (at ``theta_m`` and ``theta'``) plus the plaquettes' ``sin``; ``4 x 4`` matrices as
    dense products over the Clifford matrices' nonzero entries.

Rates are site-updates per second (one site = 3 links + 3 E + 4 phi + 4 pi); the ratio nnfield/numba is measured
in the same run, interleaved; both agree to round-off after ``--check-steps`` ticks (printed). Usage::

    python benchmarks/maxwell_dirac_step.py                 # 16^3, 32^3, 64^3, float64
    python benchmarks/maxwell_dirac_step.py --sizes 32

Timings are the best of ``--repeats`` runs; the machine may be shared: the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from _numba_lattice import best_of  # noqa: E402  (benchmarks/, on the path of a script)
from nnfield import Lattice  # noqa: E402
from nnfield.network import _run_jit  # noqa: E402  (the jitted scan behind nnfield.network.run)
from nnfield.theories import maxwell_dirac as md  # noqa: E402
from nnfield.theories.maxwell_dirac.initial import charged_packets  # noqa: E402

try:
    import numba
    from numba import njit, prange
except ImportError:  # pragma: no cover - numba is in the `bench` extra
    numba = None

DT, Q, MASS, A = 0.05, 0.5, 1.0, 0.5

if numba is not None:
    from _numba_lattice import neighbour as _sh

    @njit(parallel=True, boundscheck=False)
    def _activate(th, E, phi, pi, C, S, X, h, qa, a, ac, sv):
        """phi' (in place) with the links at theta_m, then theta' (in place) and its cos, sin (into C, S)."""
        n0, n1, n2 = th.shape[1:]
        for i_ in prange(n0):
            i = np.int64(i_)
            acc = np.empty(4)  # scratch per outer iteration (one per thread), not per site
            d = np.empty(4)
            for j in range(n1):
                for k in range(n2):
                    for b in range(4):  # ac phi + sv X_0 phi
                        acc[b] = ac * phi[b, i, j, k]
                        for c in range(4):
                            acc[b] += sv * X[0, b, c] * phi[c, i, j, k]
                    for mu in range(3):
                        t = th[mu, i, j, k] + 0.5 * h * qa * E[mu, i, j, k]
                        cs, sn = np.cos(t), np.sin(t)
                        i1, j1, k1 = _sh(i, j, k, mu, 1, n0, n1, n2)
                        # d = U f(x + mu) - f(x)
                        for b in range(4):
                            x0f = 0.0
                            for c in range(4):
                                x0f += X[0, b, c] * pi[c, i1, j1, k1]
                            d[b] = cs * pi[b, i1, j1, k1] - sn * x0f - pi[b, i, j, k]
                        for b in range(4):
                            for c in range(4):
                                acc[b] += X[mu + 1, b, c] * d[c] / a
                    for b in range(4):
                        phi[b, i, j, k] += h * acc[b]
                    for mu in range(3):
                        t = th[mu, i, j, k] + h * qa * E[mu, i, j, k]
                        th[mu, i, j, k] = t
                        C[mu, i, j, k] = np.cos(t)
                        S[mu, i, j, k] = np.sin(t)

    @njit(parallel=True, boundscheck=False)
    def _learn(th, phi, pi, pi_new, w, C, S, SP, X, h, a, ac, sv, tan_half):
        """pi' (into pi_new) with the links at theta' (updated), w = T (pi + pi') and the plaquettes' sin (SP)."""
        n0, n1, n2 = th.shape[1:]
        for i_ in prange(n0):
            i = np.int64(i_)
            g = np.empty(4)
            xg = np.empty(4)
            for j in range(n1):
                for k in range(n2):
                    for b in range(4):  # sv X_0 pi - ac pi
                        g[b] = -ac * pi[b, i, j, k]
                        for c in range(4):
                            g[b] += sv * X[0, b, c] * pi[c, i, j, k]
                    for mu in range(3):
                        im, jm, km = _sh(i, j, k, mu, -1, n0, n1, n2)
                        cs, sn = C[mu, im, jm, km], S[mu, im, jm, km]
                        for b in range(4):  # xg = X_mu phi'(x - mu)
                            xg[b] = 0.0
                            for c in range(4):
                                xg[b] += X[mu + 1, b, c] * phi[c, im, jm, km]
                        for b in range(4):
                            x0 = 0.0
                            xh = 0.0
                            for c in range(4):
                                x0 += X[0, b, c] * xg[c]
                                xh += X[mu + 1, b, c] * phi[c, i, j, k]
                            g[b] += (xh - (cs * xg[b] + sn * x0)) / a
                    for b in range(4):
                        pi_new[b, i, j, k] = pi[b, i, j, k] - h * g[b]
                    for b in range(4):
                        s = pi[b, i, j, k] + pi_new[b, i, j, k]
                        x0 = 0.0
                        for c in range(4):
                            x0 += X[0, b, c] * (pi[c, i, j, k] + pi_new[c, i, j, k])
                        w[b, i, j, k] = s - tan_half * x0
                    for p in range(3):  # planes (0, 1), (0, 2), (1, 2)
                        mu, nu = (0, 1) if p == 0 else ((0, 2) if p == 1 else (1, 2))
                        i1, j1, k1 = _sh(i, j, k, mu, 1, n0, n1, n2)
                        an, bn, cn = _sh(i, j, k, nu, 1, n0, n1, n2)
                        # P_{mu nu}(x) = th_mu(x) + th_nu(x + mu) - th_mu(x + nu) - th_nu(x)
                        SP[p, i, j, k] = np.sin(th[mu, i, j, k] + th[nu, i1, j1, k1] - th[mu, an, bn, cn]
                                                - th[nu, i, j, k])

    @njit(parallel=True, boundscheck=False)
    def _links(E, phi, w, C, S, SP, X, h, q, a):
        """E' (in place): the Wilson force and the Dirac current at theta' (its cos, sin: C, S)."""
        n0, n1, n2 = E.shape[1:]
        cw = 1.0 / (q * q * a**4)
        qa = q * a
        for i_ in prange(n0):
            i = np.int64(i_)
            du = np.empty(4)
            for j in range(n1):
                for k in range(n2):
                    for mu in range(3):
                        cs, sn = C[mu, i, j, k], S[mu, i, j, k]
                        i1, j1, k1 = _sh(i, j, k, mu, 1, n0, n1, n2)
                        # du = (dU/dtheta) w(x + mu) = -sin w - cos X_0 w
                        for b in range(4):
                            x0 = 0.0
                            for c in range(4):
                                x0 += X[0, b, c] * w[c, i1, j1, k1]
                            du[b] = -sn * w[b, i1, j1, k1] - cs * x0
                        gt = 0.0
                        for b in range(4):  # -phi' . X_0 X_mu du / a
                            xm = 0.0
                            for c in range(4):
                                xm += X[mu + 1, b, c] * du[c]
                            x0 = 0.0
                            for c in range(4):
                                x0 += X[0, c, b] * phi[c, i, j, k]  # (X_0^T phi')_b
                            gt -= x0 * xm / a
                        for nu in range(3):  # sin P_{mu nu}(x) - sin P_{mu nu}(x - nu), P_{nu mu} = -P_{mu nu}
                            if nu == mu:
                                continue
                            p = mu + nu - 1  # (0, 1) -> 0, (0, 2) -> 1, (1, 2) -> 2
                            sg = 1.0 if mu < nu else -1.0
                            d0, d1, d2 = _sh(i, j, k, nu, -1, n0, n1, n2)
                            gt += cw * sg * (SP[p, i, j, k] - SP[p, d0, d1, d2])
                        E[mu, i, j, k] -= h * qa * gt


def numba_run(th, E, phi, pi, pi_new, w, X, steps, mat) -> None:
    """``steps`` ticks in place (``pi_new``, ``w``: scratch arrays)."""
    h, a, ac, sv, tan_half = DT, A, float(mat.ac), float(mat.sv), float(mat.tan_half)
    C, S, SP = np.empty_like(th), np.empty_like(th), np.empty_like(th)
    for _ in range(steps):
        _activate(th, E, phi, pi, C, S, X, h, Q * A, a, ac, sv)
        _learn(th, phi, pi, pi_new, w, C, S, SP, X, h, a, ac, sv, tan_half)
        _links(E, phi, w, C, S, SP, X, h, Q, a)
        pi[...] = pi_new


def bench(n: int, steps: int, check_steps: int, repeats: int) -> dict:
    lat = Lattice((n, n, n), A)
    model = md.model(lat, DT, charge=Q, m=MASS, bias="forward")
    phi0, pi0 = charged_packets(model, 1, width=1.5 * n / 16, momentum=[0.5, 0.0, 0.0], field=0.5, direction=2)
    state = model.encode(phi0, pi0)
    net, mat = model.network, model.network.matter
    t0 = time.perf_counter()
    jax.block_until_ready(_run_jit(net, state, steps, 1, None))  # compile
    compile_s = time.perf_counter() - t0
    jax.block_until_ready(_run_jit(net, state, check_steps, 1, None))

    def run_nnfield() -> None:
        jax.block_until_ready(_run_jit(net, state, steps, 1, None))

    out: dict = {"n": n, "steps": steps, "compile": compile_s}
    if numba is None:
        out["nnfield"] = n**3 * steps / best_of(run_nnfield, repeats)
        return out
    X = np.ascontiguousarray(np.asarray(mat.X, dtype=np.float64))

    def fresh():
        m = state["matter"]
        return (np.array(state["links"]), np.array(state["electric"]), np.array(m.phi), np.array(m.pi),
                np.zeros_like(np.asarray(m.pi)), np.zeros_like(np.asarray(m.pi)))

    arrs = fresh()
    numba_run(*arrs, X, check_steps, mat)  # compile + check
    ref = _run_jit(net, state, check_steps, 1, None)[0]
    diff = max(float(np.abs(arrs[0] - np.asarray(ref["links"])).max()),
               float(np.abs(arrs[1] - np.asarray(ref["electric"])).max()),
               float(np.abs(arrs[2] - np.asarray(ref["matter"].phi)).max()),
               float(np.abs(arrs[3] - np.asarray(ref["matter"].pi)).max()))
    arrs = fresh()
    t_nn = t_nb = float("inf")
    for _ in range(repeats):  # interleaved: a burst of other load hits both alike
        t_nn = min(t_nn, best_of(run_nnfield, 1))
        t_nb = min(t_nb, best_of(lambda: numba_run(*arrs, X, steps, mat), 1))
    out.update(nnfield=n**3 * steps / t_nn, numba=n**3 * steps / t_nb, ratio=t_nb / t_nn, diff=diff)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[16, 32, 64])
    ap.add_argument("--steps", type=int, default=None, help="steps per timed run (default ~4e6 site-updates)")
    ap.add_argument("--check-steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    rows = []
    for n in args.sizes:
        steps = args.steps or max(4, int(4e6 // n**3))
        print(f"timing {n}^3, {steps} steps ...", file=sys.stderr, flush=True)
        rows.append(bench(n, steps, args.check_steps, args.repeats))
    threads = numba.get_num_threads() if numba is not None else 0
    print(f"\n| lattice | steps | nnfield Msite/s | numba Msite/s ({threads} threads) | nnfield/numba | nnfield "
          f"compile [s] | max diff after {args.check_steps} steps |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['n']}^3 | {r['steps']} | {r['nnfield'] / 1e6:.3g} | {r.get('numba', float('nan')) / 1e6:.3g} | "
              f"{r.get('ratio', float('nan')):.2f} | {r['compile']:.2f} | {r.get('diff', float('nan')):.1e} |")
    print(f"\nfloat64, Maxwell-Dirac 3D, forward bias (m = {MASS}, q = {Q}, a = {A}, dt = {DT}); load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} (shared machine)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
