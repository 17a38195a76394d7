"""The benchmark scripts keep running (timings are never asserted: only that the reports come out whole)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _bench(script: str, *args: str, out: Path, timeout: float = 600) -> str:
    """Run ``benchmarks/SCRIPT ARGS --out OUT`` (nnfield from this checkout); the report it wrote."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args, "--out", str(out)],
                         capture_output=True, text=True, env=env, timeout=timeout, check=False)
    assert res.returncode == 0, res.stderr
    return out.read_text()


@pytest.mark.slow
def test_gpu_benchmark_command_runs_on_cpu(tmp_path):
    """``benchmarks/gpu.py`` (the accelerator report) on CPU with tiny lattices: every case appears in the table."""
    text = _bench("gpu.py", "--allow-cpu", "--tiny", "--dtypes", "float64", "--seconds", "0.05", "--repeats", "1",
                  out=tmp_path / "gpu.md", timeout=900)
    for case in ("KG (3.8) leapfrog", "Dirac 3+1 stable, forward", "Dirac 3+1 stable, wilson",
                 "gauged Dirac 2+1, forward", "gauged Dirac 2+1, wilson", "Dirac 3+1 paper, forward",
                 "Dirac 3+1 paper, wilson", "gauged Dirac 2+1 paper, forward", "gauged Dirac 2+1 paper, wilson",
                 "Dirac 1+1 stable, forward", "scalar QED 3D (U(1) links)", "Maxwell-Dirac 3D, forward"):
        assert f"| {case}" in text
    # the ensemble and the small runs, from their own scripts in fresh processes (on JAX's default device)
    assert "## Ensemble" in text and "| ensemble of 8 masses | 8 x 8^3 |" in text and "failed (exit" not in text
    assert "## Overhead of `nnfield run`" in text and "--backend default" in text and "| kg_1d_packet | 512 |" in text
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), JAX_PLATFORMS="cpu")
    refused = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu.py")], capture_output=True, text=True,
                             env=env, timeout=300, check=False)
    assert refused.returncode == 2 and "--allow-cpu" in refused.stderr


@pytest.mark.slow
@pytest.mark.parametrize("case", ["kg-1d", "kg-2d", "kg-3d", "phi4-2d", "sine-gordon-1d"])
def test_jaxpr_numba_sweep_equals_the_jax_program(case):
    """``benchmarks/jaxpr_numba.py`` (the one-sweep numba kernel generated from a network's autodiff jaxpr, the
    alternative measured by ``kg_step.py``) computes a leapfrog kick + drift equal to the jitted JAX program up to
    rounding: the same operations in the same order, so a few ulps of the O(1) fields (XLA may contract
    multiply-adds differently)."""
    pytest.importorskip("numba")
    import jax
    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import jaxpr_numba
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    from nnfield import Lattice
    from nnfield.theories import klein_gordon as kg
    from nnfield.theories.nonlinear import models as nl

    shape, make = {
        "kg-1d": ((16,), lambda lat: kg.momentum_network(lat, m=0.5, dt=0.1)),
        "kg-2d": ((6, 10), lambda lat: kg.momentum_network(lat, m=0.5, dt=0.1)),
        "kg-3d": ((4, 5, 7), lambda lat: kg.momentum_network(lat, m=0.5, dt=0.1)),
        "phi4-2d": ((8, 6), lambda lat: nl.phi4_model(lat, 0.5, 0.3, 0.1).network),
        "sine-gordon-1d": ((12,), lambda lat: nl.sine_gordon_model(lat, 1.0, 0.7, 0.1).network),
    }[case]
    net = make(Lattice(shape, spacing=0.8))

    def kick_drift(phi, pi, h, net):
        p = net.learn(phi, pi, h)
        return net.activate(phi, p, net.dt), p

    rng = np.random.default_rng(3)
    phi, pi = rng.standard_normal((1, *shape)), rng.standard_normal((1, *shape))
    kernel = jaxpr_numba.compile_stencil(kick_drift, phi, pi, 0.05, net)
    got = kernel(phi, pi, 0.05, net)
    want = jax.jit(kick_drift)(phi, pi, 0.05, net)
    eps = np.finfo(np.float64).eps
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, np.asarray(w), rtol=0, atol=64 * eps * max(1.0, np.abs(w).max()))
    with pytest.raises(ValueError, match="read at offsets"):  # phi is read at the neighbours: no in-place phi'
        jaxpr_numba.compile_stencil(kick_drift, phi, pi, 0.05, net, inplace={0: 0})


