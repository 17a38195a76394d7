"""phi^4 in its broken phase (session 33): the double well's ground state, the stability gate linearized about it,
the kink and the kink-antikink collision.

Tolerances: the linearization about ``+v`` is compared with the leapfrog's closed-form symbol (round-off); the
kink's energy with ``2 gamma M``, ``M = (2 sqrt 2 / 3) m^3 / lam`` (an ``O(a^2)`` discretization error, checked by
its order); the wall speed with ``u`` (``O((m a)^2)``); the network against the physics side's RK4 solver
(``O(dt^2)``, checked by its order).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import analysis, initial
from nnfield.config import load_config
from nnfield.duality.parse import ExprFunction
from nnfield.errors import ConfigError, ParameterError
from nnfield.lattice import Lattice
from nnfield.network import Network
from nnfield.operators import identity
from nnfield.runner import build
from nnfield.stability import check_stability, network_stability
from nnfield.state import State
from nnfield.theories import nonlinear as nl
from nnfield.theories.nonlinear.potentials import (
    DoubleWellPotential,
    Phi4Potential,
    SineGordonPotential,
    numeric_vacuum,
    vacuum,
)

jax.config.update("jax_enable_x64", True)

M, LAM = 1.0, 1.5  # the config's mass and lambda: v = m / sqrt(lam), meson mass sqrt(2) m
V0 = M / math.sqrt(LAM)
MESON = math.sqrt(2) * M
KINK_MASS = 2 * math.sqrt(2) / 3 * M**3 / LAM


def _expr(text: str, **params: float) -> ExprFunction:
    return ExprFunction.from_string(text, ("phi",), params)


# ----------------------------------------------------------------------------------------------------------
# the ground state of a potential
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("potential", "expected"), [
    (Phi4Potential(1.0, 1.0), 0.0),
    (Phi4Potential(0.0, 1.0), 0.0),  # massless: V''(0) = 0 is still the minimum
    (Phi4Potential(-2.0, 0.5), 2.0),  # sqrt(-m^2 / lam)
    (SineGordonPotential(1.0, 2.0), 0.0),
    (DoubleWellPotential(2.0, 1.5), 1.5),
])
def test_builtin_potentials_know_their_vacuum(potential, expected):
    assert vacuum(potential) == pytest.approx(expected, abs=0.0)
    if expected:  # the numerical search agrees with the closed form
        assert numeric_vacuum(potential) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize(("text", "params", "expected"), [
    ("lam/4*(phi**2 - 1)**2", {"lam": 1.0}, 1.0),
    ("lam/4*(phi**2 - 9)**2", {"lam": 0.3}, 3.0),
    ("(phi - 3)**2", {}, 3.0),
    ("(phi**2 - 1)**2*(phi**2 - 4)**2", {}, 1.0),  # four equal minima: the one nearest 0, then the positive one
    ("phi**2/2 + phi**4/4", {}, 0.0),
])
def test_expression_vacuum(text, params, expected):
    assert vacuum(_expr(text, **params)) == pytest.approx(expected, rel=1e-14, abs=1e-300)


def test_tilted_double_well_picks_the_true_vacuum():
    """``V = (phi^2 - 1)^2/4 + 0.1 phi``: the lower minimum is the negative one, a root of
    ``V' = phi^3 - phi + 0.1``."""
    g = vacuum(_expr("(phi**2 - 1)**2/4 + 0.1*phi"))
    assert g < -1
    assert g**3 - g + 0.1 == pytest.approx(0.0, abs=1e-14)


def test_no_minimum_means_no_vacuum():
    assert vacuum(_expr("phi")) is None
    assert vacuum(_expr("-phi**2")) is None


def test_traced_potential_falls_back_to_zero():
    """A vmapped family of symmetric potentials: nothing to search, zero (what every builder makes)."""
    out = jax.vmap(lambda m2: jnp.asarray(vacuum(Phi4Potential(m2, 1.0))))(jnp.array([1.0, 2.0]))
    np.testing.assert_array_equal(out, 0.0)
    # a traced double well keeps its (traced) vacuum
    out = jax.vmap(lambda v: jnp.asarray(vacuum(DoubleWellPotential(1.0, v))))(jnp.array([1.0, 2.0]))
    np.testing.assert_array_equal(out, [1.0, 2.0])


