"""Audit of the ``nnfield verify`` checks (helper s28): a check must notice a planted error in the physics it
claims to measure, and compare with something independent of the code under test.

Each test plants the error in-process (``monkeypatch``) and asserts the check's verdict turns to ``fails``; the
same check on the correct code reaches its expected verdict. jit caches are cleared around each planted error
(a trace of the correct code would otherwise be reused, and a trace of the planted one would leak into later
tests). The source-level versions of these errors are mutants of ``scripts/mutate.py`` (``u1-drift-charge``,
``wilson-loss-charge``, ``temporal-link-charge``, ``continuum-reference-charge``,
``dirac-energy-traced-mass``).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)


class _Planter:
    """Plants an error (``monkeypatch.setattr``) and clears the jit caches, so that the next check traces it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.mp = monkeypatch

    def setattr(self, obj: object, name: str, value: object) -> None:
        self.mp.setattr(obj, name, value)
        jax.clear_caches()

    def undo(self) -> None:
        self.mp.undo()
        jax.clear_caches()


@pytest.fixture
def planted(monkeypatch):
    """Plant errors with ``planted.setattr``; removed (and the jit caches cleared) after the test."""
    p = _Planter(monkeypatch)
    yield p
    p.undo()


def _drift_with_q_squared(planted: _Planter) -> None:
    """The links drift by ``h q^2 a E`` instead of ``h q a E`` (a q that does not cancel from the photon)."""
    from nnfield.theories.u1 import network as u1net

    orig = u1net.GaugeNetwork.drift

    def drift(self, state, h):
        out = orig(self, state, h)
        out[u1net.LINKS] = state[u1net.LINKS] + (h * self.charge**2 * self.lattice.spacing) * state[u1net.ELECTRIC]
        return out

    planted.setattr(u1net.GaugeNetwork, "drift", drift)


# ---------------------------------------------------------------------------------------------------------------
# (4.37) energy: the observable every run records, against closed-form energies
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.slow  # (2 s; the quick suite's 3 minutes: the planted sign is caught quick by
# test_dirac_physics.py::test_position_space_energy_is_the_fft_energy, scripts/mutate.py's dirac-energy-traced-mass)
def test_energy_check_passes_and_catches_a_flipped_mass_in_the_energy_observable(planted):
    from nnfield.checks.sec4 import dynamics
    from nnfield.theories.dirac.physics import Dirac

    ok = dynamics.check_energy_observable()
    assert ok.verdict == "exact" and ok.measured < 1e-12, ok

    orig = Dirac.energy_local

    def flipped_mass(self, psi):  # the mutant dirac-energy-traced-mass: m beta -> -m beta in H psi
        psi = jnp.asarray(psi, jnp.complex128)
        mass = jnp.real(jnp.sum(jnp.conj(psi) * jnp.einsum("ab,b...->a...", jnp.asarray(self.beta), psi)))
        return orig(self, psi) - 2 * self.m * self.lattice.cell_volume * mass

    planted.setattr(Dirac, "energy_local", flipped_mass)
    bad = dynamics.check_energy_observable()
    assert bad.verdict == "fails" and bad.measured > 0.1, bad


def test_closed_form_energies_are_the_spectrum_of_the_continuum_limit():
    """The check's closed forms are independent of H(k): at small k a they approach +-sqrt(m^2 + k^2)."""
    from nnfield.checks.sec4.dynamics import _closed_form_energies

    m, k = 0.7, [0.3, -0.2, 0.25]
    want = math.sqrt(m**2 + sum(x * x for x in k))
    for bias in ("forward", "wilson"):
        e = _closed_form_energies(m, 1e-6, k, bias, 4)  # lattice corrections O(k^3 a / omega) (forward)
        assert np.allclose(e, [-want, -want, want, want], rtol=1e-6), (bias, e)
    e1 = _closed_form_energies(m, 1e-6, k[:1], "forward", 2)
    assert np.allclose(e1, [-math.sqrt(m**2 + k[0] ** 2), math.sqrt(m**2 + k[0] ** 2)], rtol=1e-6)


# ---------------------------------------------------------------------------------------------------------------
# beyond the paper: the coupling q must cancel from the photon and set the Higgs-phase photon mass
# ---------------------------------------------------------------------------------------------------------------
def test_photon_check_catches_a_coupling_that_does_not_cancel(planted):
    from nnfield.checks import beyond

    ok = beyond.check_photons()
    assert ok.verdict == "exact", ok
    _drift_with_q_squared(planted)
    bad = beyond.check_photons()
    assert bad.verdict == "fails", bad


