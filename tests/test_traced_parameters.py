"""Models built from traced parameters: ``jax.jit``, ``jax.vmap`` and ``jax.grad`` over a builder (README: "jax.jit,
jax.vmap and jax.grad go through network.run"). Every theory's builder takes a traced mass, ``dt`` and charge;
the batched runs equal the runs of models built from concrete numbers to rounding, and a gradient matches central
finite differences. Scalar QED's ``lam``, ``v``, ``m`` decide its phase and are refused, in one line, when traced.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice
from nnfield.errors import ParameterError
from nnfield.theories import dirac, maxwell_dirac, scalar_qed
from nnfield.theories import klein_gordon as kg

EPS = float(np.finfo(np.float64).eps)
LAT = Lattice((16,), spacing=0.5)
STEPS = 8


def _final_energy(model, state):
    _, obs = model.network.run(state, steps=STEPS, every=STEPS, observer=model.observables)
    return obs["energy"][-1]


def _kg_3_14(m, dt=0.1):
    model = kg.model(LAT, m=m, dt=dt, network="3.14")
    phi = np.sin(2 * np.pi * np.arange(16) / 16)[None] + 0.3 * np.cos(6 * np.pi * np.arange(16) / 16)[None]
    return _final_energy(model, model.encode(phi, 0.5 * phi))


def _dirac(network):
    base = dirac.model(LAT, m=1.0, dt=0.1, network=network)
    phi0, pi0 = dirac.gaussian_packet(base.theory, center=[4.0], width=1.0, k0=[0.5])

    def energy(m, dt=0.1):
        model = dirac.model(LAT, m=m, dt=dt, network=network)
        return _final_energy(model, model.encode(phi0, pi0))

    return energy


CASES = {"kg 3.14": _kg_3_14, "dirac paper": _dirac("paper"), "dirac stable": _dirac("stable")}


@pytest.mark.parametrize("name", sorted(CASES))
def test_vmap_and_jit_over_the_mass_equal_concrete_builds(name):
    f = CASES[name]
    masses = [0.6, 1.3]
    concrete = np.array([float(f(m)) for m in masses])
    batched = np.asarray(jax.vmap(f)(jnp.array(masses)))
    jitted = np.array([float(jax.jit(f)(m)) for m in masses])
    # the same arithmetic up to the order of a few operations (and, for the stable network, rates rounded once
    # instead of tuned: ulps): rounding over STEPS ticks of O(1) values
    tol = 100 * STEPS * EPS * np.abs(concrete).max()
    assert np.abs(batched - concrete).max() <= tol
    assert np.abs(jitted - concrete).max() <= tol


# quick: the stable network (its traced rates are a separate code path); the others' traced builds are guarded
# quick by the vmap/jit test above
@pytest.mark.parametrize("name", [n if n == "dirac stable" else pytest.param(n, marks=pytest.mark.slow)
                                  for n in sorted(CASES)])
def test_grad_over_the_mass_matches_finite_differences(name):
    f = CASES[name]
    m, h = 0.9, 1e-4
    fd = (float(f(m + h)) - float(f(m - h))) / (2 * h)
    g = float(jax.grad(f)(m))
    # central differences: truncation h^2 |f'''| / 6 (f smooth in m, O(1) derivatives) plus rounding eps |f| / h
    assert abs(g - fd) <= 10 * (h**2 + EPS * abs(float(f(m))) / h) * max(1.0, abs(fd))


@pytest.mark.slow  # (2.2 s; session 28, the quick suite's 3 minutes: the gradient over dt through the same orthogonal
# rates of the stable network stays quick in test_gauge_inputs.py::test_grad_over_dt_matches_central_differences)
def test_grad_over_dt_of_the_stable_dirac_network():
    f = CASES["dirac stable"]
    dt, h = 0.1, 1e-5
    fd = (float(f(0.9, dt + h)) - float(f(0.9, dt - h))) / (2 * h)
    g = float(jax.grad(lambda d: f(0.9, d))(dt))
    assert abs(g - fd) <= 10 * (h**2 * 1e2 + EPS * abs(float(f(0.9, dt))) / h) * max(1.0, abs(fd))


def test_the_charge_of_the_gauge_theories_may_be_traced():
    lat = Lattice((12,), spacing=0.5)
    md = maxwell_dirac.model(lat, 0.05, charge=1.0, m=0.8)
    rng = np.random.default_rng(3)
    state = md.encode(rng.normal(size=(md.network.K, 12)) * 0.1, rng.normal(size=(md.network.K, 12)) * 0.1)

    def energy(q):
        model = maxwell_dirac.model(lat, 0.05, charge=q, m=0.8)
        return _final_energy(model, state)

    qs = [0.7, 1.2]
    concrete = np.array([float(energy(q)) for q in qs])
    assert np.abs(np.asarray(jax.vmap(energy)(jnp.array(qs))) - concrete).max() <= 100 * STEPS * EPS * np.abs(
        concrete).max()


def test_scalar_qed_refuses_a_traced_coupling_in_one_line():
    with pytest.raises(ParameterError, match=r"lam: .*must be concrete numbers.*\[sweep\]"):
        jax.jit(lambda lam: scalar_qed.model(LAT, 0.05, charge=1.0, lam=lam).network.dt)(0.5)
    jax.jit(lambda q: scalar_qed.model(LAT, 0.05, charge=q).network.dt)(0.5)  # the charge may be traced


def test_grad_over_the_mass_at_zero_mass_is_finite():
    """The (3.14) network's energy is even in ``m``, so its gradient at ``m = 0`` is 0; it was nan (the square root
    of the dispersion ``m^2 - Lap`` at ``k = 0``, differentiated at 0). A one-sided difference is ``O(h)`` there:
    ``E(h) - E(0) = E''(0) h^2 / 2``, so ``|grad - fd| <= C h`` with ``h = 1e-4``."""
    g = float(jax.grad(_kg_3_14)(0.0))
    h = 1e-4
    fd = (float(_kg_3_14(h)) - float(_kg_3_14(0.0))) / h
    assert g == 0.0 and abs(fd) < 1e-2 * max(1.0, abs(float(_kg_3_14(1.0))))
