r"""Site-updates per second of a 3D Klein-Gordon network step: nnfield vs NumPy vs a hand-fused numba loop.

The update (all three implementations): one leapfrog tick of the network (3.8) with loss (3.11), i.e. the
scheme ``L(dt/2) A(dt) L(dt/2)`` with ``dH/dphi = (m^2 - Lap_a) phi`` (eq. 3.10):

    pi  <- pi - dt/2 (m^2 phi - Lap_a phi)
    phi <- phi + dt pi
    pi  <- pi - dt/2 (m^2 phi - Lap_a phi)

(a) nnfield: ``klein_gordon.momentum_network(..., scheme="leapfrog")`` advanced by ``nnfield.network.run`` (one
    jitted program; the learning gradient is JAX autodiff of the loss). Without per-step observables the
    leapfrog scheme merges the closing half kick of a tick with the opening one of the next,
    ``L(dt/2) [A L(dt)]^(n-1) A L(dt/2)`` (the same map up to rounding);
(b) NumPy: the same update with ``np.roll``, tick by tick;
(c) numba: the same merged sequence, one hand-fused ``prange`` sweep per step (kick + drift); the column
    "numba 2-sweep" is the tick-by-tick form (kick + drift, then kick), for reference.

Memory traffic model (bytes per site-update): 4 arrays x itemsize (one sweep reads phi and pi and writes
pi and phi'); neighbour reads are assumed to hit cache (the +-z planes of a 256^3 float64 field are 512 KiB
apart). The bandwidth is measured in the same run with a parallel
numba STREAM triad ``a = b + s c`` (3 arrays) on arrays of the same size, so at 64^3 it is a cache bandwidth.

Usage::

    python benchmarks/kg_step.py --quick                      # 64^3, both precisions
    python benchmarks/kg_step.py --out benchmarks/RESULTS.md  # 64^3, 128^3, 256^3; writes the report

Timings are the best of ``--repeats`` runs. The machine may be shared: the load average is recorded.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any

# numba's OpenMP workers spin while waiting; on a shared (oversubscribed) machine that costs them 10-30x.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import nnfield  # noqa: E402
from nnfield import Lattice  # noqa: E402
from nnfield.network import _run_jit  # noqa: E402  (the jitted scan behind nnfield.network.run)
from nnfield.state import State  # noqa: E402
from nnfield.theories import klein_gordon as kg  # noqa: E402

try:
    import numba
    from numba import njit, prange
except ImportError:  # pragma: no cover - numba is in the `bench` extra
    numba = None

M, DT, SPACING = 0.5, 0.1, 1.0  # stable: dt < 2 / sqrt(12 / a^2 + m^2) = 0.57
BYTES_ARRAYS = 4  # merged kicks: one sweep reads phi, pi and writes pi, phi' (neighbours from cache)


# ----------------------------------------------------------------------------------------------------------
# (b) NumPy
# ----------------------------------------------------------------------------------------------------------
def numpy_leapfrog(phi: np.ndarray, pi: np.ndarray, steps: int, dt: float, m: float, a: float):
    t = phi.dtype.type
    h, dtt, m2, ia2 = t(dt / 2), t(dt), t(m * m), t(1.0 / a**2)
    phi, pi = phi.copy(), pi.copy()

    def force(f: np.ndarray) -> np.ndarray:
        lap = -t(6) * f
        for ax in range(3):
            lap += np.roll(f, 1, ax)
            lap += np.roll(f, -1, ax)
        return m2 * f - ia2 * lap

    for _ in range(steps):
        pi -= h * force(phi)
        phi += dtt * pi
        pi -= h * force(phi)
    return phi, pi


# ----------------------------------------------------------------------------------------------------------
# (c) numba: two fused sweeps per step, rows split so that the interior loop vectorizes
# ----------------------------------------------------------------------------------------------------------
if numba is not None:

    @njit(inline="always")
    def _force(c, xp, xm, yp, ym, k, km, kp, m2, ia2):  # m^2 phi - Lap phi at (i, j, k)
        # 6 of the field's dtype: a bare integer literal would promote a float32 sweep to float64
        return m2 * c[k] - ia2 * (xp[k] + xm[k] + yp[k] + ym[k] + c[kp] + c[km] - c.dtype.type(6) * c[k])

    @njit(parallel=True, boundscheck=False)
    def _kick_drift(phi, pi, phin, h, dt, m2, ia2):
        n0, n1, n2 = phi.shape
        for i in prange(n0):
            ip, im = (i + 1) % n0, (i - 1) % n0
            for j in range(n1):
                jp, jm = (j + 1) % n1, (j - 1) % n1
                c, xp, xm, yp, ym = phi[i, j], phi[ip, j], phi[im, j], phi[i, jp], phi[i, jm]
                p, out = pi[i, j], phin[i, j]
                v = p[0] - h * _force(c, xp, xm, yp, ym, 0, n2 - 1, 1 % n2, m2, ia2)
                p[0] = v
                out[0] = c[0] + dt * v
                for k in range(1, n2 - 1):
                    v = p[k] - h * _force(c, xp, xm, yp, ym, k, k - 1, k + 1, m2, ia2)
                    p[k] = v
                    out[k] = c[k] + dt * v
                k = n2 - 1
                v = p[k] - h * _force(c, xp, xm, yp, ym, k, k - 1, 0, m2, ia2)
                p[k] = v
                out[k] = c[k] + dt * v

    @njit(parallel=True, boundscheck=False)
    def _kick(phi, pi, h, m2, ia2):
        n0, n1, n2 = phi.shape
        for i in prange(n0):
            ip, im = (i + 1) % n0, (i - 1) % n0
            for j in range(n1):
                jp, jm = (j + 1) % n1, (j - 1) % n1
                c, xp, xm, yp, ym = phi[i, j], phi[ip, j], phi[im, j], phi[i, jp], phi[i, jm]
                p = pi[i, j]
                p[0] -= h * _force(c, xp, xm, yp, ym, 0, n2 - 1, 1 % n2, m2, ia2)
                for k in range(1, n2 - 1):
                    p[k] -= h * _force(c, xp, xm, yp, ym, k, k - 1, k + 1, m2, ia2)
                k = n2 - 1
                p[k] -= h * _force(c, xp, xm, yp, ym, k, k - 1, 0, m2, ia2)

    @njit(parallel=True, boundscheck=False)
    def _triad(a, b, c, s):
        for i in prange(a.size):
            a[i] = b[i] + s * c[i]


def numba_leapfrog_per_step(phi: np.ndarray, pi: np.ndarray, steps: int, dt: float, m: float, a: float):
    """Kick-drift-kick tick by tick: two fused sweeps per step (half kick + drift, half kick)."""
    t = phi.dtype.type
    h, dtt, m2, ia2 = t(dt / 2), t(dt), t(m * m), t(1.0 / a**2)
    phi, pi, phin = phi.copy(), pi.copy(), np.empty_like(phi)
    for _ in range(steps):
        _kick_drift(phi, pi, phin, h, dtt, m2, ia2)
        _kick(phin, pi, h, m2, ia2)
        phi, phin = phin, phi
    return phi, pi


def numba_leapfrog(phi: np.ndarray, pi: np.ndarray, steps: int, dt: float, m: float, a: float):
    """The same map with consecutive half kicks merged, like nnfield's ``run``: one fused sweep per step.

    ``L(dt/2) A [L(dt) A]^(n-1) L(dt/2)``: ``steps + 1`` sweeps for ``steps`` steps.
    """
    t = phi.dtype.type
    h, dtt, m2, ia2 = t(dt / 2), t(dt), t(m * m), t(1.0 / a**2)
    phi, pi, phin = phi.copy(), pi.copy(), np.empty_like(phi)
    if steps == 0:
        return phi, pi
    for s in range(steps):
        _kick_drift(phi, pi, phin, h if s == 0 else dtt, dtt, m2, ia2)
        phi, phin = phin, phi
    _kick(phi, pi, h, m2, ia2)
    return phi, pi


def jaxpr_numba_leapfrog(net: Any, dtype: Any, fastmath: bool = False) -> Any:
    """The merged-kick leapfrog of ``net`` with each step one numba sweep generated from the network's jaxpr.

    ``benchmarks/jaxpr_numba.py`` translates the program JAX traces for ``net.learn`` + ``net.activate`` (the
    learning gradient from ``jax.vjp`` of the loss, shifts shared) into one fused ``prange`` sweep, in the
    jaxpr's own operation order; only the loop structure is numba's. Returns ``run(phi0, pi0, steps)``.
    """
    from jaxpr_numba import compile_stencil

    n = net.lattice.shape
    z = np.zeros((1, *n), dtype)

    def kick_drift(phi, pi, h, net):
        p = net.learn(phi, pi, h)
        return net.activate(phi, p, net.dt), p

    def kick(phi, pi, h, net):
        return (net.learn(phi, pi, h),)

    # out of place: writing pi' over pi (allowed, pi is read at offset 0 only) measured 3x slower at 64^3:
    # LLVM cannot prove that the output row does not alias the six input rows, so the loop does not vectorize
    kd = compile_stencil(kick_drift, z, z, DT, net, fastmath=fastmath)
    kk = compile_stencil(kick, z, z, DT, net, fastmath=fastmath)

    sc_half, sc_full = kd.split(z, z, DT / 2, net)[1], kd.split(z, z, DT, net)[1]
    sc_kick = kk.split(z, z, DT / 2, net)[1]

    def run(phi0: np.ndarray, pi0: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
        phi, pi = phi0[None].copy(), pi0[None].copy()
        phin, pin = np.empty_like(phi), np.empty_like(pi)
        if steps == 0:
            return phi[0], pi[0]
        for s in range(steps):
            kd.fn(phi, pi, phin, pin, *(sc_half if s == 0 else sc_full))
            phi, phin, pi, pin = phin, phi, pin, pi
        kk.fn(phi, pi, pin, *sc_kick)
        return phi[0], pin[0]

    run(np.zeros(n, dtype), np.zeros(n, dtype), 2)  # numba JIT for this dtype
    return run


def agreement_tolerance(dtype: Any, steps: int, scale: float) -> float:
    r"""Bound on the max-abs difference of two leapfrog implementations of ``steps`` ticks that differ only in
    rounding: a kick's output ``pi - h (m^2 phi - Lap phi)`` (8 products, coefficient sum ``S = m^2 + 12/a^2``)
    is rounded to about ``eps scale (1 + 9 dt S)``, the drift to ``eps scale``; two implementations rounding
    differently (x2), kick + drift (x2), added up over the ticks of the bounded leapfrog map (``dt`` well inside
    the stability limit) whose fields reach ``scale``:

        tol = 4 steps eps scale (1 + 9 dt (m^2 + 12 / a^2))

    A wrong or missing term changes the fields by ``dt |c| scale`` per tick, >= ``dt m^2 = 2.5e-2`` relative:
    far above ``tol / (steps scale)`` (6e-6 in float32)."""
    eps = float(np.finfo(dtype).eps)
    return 4.0 * steps * eps * scale * (1.0 + 9.0 * DT * (M * M + 12.0 / SPACING**2))


def check_agreement(what: str, diff: float, tol: float, steps: int) -> None:
    """Raise ``RuntimeError`` unless ``diff <= tol`` (NaN fails too): a timed twin must compute nnfield's map."""
    if not diff <= tol:
        raise RuntimeError(
            f"{what}: max |difference| from nnfield after {steps} steps is {diff:.3e} > {tol:.3e} (round-off bound "
            "of agreement_tolerance): it computes another update, so its timing would compare different maps"
        )


