"""Session 33's bug hunt of phi^4's broken phase: the regressions it found, one test each.

Tolerances: a vacuum found by Newton's method (safeguarded by bisection) is exact to a few ulp where ``V'`` changes
sign cleanly; at a flat minimum the sign of ``V'`` is exact until ``phi^2 - 1`` rounds to 0, ``|phi - 1| ~ eps``
(64 eps allowed); a vmapped or differentiated step equals the concrete one to round-off (a few ulp of the sums).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import cli
from nnfield.duality.parse import ExprFunction
from nnfield.lattice import Lattice
from nnfield.state import State
from nnfield.theories import nonlinear as nl
from nnfield.theories.nonlinear.potentials import numeric_vacuum, vacuum

jax.config.update("jax_enable_x64", True)

EPS = np.finfo(float).eps


def _expr(text: str, **params: float) -> ExprFunction:
    return ExprFunction.from_string(text, ("phi",), params)


def test_tiny_lambda_is_refused_in_one_line(tmp_path, capsys):
    """``lambda = 1e-300``: ``v = 1e150`` and ``v**4`` raised OverflowError (a traceback, exit 1) in the builder's
    own finiteness check; ``V(0) = lam/4 v^4`` overflows even though the depth ``m^4/(4 lam)`` is finite."""
    cfg = tmp_path / "cfg.toml"
    cfg.write_text('[theory]\nname = "phi4"\nphase = "broken"\nmass = 1.0\nlambda = 1e-300\n[lattice]\nshape = [32]\n'
                   'spacing = 0.5\n[time]\ndt = 0.05\nsteps = 4\n[initial]\nkind = "kink"\n')
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err and len(lines) == 1 and "theory.lambda:" in lines[0], err


def test_vacuum_of_a_plain_function():
    """``vacuum`` is public and documented for any callable; a plain function failed inside ``jax.jit``."""
    assert vacuum(lambda phi: (phi**2 - 4.0) ** 2) == pytest.approx(2.0, rel=4 * EPS)
    assert numeric_vacuum(lambda phi: phi**2) == 0.0


def test_model_with_a_closure_over_a_traced_number():
    """``model(lattice, lambda phi: ... v ...)`` inside ``jax.vmap``/``jax.grad`` worked before session 33; the
    vacuum search then met the tracer (TracerArrayConversionError). It falls back to 0 (as for traced leaves); the
    step is the double well's."""
    lat = Lattice((16,), 0.2)
    x = jnp.asarray(np.random.default_rng(0).normal(1.0, 0.3, (1, 16)))
    s0 = State(x, 0.5 * x)

    def closure(v):
        return nl.model(lat, lambda phi: 0.25 * (phi**2 - v**2) ** 2, 0.02).network.step(s0).pi.sum()

    def builtin(v):
        return nl.double_well_model(lat, 1.0, v, 0.02).network.step(s0).pi.sum()

    vs = jnp.array([0.5, 1.0, 2.0])
    ref = jax.vmap(builtin)(vs)
    np.testing.assert_allclose(jax.vmap(closure)(vs), ref, rtol=64 * EPS, atol=64 * EPS * float(jnp.max(abs(ref))))
    assert float(jax.grad(closure)(1.3)) == pytest.approx(float(jax.grad(builtin)(1.3)), rel=64 * EPS)


def test_flat_top_is_no_vacuum():
    """``V = phi^6/6 - phi^4/4``: ``V'(0) = V''(0) = 0`` but 0 is a maximum (the docs: "0 where phi = 0 is a
    minimum"); the vacua are ``+-1`` (``V' = phi^3 (phi^2 - 1)``). A flat minimum stays 0."""
    assert vacuum(_expr("phi**6/6 - phi**4/4")) == pytest.approx(1.0, rel=4 * EPS)
    assert vacuum(_expr("lam*phi**4/4", lam=2.0)) == 0.0
    assert vacuum(_expr("phi**8")) == 0.0


@pytest.mark.parametrize("c", [1e-14, 1.0, 1e12])
def test_vacuum_is_invariant_under_scaling_the_potential(c):
    """``c V`` has the vacua of ``V``. An absolute tolerance took ``V'(0) = -2e-14`` for a minimum at 0 and a tilt of
    ``2e-13`` between the wells for a tie (then the false vacuum, nearer 0, won)."""
    g = vacuum(_expr("c*((phi**2 - 1)**2/4 + 0.1*phi)", c=c))
    assert g < -1 and g**3 - g + 0.1 == pytest.approx(0.0, abs=16 * EPS)
    assert vacuum(_expr("c*(phi - 1)**2", c=c)) == pytest.approx(1.0, rel=4 * EPS)


@pytest.mark.parametrize("power", [4, 8])
def test_equal_flat_minima_pick_the_positive_one(power):
    """``(phi^2 - 1)^n``: two equal, flat minima. Newton alone gains ``(n - 2)/(n - 1)`` a step there, so the minima
    came out ``1 - 2e-13`` and ``-1 + 2e-13`` apart from 1 and the tie went to the negative one."""
    g = vacuum(_expr(f"(phi**2 - 1)**{power}"))
    assert g == pytest.approx(1.0, abs=64 * EPS)


def test_vacuum_cache_knows_the_precision():
    """A vacuum searched in float32 (JAX's 64-bit mode off) is float32-accurate; the cache returned it afterwards in
    64-bit mode too (the key held the potential only)."""
    V = _expr("(phi**2 - 3)**2 + 0.5*phi**2")  # minima at +-sqrt(2.75)
    with jax.enable_x64(False):
        numeric_vacuum(V)
    assert numeric_vacuum(V) == pytest.approx(np.sqrt(2.75), rel=4 * EPS)