@pytest.mark.slow
def test_an_explicit_halo_exchange_equals_the_spmd_program_bit_for_bit(tmp_path):
    """``benchmarks/halo_exchange.py``: ``nnfield.halo.HaloNetwork`` (the Klein-Gordon leapfrog with merged kicks on
    blocks padded by the tick's reach, 2 ghost rows, that two ``ppermute`` per field refresh before every kick)
    equals XLA's SPMD program bit for bit on 2 and 4 fake devices and over 2 local processes (the interior of a
    padded block sees the same neighbours in the same arithmetic)."""
    text = _bench("halo_exchange.py", "--n", "16", "--steps", "7", "--devices", "2", "4", "--processes", "2",
                  "--repeats", "1", out=tmp_path / "halo.md")
    rows = [line.split("|") for line in text.splitlines() if line.startswith(("| 2 ", "| 4 "))]
    assert len(rows) == 3 and all(float(r[-2]) == 0.0 and int(r[-4]) == 2 for r in rows), text


@pytest.mark.slow
def test_overhead_benchmark_writes_its_table(tmp_path):
    """``benchmarks/overhead.py`` for one example: a row with its own floor, cold and warm times (not asserted)."""
    text = _bench("overhead.py", "--only", "kg_1d_packet", "--warm-repeats", "1", out=tmp_path / "overhead.md")
    assert "| example | lattice | floor [s] | cold [s]" in text and "--warm-repeats 1" in text
    row = next(line for line in text.splitlines() if line.startswith("| kg_1d_packet |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert len(cells) == 8 and all(float(c) > 0 for c in cells[2:7])


@pytest.mark.slow
def test_overhead_budget_splits_a_run_into_parts_that_add_up(tmp_path):
    """``benchmarks/overhead_budget.py`` for one example: a cold and a warm row whose parts (start-up, imports
    beyond JAX, JAX's tracing, lowering, compiles and cache reads, the run's other work) add up to the wall time,
    the cold run compiling and the warm one reading the compilation cache (times themselves not asserted)."""
    text = _bench("overhead_budget.py", "--only", "kg_1d_packet", "--repeats", "1", out=tmp_path / "budget.md")
    rows = {}
    for line in text.splitlines():
        if line.startswith("| kg_1d_packet |"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[1]] = [float(c) for c in cells[2:]]
    assert set(rows) == {"cold", "warm"}
    for floor, wall, startup, beyond, eqx, pyd, h5, nnf, other, trace, lower, xla, cache, work in rows.values():
        assert floor > 0 and wall > 0 and beyond > 0 and trace > 0
        # each cell is rounded to 0.01 s: a sum of n cells may differ from its total by n * 0.005 s
        assert abs(beyond - (eqx + pyd + h5 + nnf + other)) <= 6 * 0.005 + 1e-9
        assert abs(wall - (startup + beyond + trace + lower + xla + cache + work)) <= 8 * 0.005 + 1e-9
    assert rows["cold"][11] > 0 and rows["warm"][11] == 0.0  # XLA compiles: cold only
    assert rows["warm"][12] > 0  # the warm run reads its programs from the compilation cache


@pytest.mark.slow
def test_the_two_level_leapfrog_is_one_loop_per_step_and_the_same_map(tmp_path):
    """``benchmarks/kg_two_level.py`` on a small lattice: the two-level form compiles to one loop per step (the
    merged form to two) and equals ``nnfield.network.run`` of the network (3.8) to float64 rounding after 61 steps
    (a few ulps per step of the O(1) fields); its round-off table comes out whole."""
    text = _bench("kg_two_level.py", "--n", "24", "--repeats", "1", "--roundoff-steps", "101",
                  out=tmp_path / "two.md")
    rows = {cells[2]: cells for cells in ([c.strip() for c in line.strip("|").split("|")]
                                          for line in text.splitlines() if line.startswith("| 24^3 | float64 |"))}
    two, merged = rows["(3.8) two-level, in place"], rows["(3.8) merged leapfrog (nnfield.run)"]
    assert float(two[3]) == 1 and float(merged[3]) == 2  # field-sized loops per step
    assert float(two[7]) < 61 * 8 * np.finfo(np.float64).eps
    assert sum(line.startswith(("| 0.05 | 101 |", "| 0.005 | 101 |")) for line in text.splitlines()) == 2


@pytest.mark.slow
def test_the_slab_blocked_leapfrog_is_the_same_map(tmp_path):
    """``benchmarks/kg_slab.py`` on a small lattice: both slab-by-slab forms (each slab advanced by the network
    built on a window of S + 2 planes, its gradient JAX autodiff of the window's loss) equal
    ``nnfield.network.run`` of the network (3.8) over 10 steps to rounding (a few ulps per step of O(1) fields)."""
    text = _bench("kg_slab.py", "--n", "16", "--slabs", "4", "--repeats", "1", out=tmp_path / "slab.md")
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith("| 16^3 |")]
    assert len(rows) == 6 and sum("slabs of 4 planes" in r[2] for r in rows) == 4
    for r in rows:
        eps = np.finfo(r[1]).eps
        assert float(r[6]) <= 10 * 8 * eps * 10, r  # 10 steps, fields of size ~5 (normal draws), 8 ulps a step


@pytest.mark.slow
def test_checksum_cost_benchmark_writes_its_table(tmp_path):
    """``benchmarks/checksum_cost.py`` on a small field: both rows and the ratio (times not asserted)."""
    text = _bench("checksum_cost.py", "--size", "16", "--repeats", "1", out=tmp_path / "checksum.md")
    assert "| without checksum |" in text and "| Fletcher-32 (`nnfield.io.CHECKSUM`) |" in text
    assert "| with / without |" in text


@pytest.mark.slow
def test_stability_gate_benchmark_reports_each_way(tmp_path):
    """``benchmarks/stability_gate.py`` on two examples: a row each; on the 1D lattice (512 sites, its worst mode
    k = pi/a on every grid) the three ways find the same dt_max to the bisection's 1e-6; the gauged example (no
    Fourier symbol) is left out."""
    text = _bench("stability_gate.py", "--only", "kg_1d_packet", "gauge_electric_1p1", "--repeats", "1",
                  out=tmp_path / "gate.md")
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith("| kg_1d_packet |") or line.startswith("| gauge_electric_1p1 |")]
    assert [r[0] for r in rows] == ["kg_1d_packet"] and rows[0][1] == "512"
    grid, direct, refined = float(rows[0][3]), float(rows[0][5]), float(rows[0][7])
    np.testing.assert_allclose([direct, refined], grid, rtol=2e-6)