# ----------------------------------------------------------------------------------------------------------
# the network's ground state and the linear analysis about it
# ----------------------------------------------------------------------------------------------------------
def test_symmetric_networks_keep_no_ground_state():
    """Nothing changes for the theories whose vacuum is 0: their networks are the programs they were."""
    lat = Lattice((16,), 0.5)
    assert nl.phi4_model(lat, 1.0, 1.0, 0.1).network.ground is None
    assert nl.sine_gordon_model(lat, 1.0, 1.0, 0.1).network.ground is None
    assert nl.double_well_model(lat, LAM, V0, 0.1).network.ground is not None


def test_linearization_about_the_vacuum_is_the_massive_leapfrog():
    """About ``+v`` the double well is a free field of mass ``sqrt(V''(v)) = sqrt(2 lam) v``: the network's one-step
    symbol has the leapfrog's eigenphases ``2 arcsin(omega dt / 2)``, ``omega^2 = 2 m^2 + (4/a^2) sin^2(k a/2)``."""
    lat = Lattice((32,), 0.25)
    dt = 0.1
    net = nl.double_well_model(lat, LAM, V0, dt).network
    k = np.linspace(0.0, math.pi / lat.spacing, 9)
    omega = np.sqrt(MESON**2 + 4 / lat.spacing**2 * np.sin(k * lat.spacing / 2) ** 2)
    expected = 2 * np.arcsin(omega * dt / 2) / dt
    got = analysis.network_dispersion(net, [k])
    np.testing.assert_allclose(got, np.stack([expected, expected], axis=-1), rtol=1e-12)
    # the same network about 0 would grow (V''(0) = -m^2 < 0): what the gate judged before the ground state
    about_zero = Network.create(lat, identity(1), identity(1), net.loss, dt)
    assert analysis.max_amplification(about_zero, [k]) > 1.0


def test_stability_gate_bound_is_the_leapfrogs_about_the_vacuum():
    """``dt_max = 2 / omega_max``, ``omega_max^2 = V''(v) + 4 D / a^2`` (the leapfrog's CFL bound, exact on a
    lattice with the zone edge among its modes; bisected to 1e-6)."""
    lat = Lattice((64,), 0.1)
    s = network_stability(nl.double_well_model(lat, LAM, V0, 0.05).network,
                          lambda dt: nl.double_well_model(lat, LAM, V0, dt).network)
    assert s.stable
    assert s.dt_max == pytest.approx(2 / math.sqrt(MESON**2 + 4 / lat.spacing**2), rel=1e-5)


def test_perturbation_step_is_exact_about_a_fixed_point():
    """The vacuum is a fixed point of the step, so a zero perturbation stays zero (to round-off)."""
    lat = Lattice((8, 8), 0.5)
    net = nl.double_well_model(lat, LAM, V0, 0.05).network
    zero = State(np.zeros((1, 8, 8)), np.zeros((1, 8, 8)))
    out = net.perturbation_step(zero)
    assert float(jnp.max(jnp.abs(out.phi))) < 1e-15 and float(jnp.max(jnp.abs(out.pi))) < 1e-14


def test_network_ground_is_validated():
    lat = Lattice((8,), 1.0)
    with pytest.raises(ParameterError, match="ground"):
        Network.create(lat, identity(1), identity(1), lambda p, q: jnp.sum(p**2), 0.1, ground=[1.0, 2.0])


# ----------------------------------------------------------------------------------------------------------
# the kink
# ----------------------------------------------------------------------------------------------------------
def _pair(a: float, u: float, length: float = 40.0, separation: float = 20.0) -> tuple:
    lat = Lattice((round(length / a),), a)
    return lat, initial.phi4_kink_pair(lat, MESON, V0, u, 0.5, separation)


@pytest.mark.parametrize("u", [0.0, 0.5])
def test_kink_pair_energy_converges_at_order_two(u):
    """The lattice energy of the sampled pair is ``2 gamma M`` up to ``O(a^2)`` (tails ``exp(-m d) ~ 1e-12``)."""
    gamma = 1 / math.sqrt(1 - u * u)
    errors = []
    for a in (0.2, 0.1, 0.05):
        lat, (phi, pi) = _pair(a, u)
        th = nl.double_well_model(lat, LAM, V0, 0.01).theory
        errors.append(float(th.hamiltonian(phi, pi)) / (2 * gamma * KINK_MASS) - 1)
    assert abs(errors[0]) < (MESON * 0.2) ** 2  # an O((m a)^2) error, not an O(1) one
    for coarse, fine in zip(errors, errors[1:], strict=False):
        assert math.log2(coarse / fine) == pytest.approx(2.0, abs=0.05)


