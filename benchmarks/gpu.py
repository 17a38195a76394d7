r"""Every benchmark on an accelerator in one command (about 5 minutes): writes ``benchmarks/RESULTS-gpu.md``.

    python benchmarks/gpu.py                         # on a machine with a GPU (pip install -e ".[gpu,bench]")
    python benchmarks/gpu.py --allow-cpu --tiny      # the same code path on CPU, small lattices (a smoke run)

What it measures, all on JAX's default device and in the same process:

- **triad**: the device's memory bandwidth, a jitted ``a = b + s c`` over three arrays of ``2^27`` elements
  (1.5 GiB in float32; best of 10): the baseline every fraction below refers to.
- **Klein-Gordon** network (3.8) with the leapfrog scheme at 256^3 and 512^3 (``nnfield.network.run``, one jitted
  ``lax.scan``; the learning gradient is JAX autodiff of loss (3.11)). Traffic model: 4 arrays per
  site-update (read phi, pi; write phi', pi': the merged kicks' one sweep, as in ``kg_step.py``).
- **Dirac** stable network (Sec. 4, alternating scheme, per-type loss (4.14)), 3+1 dimensions, forward and
  twisted-Wilson bias, 128^3 and 256^3, against the plain-JAX twin of ``dirac_step.py`` (same coefficients).
  Traffic model: ``4 K`` values per site-update (each component of phi and pi read once and written once).
- **Gauged Dirac** (Sec. 5, link form, uniform magnetic field) 2+1 forward and Wilson at 2048^2, against the same
  plain-JAX twin. Traffic model: ``4 K + D`` values per site-update (the state, and one U(1) phase per link).
- **The paper's networks** (``:paper``, simultaneous scheme, (4.11) with the corrected per-type loss): 3+1 Dirac
  forward and Wilson at the first Dirac size, gauged 2+1 forward and Wilson, each against its plain-JAX twin; and
  the **1+1 Dirac** stable network (forward bias, ``2^22`` sites).
- **Dynamical links** (no twin; traffic model: every value of the state read and written once per tick): scalar
  QED (``scalar_qed.model``, the U(1) staggered leapfrog of ``u1_step.py``) and Maxwell-Dirac
  (``maxwell_dirac.model``, the tick of ``maxwell_dirac_step.py``) in 3D.

Every plain-JAX twin's result after the timed program's ticks is asserted to equal nnfield's to round-off
(``dirac_step.agreement_tolerance``), so no ratio compares different updates.
- **Ensemble** (``benchmarks/ensemble.py`` on the device): 64 Klein-Gordon members of 64^3 in one vmapped program
  against one 256^3 run (one compile; issue 10: throughput at least one big run's).
- **Small runs** (``benchmarks/overhead.py --backend default``): the wall time of ``nnfield run`` of the 1D and 2D
  Klein-Gordon and 1+1 Dirac examples, cold and warm, against the floor of starting JAX on the device.

``--parts`` chooses among ``steps`` (the first four), ``ensemble`` and ``overhead``; the last two run the scripts
in fresh processes and add their tables (or, if one fails, its error) to the report.

Rates are million site-updates per second (best of ``--repeats`` timed runs of about ``--seconds`` each, after
compilation); "BW" is the rate times the traffic model, as a fraction of the triad bandwidth. Targets of
issue 10: at least 70% of the device's memory bandwidth for Klein-Gordon and Dirac. Results are written as
markdown to ``--out`` (default ``benchmarks/RESULTS-gpu.md``) with the device, JAX version and date.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # measure, don't grab 75% of the device

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dirac_step  # noqa: E402  (the plain-JAX twin and the case builders)
import gauge_step  # noqa: E402
from nnfield import Lattice  # noqa: E402
from nnfield.network import _run_jit  # noqa: E402  (the jitted scan behind nnfield.network.run)
from nnfield.runner import cast_floating  # noqa: E402
from nnfield.state import State  # noqa: E402
from nnfield.theories import klein_gordon as kg  # noqa: E402

M, DT = 0.5, 0.1


@dataclass
class Row:
    case: str
    lattice: str
    dtype: str
    rate: float  # Msite/s, nnfield
    plain: float = math.nan  # Msite/s, plain-JAX twin
    bytes_per_site: int = 0
    compile_s: float = math.nan
    triad: float = math.nan  # GB/s of the same dtype
    diff: float = math.nan  # max |nnfield - plain JAX| after STEPS ticks (asserted below the round-off bound)

    @property
    def bw(self) -> float:
        return self.rate * 1e6 * self.bytes_per_site / 1e9

    def cells(self) -> list[str]:
        frac = self.bw / self.triad if self.triad == self.triad else math.nan
        plain = f"{self.plain:.0f}" if self.plain == self.plain else "-"
        ratio = f"{self.rate / self.plain:.2f}" if self.plain == self.plain else "-"
        diff = f"{self.diff:.1e}" if self.diff == self.diff else "-"
        return [self.case, self.lattice, self.dtype, f"{self.rate:.0f}", plain, ratio, f"{self.bw:.0f}",
                f"{100 * frac:.0f}%", f"{self.compile_s:.2f}", diff]


def _sync(x: Any) -> Any:
    return jax.block_until_ready(x)


def _time(fn: Callable[[], Any], repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        _sync(fn())
        best = min(best, time.perf_counter() - t0)
    return best


def triad(n: int, dtype: str, repeats: int) -> float:
    """GB/s of a jitted ``a = b + s c`` (3 arrays of ``n`` elements), best of ``repeats``."""
    b = jnp.arange(n, dtype=dtype)
    c = jnp.ones(n, dtype=dtype)
    f = jax.jit(lambda b, c: b + jnp.asarray(1.5, dtype) * c)
    _sync(f(b, c))
    inner = 10
    g = jax.jit(lambda b, c: jax.lax.fori_loop(0, inner, lambda i, x: x + jnp.asarray(1.5, dtype) * c, b))
    _sync(g(b, c))
    t = _time(lambda: g(b, c), repeats) / inner
    return 3 * n * np.dtype(dtype).itemsize / t / 1e9


STEPS = 32  # ticks of the one program compiled per case


def _calibrated(compiled_for: Callable[[int], Callable[[], Any]], sites: int, seconds: float,
                repeats: int, steps: int = STEPS) -> tuple[float, float, Callable[[], Any]]:
    """Compile one program of ``steps`` ticks, then time back-to-back calls (asynchronously dispatched) filling
    about ``seconds``: ``(Msite/s, compile s, the program)``. One compile per case keeps the whole run within
    minutes."""
    t0 = time.perf_counter()
    fn = compiled_for(steps)
    compile_s = time.perf_counter() - t0
    _sync(fn())
    t = _time(fn, 2)
    calls = max(1, int(seconds / max(t, 1e-6)))

    def many() -> Any:
        out = None
        for _ in range(calls):
            out = fn()
        return out

    return sites * steps * calls / _time(many, repeats) / 1e6, compile_s, fn


def bench_network(case: str, net: Any, dtype: str, seconds: float, repeats: int, plain_twin: bool) -> Row:
    net = cast_floating(net, dtype)  # as a run at this precision does (per-site coefficients included)
    shape, K = net.lattice.shape, net.K
    sites = int(np.prod(shape))
    rng = np.random.default_rng(0)
    phi0 = jnp.asarray(rng.normal(size=(K, *shape)).astype(dtype))
    pi0 = jnp.asarray(rng.normal(size=(K, *shape)).astype(dtype))
    state = State(phi0, pi0)

    def nn(steps: int) -> Callable[[], Any]:
        compiled = _run_jit.lower(net, state, steps=steps, every=1, observer=None).compile()
        return lambda: compiled(net, state, observer=None)

    rate, compile_s, nn_fn = _calibrated(nn, sites, seconds, repeats)
    row = Row(case, "x".join(map(str, shape)), dtype, rate, bytes_per_site=4 * K * np.dtype(dtype).itemsize,
              compile_s=compile_s)
    if plain_twin:
        u = dirac_step.update_of(net)
        row.bytes_per_site = dirac_step.traffic_values(u) * np.dtype(dtype).itemsize  # + the links, if gauged

        def plain(steps: int) -> Callable[[], Any]:
            run = dirac_step.plain_runner(u, dtype, steps)
            _sync(run(phi0, pi0))
            return lambda: run(phi0, pi0)

        row.plain, _, plain_fn = _calibrated(plain, sites, seconds, repeats)
        # the twin must compute nnfield's update (both programs are the STEPS-tick ones just timed)
        out = nn_fn()[0]
        ref = plain_fn()
        nn_arrs = [np.asarray(out.phi), np.asarray(out.pi)]
        if any(a.dtype != np.dtype(dtype) for a in nn_arrs):
            raise dirac_step.DisagreementError(f"{case} {dtype}: nnfield's run returned {nn_arrs[0].dtype}")
        diff = max(float(np.abs(a - np.asarray(b)).max()) for a, b in zip(nn_arrs, ref, strict=True))
        scale = max(float(np.abs(np.asarray(x)).max()) for x in (phi0, pi0, *nn_arrs))
        tol = dirac_step.agreement_tolerance(u, dtype, STEPS, scale)
        dirac_step.check_agreement(f"{case} {row.lattice} {dtype} plain JAX", diff, tol, STEPS)
        row.diff = diff
    return row


def kg_network(n: int) -> Any:
    return kg.momentum_network(Lattice((n, n, n), 1.0), M, DT, scheme="leapfrog")


def bench_state(case: str, net: Any, state: Any, dtype: str, seconds: float, repeats: int) -> Row:
    """nnfield's rate for a network whose state is any pytree (the dynamical-link theories), no twin; traffic model:
    every value of the state read and written once per tick."""
    net = cast_floating(net, dtype)
    state = jax.tree_util.tree_map(
        lambda x: jnp.asarray(x, dtype) if jnp.issubdtype(jnp.result_type(x), jnp.floating) else x, state)
    shape = net.lattice.shape
    sites = int(np.prod(shape))

    def nn(steps: int) -> Callable[[], Any]:
        compiled = _run_jit.lower(net, state, steps=steps, every=1, observer=None).compile()
        return lambda: compiled(net, state, observer=None)

    rate, compile_s, _ = _calibrated(nn, sites, seconds, repeats)
    values = sum(int(np.prod(np.shape(x))) for x in jax.tree_util.tree_leaves(state)) // sites
    return Row(case, "x".join(map(str, shape)), dtype, rate, bytes_per_site=2 * values * np.dtype(dtype).itemsize,
               compile_s=compile_s)


def scalar_qed_case(n: int) -> tuple[Any, Any]:
    """The network and state of ``u1_step.py`` (a Higgs vacuum with fluctuations, 3D; its constants)."""
    import u1_step as u1

    lat = Lattice((n, n, n), u1.A)
    model = u1.sq.model(lat, u1.DT, charge=u1.Q, lam=u1.LAM, v=u1.V, m=u1.M)
    phi0, pi0 = u1.sq.higgs_vacuum(lat, u1.Q, u1.LAM, u1.V, u1.M, 1, 0.1, 0.05)
    return model.network, model.encode(phi0, pi0)


def maxwell_dirac_case(n: int) -> tuple[Any, Any]:
    """The network and state of ``maxwell_dirac_step.py`` (a charged packet in a field, 3D, forward bias)."""
    import maxwell_dirac_step as mds

    lat = Lattice((n, n, n), mds.A)
    model = mds.md.model(lat, mds.DT, charge=mds.Q, m=mds.MASS, bias="forward")
    phi0, pi0 = mds.charged_packets(model, 1, width=1.5 * n / 16, momentum=[0.5, 0.0, 0.0], field=0.5, direction=2)
    return model.network, model.encode(phi0, pi0)


def device_info() -> dict[str, str]:
    dev = jax.devices()[0]
    info = {"device": f"{dev.platform}: {getattr(dev, 'device_kind', '?')}", "devices": str(jax.device_count()),
            "jax": jax.__version__, "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    try:
        stats = dev.memory_stats() or {}
        if "bytes_limit" in stats:
            info["memory"] = f"{stats['bytes_limit'] / 2**30:.0f} GiB"
    except Exception:  # noqa: BLE001 - not every backend reports memory
        pass
    return info


PARTS = ("steps", "ensemble", "overhead")


def _script(name: str, args: list[str]) -> str:
    """The report of ``benchmarks/NAME ARGS`` run in a fresh process on JAX's default device (or its error)."""
    import subprocess
    import tempfile

    here = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.md"
        env = dict(os.environ, PYTHONPATH=str(here.parent / "src"))
        res = subprocess.run([sys.executable, str(here / name), *args, "--out", str(out)], capture_output=True,
                             text=True, env=env, check=False)
        if res.returncode != 0 or not out.exists():
            tail = "\n".join(res.stderr.strip().splitlines()[-5:])
            return f"\n`{name} {' '.join(args)}` failed (exit {res.returncode}):\n\n```\n{tail}\n```\n"
        return out.read_text(encoding="utf-8").replace("\n# ", "\n## ")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--allow-cpu", action="store_true", help="run even without an accelerator")
    ap.add_argument("--tiny", action="store_true", help="small lattices (a smoke run of the code path)")
    ap.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    ap.add_argument("--seconds", type=float, default=1.0, help="length of one timed run (default 1 s)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS, help="what to measure (default all)")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "RESULTS-gpu.md"))
    args = ap.parse_args(argv)
    backend = jax.default_backend()
    if backend == "cpu" and not args.allow_cpu:
        print("benchmarks/gpu.py: no accelerator (JAX's default backend is cpu); pass --allow-cpu to run anyway",
              file=sys.stderr)
        return 2
    t_start = time.perf_counter()
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    if args.tiny:
        kg_sizes, dirac_sizes, gauge_sizes, triad_n, n_1d, link_sizes = [16], [8], [32], 2**20, 2**12, [8]
    else:
        kg_sizes, dirac_sizes, gauge_sizes, triad_n, n_1d, link_sizes = [256, 512], [128, 256], [2048], 2**27, 2**22, [
            128]
    rows: list[Row] = []
    for dtype in args.dtypes if "steps" in args.parts else ():
        bw = triad(triad_n, dtype, 10)
        log(f"triad {dtype}: {bw:.0f} GB/s")
        for n in kg_sizes:
            row = bench_network("KG (3.8) leapfrog", kg_network(n), dtype, args.seconds, args.repeats, False)
            row.bytes_per_site = 4 * np.dtype(dtype).itemsize  # phi and pi, one read and one write
            rows.append(row)
            log(f"  {row.case} {row.lattice} {dtype}: {row.rate:.0f} Msite/s")
        for bias in ("forward", "wilson"):
            for n in dirac_sizes:
                net = dirac_step.dirac_network(f"3+1:{bias}", n, n)
                rows.append(bench_network(f"Dirac 3+1 stable, {bias}", net, dtype, args.seconds, args.repeats, True))
                log(f"  {rows[-1].case} {rows[-1].lattice} {dtype}: {rows[-1].rate:.0f} Msite/s")
        for bias in ("forward", "wilson"):
            for n in gauge_sizes:
                net = gauge_step.gauged_network(f"2+1:{bias}", n, 4)
                rows.append(bench_network(f"gauged Dirac 2+1, {bias}, B field", net, dtype, args.seconds,
                                          args.repeats, True))
                log(f"  {rows[-1].case} {rows[-1].lattice} {dtype}: {rows[-1].rate:.0f} Msite/s")
        for bias in ("forward", "wilson"):  # the paper's networks (simultaneous scheme)
            n = dirac_sizes[0]
            net = dirac_step.dirac_network(f"3+1:{bias}:paper", n, n)
            rows.append(bench_network(f"Dirac 3+1 paper, {bias}", net, dtype, args.seconds, args.repeats, True))
            log(f"  {rows[-1].case} {rows[-1].lattice} {dtype}: {rows[-1].rate:.0f} Msite/s")
            net = gauge_step.gauged_network(f"2+1:{bias}:paper", gauge_sizes[0], 4)
            rows.append(bench_network(f"gauged Dirac 2+1 paper, {bias}, B field", net, dtype, args.seconds,
                                      args.repeats, True))
            log(f"  {rows[-1].case} {rows[-1].lattice} {dtype}: {rows[-1].rate:.0f} Msite/s")
        net = dirac_step.dirac_network("1+1:forward", 0, n_1d)
        rows.append(bench_network("Dirac 1+1 stable, forward", net, dtype, args.seconds, args.repeats, True))
        log(f"  {rows[-1].case} {rows[-1].lattice} {dtype}: {rows[-1].rate:.0f} Msite/s")
        for name, build in (("scalar QED 3D (U(1) links)", scalar_qed_case),
                            ("Maxwell-Dirac 3D, forward", maxwell_dirac_case)):
            for n in link_sizes:
                net, state = build(n)
                rows.append(bench_state(name, net, state, dtype, args.seconds, args.repeats))
                log(f"  {rows[-1].case} {rows[-1].lattice} {dtype}: {rows[-1].rate:.0f} Msite/s")
        for row in rows:
            if row.dtype == dtype:
                row.triad = bw
    info = device_info()
    head = ["case", "lattice", "dtype", "nnfield [Msite/s]", "plain JAX [Msite/s]", "nnfield/plain JAX",
            "BW [GB/s]", "BW / triad", "compile [s]", f"max abs diff vs plain JAX ({STEPS} ticks)"]
    cmd = " ".join(["python benchmarks/gpu.py", *(sys.argv[1:] if argv is None else argv)])
    lines = [
        "# Benchmarks on an accelerator",
        "",
        f"Generated by `{cmd}` in TOTAL s. "
        + ", ".join(f"{k}: {v}" for k, v in info.items()) + ".",
        "Triad bandwidth (jitted `a = b + s c`): "
        + (", ".join(f"{r.dtype} {r.triad:.0f} GB/s" for r in {r.dtype: r for r in rows}.values()) or "-") + ".",
        "Traffic models: Klein-Gordon 4 arrays per site-update, Dirac 4K values per site-update, gauged Dirac "
        "4K + D (one U(1) phase per link; see the script), scalar QED and Maxwell-Dirac every state value read and "
        "written once. The plain-JAX twins are asserted to agree with nnfield to round-off.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(r.cells()) + " |" for r in rows),
        "",
    ]
    if "ensemble" in args.parts:
        log("ensemble ...")
        sizes = ["--members", "8", "--n", "8", "--steps", "20", "--repeats", "1"] if args.tiny else [
            "--members", "64", "--n", "64", "--steps", "100"]
        lines += ["## Ensemble", _script("ensemble.py", sizes)]
    if "overhead" in args.parts:
        log("small runs ...")
        which = ["--only", "kg_1d_packet", "--warm-repeats", "1"] if args.tiny else [
            "--only", "kg_1d_packet", "kg_2d_plane_wave", "dirac_1p1"]
        lines.append(_script("overhead.py", [*which, "--backend", "default"]))
    lines[2] = lines[2].replace("in TOTAL s", f"in {time.perf_counter() - t_start:.0f} s")
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