def test_photon_check_catches_a_wilson_loss_with_one_power_of_q(planted):
    from nnfield.checks import beyond
    from nnfield.theories.u1.loss import WilsonLoss

    orig = WilsonLoss.__call__
    planted.setattr(WilsonLoss, "__call__", lambda self, *a, **k: orig(self, *a, **k) * self.charge)  # 1/(q a^4)
    bad = beyond.check_photons()
    assert bad.verdict == "fails", bad


@pytest.mark.slow
def test_higgs_check_uses_closed_form_masses_and_catches_a_squared_coupling(planted):
    from nnfield.checks import beyond
    from nnfield.theories.scalar_qed.models import ScalarQEDModel

    orig = ScalarQEDModel.tree_masses

    def wrong_tree(self):  # a tree level with q^2 for q: the check must not lean on it
        out = dict(orig(self))
        out["photon"] = out["photon"] * abs(float(self.theory.charge))
        return out

    planted.setattr(ScalarQEDModel, "tree_masses", wrong_tree)
    ok = beyond.check_higgs()
    assert ok.verdict == "exact", ok
    planted.undo()
    _drift_with_q_squared(planted)
    bad = beyond.check_higgs()
    assert bad.verdict == "fails", bad


# ---------------------------------------------------------------------------------------------------------------
# (5.10): a charge in a uniform field, at q != 1
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_electric_field_check_catches_links_that_drop_the_charge(planted):
    from nnfield.checks import sec5
    from nnfield.theories import gauge as g

    orig = g.uniform_electric
    planted.setattr(g, "uniform_electric", lambda lat, dt, E, direction=0, q=1.0, center=None:
                    orig(lat, dt, E, direction, 1.0, center))  # alpha0 = 2 dt A0 / pi: q dropped
    bad = sec5.check_electric_field()
    assert bad.verdict == "fails", bad


@pytest.mark.slow
def test_electric_field_check_catches_a_reference_that_squares_the_charge(planted):
    from nnfield.checks import sec5
    from nnfield.theories import gauge as g

    orig = g.ContinuumReference.__init__

    def init(self, theory, links, dt, q=1.0, *args, **kwargs):
        orig(self, theory, links, dt, q, *args, **kwargs)
        self.A0 = self.A0 * q  # q A0 -> q^2 A0

    planted.setattr(g.ContinuumReference, "__init__", init)
    bad = sec5.check_electric_field()
    assert bad.verdict == "fails", bad


def test_electric_field_check_runs_at_a_charge_other_than_one():
    """Quick sibling of the two slow tests above: at q = 1 a dropped or squared q is invisible; the links the
    check builds at its q differ from those at q = 1, and the rate q E stays 0.05."""
    from nnfield.checks import sec5
    from nnfield.lattice import Lattice
    from nnfield.theories import gauge as g

    q, E = sec5.FIELD_CHARGE, sec5.FIELD_E
    assert abs(q - 1) > 0.1 and math.isclose(q * E, 0.05), (q, E)
    lat = Lattice((8,), 0.5)
    ours, q_dropped = g.uniform_electric(lat, 0.05, E, 0, q), g.uniform_electric(lat, 0.05, E, 0, 1.0)
    assert not np.allclose(np.asarray(ours.alpha0), np.asarray(q_dropped.alpha0))


def test_continuum_reference_gains_momentum_at_q_e_for_q_other_than_one():
    """Quick guard of the reference the (5.10) check compares with (mutant ``continuum-reference-charge``): the
    continuum (5.10) with the potential q A0 = -q E (x - L/2) read off the links moves <k> at exactly q E
    (Ehrenfest for a linear potential; the packet stays 5 widths from the jump at the edge)."""
    from nnfield.lattice import Lattice
    from nnfield.theories import dirac
    from nnfield.theories import gauge as g

    q, E, dt, T = 0.8, 0.0625, 0.05, 2.0
    lat = Lattice((64,), 0.5)
    links = g.uniform_electric(lat, dt, E, 0, q)
    M = g.model(lat, 1.0, dt, links, network="stable", bias="forward")
    phi, pi = dirac.gaussian_packet(M.theory, center=[16.0], width=2.0, k0=[0.3], branch="positive")
    psi0 = M.theory.pack(np.asarray(phi), np.asarray(pi))
    psi = g.ContinuumReference(M.theory, links, dt, q).evolve(psi0, T, rtol=1e-10)
    kk = lat.momenta()[0]

    def kmean(p: np.ndarray) -> float:
        w = np.sum(np.abs(np.fft.fft(p, axis=1)) ** 2, axis=0)
        return float(np.sum(w * kk) / np.sum(w))

    gain = kmean(psi) - kmean(psi0)
    assert abs(gain / (q * E * T) - 1) < 1e-6, gain  # DOP853 at rtol 1e-10; the packet tail at the jump ~1e-12