@pytest.mark.slow
def test_dirac_layouts_compares_the_layouts_and_finds_them_equal(tmp_path):
    """``benchmarks/dirac_layouts.py`` (where the 3+1 Dirac step's gap to numba lay: session 31's site-major layout)
    on a small lattice: every column in the table, and nnfield's row-major program (``NNFIELD_SITE_MAJOR=0``) and
    the hand-written loops equal to nnfield's run to round-off (about 1e-2 ulp a tick over the ~10^4 ticks timed: a
    layout moves values, but LLVM may contract multiply-adds differently in the re-laid-out loop). The stable
    networks: the benchmark runs ~2e7 site-updates, about 10^4 ticks at 12^3, over which the paper's explicit-Euler
    network grows to inf."""
    pytest.importorskip("numba")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "dirac_layouts.py"), "--sizes", "12",
                          "--dtypes", "float64", "--repeats", "1", "--cases", "3+1:forward", "3+1:wilson"],
                         capture_output=True, text=True, env=env, timeout=600, check=False)
    assert res.returncode == 0, res.stderr
    rows = [line for line in res.stdout.splitlines() if line.startswith("| 3+1:")]
    assert len(rows) == 2, res.stdout
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 16, row
        assert all(float(d) < 1e-12 for d in cells[14].split(",")), row
