"""The one library of initial conditions (nnfield.initial): values against independent formulas, the theory's
rule (positive frequency, no dispersion), the minimum-image helper, errors in plain words, deprecated names."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnfield import Lattice, initial
from nnfield.errors import ParameterError
from nnfield.initial import NoDispersion, PositiveFrequency
from nnfield.theories import klein_gordon as kg


def test_minimum_image_both_roundings():
    x = np.array([0.0, 1.0, 4.9, 5.1, 9.9])
    for rounding in ("wrap", "nearest"):
        d = initial.minimum_image(x, 2.0, 10.0, rounding)
        np.testing.assert_allclose(d, [-2.0, -1.0, 2.9, 3.1, -2.1], atol=1e-12)
    assert initial.minimum_image(np.array(7.0), 2.0, 10.0, "wrap") == -5.0  # [-L/2, L/2)
    with pytest.raises(ValueError, match="rounding"):
        initial.minimum_image(x, 0.0, 1.0, "floor")


def test_plane_wave_is_the_travelling_wave_of_the_lattice_dispersion():
    lat = Lattice((24, 10), 0.4)
    th = kg.KleinGordon(m=0.7, lattice=lat)
    phi, pi = initial.plane_wave(lat, PositiveFrequency.of(th), [3, -2], 0.6, 0.3)
    k = [2 * math.pi * 3 / (24 * 0.4), 2 * math.pi * -2 / (10 * 0.4)]
    w = math.sqrt(0.49 + sum(4 / 0.16 * math.sin(kk * 0.2) ** 2 for kk in k))
    x, y = lat.coordinates()
    np.testing.assert_allclose(phi[0], 0.6 * np.cos(k[0] * x + k[1] * y + 0.3), atol=1e-13)
    np.testing.assert_allclose(pi[0], 0.6 * w * np.sin(k[0] * x + k[1] * y + 0.3), atol=1e-12)


def test_packet_conventions():
    lat = Lattice((64,), 0.25)
    x = lat.coordinates()[0]
    d = initial.minimum_image(x, 3.0, 16.0)
    phi, pi = initial.gaussian_packet(lat, NoDispersion(0.4), [3.0], 1.5, [2.0], 0.7)
    env = 0.7 * np.exp(-d**2 / (2 * 1.5**2))
    np.testing.assert_allclose(phi[0], env * np.cos(2.0 * d), atol=1e-14)
    dphi = -d / 1.5**2 * env * np.cos(2.0 * d) - 2.0 * env * np.sin(2.0 * d)
    np.testing.assert_allclose(pi[0], -0.4 * dphi, atol=1e-14)
    th = kg.KleinGordon(m=1.0, lattice=lat)
    phi_pf, pi_pf = initial.gaussian_packet(lat, PositiveFrequency.of(th), [3.0], 1.5, [2.0], 0.7)
    np.testing.assert_allclose(phi_pf, phi, atol=1e-14)  # the same profile, phi = Re psi
    assert np.abs(pi_pf).max() > 0.5


def test_random_fields_rms_and_band():
    lat = Lattice((32, 32), 0.5)
    th = kg.KleinGordon(m=1.0, lattice=lat)
    phi, _ = initial.random_spectrum(lat, PositiveFrequency.of(th), 3, 0.5, 2.0, -1.0)
    assert np.sqrt(np.mean(phi**2)) == pytest.approx(0.5, rel=1e-12)
    phi, pi = initial.random_spectrum(lat, NoDispersion(), 3, 0.2, 1.5, 2.0)
    assert np.sqrt(np.mean(phi**2)) == pytest.approx(0.2, rel=1e-12)
    kabs = np.sqrt(sum(k**2 for k in lat.momenta()))
    assert np.abs(np.fft.fftn(phi[0])[kabs > 1.5]).max() < 1e-12
    assert np.abs(np.fft.fftn(pi[0])[kabs > 1.5]).max() < 1e-12


@pytest.mark.parametrize(
    "call,param",
    [
        (lambda lat, m: initial.plane_wave(lat, m, [1, 0]), "n"),
        (lambda lat, m: initial.plane_wave(lat, m, [40]), "n"),
        (lambda lat, m: initial.gaussian_packet(lat, m, center=[1.0, 2.0]), "center"),
        (lambda lat, m: initial.gaussian_packet(lat, m, center=[1e9]), "center"),
        (lambda lat, m: initial.gaussian_packet(lat, m, width=0.1), "width"),
        (lambda lat, m: initial.gaussian_packet(lat, m, width=1e300), "width"),
        (lambda lat, m: initial.gaussian_packet(lat, m, momentum=[7.0]), "momentum"),
        (lambda lat, m: initial.random_spectrum(lat, m, 0, 1.0, 0.01, 1.0), "cutoff"),
        (lambda lat, m: initial.random_spectrum(lat, m, 0, 1.0, None, 5000.0), "slope"),
        (lambda lat, m: initial.plane_wave(lat, m, [1], 1e308), "amplitude"),
        (lambda lat, m: initial.kink(lat, v=1.0), "v"),  # the keyword's name (the config's key is "velocity")
        (lambda lat, m: initial.kink(lat, twist=1.0), "twist"),
        (lambda lat, m: initial.kink(lat, b=0.0), "b"),
        (lambda lat, m: initial.kink(lat, charge=1.5), "charge"),
        (lambda lat, m: initial.kink(lat, center=float("nan")), "center"),
        (lambda lat, m: initial.plane_wave(lat, m, [1.5]), "n"),  # not periodic: k = 2 pi n / (N a), n whole
        (lambda lat, m: initial.plane_wave(lat, m, ["1"]), "n"),
    ],
)
def test_library_errors_name_the_parameter(call, param):
    lat = Lattice((32,), 0.5)
    modes = PositiveFrequency.of(kg.KleinGordon(m=1.0, lattice=lat))
    with pytest.raises(ParameterError) as info:
        call(lat, modes)
    assert info.value.param == param and "initial." not in str(info.value)


@pytest.mark.parametrize(
    "old,new", [("network_38", "momentum_network"), ("network_314", "leapfrog_network"),
                ("linear_network_38", "printed_linear_network"), ("Loss311", "LaplacianLoss"),
                ("Loss318", "SquaredNormLoss")],
)
def test_equation_number_names_are_deprecated_aliases(old, new):
    with pytest.warns(DeprecationWarning, match=new):
        assert getattr(kg, old) is getattr(kg, new)
    with pytest.raises(AttributeError):
        kg.network_99  # noqa: B018


# ----------------------------------------------------------------------------------------------------------
# spinor data: the library's profiles with the Dirac theory's SpinorModes
# ----------------------------------------------------------------------------------------------------------
def test_dirac_modes_are_spinor_modes_and_plane_wave_is_an_eigenmode():
    from nnfield.theories import dirac as dr

    lat = Lattice((16,), 0.5)
    th = dr.Dirac(0.7, lat)
    modes = dr.DiracModes(th)
    assert isinstance(modes, initial.SpinorModes)
    phi, pi = initial.spinor_plane_wave(lat, modes, [2], 1.5, 0.0, "negative")
    psi = th.pack(phi, pi)
    k = 2 * np.pi * 2 / (16 * 0.5)
    E = np.linalg.eigvalsh(th.hamiltonian_symbol([np.asarray(k)]))[0]
    # exact eigenmode: exp(-i H t) psi = exp(-i E t) psi (E < 0 for the negative branch)
    np.testing.assert_allclose(th.evolve(psi, 0.3), np.exp(-1j * E * 0.3) * psi, atol=1e-13)
    # phase multiplies psi by exp(i phase); phase = 0 is the first release's wave, bit for bit
    phi2, pi2 = initial.spinor_plane_wave(lat, modes, [2], 1.5, 0.4, "negative")
    np.testing.assert_allclose(th.pack(phi2, pi2), np.exp(0.4j) * psi, atol=1e-13)
    old = dr.plane_wave(th, (2,), "negative", amplitude=1.5)
    assert all(np.array_equal(a, b) for a, b in zip(old, (phi, pi), strict=True))


def test_spinor_packet_unit_charge_times_amplitude_squared_and_errors():
    from nnfield.theories import dirac as dr

    lat = Lattice((32,), 0.5)
    th = dr.Dirac(1.0, lat)
    modes = dr.DiracModes(th)
    for branch in initial.PACKET_BRANCHES:
        phi, pi = initial.spinor_packet(lat, modes, None, 2.0, [0.5], branch, amplitude=3.0)
        assert float(th.charge(th.pack(phi, pi))) == pytest.approx(9.0, rel=1e-12)
    with pytest.raises(ParameterError, match="^momentum: "):
        initial.spinor_packet(lat, modes, momentum=[10.0])
    with pytest.raises(ParameterError, match="^width: "):
        initial.spinor_packet(lat, modes, width=0.1)
    with pytest.raises(ParameterError, match="^branch: "):
        initial.spinor_plane_wave(lat, modes, [1], branch="mixed")
    with pytest.raises(ParameterError, match="^spin: "):
        initial.spinor_packet(lat, modes, spin=1)
    # the Dirac wrappers keep their own parameter names
    with pytest.raises(ParameterError, match="^mode: .*N/2"):
        dr.plane_wave(th, (17,))
    with pytest.raises(ParameterError, match="^k0: "):
        dr.gaussian_packet(th, k0=[10.0])
