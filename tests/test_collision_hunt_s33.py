"""Session 33's bug hunt of the sine-Gordon kink-antikink scattering (``initial.kink_antikink``, ``[initial] kind =
"collision"``) and of ``[initial] offset``: the regressions it found, one test each.

Tolerances: far from the collision (``gamma v m |t|`` beyond 710, where ``math.sinh`` overflowed) the two-soliton
solution is two separated single walls, each shifted by ``ln(1/v) / (gamma m)`` (the scattering's time delay): with
``sinh T = e^T (1 - e^-2T) / 2`` and ``cosh X = e^X (1 + e^-2X) / 2`` the ratio ``r = e^(T - X) / v`` holds to a
relative ``e^-2X``, below ``1e-300`` where it is compared (``X > 700``); what is left is the round-off of arguments
of size ``gamma m |x| ~ 2e3`` (``2e3 eps`` in the exponent, times the wall's slope ``<= 2/b``: ``1e-11`` allowed).
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

from nnfield import cli, initial
from nnfield.config import load_config
from nnfield.errors import ConfigError
from nnfield.initial import kink_profile
from nnfield.lattice import Lattice
from nnfield.runner import build

jax.config.update("jax_enable_x64", True)

M, B, V = 1.3, 0.8, 0.5
EPS = np.finfo(float).eps
JUMP = 2 * math.pi / B


def _walls_far_apart(lat: Lattice, t: float, v: float) -> None:
    """``kink_antikink`` at ``gamma v m |t| > 710``: finite, ``sign(t) 2 pi / b`` between the walls, and each wall
    the single (anti)kink displaced by ``ln(1/v) / (gamma m)`` (outward after the collision)."""
    phi, pi = initial.kink_antikink(lat, t, M, B, v)
    assert np.isfinite(phi).all() and np.isfinite(pi).all()
    g = 1 / math.sqrt(1 - v * v)
    assert g * v * M * abs(t) > 710  # math.sinh overflowed here before the fix
    x = lat.coordinates()[0] - 0.5 * lat.lengths[0]
    shift = math.log(1 / v) / (g * M)
    between = np.abs(x) < 0.8 * v * abs(t)  # X < T - 0.2 T: the tails there are exp(-0.2 T) < 1e-61
    np.testing.assert_allclose(phi[0, between], math.copysign(JUMP, t), rtol=4 * EPS, atol=0)
    assert float(np.abs(pi[0, between]).max()) < 1e-50
    far = x > 0.5 * v * abs(t)  # the right wall, X > 700 there
    # after the collision (t > 0) the right wall is an antikink moving right, centred at v t + shift; before it
    # (phi is odd in t, pi even) the same wall with phi negated
    ref, ref_pi = kink_profile(x[far], abs(t), M, B, v, shift, -1)
    np.testing.assert_allclose(math.copysign(1.0, t) * phi[0, far], ref, rtol=0, atol=1e-11)
    np.testing.assert_allclose(pi[0, far], ref_pi, rtol=0, atol=1e-11)
    i = np.flatnonzero(far)  # and the left wall is the right one mirrored (even in x: site n - i is at -x_i)
    np.testing.assert_allclose(phi[0, lat.shape[0] - i], phi[0, i], rtol=0, atol=1e-11)


@pytest.mark.parametrize("t", [2000.0, -2000.0])
def test_kink_antikink_long_after_or_before_the_collision(t):
    """``math.sinh(gamma v m t)`` raised OverflowError for ``gamma v m |t| > 710`` (``t = +-2000`` here: 1501), so a
    config's ``meet`` on a long box, or the solution at a late time, was a traceback."""
    _walls_far_apart(Lattice((4800,), 0.5), t, V)


def test_kink_antikink_extreme_arguments_are_finite():
    """``v = 1 - 1e-10`` (gamma 7e4) at ``t = -1``, and ``t = 1e300``: OverflowError before; now the walls at
    ``+-v |t|`` (narrower than ``a``) separate ``sign(t) 2 pi / b`` inside from 0 outside, to round-off."""
    lat = Lattice((400,), 0.05)  # x in [-10, 10)
    x = lat.coordinates()[0] - 0.5 * lat.lengths[0]
    phi, pi = initial.kink_antikink(lat, -1.0, 1.0, B, 1 - 1e-10)
    assert np.isfinite(phi).all() and np.isfinite(pi).all()
    np.testing.assert_allclose(phi[0, np.abs(x) < 0.9], -JUMP, rtol=4 * EPS, atol=0)
    assert float(np.abs(phi[0, np.abs(x) > 1.1]).max()) < 1e-300
    phi, pi = initial.kink_antikink(lat, 1e300, M, B, V)
    np.testing.assert_allclose(phi[0], JUMP, rtol=4 * EPS, atol=0)
    assert np.all(pi == 0.0)


def _config(tmp_path, shape: int, spacing: float, initial_table: str):
    path = tmp_path / "run.toml"
    path.write_text(f'[theory]\nname = "sine-gordon"\nmass = {M}\nb = {B}\n[lattice]\nshape = [{shape}]\n'
                    f'spacing = {spacing}\n[time]\ndt = 0.05\nsteps = 4\n[initial]\nkind = "collision"\n'
                    f"{initial_table}\n", encoding="utf-8")
    return path


def test_config_long_meet_on_a_long_box(tmp_path):
    """``meet = 1100`` on a box of 2400 (the walls start 1100 apart, on the box): OverflowError before (``gamma v m
    meet = 826``); now the API's data."""
    _, state = build(load_config(_config(tmp_path, 4800, 0.5, "velocity = 0.5\nmeet = 1100.0")))
    phi, pi = initial.kink_antikink(Lattice((4800,), 0.5), -1100.0, M, B, 0.5)
    np.testing.assert_array_equal(np.asarray(state.phi), phi)
    np.testing.assert_array_equal(np.asarray(state.pi), pi)
    _walls_far_apart(Lattice((4800,), 0.5), -1100.0, 0.5)


@pytest.mark.parametrize("meet", ["40.0", "45.0", "1e4"])
def test_config_meet_beyond_the_box_is_refused(tmp_path, capsys, meet):
    """``2 |v| meet >= L``: the walls would start beyond the seam. ``meet = 45`` on a box of 40 at ``v = 0.5`` ran
    from a uniform ``-2 pi / b`` (no walls on the box at all) with verdict OK; ``meet = 1e4`` was an OverflowError
    traceback (exit 1). Now one line naming initial.meet, exit 2."""
    cfg = _config(tmp_path, 400, 0.1, f"velocity = 0.5\nmeet = {meet}")
    with pytest.raises(ConfigError, match=r"initial\.meet: .* less than the box length 40"):
        build(load_config(cfg))
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "out"), "-q", "--dry-run"]) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err and len(lines) == 1 and "initial.meet:" in lines[0], err
    build(load_config(_config(tmp_path, 400, 0.1, "velocity = 0.5\nmeet = 39.0")))  # just inside: accepted


def test_config_velocity_too_slow_for_the_default_meet(tmp_path):
    """``velocity = 1e-310``: the default ``meet = L / (4 |v|)`` is inf; the refusal names the key the user gave."""
    with pytest.raises(ConfigError, match=r"initial\.velocity: .*set initial\.meet"):
        build(load_config(_config(tmp_path, 400, 0.1, "velocity = 1e-310")))
