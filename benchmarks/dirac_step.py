r"""Site-updates per second of a Dirac network step: nnfield vs plain JAX vs a hand-fused numba loop.

The update (all three implementations): one tick of the stable Dirac network (paper Sec. 4, alternating
scheme; :func:`nnfield.theories.dirac.stable_network`), for ``K``-component fields on a periodic lattice,

    phi' = phi + dt ((W - I) phi + B pi)            (activation, eq. 2.11 / 4.6)
    pi'  = pi  - dt (B^T phi' + C pi)               (learning: dH_a/dpi^a of the per-type loss (4.14))

with ``W - I = ac I + sv X_0``, ``C = -ac I + sv X_0`` (``R = I + dt (W - I)`` the orthogonal mass rotation), or,
for a case ending in ``:paper``, one tick of the paper's network (4.11) as written
(:func:`nnfield.theories.dirac.paper_network`, simultaneous scheme, the corrected per-type loss): the same two
lines with ``W - I = m X_0``, ``C`` of that loss and ``B^T phi`` (the old ``phi``) in the learning step; and
``B`` the bias map: ``forward`` (4.24), ``B = sum_mu X_mu (T_mu - 1)/a``, or ``wilson`` (twisted Wilson,
``sum_mu X_mu (T_mu - T_-mu)/(2a) + (r a/2) X_0 (-Lap)``). The X matrices are signed permutations.

(a) nnfield: ``dirac.model(..., network="stable")`` advanced by ``nnfield.network.run`` (one jitted program;
    the learning gradient is JAX autodiff of the per-type loss);
(b) plain JAX: the same update on a list of K component arrays, the ``K x K`` products unrolled over the
    nonzero entries (constants), shifts as slices + concatenate, ``lax.fori_loop``;
(c) numba: two generated, hand-fused ``prange`` sweeps per step (phi', then pi'), rows of the contiguous axis as
    1D views, every nonzero coefficient written out as a constant of the sweep's dtype (``_T(...)``: a bare
    literal would make a float32 sweep compute in float64) or a per-site array (link coefficients).

The coefficients of (b) and (c) are read from the nnfield network's operators (``B``, ``B^T``, ``W``, the
loss's ``C``); nnfield's learning gradient is autodiff of the loss, so agreement also checks ``B^T`` and ``C``
against it. After the timings each twin is run for ``--check-steps`` ticks and its largest difference from
nnfield is ASSERTED below :func:`agreement_tolerance` (a round-off bound from ``eps`` of the dtype, the terms
per output and the ticks): a twin computing another update (a missing term, another bias map, other links)
stops the benchmark instead of being timed. The table also gives the achieved bandwidth of nnfield and numba:
rate x :func:`traffic_values` (``4 K`` values per site-update, ``+ D`` link phases when gauged) as a fraction
of a parallel numba STREAM triad over arrays of one field's size, measured in the same run.
``benchmarks/gauge_step.py`` runs the same three on a gauged network (per-site link coefficients).

Usage::

    python benchmarks/dirac_step.py --quick                        # 3+1 wilson and forward 32^3, 1+1
    python benchmarks/dirac_step.py --out /tmp/dirac.md            # 32^3 and 64^3, both precisions
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see kg_step.py

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

from nnfield import Lattice  # noqa: E402
from nnfield.network import _run_jit  # noqa: E402  (the jitted program behind nnfield.network.run)
from nnfield.runner import cast_floating  # noqa: E402
from nnfield.state import State  # noqa: E402
from nnfield.theories import dirac  # noqa: E402

try:
    import numba
    from numba import njit, prange
except ImportError:  # pragma: no cover - numba is in the `bench` extra
    numba = None

M, DT = 0.5, 0.1


# ----------------------------------------------------------------------------------------------------------
# the update's coefficients, read from the network: (shift, K x K [or K x K x sites]) terms
# ----------------------------------------------------------------------------------------------------------
@dataclass
class Update:
    """``phi' = phi + dt (Lphi phi + B pi)``, ``pi' = pi - dt (BT phi' + Lpi pi)`` as coefficient terms."""

    K: int
    shape: tuple[int, ...]
    dt: float
    B: list[tuple[tuple[int, ...], np.ndarray]]
    BT: list[tuple[tuple[int, ...], np.ndarray]]
    Lphi: np.ndarray  # W - I (local)
    Lpi: np.ndarray  # C (local)
    simultaneous: bool = False  # learning reads the old phi (the paper's scheme), not phi'


def update_of(net: Any) -> Update:
    """The coefficients of a per-type-loss network, alternating (stable) or simultaneous (paper) scheme; ``net``
    may be gauged (no U0)."""
    inner = getattr(net, "inner", net)
    if getattr(net, "U0", None) is not None:
        raise ValueError("the benchmark update has no temporal link U0")
    scheme = inner.scheme.name
    if scheme not in ("alternating", "simultaneous"):
        raise ValueError(f"the benchmark update is one alternating or simultaneous tick, not {scheme!r}")
    wmi = inner.W_minus_I
    (zero,) = wmi.shifts
    assert zero == (0,) * inner.lattice.ndim
    terms = lambda op: [(s, np.asarray(c)) for s, c in op.terms.items()]  # noqa: E731
    return Update(
        inner.K, inner.lattice.shape, float(inner.dt), terms(inner.B), terms(inner.B.T),
        np.asarray(wmi.coeffs[0]), np.asarray(inner.loss.C), scheme == "simultaneous",
    )


# ----------------------------------------------------------------------------------------------------------
# (b) plain JAX
# ----------------------------------------------------------------------------------------------------------
def _roll(x: jax.Array, s: tuple[int, ...]) -> jax.Array:
    """``(T_s x)_i = x_{i+s}`` with slices and a concatenate per shifted axis."""
    for ax, v in enumerate(s):
        n = x.shape[ax]
        o = v % n
        if o:
            x = jnp.concatenate([lax.slice_in_dim(x, o, n, axis=ax), lax.slice_in_dim(x, 0, o, axis=ax)], axis=ax)
    return x


def _entries(terms: list[tuple[tuple[int, ...], np.ndarray]], dtype: str) -> list[tuple[tuple[int, ...], dict]]:
    """The nonzero entries of each term: a Python float, or a device array for per-site coefficients."""
    out = []
    for s, c in terms:
        ent = {}
        for a in range(c.shape[0]):
            for b in range(c.shape[1]):
                v = c[a, b]
                if np.any(v):
                    ent[a, b] = float(v) if np.ndim(v) == 0 else jnp.asarray(v, dtype)
        out.append((s, ent))
    return out


def _apply_plain(terms: list[tuple[tuple[int, ...], dict]], f: list[jax.Array], roll: Any = None) -> list[jax.Array]:
    """``(O f)^a = sum_s sum_b C_s[a, b] T_s f^b``, unrolled over the nonzero entries; each ``T_s f^b`` once
    (``roll(x, s)``: the shift, :func:`_roll` by default)."""
    roll = _roll if roll is None else roll
    K = len(f)
    out: list[Any] = [None] * K
    for s, ent in terms:
        cache: dict[int, jax.Array] = {}
        for (a, b), v in ent.items():
            if b not in cache:
                cache[b] = roll(f[b], s)
            t = v * cache[b]
            out[a] = t if out[a] is None else out[a] + t
    return [jnp.zeros_like(f[0]) if o is None else o for o in out]


def plain_runner(u: Update, dtype: str, steps: int) -> Any:
    """A jitted ``(phi, pi) -> (phi, pi)`` after ``steps`` ticks, fields as lists of K arrays."""
    zero = (0,) * len(u.shape)
    B, BT = _entries(u.B, dtype), _entries(u.BT, dtype)
    Lphi, Lpi = _entries([(zero, u.Lphi)], dtype), _entries([(zero, u.Lpi)], dtype)
    dt = np.dtype(dtype).type(u.dt)

    def step(phi: list[jax.Array], pi: list[jax.Array]) -> tuple[list[jax.Array], list[jax.Array]]:
        drive = _apply_plain(B, pi)
        mass = _apply_plain(Lphi, phi)
        new = [phi[a] + dt * (mass[a] + drive[a]) for a in range(u.K)]
        grad = _apply_plain(BT, phi if u.simultaneous else new)
        rot = _apply_plain(Lpi, pi)
        pi = [pi[a] - dt * (grad[a] + rot[a]) for a in range(u.K)]
        return new, pi

    @jax.jit
    def run(phi: jax.Array, pi: jax.Array) -> tuple[jax.Array, jax.Array]:
        s = lax.fori_loop(0, steps, lambda _, s: step(*s), (list(phi), list(pi)))
        return jnp.stack(s[0]), jnp.stack(s[1])

    return run


# ----------------------------------------------------------------------------------------------------------
# (c) numba: one generated, hand-fused sweep per field and step,
#     out^a_i = x^a_i + c (sum_b L[a, b] x^b_i + sum_s sum_b C_s[a, b] y^b_{i+s})
#     with every nonzero entry written out (a constant, or a per-site array for link coefficients)
# ----------------------------------------------------------------------------------------------------------
_AX = "ijk"


def sweep_source(local: np.ndarray, stencil: list[tuple[tuple[int, ...], np.ndarray]], nd: int) -> tuple[str, list]:
    """Source of ``sweep(out, x, y, c, *site_values)`` with the entries unrolled; the per-site value arrays.

    Loops over the outer axes; rows of the contiguous axis are taken as 1D views (so the innermost loop is
    plain unit-stride code that vectorizes), the two edge sites of a row handled apart from its interior.
    """
    K = local.shape[0]
    values: list[np.ndarray] = []
    views: dict[str, str] = {}  # view name -> expression

    def ref(arr: str, b: int | None, s: tuple[int, ...]) -> str:
        outer = [_AX[ax] + {0: "", 1: "p", -1: "m"}[v] for ax, v in enumerate(s[:-1])]
        if any(abs(v) > 1 for v in s):
            raise ValueError(f"the numba sweep handles shifts of at most one site, got {s}")
        lead = ([] if b is None else [str(b)]) + outer
        name = f"{arr}{'' if b is None else b}_{''.join(outer)}"
        views[name] = f"{arr}[{', '.join(lead)}]" if lead else arr
        return f"{name}[{_AX[nd - 1] + {0: '', 1: 'p', -1: 'm'}[s[-1]]}]"

    def coef(v: Any) -> str:
        if np.ndim(v) == 0:  # a constant of the sweep's dtype: a bare literal would be float64 in numba
            return f"_T({float(v)!r})"
        values.append(np.asarray(v))
        return ref(f"v{len(values) - 1}", None, (0,) * nd)

    here = (0,) * nd
    lines = []
    for a in range(K):
        terms = [f"{coef(local[a, b])} * {ref('x', b, here)}" for b in range(K) if np.any(local[a, b])]
        for s, c in stencil:
            terms += [f"{coef(c[a, b])} * {ref('y', b, s)}" for b in range(K) if np.any(c[a, b])]
        lines.append(f"{ref('out', a, here)} = {ref('x', a, here)} + c * ({' + '.join(terms) or '_T(0.0)'})")
    args = "".join(f", v{e}" for e in range(len(values)))
    src = [f"def sweep(out, x, y, c{args}):", "    n = x.shape[1:]"]
    ind = "    "
    for ax in range(nd - 1):  # outer axes: neighbours with a branch per row
        name = _AX[ax]
        src.append(f"{ind}for {name} in {'prange' if ax == 0 else 'range'}(n[{ax}]):")
        ind += "    "
        src.append(f"{ind}{name}p = {name} + 1 if {name} + 1 < n[{ax}] else 0")
        src.append(f"{ind}{name}m = {name} - 1 if {name} > 0 else n[{ax}] - 1")
    src += [f"{ind}{name} = {expr}" for name, expr in views.items()]
    last, q = _AX[nd - 1], nd - 1  # the contiguous axis: the two edge sites, then a branch-free interior loop
    src += [f"{ind}{last} = 0", f"{ind}{last}p = 1 % n[{q}]", f"{ind}{last}m = n[{q}] - 1"]
    src += [ind + ln for ln in lines]
    src += [f"{ind}if n[{q}] > 1:", f"{ind}    {last} = n[{q}] - 1", f"{ind}    {last}p = 0"]
    src += [f"{ind}    {last}m = n[{q}] - 2"]
    src += [ind + "    " + ln for ln in lines]
    src.append(f"{ind}for {last} in {'prange' if nd == 1 else 'range'}(1, n[{q}] - 1):")
    interior = [ln.replace(f"[{last}p]", f"[{last} + 1]").replace(f"[{last}m]", f"[{last} - 1]") for ln in lines]
    src += [ind + "    " + ln for ln in interior]
    return "\n".join(src) + "\n", values


def numba_sweep(local: np.ndarray, stencil: list[tuple[tuple[int, ...], np.ndarray]], nd: int, dtype: str) -> Any:
    """The compiled sweep and its per-site value arrays (in ``dtype``); its constants are ``dtype`` too (``_T``), so
    a float32 sweep computes in float32 as nnfield's float32 program does."""
    src, values = sweep_source(local, stencil, nd)
    scope: dict[str, Any] = {"prange": prange, "_T": np.dtype(dtype).type}
    exec(compile(src, "<numba sweep>", "exec"), scope)
    return njit(parallel=True, boundscheck=False)(scope["sweep"]), [v.astype(dtype) for v in values]


def numba_runner(u: Update, dtype: str) -> Any:
    """``(phi, pi, steps) -> (phi, pi)`` with two hand-fused sweeps per step (phi', then pi' from phi' or, in the
    simultaneous scheme, from the old phi)."""
    nd = len(u.shape)
    drift, dv = numba_sweep(u.Lphi, u.B, nd, dtype)
    kick, kv = numba_sweep(u.Lpi, u.BT, nd, dtype)
    t = np.dtype(dtype).type
    dt = t(u.dt)

    def run(phi: np.ndarray, pi: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
        phi, pi = phi.copy(), pi.copy()
        phin, pin = np.empty_like(phi), np.empty_like(pi)
        for _ in range(steps):
            drift(phin, phi, pi, dt, *dv)
            kick(pin, pi, phi if u.simultaneous else phin, -dt, *kv)
            phi, phin, pi, pin = phin, phi, pin, pi
        return phi, pi

    return run


# ----------------------------------------------------------------------------------------------------------
# agreement: every timed twin must compute nnfield's update (to round-off), or its timing compares another map
# ----------------------------------------------------------------------------------------------------------
def _sweeps(u: Update) -> list[tuple[np.ndarray, list[tuple[tuple[int, ...], np.ndarray]]]]:
    return [(u.Lphi, u.B), (u.Lpi, u.BT)]


def agreement_tolerance(u: Update, dtype: str, steps: int, scale: float) -> float:
    r"""Bound on the max-abs difference of two implementations of ``steps`` ticks that differ only in rounding.

    One output of a sweep, ``x + dt (sum of n products)``, carries a rounding error of at most about
    ``eps (|x| + (n + 1) dt S scale)`` (``S``: the row's absolute coefficient sum, ``n`` its nonzero terms;
    Higham's ``gamma_n`` for a sum); two sweeps per tick, two implementations each rounding differently
    (a factor 4), errors adding up linearly over the ``steps`` ticks of a norm-preserving (stable) or slowly
    growing (paper) map whose size is ``scale`` (max |phi|, |pi| over the run):

        tol = 4 steps eps scale (1 + (n + 1) dt S)

    A missing or wrong term of the update changes the fields by about ``dt |c| scale`` per tick: for every
    coefficient of these networks far above this bound (e.g. the smallest, the stable mass term
    ``dt |ac| = 1.25e-3``, against ``tol / (steps scale) ~ 1e-5`` in float32).
    """
    n_terms, S = 0, 0.0
    for local, stencil in _sweeps(u):
        for a in range(u.K):
            cs = [local[a, b] for b in range(u.K)] + [c[a, b] for _, c in stencil for b in range(u.K)]
            nz = [np.abs(np.asarray(c, dtype=np.float64)).max() for c in cs if np.any(c)]
            n_terms, S = max(n_terms, len(nz)), max(S, float(sum(nz)))
    eps = float(np.finfo(dtype).eps)
    return 4.0 * steps * eps * scale * (1.0 + (n_terms + 1) * u.dt * S)


def traffic_values(u: Update) -> int:
    """Values per site-update one tick must move at least: ``4 K`` (read phi and pi, write phi' and pi', the
    neighbours from cache), plus, for a gauged network (per-site coefficients), one U(1) phase per link, ``D``
    values per site (the per-site ``K x K`` coefficient arrays an implementation may store are its choice, not
    the update's minimum)."""
    gauged = any(np.ndim(c) > 2 for _, stencil in _sweeps(u) for _, c in stencil)
    return 4 * u.K + (len(u.shape) if gauged else 0)


class DisagreementError(RuntimeError):
    """A benchmark twin (plain JAX, numba) does not compute the nnfield update it is timed against."""


def check_agreement(what: str, diff: float, tol: float, steps: int) -> None:
    """Raise :class:`DisagreementError` unless ``diff <= tol`` (NaN fails too)."""
    if not diff <= tol:
        raise DisagreementError(
            f"{what}: max |difference| from nnfield after {steps} ticks is {diff:.3e} > {tol:.3e} (the round-off "
            "bound of agreement_tolerance): the twin computes another update, so its timing would compare different "
            "maps"
        )


# ----------------------------------------------------------------------------------------------------------
# the benchmark
# ----------------------------------------------------------------------------------------------------------
@dataclass
class Row:
    case: str
    lattice: str
    dtype: str
    steps: int
    rate: dict[str, float] = field(default_factory=dict)  # Msite-updates / s
    compile_s: float = float("nan")
    diff_numba: float = float("nan")
    diff_plain: float = float("nan")
    tol: float = float("nan")  # the round-off bound both differences were checked against
    bytes_per_site: int = 0  # traffic model: traffic_values x itemsize
    triad_gbs: float = float("nan")  # STREAM triad over arrays of one field's size, same run

    def frac(self, impl: str) -> float:
        """Achieved bandwidth (rate x traffic model) as a fraction of the triad."""
        return self.rate.get(impl, float("nan")) * 1e6 * self.bytes_per_site / (self.triad_gbs * 1e9)
    load: float = float("nan")


def _best(fn: Any, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t0)
    return best


def bench_network(case: str, net: Any, dtype: str, steps: int, check_steps: int, repeats: int, log: Any) -> Row:
    """Time ``net`` (nnfield), its plain-JAX and numba twins; compare them after ``check_steps`` ticks."""
    net = cast_floating(net, dtype)  # as a run at this precision does (per-site coefficients included)
    shape, K = net.lattice.shape, net.K
    row = Row(case, "x".join(map(str, shape)) if len(shape) > 1 else str(shape[0]), dtype, steps)
    rng = np.random.default_rng(0)
    phi0 = rng.normal(size=(K, *shape)).astype(dtype)
    pi0 = rng.normal(size=(K, *shape)).astype(dtype)
    sites = int(np.prod(shape))
    u = update_of(net)
    row.bytes_per_site = traffic_values(u) * np.dtype(dtype).itemsize

    state = State(jnp.asarray(phi0), jnp.asarray(pi0))
    t0 = time.perf_counter()
    compiled = _run_jit.lower(net, state, steps=steps, every=1, observer=None).compile()
    row.compile_s = time.perf_counter() - t0
    plain = plain_runner(u, dtype, steps)
    p0, q0 = jnp.asarray(phi0), jnp.asarray(pi0)
    jax.block_until_ready(plain(p0, q0))
    runs = {"nnfield": lambda: compiled(net, state, observer=None), "plain JAX": lambda: plain(p0, q0)}
    if numba is not None:
        nb = numba_runner(u, dtype)
        nb(phi0, pi0, 1)  # JIT compile for this dtype
        runs["numba"] = lambda: nb(phi0, pi0, steps)
    best = dict.fromkeys(runs, math.inf)
    for _ in range(repeats):  # interleaved: all see the same background load
        for name, fn in runs.items():
            best[name] = min(best[name], _best(fn, 1))
    row.rate.update({name: sites * steps / t / 1e6 for name, t in best.items()})
    if numba is not None:
        from kg_step import stream_triad  # the parallel numba triad a = b + s c

        row.triad_gbs = stream_triad(K * sites, dtype, repeats)

    out, _ = _run_jit(net, state, steps=check_steps, every=1, observer=None)
    nn = np.asarray(out.phi), np.asarray(out.pi)
    if nn[0].dtype != np.dtype(dtype) or nn[1].dtype != np.dtype(dtype):
        raise DisagreementError(f"{case} {dtype}: nnfield's run returned {nn[0].dtype}, {nn[1].dtype}")
    scale = float(max(np.abs(phi0).max(), np.abs(pi0).max(), np.abs(nn[0]).max(), np.abs(nn[1]).max()))
    tol = agreement_tolerance(u, dtype, check_steps, scale)
    ref = plain_runner(u, dtype, check_steps)(p0, q0)
    row.diff_plain = float(max(np.abs(nn[0] - np.asarray(ref[0])).max(), np.abs(nn[1] - np.asarray(ref[1])).max()))
    check_agreement(f"{case} {row.lattice} {dtype} plain JAX", row.diff_plain, tol, check_steps)
    if numba is not None:
        ref = nb(phi0, pi0, check_steps)
        if ref[0].dtype != np.dtype(dtype) or ref[1].dtype != np.dtype(dtype):
            raise DisagreementError(f"{case} {dtype} numba: the reference returned {ref[0].dtype}")
        row.diff_numba = float(max(np.abs(nn[0] - ref[0]).max(), np.abs(nn[1] - ref[1]).max()))
        check_agreement(f"{case} {row.lattice} {dtype} numba", row.diff_numba, tol, check_steps)
    row.tol = tol
    row.load = os.getloadavg()[0]
    log(f"  {case} {row.lattice} {dtype}: " + ", ".join(f"{k} {v:.1f}" for k, v in row.rate.items()) + " Msite/s")
    return row


def _fmt(x: float, spec: str) -> str:
    return "-" if not math.isfinite(x) else format(x, spec)


def table(rows: list[Row], check_steps: int) -> str:
    head = (
        "| case | lattice | dtype | nnfield [Msite/s] | plain JAX [Msite/s] | numba [Msite/s] | nnfield/plain JAX "
        "| nnfield/numba | triad [GB/s] | bytes/site | BW nnfield | BW numba | compile [s] "
        f"| max abs diff vs plain JAX, numba ({check_steps} steps; asserted below tol) | load |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        nn, pj, nb = (r.rate.get(k, float("nan")) for k in ("nnfield", "plain JAX", "numba"))
        lines.append(
            f"| {r.case} | {r.lattice} | {r.dtype} | {_fmt(nn, '.1f')} | {_fmt(pj, '.1f')} | {_fmt(nb, '.1f')} "
            f"| {_fmt(nn / pj, '.2f')} | {_fmt(nn / nb, '.2f')} | {_fmt(r.triad_gbs, '.1f')} | {r.bytes_per_site} "
            f"| {_fmt(r.frac('nnfield'), '.0%')} | {_fmt(r.frac('numba'), '.0%')} | {_fmt(r.compile_s, '.2f')} "
            f"| {_fmt(r.diff_plain, '.1e')}, {_fmt(r.diff_numba, '.1e')} (tol {_fmt(r.tol, '.0e')}) "
            f"| {_fmt(r.load, '.1f')} |"
        )
    return "\n".join(lines)


def default_steps(sites: int) -> int:
    return max(4, int(2e7 // sites))  # ~2e7 site-updates per timed run


CASES = ("3+1:wilson", "3+1:forward", "1+1:forward", "1+1:wilson", "3+1:wilson:paper", "3+1:forward:paper")


def split_case(case: str) -> tuple[int, str, str]:
    """``"3+1:forward"`` -> ``(3, "forward", "stable")``; ``"3+1:forward:paper"`` -> ``(3, "forward", "paper")``."""
    import re

    m = re.fullmatch(r"([123])\+1:(forward|wilson)(?::(stable|paper))?", case)
    if m is None:
        raise SystemExit(f"case {case!r}: expected D+1:bias[:network], D in 1, 2, 3, bias forward or wilson, "
                         "network stable (default) or paper; e.g. 3+1:wilson:paper")
    return int(m[1]), m[2], m[3] or "stable"


def dirac_network(case: str, n: int, n1: int) -> Any:
    nd, bias, network = split_case(case)
    shape = (n1,) if nd == 1 else (n,) * nd
    return dirac.model(Lattice(shape, 1.0), M, DT, network=network, bias=bias).network


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cases", nargs="+", default=list(CASES),
                    help=f"dimension:bias[:stable|paper] (default {' '.join(CASES)})")
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64], help="N of the N^D lattices, D >= 2")
    ap.add_argument("--size-1d", type=int, default=2**18, help="sites of the 1+1 lattices (default 262144)")
    ap.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    ap.add_argument("--quick", action="store_true", help="32^3 and the 1+1 forward case only")
    ap.add_argument("--steps", type=int, default=None, help="steps per timed run (default: ~2e7 site-updates)")
    ap.add_argument("--check-steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per implementation; the best is kept")
    ap.add_argument("--out", default=None, help="append the markdown table here")
    args = ap.parse_args(argv)
    cases = ["3+1:wilson", "3+1:forward", "1+1:forward"] if args.quick else args.cases
    sizes = [32] if args.quick else args.sizes
    for case in cases:  # a bad case stops the run before the first timing, not after minutes
        split_case(case)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    rows = []
    for case in cases:
        for n in sizes if not case.startswith("1+1") else [args.size_1d]:
            for dtype in args.dtypes:
                net = dirac_network(case, n, args.size_1d)
                steps = args.steps or default_steps(int(np.prod(net.lattice.shape)))
                rows.append(bench_network(case, net, dtype, steps, args.check_steps, args.repeats, log))
    tab = table(rows, args.check_steps)
    print(tab)
    if args.out:
        with open(args.out, "a") as fh:
            fh.write(tab + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