def test_kink_profile_is_the_closed_form():
    phi, pi = initial.phi4_kink_profile(np.array([0.0, 1.0, -2.0]), 0.0, MESON, V0, 0.6, 0.0, -1)
    gamma = 1 / math.sqrt(1 - 0.36)
    z = MESON * gamma * np.array([0.0, 1.0, -2.0]) / 2
    np.testing.assert_allclose(phi, -V0 * np.tanh(z), rtol=1e-15)
    np.testing.assert_allclose(pi, V0 * MESON * gamma * 0.6 / 2 / np.cosh(z) ** 2, rtol=1e-15)


def test_kink_pair_is_smooth_across_the_seam():
    lat, (phi, _) = _pair(0.1, 0.0, length=40.0, separation=16.0)
    assert abs(phi[0, 0] - phi[0, -1]) < 1e-6  # both -v up to the tails exp(-m 12)
    assert phi[0, 0] == pytest.approx(-V0, abs=1e-6)
    tails = 4 * math.exp(-MESON * 8.0) * V0  # 2 (1 - tanh(m 8 / 2)) from each wall, 8 away
    assert phi[0, lat.shape[0] // 2] == pytest.approx(V0, abs=tails)


@pytest.mark.parametrize(("kwargs", "param"), [
    ({"velocity": 1.0}, "velocity"), ({"separation": 40.0}, "separation"), ({"center": 1.0}, "center"),
    ({"separation": -1.0}, "separation"),
])
def test_kink_pair_refuses_bad_parameters(kwargs, param):
    lat = Lattice((400,), 0.1)
    with pytest.raises(ParameterError, match=param):
        initial.phi4_kink_pair(lat, MESON, V0, **kwargs)


def test_walls_move_at_their_speed():
    """Before they meet, the left wall's zero crossing moves at ``u`` (to ``O((m a)^2)``; 1e-4 measured)."""
    a, dt, u = 0.05, 0.01, 0.3
    lat = Lattice((1600,), a)
    net = nl.double_well_model(lat, LAM, V0, dt).network
    phi, pi = initial.phi4_kink_pair(lat, MESON, V0, u, 0.5, 30.0)
    state = State(phi, pi)
    x = np.arange(lat.shape[0]) * a
    ts, xs = [], []
    for n in range(12):
        p = np.asarray(state.phi[0])
        i = np.flatnonzero((p[:-1] < 0) & (p[1:] >= 0))[0]
        xs.append(x[i] - a * p[i] / (p[i + 1] - p[i]))
        ts.append(n * 200 * dt)
        state = net.advance(state, 200)
    assert np.polyfit(ts, xs, 1)[0] == pytest.approx(u, rel=(MESON * a) ** 2 / 2)


def test_network_matches_the_physics_side_at_order_two():
    """The leapfrog network against the physics side's RK4 (order 4, from the Hamiltonian by ``jax.grad``) on a
    colliding pair: the error falls by 4 when dt halves."""
    a = 0.1
    lat = Lattice((200,), a)
    phi, pi = initial.phi4_kink_pair(lat, MESON, V0, 0.5, 0.5, 4.0)
    t_end = 4.0  # through the collision (t = 4)
    th = nl.double_well_model(lat, LAM, V0, 0.01).theory
    ref, _ = th.rk4(phi, pi, t_end, 0.002)
    errors = []
    for dt in (0.02, 0.01):
        net = nl.double_well_model(lat, LAM, V0, dt).network
        out = net.advance(State(phi, pi), round(t_end / dt))
        errors.append(float(jnp.max(jnp.abs(out.phi - ref))))
    assert math.log2(errors[0] / errors[1]) == pytest.approx(2.0, abs=0.1)


def _outcome(u: float) -> float:
    """The half distance between the walls at ``t = 10 / u + 60`` (the pair meets at ``t = 10 / u``)."""
    a, dt = 0.05, 0.02
    lat = Lattice((2048,), a)
    net = nl.double_well_model(lat, LAM, V0, dt).network
    phi, pi = initial.phi4_kink_pair(lat, MESON, V0, u, 0.5, 20.0)
    out = np.asarray(net.advance(State(phi, pi), round((10 / u + 60) / dt)).phi[0])
    crossings = np.flatnonzero(np.sign(out[:-1]) * np.sign(out[1:]) < 0)
    return 0.0 if len(crossings) == 0 else float(np.max(np.abs(crossings * a - 0.5 * lat.lengths[0])))


def test_collision_captures_below_and_escapes_above_the_critical_speed():
    """Kink-antikink collisions (Campbell, Schonfeld and Wingate, Physica D 9, 1 (1983)): at ``u = 0.15`` (below
    the first two-bounce window, ``u ~ 0.19``) the pair is captured into a bion at the centre; at ``u = 0.35``
    (above ``u_c ~ 0.2598``) it escapes, the walls then 2.5-4x the bion's size apart after 60 time units."""
    assert _outcome(0.15) < 2.5  # the bion: its walls (when it has any) within a few kink widths
    assert _outcome(0.35) > 10.0


# ----------------------------------------------------------------------------------------------------------
# the config
# ----------------------------------------------------------------------------------------------------------
def _config(tmp_path, theory: str, initial_table: str, shape: int = 256, dt: float = 0.05) -> object:
    path = tmp_path / "run.toml"
    path.write_text(f'[theory]\nname = "phi4"\n{theory}\n[lattice]\nshape = [{shape}]\nspacing = 0.1\n'
                    f"[time]\ndt = {dt}\nsteps = 10\n[initial]\n{initial_table}\n", encoding="utf-8")
    return load_config(path)


def test_broken_phase_config_builds_the_double_well(tmp_path):
    cfg = _config(tmp_path, f'phase = "broken"\nmass = {M}\nlambda = {LAM}', 'kind = "kink"\nvelocity = 0.2')
    model, state = build(cfg)
    assert isinstance(model.theory.potential, DoubleWellPotential)
    assert float(model.theory.potential.v) == pytest.approx(V0, rel=1e-15)
    assert model.dispersion([np.zeros(1)])[0] == pytest.approx(MESON, rel=1e-12)
    # -v at the seam, 6.4 from each wall (half the box apart): up to the tails 4 exp(-m 6.4) v
    assert float(np.min(state.phi)) == pytest.approx(-V0, abs=4 * math.exp(-MESON * 6.4) * V0)
    s = check_stability(cfg, model)
    assert s.stable and s.dt_max == pytest.approx(2 / math.sqrt(MESON**2 + 4 / 0.01), rel=1e-5)


@pytest.mark.parametrize("kind", ['kind = "gaussian_packet"\namplitude = 0.2', 'kind = "gaussian"\namplitude = 0.1',
                                  'kind = "random_spectrum"'])
def test_fluctuations_are_about_the_vacuum(tmp_path, kind):
    """The packet and random data of a double well sit on ``+v`` (about 0 they would roll down the hill)."""
    cfg = _config(tmp_path, 'phase = "broken"\nmass = 1.0\nlambda = 4.0', kind)
    _, state = build(cfg)
    assert float(np.mean(state.phi)) == pytest.approx(0.5, abs=0.1)
    assert check_stability(cfg).stable


def test_expression_double_well_is_judged_about_its_vacuum(tmp_path):
    """Before session 33 this config was refused as a physical instability (linearized about ``phi = 0``)."""
    cfg = _config(tmp_path, 'potential = "lam/4*(phi**2 - 1)**2"\nlambda = 2.0',
                  'kind = "gaussian_packet"\namplitude = 0.5\nwidth = 2.0')
    model, state = build(cfg)
    assert float(np.asarray(model.network.ground)[0]) == pytest.approx(1.0, rel=1e-14)
    assert float(np.max(state.phi)) == pytest.approx(1.5, rel=1e-6)
    assert check_stability(cfg).stable


@pytest.mark.parametrize(("theory", "initial_table", "match"), [
    ('phase = "broken"\nmass = 0.0', 'kind = "kink"', "theory.mass"),
    ('phase = "broken"\nlambda = 0.0', 'kind = "kink"', "theory.lambda"),
    ('phase = "broken"\npotential = "phi**4"', 'kind = "gaussian_packet"', "theory.phase"),
    ("mass = 1.0", 'kind = "kink"', 'phase = \\"broken\\"'),
    ('potential = "lam/4*(phi**2 - 1)**2"', 'kind = "kink"', "built-in double well"),
    ('phase = "broken"', 'kind = "kink"\nseparation = 30.0', "initial.separation"),
    ('phase = "cold"', 'kind = "kink"', "theory.phase"),
])
def test_config_refusals(tmp_path, theory, initial_table, match):
    with pytest.raises(ConfigError, match=match):
        build(_config(tmp_path, theory, initial_table))


@pytest.mark.slow
def test_critical_speed_is_the_literatures():
    """``u_c`` from ``scripts/phi4_collisions.py`` (a scan of speeds in one vmapped batch, the bracket refined, then
    ``u_out^2 = C (u^2 - u_c^2)`` fitted above it) against the continuum's 0.2598 (Anninos, Oliveira and Matzner
    1991), within the lattice's ``O((m_s a)^2)`` relative (0.26 (m_s a)^2 = 1.3e-3 at a = 0.05; 1.7e-4 measured)."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / "phi4_collisions.py"
    spec = importlib.util.spec_from_file_location("phi4_collisions", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("phi4_collisions", mod)  # its dataclass looks its module up there
    spec.loader.exec_module(mod)
    r = mod.scan(spacing=0.05, low=0.24, high=0.30, n=32, refine=1)
    assert r.fitted >= 5
    assert r.u_c == pytest.approx(0.2598, abs=0.26 * (MESON * 0.05) ** 2)
    assert r.u_c <= r.first_escape  # the bracket is an upper bound


# ----------------------------------------------------------------------------------------------------------
# a quench: data about the top of the hill (initial.offset)
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("offset", "expected"), [("", V0), ("offset = 0.0", 0.0), ("offset = -0.3", -0.3)])
def test_offset_places_the_fluctuations(tmp_path, offset, expected):
    cfg = _config(tmp_path, f'phase = "broken"\nmass = {M}\nlambda = {LAM}',
                  f'kind = "random_spectrum"\namplitude = 0.01\n{offset}')
    _, state = build(cfg)
    assert float(np.mean(state.phi)) == pytest.approx(expected, abs=0.01)
    assert check_stability(cfg).stable  # judged about +v whatever the data


def test_the_top_of_the_hill_rolls_off_at_the_tachyonic_rate():
    """About ``phi = 0`` the double well is tachyonic, ``V''(0) = -m^2``: a uniform ``eps`` grows as the leapfrog's
    ``eps cosh(n theta)``, ``theta = 2 asinh(m dt / 2)`` (the three-term recurrence with ``pi = 0``), exactly while the
    cubic term ``lam phi^3`` is negligible (``phi <= 1e-3``: relative ``1e-6``)."""
    lat = Lattice((8,), 0.5)
    dt, eps = 0.05, 1e-9
    net = nl.double_well_model(lat, LAM, V0, dt).network
    _, obs = net.run(State(np.full((1, 8), eps), np.zeros((1, 8))), 280, 20, lambda s: s.phi[0, 0])
    n = 20 * np.arange(1, 15)
    expected = eps * np.cosh(n * 2 * np.arcsinh(M * dt / 2))
    assert expected[-1] < 1e-3
    np.testing.assert_allclose(np.asarray(obs), expected, rtol=2e-6)


def test_configs_without_the_new_keys_hash_as_before(tmp_path):
    """``phase`` and ``offset`` at their defaults leave ``config_hash`` as it was, so a phi4 run written before
    session 33 still resumes (``checkpoint.ADDED_KEYS``); set to anything else they are part of it."""
    import dataclasses
    from pathlib import Path

    from nnfield.checkpoint import config_hash

    example = Path(__file__).resolve().parents[1] / "examples" / "phi4_1d.toml"
    cfg = load_config(example)
    # the hash a438233 (session 32, before either key existed) wrote into this example's run.h5
    assert config_hash(cfg) == "d02cb79b6d80747bb7e96b67e8c1acffb0888f61853cabfdd94894e2f0c3e57f"
    broken = dataclasses.replace(cfg, theory=dataclasses.replace(cfg.theory, params={**cfg.theory.params,
                                                                                     "phase": "broken"}))
    moved = dataclasses.replace(cfg, initial=dataclasses.replace(cfg.initial, params={**cfg.initial.params,
                                                                                      "offset": 0.0}))
    assert len({config_hash(cfg), config_hash(broken), config_hash(moved)}) == 3


def test_analyze_reports_the_ground_state(tmp_path):
    from nnfield._cli_analyze import analyze_config

    d, _ = analyze_config(_config(tmp_path, f'phase = "broken"\nmass = {M}\nlambda = {LAM}', 'kind = "kink"'))
    assert d["ground_state"]["phi_0"] == pytest.approx(V0, rel=1e-15)
    assert d["ground_state"]["V''(phi_0)"] == pytest.approx(MESON**2, rel=1e-14)  # 2 m^2
    d, _ = analyze_config(_config(tmp_path, "mass = 1.5", 'kind = "gaussian_packet"'))
    assert d["ground_state"]["phi_0"] == 0.0 and d["ground_state"]["V''(phi_0)"] == pytest.approx(2.25, rel=1e-14)
