"""The shared U(1) core: lattice calculus, Gauss's law solver and projection, photons, gauge transformations, and
the gauge network's linearization (the analysis seam ``perturbation_step``)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice, analysis
from nnfield.errors import ParameterError
from nnfield.theories import maxwell, u1

EPS = float(np.finfo(float).eps)


def _div(E, a):
    return sum(E[mu] - np.roll(E[mu], 1, mu) for mu in range(E.shape[0])) / a


@pytest.mark.parametrize("shape", [(16,), (8, 6), (6, 5, 4)])
def test_longitudinal_field_solves_gauss_law(rng, shape):
    lat = Lattice(shape, 0.7)
    rho = rng.standard_normal(shape)
    rho -= rho.mean()
    E = u1.longitudinal_field(lat, rho)
    assert np.abs(_div(E, 0.7) - rho).max() < 100 * EPS * np.abs(rho).max()
    # curl-free: every plaquette of E (as a field on links) vanishes
    if len(shape) >= 2:
        assert np.abs(np.asarray(u1.plaquettes(E))).max() < 100 * EPS * np.abs(E).max()


def test_projection_keeps_the_transverse_part(rng):
    lat = Lattice((8, 8, 8), 1.0)
    A_T, _ = u1.random_photons(lat, 3, 1.0)
    rho = rng.standard_normal(lat.shape)
    rho -= rho.mean()
    E0 = A_T + rng.standard_normal((3, *lat.shape))  # transverse part A_T plus arbitrary junk
    E = u1.project(lat, E0, rho)
    assert np.abs(_div(E, 1.0) - rho).max() < 1e3 * EPS * np.abs(E).max()
    # projecting twice changes nothing; the transverse part of E0 and of E agree
    assert np.abs(u1.project(lat, E, rho) - E).max() < 1e3 * EPS * np.abs(E).max()
    assert np.abs(u1.transverse(lat, E) - u1.transverse(lat, E0)).max() < 1e3 * EPS * np.abs(E).max()


def test_a_net_charge_is_refused_with_the_fix():
    lat = Lattice((8, 8), 1.0)
    with pytest.raises(ParameterError, match="neutral total charge.*opposite charge"):
        u1.longitudinal_field(lat, np.ones(lat.shape))


@pytest.mark.parametrize("shape", [(8, 8), (6, 6, 6)])
def test_random_photons_are_transverse(shape):
    lat = Lattice(shape, 0.5)
    A, E = u1.random_photons(lat, 1, 0.2, slope=-1.0)
    assert np.sqrt(np.mean(A**2)) == pytest.approx(0.2, rel=1e-12)
    for F in (A, E):
        assert np.abs(_div(F, 0.5)).max() < 1e3 * EPS * np.abs(F).max()


def test_plane_wave_polarization_is_transverse_and_no_photons_in_1d():
    lat = Lattice((16, 16, 8), 1.0)
    A, E = u1.plane_wave(lat, [2, 1, 0], [1.0, 0.0, 0.0], 0.3)
    assert np.abs(_div(A, 1.0)).max() < 1e3 * EPS and np.abs(_div(E, 1.0)).max() < 1e3 * EPS
    with pytest.raises(ParameterError, match="no transverse part"):
        u1.plane_wave(lat, [1, 0, 0], [1.0, 0.0, 0.0])
    with pytest.raises(ParameterError, match="no transverse photons in D = 1"):
        u1.random_photons(Lattice((16,), 1.0))


def test_plaquettes_are_gauge_invariant_and_wrap(rng):
    theta = rng.uniform(-3, 3, (3, 5, 4, 3))
    chi = rng.uniform(-10, 10, (5, 4, 3))
    P = np.asarray(u1.plaquettes(theta))
    P2 = np.asarray(u1.plaquettes(u1.transform_links(theta, chi)))
    assert np.abs(np.asarray(u1.wrap(P2 - P))).max() < 1e3 * EPS * 10
    w = np.asarray(u1.wrap(jnp.asarray([np.pi, -np.pi, 3 * np.pi + 0.1, -0.2])))
    assert np.allclose(w, [np.pi, np.pi, np.pi + 0.1 - 2 * np.pi, -0.2], atol=1e-14)
    # the divergence is the transpose of minus the gradient (the identity behind the Noether argument)
    E, f = rng.standard_normal((3, 5, 4, 3)), rng.standard_normal((5, 4, 3))
    lhs = np.sum(np.asarray(u1.divergence(E, 0.3)) * f)
    rhs = -np.sum(E * np.asarray(u1.gradient(f, 0.3)))
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_linearized_step_gives_the_photon_branches():
    """The analysis seam: ``perturbation_step`` of the gauge network linearized about the vacuum. 3D: two
    transverse branches obeying 4 sin^2(Omega dt/2)/dt^2 = (4/a^2) sum sin^2(k a/2), the longitudinal pair at 0."""
    lat = Lattice((8, 8, 8), 0.5)
    dt = 0.1
    net = maxwell.model(lat, dt, charge=1.3).network
    rng = np.random.default_rng(0)
    k = [rng.uniform(-np.pi / 0.5, np.pi / 0.5, 5) for _ in range(3)]
    Om = analysis.network_dispersion(net, k)  # (5, 6) sorted
    w = u1.photon_omega(lat, 0.0, k)
    expected = 2 / dt * np.arcsin(dt * w / 2)
    assert np.abs(Om[:, :2]).max() < 1e-6  # longitudinal: no propagation
    assert np.abs(Om[:, 2:] - expected[:, None]).max() < 1e-10
    assert analysis.largest_stable_dt(lambda h: maxwell.model(lat, h).network, dt) == pytest.approx(
        0.5 / np.sqrt(3), rel=1e-5)
    extra = maxwell.model(lat, dt, charge=1.3).analysis_extra()["photons"]  # what `nnfield analyze` reports
    assert extra["transverse_polarizations"] == 2
    assert extra["max_deviation_from_leapfrog_dispersion"] < 1e-10 and extra["longitudinal_max_frequency"] < 1e-6


#: section-B checks quick enough for the default suite (the rest run with -m slow)
QUICK_B = {"Gauss law", "gauge invariance", "photon dispersion"}


def _beyond():
    from nnfield import paper

    return [c for c in paper.load_checks() if c.section == paper.BEYOND]


@pytest.mark.parametrize("equation", [pytest.param(c.equation, marks=() if c.equation in QUICK_B else pytest.mark.slow)
                                      for c in _beyond()])
def test_beyond_the_paper_check_passes(equation):
    """Every ``nnfield verify`` check of section "B" reaches its expected verdict with a measured number."""
    import math

    (check,) = [c for c in _beyond() if c.equation == equation]
    out = check.fn()
    assert out.verdict == check.expected, out
    assert math.isfinite(out.measured) and any(ch.isdigit() for ch in out.detail)


def test_beyond_section_is_registered():
    eqs = {c.equation for c in _beyond()}
    assert {"Gauss law", "gauge invariance", "photon dispersion", "Higgs mechanism", "vortex flux",
            "energy order"} <= eqs