def stream_triad(n_elem: int, dtype: Any, repeats: int) -> float:
    """Bandwidth in GB/s of a parallel ``a = b + s c`` (3 arrays of ``n_elem``), best of ``2 repeats``; ``nan``
    without numba (the `bench` extra): the triad is numba's one fused loop, which NumPy cannot stand in for."""
    if numba is None:
        return math.nan
    b = np.random.default_rng(1).random(n_elem).astype(dtype)
    c, a = b.copy(), np.empty_like(b)
    s = np.dtype(dtype).type(1.5)
    _triad(a, b, c, s)
    # ~0.4 GB moved per sample; at most 1000 calls (a parallel call costs ~10-50 us, tiny arrays would take minutes)
    inner = max(1, min(1000, int(4e8 // (3 * b.nbytes))))
    best = math.inf
    for _ in range(2 * repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            _triad(a, b, c, s)
        best = min(best, (time.perf_counter() - t0) / inner)
    return 3 * b.nbytes / best / 1e9


# ----------------------------------------------------------------------------------------------------------
# the benchmark
# ----------------------------------------------------------------------------------------------------------
@dataclass
class Row:
    n: int
    dtype: str
    steps: int
    rate: dict[str, float] = field(default_factory=dict)  # Msite-updates / s
    triad_gbs: float = float("nan")
    trace_s: float = float("nan")
    compile_s: float = float("nan")
    loops_per_step: int = -1
    temp_mib: float = float("nan")
    diff_numba: float = float("nan")
    diff_numpy: float = float("nan")
    diff_jn: float = float("nan")  # the jaxpr-generated numba sweep vs nnfield
    diff_jf: float = float("nan")  # the same with fastmath
    jn_compile_s: float = float("nan")
    scale: float = float("nan")
    load: float = float("nan")
    ratios: list[float] = field(default_factory=list)  # nnfield/numba of each round

    def frac(self, impl: str) -> float:
        bytes_per_site = BYTES_ARRAYS * np.dtype(self.dtype).itemsize
        return self.rate.get(impl, float("nan")) * 1e6 * bytes_per_site / (self.triad_gbs * 1e9)


def _best(fn: Any, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t0)
    return best


def _loop_fusions(hlo: str, n: int) -> int:
    """Number of field-sized loop fusions in the compiled while body (the loops one step makes)."""
    shape = f"[1,{n},{n},{n}]"
    comps = {b.split(" ", 1)[0].lstrip("%"): b for b in re.split(r"\n(?=%?\S+ \()", hlo)}
    bodies = [comps.get(name, "") for name in re.findall(r"body=%?([\w.\-]+)", hlo)]  # the while loops' bodies
    counts = [sum(1 for ln in b.splitlines() if " fusion(" in ln and shape in ln.split(" fusion(")[0]) for b in bodies]
    return max(counts, default=0)


def bench(n: int, dtype: str, steps: int, check_steps: int, repeats: int, numpy_max: int, log: Any) -> Row:
    row = Row(n, dtype, steps)
    rng = np.random.default_rng(0)
    phi0 = rng.normal(size=(n, n, n)).astype(dtype)
    pi0 = rng.normal(size=(n, n, n)).astype(dtype)
    sites = n**3
    row.scale = float(max(np.abs(phi0).max(), np.abs(pi0).max()))

    # (a) nnfield
    net = kg.momentum_network(Lattice((n, n, n), SPACING), M, DT, scheme="leapfrog")
    state = State(jnp.asarray(phi0[None]), jnp.asarray(pi0[None]))
    t0 = time.perf_counter()
    lowered = _run_jit.lower(net, state, steps=steps, every=1, observer=None)
    row.trace_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    compiled = lowered.compile()
    row.compile_s = time.perf_counter() - t0
    row.loops_per_step = _loop_fusions(compiled.as_text(), n)
    row.temp_mib = compiled.memory_analysis().temp_size_in_bytes / 2**20
    runs = {"nnfield": lambda: compiled(net, state, observer=None)}
    if numba is not None:
        numba_leapfrog(phi0, pi0, 1, DT, M, SPACING)  # JIT compile for this dtype
        numba_leapfrog_per_step(phi0, pi0, 1, DT, M, SPACING)
        runs["numba"] = lambda: numba_leapfrog(phi0, pi0, steps, DT, M, SPACING)
        runs["numba_step"] = lambda: numba_leapfrog_per_step(phi0, pi0, steps, DT, M, SPACING)
        t0 = time.perf_counter()
        jn_run = jaxpr_numba_leapfrog(net, dtype)
        row.jn_compile_s = time.perf_counter() - t0
        runs["jaxpr_numba"] = lambda: jn_run(phi0, pi0, steps)
        jf_run = jaxpr_numba_leapfrog(net, dtype, fastmath=True)
        runs["jaxpr_numba_fm"] = lambda: jf_run(phi0, pi0, steps)
        row.triad_gbs = stream_triad(sites, dtype, repeats)
    # interleaved, so that both see the same background load; best of `repeats`
    best = dict.fromkeys(runs, math.inf)
    for _ in range(repeats):
        for name, fn in runs.items():
            best[name] = min(best[name], _best(fn, 1))
    row.rate.update({name: sites * steps / t / 1e6 for name, t in best.items()})
    out, _ = nnfield.network.run(net, state, check_steps)
    nn_phi, nn_pi = np.asarray(out.phi[0]), np.asarray(out.pi[0])
    if nn_phi.dtype != np.dtype(dtype) or nn_pi.dtype != np.dtype(dtype):
        raise RuntimeError(f"{n}^3 {dtype}: nnfield's run returned {nn_phi.dtype}, {nn_pi.dtype}")
    tol = agreement_tolerance(dtype, check_steps, max(row.scale, float(np.abs(nn_phi).max()),
                                                      float(np.abs(nn_pi).max())))
    del out, runs
    log(f"  nnfield {row.rate['nnfield']:8.1f} Msite/s  (trace {row.trace_s:.2f} s, compile {row.compile_s:.2f} s)")

    # (c) numba
    if numba is not None:
        nb_phi, nb_pi = numba_leapfrog(phi0, pi0, check_steps, DT, M, SPACING)
        row.diff_numba = float(max(np.abs(nn_phi - nb_phi).max(), np.abs(nn_pi - nb_pi).max()))
        jn_phi, jn_pi = jn_run(phi0, pi0, check_steps)
        row.diff_jn = float(max(np.abs(nn_phi - jn_phi).max(), np.abs(nn_pi - jn_pi).max()))
        jn_phi, jn_pi = jf_run(phi0, pi0, check_steps)
        row.diff_jf = float(max(np.abs(nn_phi - jn_phi).max(), np.abs(nn_pi - jn_pi).max()))
        checked = (("numba", row.diff_numba), ("jaxpr-numba", row.diff_jn), ("jaxpr-numba fastmath", row.diff_jf))
        for what, diff in checked:
            check_agreement(f"{n}^3 {dtype} {what}", diff, tol, check_steps)
        log(
            f"  jaxpr-numba {row.rate['jaxpr_numba']:8.1f} Msite/s  (generate + numba compile {row.jn_compile_s:.1f} s"
            f", max diff vs nnfield {row.diff_jn:.1e}); fastmath {row.rate['jaxpr_numba_fm']:.1f} Msite/s"
            f" (max diff {row.diff_jf:.1e})"
        )
        del nb_phi, nb_pi
        row.triad_gbs = max(row.triad_gbs, stream_triad(sites, dtype, repeats))  # before and after: the best
        log(f"  numba   {row.rate['numba']:8.1f} Msite/s  triad {row.triad_gbs:.1f} GB/s")

    # (b) NumPy: the check run is also the timed run (one long run; its steps dominate any overhead)
    np_steps = min(check_steps, numpy_max)
    t0 = time.perf_counter()
    np_phi, np_pi = numpy_leapfrog(phi0, pi0, np_steps, DT, M, SPACING)
    row.rate["numpy"] = sites * np_steps / (time.perf_counter() - t0) / 1e6
    if np_steps == check_steps:
        row.diff_numpy = float(max(np.abs(nn_phi - np_phi).max(), np.abs(nn_pi - np_pi).max()))
        check_agreement(f"{n}^3 {dtype} numpy", row.diff_numpy, tol, check_steps)
    log(f"  numpy   {row.rate['numpy']:8.1f} Msite/s")
    row.load = os.getloadavg()[0]
    return row


def combine(rows: list[Row]) -> Row:
    """One row from several rounds: the best rate of each implementation, the first round's compile time."""
    out = rows[0]
    for r in rows[1:]:
        for k, v in r.rate.items():
            out.rate[k] = max(out.rate.get(k, 0.0), v)
        out.triad_gbs = max(out.triad_gbs, r.triad_gbs)
        out.diff_numba = max(out.diff_numba, r.diff_numba)
        out.diff_numpy = max(out.diff_numpy, r.diff_numpy)
        out.diff_jn = max(out.diff_jn, r.diff_jn)
        out.diff_jf = max(out.diff_jf, r.diff_jf)
        out.load = max(out.load, r.load)
    out.ratios = [r.rate.get("nnfield", math.nan) / r.rate.get("numba", math.nan) for r in rows]
    return out


def default_steps(n: int) -> int:
    return max(10, math.ceil(5e7 / n**3))  # ~5e7 site-updates per timed run


def _fmt(x: float, spec: str) -> str:
    return "-" if not math.isfinite(x) else format(x, spec)


def _spread(ratios: list[float]) -> str:
    finite = [x for x in ratios if math.isfinite(x)]
    return f" ({min(finite):.2f}-{max(finite):.2f})" if len(finite) > 1 else ""


def table(rows: list[Row], check_steps: int) -> str:
    head = (
        "| lattice | dtype | nnfield [Msite/s] | numba [Msite/s] | numba 2-sweep [Msite/s] | numpy [Msite/s] "
        "| jaxpr-numba [Msite/s] | jaxpr-numba fastmath [Msite/s] | nnfield/numba | nnfield/numba 2-sweep "
        "| nnfield/numpy | jaxpr-numba/numba | triad [GB/s] | BW nnfield | BW numba | BW jaxpr-numba "
        "| BW jaxpr-numba fastmath | compile [s] | loops/step, temp [MiB] "
        f"| max abs diff vs numba, numpy, jaxpr-numba, fastmath ({check_steps} steps; asserted below tol) | load |"
    )
    lines = [head, "|" + "|".join(["---"] * (head.count("|") - 1)) + "|"]
    for r in rows:
        keys = ("nnfield", "numba", "numba_step", "numpy", "jaxpr_numba", "jaxpr_numba_fm")
        nn, nb, nbs, npy, jn, jf = (r.rate.get(k, float("nan")) for k in keys)
        lines.append(
            f"| {r.n}^3 | {r.dtype} | {_fmt(nn, '.0f')} | {_fmt(nb, '.0f')} | {_fmt(nbs, '.0f')} | {_fmt(npy, '.1f')} "
            f"| {_fmt(jn, '.0f')} | {_fmt(jf, '.0f')} "
            f"| {_fmt(nn / nb, '.2f')}{_spread(r.ratios)} | {_fmt(nn / nbs, '.2f')} | {_fmt(nn / npy, '.1f')} "
            f"| {_fmt(jn / nb, '.2f')} | {_fmt(r.triad_gbs, '.1f')} "
            f"| {_fmt(r.frac('nnfield'), '.0%')} | {_fmt(r.frac('numba'), '.0%')} "
            f"| {_fmt(r.frac('jaxpr_numba'), '.0%')} "
            f"| {_fmt(r.frac('jaxpr_numba_fm'), '.0%')} "
            f"| {_fmt(r.trace_s + r.compile_s, '.2f')} | {r.loops_per_step}, {_fmt(r.temp_mib, '.0f')} "
            f"| {_fmt(r.diff_numba, '.1e')}, {_fmt(r.diff_numpy, '.1e')}, "
            f"{_fmt(r.diff_jn, '.1e')}, {_fmt(r.diff_jf, '.1e')} "
            f"| {_fmt(r.load, '.1f')} |"
        )
    return "\n".join(lines)


def machine_info() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            names = [ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        mem = float("nan")
    import jaxlib

    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": f"{mem:.0f} GiB",
        "python": platform.python_version(),
        "jax / jaxlib": f"{jax.__version__} / {jaxlib.__version__}",
        "numba": numba.__version__ if numba is not None else "not installed",
        "numba threads / layer": (
            f"{numba.get_num_threads()} / {numba.threading_layer()}" if numba is not None else "-"
        ),
        "numpy": np.__version__,
        "nnfield": nnfield.__version__ if hasattr(nnfield, "__version__") else "?",
        "XLA_FLAGS": os.environ.get("XLA_FLAGS", ""),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", ""),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256], help="lattice sizes N (N^3 sites)")
    ap.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    ap.add_argument("--quick", action="store_true", help="64^3 only")
    ap.add_argument("--steps", type=int, default=None, help="steps per timed run (default: ~5e7 site-updates)")
    ap.add_argument("--check-steps", type=int, default=10, help="steps of the agreement check (default 10)")
    ap.add_argument("--numpy-max-steps", type=int, default=10, help="cap on NumPy steps (it is slow)")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per implementation; the best is kept")
    ap.add_argument("--rounds", type=int, default=1, help="repeat everything; each rate is the best round's")
    ap.add_argument("--out", default=None, help="write the markdown report (machine info + table) here")
    args = ap.parse_args(argv)
    sizes = [64] if args.quick else args.sizes
    if numba is None:
        print("numba is not installed (pip install 'nnfield[bench]'): skipping the numba column", file=sys.stderr)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    load0 = os.getloadavg()
    rounds: dict[tuple[int, str], list[Row]] = {}
    for r in range(args.rounds):
        for n in sizes:
            for dtype in args.dtypes:
                steps = args.steps or default_steps(n)
                log(f"round {r + 1}/{args.rounds}, {n}^3 {dtype}: {steps} steps per timed run")
                row = bench(n, dtype, steps, args.check_steps, args.repeats, args.numpy_max_steps, log)
                rounds.setdefault((n, dtype), []).append(row)
    load1 = os.getloadavg()
    rows = [combine(rs) for rs in rounds.values()]
    tab = table(rows, args.check_steps)
    print(tab)
    if args.out:
        info = machine_info()
        info["load average (1, 5, 15 min) at start / end"] = (
            f"{' '.join(f'{x:.1f}' for x in load0)} / {' '.join(f'{x:.1f}' for x in load1)}"
        )
        with open(args.out, "w") as fh:
            fh.write(report(tab, info, args, sizes))
        log(f"wrote {args.out}")
    return 0


def report(tab: str, info: dict[str, str], args: argparse.Namespace, sizes: list[int]) -> str:
    cmd = "python benchmarks/kg_step.py " + " ".join(sys.argv[1:])
    machine = "\n".join(f"| {k} | {v} |" for k, v in info.items())
    rounds_note = (
        f", and the best of {args.rounds} rounds of the whole benchmark; in parentheses the range of "
        "nnfield/numba over the rounds"
        if args.rounds > 1
        else ""
    )
    return f"""# Klein-Gordon step benchmark

Generated by `{cmd.strip()}` (see `benchmarks/README.md`; analysis in `docs/performance.md`).

One tick of the 3D Klein-Gordon network (3.8)/(3.11) with the leapfrog scheme, m = {M}, dt = {DT},
a = {SPACING}, periodic {", ".join(f"{n}^3" for n in sizes)} lattices, random normal initial data.

- **nnfield**: `klein_gordon.momentum_network(..., scheme="leapfrog")` run by `nnfield.network.run` (one jitted
  `lax.scan`, learning gradient by JAX autodiff of the loss).
- **numba**: the same merged-kick sequence as nnfield's `run`, one hand-fused `prange` sweep per step;
  **numba 2-sweep**: the tick-by-tick kick-drift-kick (two sweeps per step), for reference.
- **numpy**: the same update with `np.roll`.
- Rates are site-updates per second (lattice sites x steps / wall time), best of {args.repeats} runs
  (NumPy: one run of min(check steps, {args.numpy_max_steps}) steps){rounds_note}.
- **BW**: achieved fraction of the STREAM triad bandwidth measured in the same run (parallel numba,
  `a = b + s c` on arrays of the lattice size), with the traffic model 4 arrays x itemsize per site-update
  (one sweep reads phi, pi and writes pi, phi'; neighbour reads from cache). At 64^3 the arrays fit in
  cache, so that "bandwidth" is a cache bandwidth.
- **compile**: trace + XLA compile of the timed `run` (target < 2 s). **loops/step**: field-sized loop
  fusions in the compiled scan body; **temp**: XLA's temporary buffers (`memory_analysis()`).
- **max abs diff**: largest |difference| of phi and pi after the check steps (nnfield vs numba, nnfield
  vs numpy); the initial fields are O(1) (max |phi|, |pi| about 5), so round-off is ~1e-6 (float32) and
  ~1e-15 (float64).
- **load**: 1-minute load average after the row. The benchmark's own threads account for about the core
  count; clearly more than that means other processes competed for the cores during the row.

{tab}

## Machine

| | |
|---|---|
{machine}
"""


if __name__ == "__main__":
    raise SystemExit(main())
