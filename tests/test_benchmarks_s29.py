"""Session 29: the benchmarks' twins compute nnfield's update, in nnfield's precision (timings are never tested).

- The generated numba sweeps of ``benchmarks/dirac_step.py`` wrote their coefficients as bare literals and
  ``kg_step.py``'s Laplacian had ``6 * c[k]``: in numba both are float64, so the float32 "hand-fused" references
  computed in float64 (fpext/fptrunc around every term) and were timed against nnfield's float32 program.
- The twins' agreement with nnfield was printed but never asserted; a twin with a missing term would still have
  been timed. ``agreement_tolerance`` (a round-off bound) is now asserted for every timed twin.
- ``gpu.py`` counted the gauged Dirac traffic as ``4 K`` values per site-update, without the links.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
numba = pytest.importorskip("numba")  # the `bench` extra

import jax.numpy as jnp  # noqa: E402

import dirac_step  # noqa: E402
from nnfield.network import _run_jit  # noqa: E402
from nnfield.runner import cast_floating  # noqa: E402
from nnfield.state import State  # noqa: E402


def _float64_ops(dispatcher) -> int:
    """float64 conversions and arithmetic in the LLVM IR of a compiled numba function (all signatures)."""
    ir = "".join(dispatcher.inspect_llvm().values())
    return sum(ir.count(op) for op in ("fpext float", "fmul double", "fadd double", "fsub double"))


def test_the_float32_numba_references_compute_in_float32():
    """Both hand-fused float32 references have no float64 arithmetic: every constant of the generated Dirac sweep
    is of the sweep's dtype (``_T(...)``, bound to ``np.float32``), and kg_step's compiled force has no float64
    operation (before the fix ``6 * c[k]`` put the force in float64: 2 fmul and 2 fsub double; the Dirac sweep had 24
    ``fpext float``, checked by the slow sibling below)."""
    import re

    import kg_step

    u = dirac_step.update_of(cast_floating(dirac_step.dirac_network("3+1:wilson", 3, 8), "float32"))
    for local, stencil in ((u.Lphi, u.B), (u.Lpi, u.BT)):
        src, _ = dirac_step.sweep_source(local, stencil, 3)
        body = src.split("\n", 1)[1]
        bare = re.sub(r"_T\([^)]*\)", "", body)  # what is left outside the typed constants
        assert "_T(" in body and not re.search(r"(?<![\w.])\d+\.\d*", bare)

    c = np.ones(4, np.float32)
    kg_step._force(c, c, c, c, c, 1, 0, 2, np.float32(0.25), np.float32(1.0))
    ir = "".join(kg_step._force.inspect_llvm().values())
    assert ir.count("fsub float") > 0 and sum(ir.count(f"{op} double") for op in ("fmul", "fadd", "fsub")) == 0


@pytest.mark.slow
def test_the_compiled_float32_sweeps_have_no_float64_operation():
    """The compiled float32 sweeps themselves (Dirac: generated; Klein-Gordon: kick + drift)."""
    import kg_step

    u = dirac_step.update_of(cast_floating(dirac_step.dirac_network("1+1:forward", 4, 8), "float32"))
    sweep, values = dirac_step.numba_sweep(u.Lphi, u.B, 1, "float32")
    x = np.ones((u.K, 8), np.float32)
    out = np.empty_like(x)
    sweep(out, x, x, np.float32(0.1), *values)
    assert out.dtype == np.float32 and _float64_ops(sweep) == 0

    phi = np.ones((3, 3, 3), np.float32)
    kg_step.numba_leapfrog(phi, phi.copy(), 1, 0.1, 0.5, 1.0)
    f32 = [ir for sig, ir in kg_step._kick_drift.inspect_llvm().items() if sig[0].dtype.name == "float32"]
    assert f32 and all(sum(ir.count(op) for op in ("fpext float", "fmul double")) == 0 for ir in f32)


def _nnfield(net, phi0, pi0, steps):
    out, _ = _run_jit(net, State(jnp.asarray(phi0), jnp.asarray(pi0)), steps=steps, every=1, observer=None)
    return np.asarray(out.phi), np.asarray(out.pi)


def test_the_dirac_twins_equal_nnfield_and_a_wrong_twin_is_refused():
    """1+1 twisted-Wilson paper network, 16 sites, float64, 6 ticks: the numba and plain-JAX twins agree with
    nnfield within the round-off bound (measured ~1e-15 against a bound ~1e-13); the same twin without the mass
    term (``W - I = 0``), or with the forward instead of the Wilson bias map, differs by far more and is refused."""
    steps = 6
    net = dirac_step.dirac_network("1+1:wilson:paper", 4, 16)
    u = dirac_step.update_of(net)
    rng = np.random.default_rng(3)
    phi0, pi0 = rng.normal(size=(2, u.K, 16))
    nn = _nnfield(net, phi0, pi0, steps)
    scale = max(np.abs(phi0).max(), np.abs(pi0).max(), np.abs(nn[0]).max(), np.abs(nn[1]).max())
    tol = dirac_step.agreement_tolerance(u, "float64", steps, scale)
    assert 1e-14 < tol < 1e-11  # a round-off bound, not a loose one
    ref = dirac_step.plain_runner(u, "float64", steps)(jnp.asarray(phi0), jnp.asarray(pi0))
    diff = max(np.abs(nn[i] - np.asarray(ref[i])).max() for i in range(2))
    dirac_step.check_agreement("plain JAX", diff, tol, steps)

    forward = dirac_step.update_of(dirac_step.dirac_network("1+1:forward:paper", 4, 16))
    no_mass = dirac_step.Update(u.K, u.shape, u.dt, u.B, u.BT, 0 * u.Lphi, u.Lpi, u.simultaneous)
    for wrong in (no_mass, forward):
        ref = dirac_step.plain_runner(wrong, "float64", steps)(jnp.asarray(phi0), jnp.asarray(pi0))
        diff = max(np.abs(nn[i] - np.asarray(ref[i])).max() for i in range(2))
        assert diff > 100 * tol
        with pytest.raises(dirac_step.DisagreementError, match="another update"):
            dirac_step.check_agreement("wrong twin", diff, tol, steps)
    with pytest.raises(dirac_step.DisagreementError):
        dirac_step.check_agreement("nan", float("nan"), tol, steps)


def test_the_traffic_model_counts_the_links_of_a_gauged_network():
    """``4 K`` values per site-update for the Dirac network; ``4 K + D`` (one phase per link) when gauged."""
    import gauge_step

    plain = dirac_step.update_of(dirac_step.dirac_network("3+1:forward", 4, 4))
    assert dirac_step.traffic_values(plain) == 4 * plain.K
    gauged = dirac_step.update_of(gauge_step.gauged_network("2+1:forward", 4, 1))
    assert dirac_step.traffic_values(gauged) == 4 * gauged.K + 2


@pytest.mark.slow
@pytest.mark.parametrize("case", ["3+1:wilson", "1+1:forward", "3+1:forward:paper", "2+1:wilson:paper gauged"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_benchmark_row_asserts_every_twin(case, dtype):
    """The whole benchmark row (nnfield, plain JAX, numba, interleaved) on a tiny lattice: it asserts the twins'
    agreement itself; the row's differences are round-off of ``dtype``."""
    import gauge_step

    name = case.split()[0]
    net = (gauge_step.gauged_network(name, 6, 1) if case.endswith("gauged")
           else dirac_step.dirac_network(name, 4, 16))
    row = dirac_step.bench_network(case, net, dtype, steps=2, check_steps=8, repeats=1, log=lambda _: None)
    eps = np.finfo(dtype).eps
    assert row.diff_numba <= row.tol and row.diff_plain <= row.tol and row.tol < 1e4 * eps * 8 * 10


def test_a_malformed_case_is_one_line_refused():
    """``--cases`` spelled wrong stopped with a traceback (or, after good cases, minutes into the run)."""
    assert dirac_step.split_case("3+1:wilson") == (3, "wilson", "stable")
    assert dirac_step.split_case("2+1:forward:paper") == (2, "forward", "paper")
    for bad in ("3+1", "4+1:forward", "3:forward", "3+1:foo", "3+1:wilson:stable:x"):
        with pytest.raises(SystemExit, match="expected D\\+1:bias"):
            dirac_step.split_case(bad)
