"""Hostile bug hunt (s28) of the dynamical and background gauge fields (``maxwell``, ``scalar-qed``,
``maxwell-dirac``, ``gauged-dirac``).

Found and fixed here:

1. ``u1.plane_wave`` (and ``initial.kind = "plane_wave"`` of ``maxwell``) accepted the zero mode ``n = [0, 0]``:
   a uniform ``A`` with ``omega = 0`` and ``E = 0``, no field strength at all (a flat connection, zero energy),
   not a photon. It is refused naming ``n`` for a massless photon; a massive photon (the Higgs phase of
   ``scalar-qed``) at rest, ``omega = m_A``, is still a physical mode and is kept.
2. ``gauge.uniform_magnetic`` links recorded the lattice spacing, so a lattice of the same shape and another spacing
   refused them, although their angles (the flux ``2 pi n_flux / (N_mu N_nu)`` per plaquette) do not depend on the
   spacing: the refusal sent the user to rebuild exactly the same angles.
3. ``scalar_qed.initial.vortex_pair`` put both cores at ``y = L_1 / 2 + a / 2``, a plaquette centre only when
   ``N_1`` is even: on an odd ``N_1`` the cores sat on a row of links and the data carried almost no flux per
   vortex (``-0.06`` of a flux quantum instead of ``+1``) with three times the energy.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from nnfield import Lattice
from nnfield.errors import ConfigError, ParameterError
from nnfield.theories import gauge as g
from nnfield.theories import scalar_qed, u1

jax.config.update("jax_enable_x64", True)

EPS = float(np.finfo(float).eps)


# ----------------------------------------------------------------------------------------------------------
# 1. the zero mode is no photon
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(6, 6), (5, 4, 3)])
def test_plane_wave_refuses_the_zero_mode_of_a_massless_photon(shape):
    lat = Lattice(shape, 0.5)
    with pytest.raises(ParameterError) as err:
        u1.plane_wave(lat, [0] * len(shape), None, 0.1)
    assert err.value.param == "n" and "\n" not in str(err.value)
    assert "zero mode" in str(err.value)


def test_plane_wave_keeps_the_massive_photon_at_rest():
    """In the Higgs phase ``k = 0`` is the massive photon at rest: ``A = eps cos(m_A t)`` uniform, ``E = -m_A eps
    sin(m_A t)`` (an exact solution of the linearized equations: no gradient, mass ``m_A``)."""
    lat = Lattice((4, 4), 1.0)
    m_A = 1.3
    A, E = u1.plane_wave(lat, [0, 0], [0.0, 1.0], 0.1, mass=m_A)
    np.testing.assert_allclose(A[1], 0.1, rtol=0, atol=4 * EPS)
    np.testing.assert_allclose(A[0], 0.0, rtol=0, atol=4 * EPS)
    # travelling: E = Re(-i omega eps e^{i k.x}) = 0 at k = 0 and t = 0 (the cosine's phase)
    np.testing.assert_allclose(E, 0.0, rtol=0, atol=4 * EPS)


def test_config_plane_wave_with_the_zero_mode_is_a_one_line_config_error():
    from nnfield.config import parse_config
    from nnfield.runner import build

    text = """
