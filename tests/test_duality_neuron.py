"""One neuron (2.1)-(2.9) as an autodiff network against Hamilton's flow (SciPy DOP853, rtol 1e-12)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield.duality import neuron as N
from nnfield.duality.parse import ExprFunction

EPS = np.finfo(float).eps
PHI0, BETA0 = [1.0, -0.6, 0.3], [0.0, 0.4, -0.8]
DTS = [0.04, 0.02, 0.01, 0.005]


@pytest.mark.parametrize("name", sorted(N.POTENTIALS))
def test_learning_gradient_is_V_prime_for_any_F(name, rng):
    V = N.potential(name)
    F = ExprFunction.from_string("sin(phi) + 0.3*phi**3 - exp(phi/3)", ("phi",))
    net = N.network(V, 0.1, "simultaneous", F, n=32)
    phi, pi = rng.normal(size=(1, 32)), rng.normal(size=(1, 32))
    grad = np.asarray(jax.jit(net.learning_gradient)(jnp.asarray(phi), jnp.asarray(pi)))
    dV = np.asarray(V.diff("phi").numpy(phi))
    assert np.abs(grad - dV).max() <= 1e2 * EPS * max(1.0, np.abs(dV).max() + 3 * np.abs(phi).max() ** 2)


def test_reference_is_accurate_for_the_harmonic_oscillator():
    V = N.potential("harmonic", {"omega": 1.7})
    t = np.linspace(0.0, 5.0, 11)
    phi, beta = N.hamilton_reference(V, [1.0], [0.5], t)
    w = 1.7
    np.testing.assert_allclose(phi[:, 0], np.cos(w * t) + 0.5 / w * np.sin(w * t), atol=1e-10)
    np.testing.assert_allclose(beta[:, 0], -w * np.sin(w * t) + 0.5 * np.cos(w * t), atol=1e-10)


@pytest.mark.parametrize("scheme,declared", [("simultaneous", 1), ("alternating", 1), ("leapfrog", 2)])
def test_phi4_converges_to_hamilton_flow_with_the_scheme_order(scheme, declared):
    _, errs, order = N.convergence("quartic", scheme, PHI0, BETA0, 2.0, DTS)
    assert abs(order - declared) < 0.1, (scheme, order, errs)
    assert errs[-1] < 3e-2 if declared == 1 else errs[-1] < 1e-4


@pytest.mark.parametrize("name", ["double-well", "pendulum", "harmonic"])
def test_builtin_potentials_leapfrog_order_2(name):
    _, errs, order = N.convergence(name, "leapfrog", PHI0, BETA0, 2.0, DTS[1:])
    assert abs(order - 2) < 0.1, (name, order, errs)


def test_F_does_not_change_the_dynamics():
    # many losses (any F) -> one Hamiltonian: the discrete trajectories agree to round-off
    V = N.potential("quartic")
    F = ExprFunction.from_string("cosh(phi) + phi**2", ("phi",))
    s0 = N.initial_state(PHI0, BETA0)
    a = N.evolve(N.network(V, 0.01, "leapfrog", None, n=3), s0, 300)
    b = N.evolve(N.network(V, 0.01, "leapfrog", F, n=3), s0, 300)
    assert np.abs(np.asarray(a.phi) - np.asarray(b.phi)).max() < 1e3 * EPS


def test_simultaneous_energy_grows_without_bound_others_stay_bounded():
    V = N.potential("quartic")
    dt, every = 0.05, 20  # samples at t = 1, 2, ...
    s0 = N.initial_state([1.0], [0.0])
    e0 = 0.25
    sim = N.energy_history(N.network(V, dt, "simultaneous"), V, s0, 2000, every)[:, 0] / e0
    # grows monotonically: doubles by t ~ 10, ~5x by t = 20, then diverges (overflow) before t = 100
    finite = sim[np.isfinite(sim)]
    assert np.all(np.diff(finite[:20]) > 0)
    assert 1.5 < sim[9] < 2.5 and sim[19] > 4
    assert (not np.all(np.isfinite(sim))) or sim[-1] > 1e6
    # symplectic schemes: bounded energy error over t = 1000 (20000 steps), O(dt) and O(dt^2)
    alt = N.energy_history(N.network(V, dt, "alternating"), V, s0, 20000, every)[:, 0] / e0
    lf = N.energy_history(N.network(V, dt, "leapfrog"), V, s0, 20000, every)[:, 0] / e0
    assert np.abs(alt - 1).max() < dt  # first order, bounded
    assert np.abs(lf - 1).max() < dt**2  # second order, bounded
    # no drift: the last tenth is no worse than the first tenth (up to the oscillation)
    n = len(lf) // 10
    assert np.abs(lf[-n:] - 1).max() < 2 * np.abs(lf[:n] - 1).max() + 1e-12
    assert np.abs(alt[-n:] - 1).max() < 2 * np.abs(alt[:n] - 1).max()


def test_symbolic_and_numeric_agree_on_the_learning_rule():
    from nnfield.duality import symbolic as S

    d = S.loss_from_hamiltonian(S.parse_sympy("beta**2/2 + phi**4/4 - phi**2/2"))
    rhs = S.lambdify_jax(d.learning_rhs(), [S.PHI])
    V = N.potential("phi**4/4 - phi**2/2")
    net = N.network(V, 0.1, "simultaneous", n=5)
    phi = jnp.linspace(-1.5, 1.5, 5)[None]
    grad = jax.jit(net.learning_gradient)(phi, jnp.zeros_like(phi))
    np.testing.assert_allclose(np.asarray(-grad[0]), np.asarray(rhs(phi[0])), rtol=1e-14, atol=1e-15)
