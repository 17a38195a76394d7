"""Regressions of a hostile hunt for bugs in the scalar-field physics (session 27).

- the nonlinear fields' ``discrete_energy`` was declared "exact for quadratic V": with a mass term it is
  conserved only to ``O(dt^2)`` (``(V(phi) + V(phi'))/2`` is not the bilinear ``m^2 phi phi'/2``); exact for
  ``V = 0``; the Klein-Gordon model's (bilinear) one is exact;
- the reference solvers refused nothing: ``NonlinearField.rk4`` with ``dt <= 0`` took one RK4 step of the whole
  interval (silently inaccurate), ``dt = 0`` raised ``ZeroDivisionError``, ``t = nan`` a ``ValueError``;
  ``NonlinearField.dop853`` with ``t = nan`` never returned; ``KleinGordon.exact`` with ``t = nan`` returned
  nan fields.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnfield import Lattice, labels
from nnfield import network as nnet
from nnfield.errors import ParameterError
from nnfield.theories import klein_gordon as kg
from nnfield.theories import nonlinear as nl

EPS = np.finfo(np.float64).eps


def _data(lat: Lattice) -> tuple[np.ndarray, np.ndarray]:
    x = lat.coordinates()[0]
    L = lat.lengths[0]
    return (0.8 * np.cos(2 * np.pi * x / L) + 0.3 * np.sin(4 * np.pi * x / L))[None], \
        (0.2 * np.sin(2 * np.pi * x / L) + 0.1)[None]


def _spread(model, phi, pi, blocks=20, every=10) -> float:
    """The relative spread of ``discrete_energy`` over ``blocks * every`` steps (one compiled run)."""
    _, obs = nnet.run(model.network, model.encode(phi, pi), blocks * every, every, model.observables)
    vals = np.asarray(obs["discrete_energy"])
    return float((vals.max() - vals.min()) / abs(vals[0]))


def test_nonlinear_discrete_energy_declaration_matches_what_it_conserves():
    """A mass term makes the nonlinear ``discrete_energy`` an O(dt^2) quantity, not an exact invariant, while
    the Klein-Gordon model's (its mass term bilinear) stays exact; the declarations and labels must say so."""
    lat = Lattice((32,), 0.5)
    phi, pi = _data(lat)
    dt = 0.1
    massive = _spread(nl.phi4_model(lat, 1.0, 0.0, dt, scheme="leapfrog"), phi, pi)
    massless = _spread(nl.phi4_model(lat, 0.0, 0.0, dt, scheme="leapfrog"), phi, pi)
    klein_gordon = _spread(kg.model(lat, 1.0, dt, scheme="leapfrog"), phi, pi)
    assert massless < 1e3 * EPS and klein_gordon < 1e3 * EPS
    assert 1e-2 * dt**2 < massive < dt**2  # O(dt^2): far from round-off
    decl = {c.name: c for c in nl.phi4_model(lat, 1.0, 0.0, dt).conserved()}["discrete_energy"]
    assert decl.kind == "bounded"
    assert "quadratic" not in decl.doc
    assert "quadratic" not in nl.conserved_quantities.__doc__
    assert "quadratic" not in nl.NonlinearModel.discrete_energy.__doc__
    row = next(r for r in labels.OBSERVABLES if r.name == "discrete_energy")
    assert "quadratic" not in row.long_name and "Klein-Gordon" in row.formula


@pytest.mark.parametrize(("t", "dt"), [(1.0, 0.0), (1.0, -0.1), (math.nan, 0.1), (1.0, math.nan),
                                       (math.inf, 0.1)])
def test_rk4_refuses_a_bad_step_or_time(t, dt):
    th = nl.phi4_model(Lattice((8,), 0.5), 1.0, 1.0, 0.1).theory
    with pytest.raises(ParameterError, match="dt|t:"):
        th.rk4(np.zeros((1, 8)), np.ones((1, 8)), t, dt)


def test_rk4_negative_time_still_integrates_backwards():
    """``t < 0`` stays allowed (backwards): forward then backward returns to the data at RK4 accuracy."""
    lat = Lattice((16,), 0.5)
    th = nl.phi4_model(lat, 1.0, 1.0, 0.1).theory
    phi, pi = _data(lat)
    p1, q1 = th.rk4(phi, pi, 0.5, 0.01)
    p0, q0 = th.rk4(p1, q1, -0.5, 0.01)
    assert np.abs(np.asarray(p0) - phi).max() < 1e-8 and np.abs(np.asarray(q0) - pi).max() < 1e-8


@pytest.mark.parametrize("t", [math.nan, math.inf])
def test_dop853_refuses_a_time_that_is_not_finite(t):
    """It never returned before (SciPy's integrator loops on a nan or infinite end time)."""
    th = nl.phi4_model(Lattice((8,), 0.5), 1.0, 1.0, 0.1).theory
    with pytest.raises(ParameterError, match="t:"):
        th.dop853(np.zeros((1, 8)), np.ones((1, 8)), t)


@pytest.mark.parametrize("t", [math.nan, math.inf])
def test_klein_gordon_exact_refuses_a_time_that_is_not_finite(t):
    th = kg.KleinGordon(m=1.0, lattice=Lattice((8,), 0.5))
    with pytest.raises(ParameterError, match="t:"):
        th.exact(np.zeros((1, 8)), np.ones((1, 8)), t)