[theory]
name = "maxwell"
[lattice]
shape = [6, 6]
[time]
dt = 0.1
t_end = 0.2
scheme = "leapfrog"
[initial]
kind = "plane_wave"
n = [0, 0]
"""
    with pytest.raises(ConfigError) as err:
        build(parse_config(text))
    assert "initial.n" in str(err.value) and "\n" not in str(err.value)


# ----------------------------------------------------------------------------------------------------------
# 2. uniform magnetic links are the same angles at every spacing
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("shape", "n_flux", "q"), [((6, 4), 1, 1.0), ((5, 7), 3, 0.7), ((4, 3, 5), -2, 1.9)])
def test_uniform_magnetic_angles_depend_on_the_shape_only(shape, n_flux, q):
    """Every plaquette of the plane carries ``2 pi n_flux / (N_mu N_nu)`` (flux quantization on the torus; ``q B
    a^2`` with ``q B = 2 pi n_flux / (L_mu L_nu)``), whatever ``a``: the links of two spacings agree to round-off,
    record no spacing, and a network on either spacing accepts them."""
    half, other = Lattice(shape, 0.5), Lattice(shape, 1.3)
    links_half, B_half = g.uniform_magnetic(half, n_flux, q)
    links_other, B_other = g.uniform_magnetic(other, n_flux, q)
    scale = float(np.abs(np.asarray(links_half.alpha)).max())
    np.testing.assert_allclose(np.asarray(links_half.alpha), np.asarray(links_other.alpha), rtol=0,
                               atol=8 * EPS * scale)
    # the returned B is this lattice's: q B L_x L_y = 2 pi n_flux
    assert abs(q * B_half * half.lengths[0] * half.lengths[1] - 2 * np.pi * n_flux) < 1e-12 * abs(n_flux)
    assert abs(q * B_other * other.lengths[0] * other.lengths[1] - 2 * np.pi * n_flux) < 1e-12 * abs(n_flux)
    theta = np.pi / 2 * np.asarray(links_half.alpha)  # X_0^alpha -> exp(-i alpha pi / 2): the link angle
    P = np.asarray(u1.wrap(u1.plaquettes(theta)))[0]
    np.testing.assert_allclose(P, 2 * np.pi * n_flux / (shape[0] * shape[1]), rtol=0, atol=64 * EPS)
    assert links_half.spacing is None
    g.model(other, 0.5, 0.05, links_half, network="stable", bias="wilson")
    g.model(half, 0.5, 0.05, links_other, network="stable", bias="wilson")


# ----------------------------------------------------------------------------------------------------------
# 3. a vortex pair on an odd lattice
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ny", [12, 11])
def test_vortex_pair_cores_sit_in_plaquettes_on_an_odd_lattice(ny):
    """Each half of the box holds the flux of its vortex, ``+-2 pi / q`` less the tail beyond the half-box line
    (the profile ``1/cosh^2(r m_A / sqrt 2)`` summed over images leaves ~6% there for these sizes): at least 0.9 of
    a quantum each, on even and odd ``N_1`` alike; the core plaquettes carry the same flux on both."""
    q = 1.5
    M = scalar_qed.model(Lattice((16, ny), 0.5), 0.05, charge=q, lam=0.5, v=1.0)
    phi, pi = scalar_qed.vortex_pair(M)
    P = np.asarray(u1.wrap(u1.plaquettes(M.encode(phi, pi)["links"])))[0]
    left, right = P[:8].sum() / (2 * np.pi), P[8:].sum() / (2 * np.pi)
    assert left > 0.9 and right < -0.9, (left, right)
    assert abs(left + right) < 1e-12
    # the core plaquette of the vortex takes the largest flux; its neighbours along y are equal (a centred core)
    i, j = np.unravel_index(np.argmax(P), P.shape)
    assert abs(P[i, (j + 1) % ny] - P[i, j - 1]) < 1e-12


# ----------------------------------------------------------------------------------------------------------
# 4. photons asked for where none exist
# ----------------------------------------------------------------------------------------------------------
def test_higgs_vacuum_refuses_photons_in_1d_and_a_nan_amount():
    """``photons > 0`` on a 1D lattice used to be ignored silently (no transverse photons exist there, as
    ``u1.random_photons`` says for D = 1); a NaN compared False with 0 and gave no photons."""
    lat = Lattice((16,), 0.5)
    with pytest.raises(ParameterError) as err:
        scalar_qed.higgs_vacuum(lat, 1.0, 0.5, 1.0, 0.0, 0, 0.01, photons=0.3)
    assert err.value.param == "photons" and "D = 1" in str(err.value)
    with pytest.raises(ParameterError) as err:
        scalar_qed.higgs_vacuum(Lattice((6, 6), 0.5), 1.0, 0.5, 1.0, 0.0, 0, 0.01, photons=float("nan"))
    assert err.value.param == "photons"
    phi, _ = scalar_qed.higgs_vacuum(lat, 1.0, 0.5, 1.0, 0.0, 0, 0.01)  # no photons asked: fine in 1D
    assert phi.shape == (3, 16) and not np.any(phi[0])
