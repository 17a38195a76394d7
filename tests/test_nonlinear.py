"""Nonlinear fields (phi^4, sine-Gordon) as networks W = I, B = I with autodiff learning, against independent
physics-side solvers (jnp.roll RK4, SciPy DOP853) and the exact sine-Gordon kink."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pydantic
import pytest

from nnfield import Lattice, initial
from nnfield.duality.neuron import evolve
from nnfield.errors import ConfigError
from nnfield.initial import NoDispersion
from nnfield.operators import laplacian
from nnfield.theories import nonlinear as nl
from nnfield.theories.registry import get_theory

EPS = np.finfo(float).eps
ROOT = Path(__file__).resolve().parents[1]


def _order(h, err):
    return float(np.polyfit(np.log(h), np.log(err), 1)[0])


@pytest.mark.parametrize("twist", [0.0, 2 * math.pi])
def test_learning_is_laplacian_minus_V_prime(twist, rng):
    lat = Lattice((12, 6), 0.7)
    M = nl.sine_gordon_model(lat, 1.3, 0.8, 0.05, scheme="alternating", twist=twist)
    phi, pi = rng.normal(size=(1, 12, 6)), rng.normal(size=(1, 12, 6))
    grad = np.asarray(jax.jit(M.network.learning_gradient)(jnp.asarray(phi), jnp.asarray(pi)))
    equations = jax.jit(M.theory.equations)
    _, rhs = equations(jnp.asarray(phi), jnp.asarray(pi))
    scale = np.abs(np.asarray(rhs)).max()
    assert np.abs(-grad - np.asarray(rhs)).max() < 1e2 * EPS * scale
    # one alternating tick: pi <- pi + dt (Lap phi' - V'(phi')) at the activation output phi' = phi + dt pi
    s = jax.jit(M.network.step)(M.initial_state(phi, pi))
    _, rhs1 = equations(s.phi, jnp.asarray(pi))
    np.testing.assert_allclose(np.asarray(s.pi), pi + 0.05 * np.asarray(rhs1), rtol=1e-13, atol=1e-13)


def test_gradient_loss_equals_311_form_on_periodic_lattices(rng):
    lat = Lattice((8, 8), 0.5)
    pot = nl.Phi4Potential(0.7, 1.1)
    loss = nl.NonlinearLoss(pot, lat.spacing)
    phi = jnp.asarray(rng.normal(size=(1, 8, 8)))

    @jax.jit
    def both(f):
        return loss(f, f), -0.5 * jnp.sum(f * laplacian(2, 0.5).apply(f)) + jnp.sum(pot(f))

    a, b = both(phi)
    assert float(a) == pytest.approx(float(b), rel=1e-13)


def test_rk4_reference_agrees_with_dop853(rng):
    lat = Lattice((32,), 0.5)
    th = nl.NonlinearField(nl.Phi4Potential(1.0, 1.0), lat)
    phi, pi = initial.random_spectrum(lat, NoDispersion(), 4, 0.5)
    b = th.dop853(phi, pi, 1.0)  # rtol = atol = 1e-12
    hs = [0.04, 0.02, 0.01]
    errs = [np.abs(np.asarray(th.rk4(phi, pi, 1.0, h)[0]) - b[0]).max() for h in hs]
    assert abs(_order(hs, errs) - 4) < 0.3, errs  # the two independent solvers agree at RK4's order


@pytest.mark.parametrize("scheme,declared", [("alternating", 1), ("leapfrog", 2), ("yoshida4", 4)])
def test_phi4_time_order_against_rk4(scheme, declared):
    lat = Lattice((48,), 0.5)
    M = nl.phi4_model(lat, 1.0, 1.0, 0.1, scheme=scheme)
    phi, pi = initial.random_spectrum(lat, NoDispersion(), 1, 0.6)
    T = 2.0
    ref = np.asarray(M.theory.rk4(phi, pi, T, 0.002)[0])
    dts = [0.1, 0.05, 0.025] if declared < 4 else [0.2, 0.1, 0.05]
    errs = []
    for dt in dts:
        s = evolve(M.network.with_dt(dt), M.initial_state(phi, pi), int(round(T / dt)))
        errs.append(np.abs(np.asarray(s.phi) - ref).max())
    assert abs(_order(dts, errs) - declared) < 0.25, errs


def test_phi4_2d_leapfrog_energy_bounded_and_second_order():
    lat = Lattice((16, 16), 0.5)
    phi, pi = initial.gaussian_packet(lat, NoDispersion(), width=1.0, momentum=[1.0, 0.5])
    devs = []
    for dt in (0.1, 0.05):
        M = nl.phi4_model(lat, 1.0, 2.0, dt, scheme="leapfrog")
        n = int(round(5.0 / dt))
        _, obs = M.network.run(M.initial_state(phi, pi), n, n // 25, M.observables)
        e = np.asarray(obs["energy"])
        e0 = float(jax.jit(M.theory.hamiltonian)(jnp.asarray(phi), jnp.asarray(pi)))
        devs.append(np.abs(e / e0 - 1).max())
        de = np.asarray(obs["discrete_energy"])
        assert np.abs(de / de[0] - 1).max() < 10 * dt**2
    assert devs[0] < 0.05 and 3.0 < devs[0] / devs[1] < 5.0  # O(dt^2), no drift


def test_first_release_initial_data_still_work_and_warn():
    lat = Lattice((16, 16), 0.5)
    with pytest.warns(DeprecationWarning, match="nnfield.initial.gaussian_packet"):
        old = nl.gaussian_packet(lat, 1.0, 1.0, wavevector=[1.0, 0.5], velocity=0.3)
    new = initial.gaussian_packet(lat, NoDispersion(0.3), width=1.0, momentum=[1.0, 0.5])
    assert all(np.array_equal(o, n) for o, n in zip(old, new, strict=True))
    with pytest.warns(DeprecationWarning, match="nnfield.initial.random_spectrum"):
        old = nl.random_spectrum(lat, 0.5, 2.0, seed=3)
    new = initial.random_spectrum(lat, NoDispersion(), 3, 0.5, cutoff=2.0)
    assert all(np.array_equal(o, n) for o, n in zip(old, new, strict=True))


def test_discrete_energy_is_exact_for_a_free_massless_field(rng):
    lat = Lattice((24,), 0.5)
    M = nl.phi4_model(lat, 0.0, 0.0, 0.2, scheme="leapfrog")
    phi, pi = initial.random_spectrum(lat, NoDispersion(), 2, 0.5)
    _, obs = M.network.run(M.initial_state(phi, pi), 2000, 100, M.observables)
    de = np.asarray(obs["discrete_energy"])
    assert np.abs(de / de[0] - 1).max() < 1e4 * EPS


@pytest.mark.parametrize("twist", [2 * math.pi, 0.0], ids=["twisted-single-kink", "periodic-kink-antikink"])
def test_sine_gordon_kink_keeps_its_exact_profile(twist):
    """phi = 4 arctan(exp(gamma (x - x0 - v t))) on L = 40; leapfrog with dt = a/2: error O(a^2)."""
    L, T, v = 40.0, 4.0, 0.5
    center = 0.4 if twist else 0.25
    errs, hs = [], [0.2, 0.1, 0.05]
    for a in hs:
        lat = Lattice((int(round(L / a)),), a)
        M = nl.sine_gordon_model(lat, 1.0, 1.0, a / 2, scheme="leapfrog", twist=twist)
        phi, pi = nl.kink(lat, 0.0, v=v, center=center, twist=twist)
        s = evolve(M.network, M.initial_state(phi, pi), int(round(T / (a / 2))))
        exact, _ = nl.kink(lat, T, v=v, center=center, twist=twist)
        errs.append(np.abs(np.asarray(s.phi) - exact).max())
    assert abs(_order(hs, errs) - 2) < 0.15, errs
    assert errs[-1] < 1e-3


def test_kink_energy_and_profile_facts():
    lat = Lattice((400,), 0.1)
    M = nl.sine_gordon_model(lat, 1.0, 1.0, 0.05, scheme="leapfrog", twist=2 * math.pi)
    v = 0.6
    phi, pi = nl.kink(lat, 0.0, v=v, center=0.5, twist=2 * math.pi)
    e = float(jax.jit(M.theory.hamiltonian)(jnp.asarray(phi), jnp.asarray(pi)))
    assert e == pytest.approx(8.0 / math.sqrt(1 - v * v), rel=1e-3)  # relativistic kink energy 8 m gamma / b^2
    with pytest.raises(ValueError, match="twist"):
        nl.kink(lat, twist=1.0)
    with pytest.raises(ValueError, match="^v: "):
        nl.kink_profile(0.0, 0.0, v=1.0)


def test_alternating_kink_time_order_1():
    lat = Lattice((200,), 0.2)
    M = nl.sine_gordon_model(lat, 1.0, 1.0, 0.1, scheme="alternating", twist=2 * math.pi)
    phi, pi = nl.kink(lat, 0.0, v=0.5, center=0.4, twist=2 * math.pi)
    ref = np.asarray(M.theory.rk4(phi, pi, 2.0, 0.005)[0])
    dts = [0.05, 0.025, 0.0125]
    errs = [np.abs(np.asarray(evolve(M.network.with_dt(dt), M.initial_state(phi, pi), int(round(2.0 / dt))).phi)
                   - ref).max() for dt in dts]
    assert abs(_order(dts, errs) - 1) < 0.15, errs


# ----------------------------------------------------------------------------------------------------------
# registry and examples
# ----------------------------------------------------------------------------------------------------------
def _defaults(params):
    return {k: p.default for k, p in params.items()}


@pytest.mark.parametrize(("name", "options"), [("phi4", {}), ("phi4", {"phase": "broken"}),
                                               ("sine-gordon", {"winding": 1}), ("sine-gordon", {})])
def test_registered_specs_build_and_run(name, options):
    spec = get_theory(name)
    params = spec.params(**options)  # typed, frozen, defaults
    lat = Lattice((64,), 0.25)
    M = spec.build(lat, params, 0.05, "leapfrog")
    for kind, ic in spec.initial.items():
        if name == "phi4" and kind == "kink" and not options:  # the kink of phi4 is the double well's
            with pytest.raises(ConfigError, match="double well"):
                ic.make(M, _defaults(ic.params), 7)
            continue
        if kind == "collision" and options.get("winding"):  # a kink and an antikink: a periodic box
            with pytest.raises(ConfigError, match="winding = 0"):
                ic.make(M, _defaults(ic.params), 7)
            continue
        phi, pi = ic.make(M, _defaults(ic.params), 7)
        assert phi.shape == pi.shape == (1, 64)
        _, obs = M.network.run(M.initial_state(phi, pi), 40, 10, M.observables)
        e = np.asarray(obs["energy"])
        assert np.all(np.isfinite(e)) and np.abs(e / e[0] - 1).max() < 1e-2, kind


def test_potential_expression_parameter():
    spec = get_theory("phi4")
    assert spec.params(potential="lam/4*(phi**2 - 1)**2").potential == "lam/4*(phi**2 - 1)**2"
    with pytest.raises(pydantic.ValidationError, match="attribute"):
        spec.params(potential="phi.real")
    params = spec.params(potential="lam/4*(phi**2 - 1)**2", lam=2.0)
    lat = Lattice((32,), 0.5)
    M = spec.build(lat, params, 0.05, "leapfrog")
    phi = jnp.linspace(-2, 2, 32)[None]
    expect = 2.0 / 4 * (phi**2 - 1) ** 2
    np.testing.assert_allclose(np.asarray(M.theory.potential(phi)), np.asarray(expect), rtol=1e-14)
    sg = get_theory("sine-gordon")
    params = sg.params(potential="(m/b)**2*(1 - cos(b*phi))", winding=1)
    M = sg.build(lat, params, 0.05, "leapfrog")
    phi, _ = sg.initial["kink"].make(M, _defaults(sg.initial["kink"].params), 0)
    expect, _ = nl.kink(lat, 0.0, 1.0, 1.0, 0.5, 0.5, twist=2 * math.pi)  # the defaults: v = 0.5, centre 0.5
    np.testing.assert_allclose(phi, expect, rtol=1e-15)
    params = params.model_copy(update={"winding": 2})
    M = sg.build(lat, params, 0.05, "leapfrog")
    with pytest.raises(ValueError, match="winding"):
        sg.initial["kink"].make(M, _defaults(sg.initial["kink"].params), 0)


def test_unknown_theory_name_is_a_config_error():
    with pytest.raises(ConfigError):
        get_theory("phi6")


@pytest.mark.parametrize("path", ["examples/sine_gordon_kink.toml", "examples/phi4_1d.toml"])
def test_example_configs(path):
    cfg = tomllib.loads((ROOT / path).read_text())
    spec = get_theory(cfg["theory"]["name"])
    assert cfg["initial"]["kind"] in spec.initial
    theory = {k: v for k, v in cfg["theory"].items() if k != "name"}
    assert set(theory) <= set(spec.keys)
    assert set(cfg["initial"]) - {"kind"} <= set(spec.initial[cfg["initial"]["kind"]].params)
    try:
        from nnfield import config as config_mod
    except ImportError:  # the config layer is optional here
        return
    load = getattr(config_mod, "load_config", None) or getattr(config_mod, "load", None)
    if load is not None:
        load(ROOT / path)


def test_stability_analysis_of_a_twisted_network_is_the_bulk_one():
    """The twist is a boundary condition: the analysis (impulse responses on a small probe lattice, linearized
    about phi = 0) sees the bulk dynamics, stable iff dt < 2 / sqrt(4/a^2 + m^2)."""
    from nnfield.analysis import is_stable

    lat = Lattice((64,), 0.1)
    dt_max = 2 / math.sqrt(4 / 0.01 + 1.0)
    for twist in (0.0, 2 * math.pi):
        assert is_stable(nl.sine_gordon_model(lat, 1.0, 1.0, 0.95 * dt_max, scheme="leapfrog", twist=twist).network)
        assert not is_stable(nl.sine_gordon_model(lat, 1.0, 1.0, 1.05 * dt_max, scheme="leapfrog", twist=twist).network)
