"""Initial-data hunt (session 27): regressions found by checking the initial conditions against independent
NumPy calculations (``CHANGELOG.md``, "Found by an initial-data hunt (session 27)")."""

from __future__ import annotations

import numpy as np
import pytest

from nnfield import Lattice, initial
from nnfield.errors import ParameterError
from nnfield.network import run
from nnfield.theories import scalar_qed as sq
from nnfield.theories.scalar_qed.initial import charge_density
from nnfield.theories.u1._lattice import plaquettes, wrap
from nnfield.theories.u1.gauss import gauss_residual


def _centroids(x, phi, pi):
    """Centroids of the positive and the negative charge density (``pi_1 phi_2 - pi_2 phi_1``)."""
    rho = pi[-2] * phi[-1] - pi[-1] * phi[-2]
    pos, neg = np.where(rho > 0, rho, 0.0), np.where(rho < 0, -rho, 0.0)
    return float((x * pos).sum() / pos.sum()), float((x * neg).sum() / neg.sum())


def test_scalar_qed_charged_packets_move_towards_each_other():
    """The negative-frequency packet was the complex conjugate of a right-mover (exp(-i k0 x) with pi = +i omega
    phi), so both packets moved along +k0: the gap stayed at 32. Free packets (q tiny): each moves by
    v t = (k0 / omega) t towards the other, omega = sqrt(m^2 + k0^2) = sqrt(2)."""
    lat = Lattice((256,), 0.25)
    q, dt, steps = 1e-6, 0.05, 100
    M = sq.model(lat, dt, charge=q, lam=0.0, v=0.0, m=1.0)
    phi, pi = sq.charged_packets(lat, q, 0.0, 0.0, 1.0, width=2.0, momentum=[1.0], amplitude=0.5)
    x = lat.coordinates()[0]
    p0, n0 = _centroids(x, phi, pi)
    assert (p0, n0) == pytest.approx((16.0, 48.0), abs=1e-9)  # c -+ s/2, c = 32, s = 32
    s, _ = run(M.network, M.encode(phi, pi), steps, steps, lambda s: {})
    p1, n1 = _centroids(x, *(np.asarray(f) for f in M.decode(s)))
    vt = dt * steps / np.sqrt(2.0)  # 3.54: the group speed 1/sqrt(2) times t = 5
    # a Gaussian's centroid moves with the group velocity at k0 up to O(1/(k0 w)^2) and the lattice (a = 0.25)
    assert p1 - p0 == pytest.approx(vt, rel=0.05)
    assert n1 - n0 == pytest.approx(-vt, rel=0.05)


@pytest.mark.parametrize("kwargs,param", [
    ({"width": 0.1, "momentum": [1.0]}, "width"),  # below a = 0.25: one spike, not a packet
    ({"width": 100.0, "momentum": [1.0]}, "width"),  # wider than the box
    ({"momentum": [20.0]}, "momentum"),  # beyond pi/a = 12.6: aliases to 20 - 8 pi < 0, i.e. moves backwards
    ({"center": [1e6], "momentum": [1.0]}, "center"),
])
def test_scalar_qed_charged_packets_refuse_what_every_packet_refuses(kwargs, param):
    lat = Lattice((64,), 0.25)
    with pytest.raises(ParameterError) as info:
        sq.charged_packets(lat, 1.0, 0.0, 0.0, 1.0, **kwargs)
    assert info.value.param == param


def test_vortex_pair_refuses_cores_in_one_plaquette():
    """Both cores rounded to one plaquette (separation < a, or > L_0 - a: the same plaquette across the seam) gave
    a vortex on top of its antivortex, i.e. no vortices at all, silently."""
    M = sq.model(Lattice((8, 8), 0.5), 0.05)
    for sep in (0.1, 3.9):
        with pytest.raises(ParameterError, match="different plaquettes") as info:
            sq.vortex_pair(M, sep)
        assert info.value.param == "separation"
    phi, _ = sq.vortex_pair(M, 0.5)  # one spacing apart: two cores, flux +-2 pi / q through two plaquettes
    P = np.asarray(wrap(plaquettes(phi[:2] * 0.5)))[0]  # theta = q a A, q = 1
    # the old rounding (half to even at both ends) put both cores in plaquette 4: P = 0 to round-off everywhere
    assert P[4, 4] > 0.1 and P[5, 4] < -0.1  # the vortex's core plaquette, then the antivortex's


def test_higgs_vacuum_of_the_zero_mode_alone_is_not_refused_as_charged():
    """A cutoff below the smallest |k| keeps the uniform mode only: the neutralized charge density is round-off
    everywhere, and the neutrality check measured that round-off against itself ("needs a neutral total charge,
    got 3.9e-16")."""
    lat = Lattice((16, 16), 0.5)
    phi, pi = sq.higgs_vacuum(lat, 1.0, 0.5, 1.0, 0.0, seed=0, amplitude=0.01, cutoff=0.01)
    rho = charge_density(1.0, phi[2:], pi[2:])
    scale = float(np.abs(pi[2:]).max() * np.abs(phi[2:]).max())
    assert float(gauss_residual(pi[:2], rho, 0.5, floor=scale)) < 1e-14


def test_gaussian_field_with_a_zero_spectrum_names_the_spectrum():
    """S = 0 everywhere was reported as "initial.cutoff: ... raise the cutoff" (no cutoff was given)."""
    lat = Lattice((16,), 1.0)
    omega = np.sqrt(1.0 + 4 * np.sin(lat.momenta()[0] / 2) ** 2)
    with pytest.raises(ParameterError) as info:
        initial.gaussian_field(lat, omega, lambda k, w: 0.0 * k)
    assert info.value.param == "spectrum"
    with pytest.raises(ParameterError) as info:  # a positive spectrum cut away entirely: still the cutoff
        initial.gaussian_field(lat, omega, lambda k, w: k, cutoff=0.1)
    assert info.value.param == "cutoff"

