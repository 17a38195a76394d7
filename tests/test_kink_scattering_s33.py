"""The exact sine-Gordon kink-antikink scattering (session 33): initial data, the config kind and the network
against the solution through the collision.

``phi = (4/b) arctan(sinh(gamma v m t) / (v cosh(gamma m x)))`` solves ``phi_tt = phi_xx - (m^2/b) sin(b phi)``
exactly (integrable: the walls pass through each other). Tolerances: the closed form's own ``pi`` against a
centred difference in ``t`` (``O(h^2)``); the network against the solution at ``O(a^2)``, checked by its order.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

from nnfield import initial
from nnfield.config import load_config
from nnfield.errors import ConfigError, ParameterError
from nnfield.lattice import Lattice
from nnfield.runner import build
from nnfield.state import State
from nnfield.theories import nonlinear as nl

jax.config.update("jax_enable_x64", True)

M, B, V = 1.3, 0.8, 0.5


def test_pi_is_the_time_derivative_and_the_field_solves_the_equation():
    lat = Lattice((400,), 0.1)
    t, h = -2.0, 1e-4
    phi, pi = initial.kink_antikink(lat, t, M, B, V)
    plus, _ = initial.kink_antikink(lat, t + h, M, B, V)
    minus, _ = initial.kink_antikink(lat, t - h, M, B, V)
    dphi = (plus - minus) / (2 * h)
    scale = float(np.abs(pi).max())
    assert float(np.abs(dphi - pi).max()) < 1e-7 * scale  # O(h^2) = 1e-8 relative, with the round-off of 1/h
    # the continuum equation: phi_tt - phi_xx + (m^2/b) sin(b phi) = 0, both second derivatives by differences
    x_h = 1e-3
    fine = Lattice((40000,), x_h)  # the same box, 1e-3 apart
    f0, _ = initial.kink_antikink(fine, t, M, B, V)
    fp, _ = initial.kink_antikink(fine, t + 1e-3, M, B, V)
    fm, _ = initial.kink_antikink(fine, t - 1e-3, M, B, V)
    f = f0[0]
    tt = (fp[0] - 2 * f + fm[0]) / 1e-6
    xx = (np.roll(f, -1) - 2 * f + np.roll(f, 1)) / x_h**2
    residual = tt - xx + M**2 / B * np.sin(B * f)
    assert float(np.abs(residual).max()) < 1e-4 * float(np.abs(xx).max())  # O(h^2) = 1e-6 of the terms' size


def test_walls_pass_through_each_other():
    """The field between the walls is ``-2 pi / b`` before the collision and ``+2 pi / b`` after, up to the tails:
    at the centre ``(4/b)(pi/2 - arctan|r|) <= 4 v / (b |sinh(gamma v m t)|)``."""
    lat = Lattice((400,), 0.1)
    before, _ = initial.kink_antikink(lat, -8.0, M, B, V)
    after, _ = initial.kink_antikink(lat, 8.0, M, B, V)
    centre = lat.shape[0] // 2
    tails = 4 * V / (B * math.sinh(M * V * 8.0 / math.sqrt(1 - V * V)))
    assert before[0, centre] == pytest.approx(-2 * math.pi / B, abs=tails)
    assert after[0, centre] == pytest.approx(2 * math.pi / B, abs=tails)
    assert abs(before[0, centre] + 2 * math.pi / B) > tails / 2  # the bound is the tail, not slack
    assert abs(before[0, 0]) < 1e-3 and abs(after[0, 0]) < 1e-3  # 0 far out (at the seam)


def test_network_follows_the_exact_scattering_at_order_two():
    """Leapfrog with dt = a/2 (order 2 in both) from t = -6 to 6 through the collision: the error falls by 4 per
    halving of a (the same measurement as ``nnfield verify``'s "(2.14) sine-Gordon scattering")."""
    L, T = 40.0, 6.0
    errors = []
    for n in (200, 400):
        a = L / n
        lat = Lattice((n,), a)
        net = nl.sine_gordon_model(lat, M, B, a / 2).network
        phi, pi = initial.kink_antikink(lat, -T, M, B, V)
        exact, _ = initial.kink_antikink(lat, T, M, B, V)
        out = net.advance(State(phi, pi), round(2 * T / (a / 2)))
        errors.append(float(np.abs(np.asarray(out.phi) - exact).max()))
    assert math.log2(errors[0] / errors[1]) == pytest.approx(2.0, abs=0.1)
    assert errors[1] < 3e-3 * 2 * math.pi / B


@pytest.mark.parametrize(("kwargs", "param"), [({"v": 0.0}, "v"), ({"v": 1.0}, "v"), ({"mass": -1.0}, "mass"),
                                               ({"t": math.nan}, "t")])
def test_kink_antikink_refuses_bad_parameters(kwargs, param):
    args = {"t": -1.0, "mass": M, "b": B, "v": V} | kwargs
    with pytest.raises(ParameterError, match=param):
        initial.kink_antikink(Lattice((64,), 0.5), **args)


def _config(tmp_path, theory: str, initial_table: str) -> object:
    path = tmp_path / "run.toml"
    path.write_text(f'[theory]\nname = "sine-gordon"\nmass = {M}\nb = {B}\n{theory}\n[lattice]\nshape = [400]\n'
                    f'spacing = 0.1\n[time]\ndt = 0.05\nsteps = 10\n[initial]\nkind = "collision"\n{initial_table}\n',
                    encoding="utf-8")
    return load_config(path)


def test_config_kind_collision_is_the_solution_meet_before(tmp_path):
    _, state = build(_config(tmp_path, "", "velocity = 0.5\nmeet = 3.0"))
    phi, pi = initial.kink_antikink(Lattice((400,), 0.1), -3.0, M, B, 0.5)
    np.testing.assert_array_equal(np.asarray(state.phi), phi)
    np.testing.assert_array_equal(np.asarray(state.pi), pi)
    _, state = build(_config(tmp_path, "", "velocity = 0.4"))  # default: the walls half the box apart
    phi, _ = initial.kink_antikink(Lattice((400,), 0.1), -40.0 / (4 * 0.4), M, B, 0.4)
    np.testing.assert_array_equal(np.asarray(state.phi), phi)


@pytest.mark.parametrize(("theory", "initial_table", "match"), [
    ("winding = 1", "velocity = 0.5", "winding = 0"),
    ("", "velocity = 0.0", "initial.velocity"),
    ("", "velocity = 1.5", "initial.velocity"),
    ("", "meet = -1.0", "initial.meet"),
])
def test_config_kind_collision_refusals(tmp_path, theory, initial_table, match):
    with pytest.raises(ConfigError, match=match):
        build(_config(tmp_path, theory, initial_table))
