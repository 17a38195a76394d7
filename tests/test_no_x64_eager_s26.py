"""Audit s26: the Dirac models, the gauged Dirac model and the lattice operators on NumPy float64 data without x64.

Without JAX's 64-bit mode (JAX's default) a NumPy float64 array computes in float32. Code that took an explicit
dtype from such an array (``jnp.zeros(shape, f.dtype)``, ``jnp.asarray(C, pi.dtype)``, ``out.astype(phi.dtype)``)
asked JAX for float64, which it does not have: a truncation ``UserWarning`` (an error under this suite's warning
filter). Found on a public path each:

- ``LatticeOperator.apply`` of a NumPy field with more than one component (its zero rows; a JAX coefficient's
  ``astype``), and through it a network step, the stable Dirac model's ``invariant`` and its observables of a
  ``State`` holding NumPy data (``stable_invariant``);
- the Dirac per-type loss (``PerTypeLoss``: ``__call__``, ``shared``, ``own``);
- the gauged Dirac model's ``energy``, ``momentum``, ``wavenumber`` and ``plaquette`` (``position`` took its dtype
  from a JAX array already; it uses the same form now).

They now take the dtype JAX has (``jnp.result_type``): in 64-bit mode the same dtype as before, so nothing changes
there. (``DiracModel.encode`` already gave JAX float32 arrays: its observables did not warn.)

Each test switches x64 off in-process (``jax.enable_x64(False)``, the suite enables it in ``conftest.py``) and turns
warnings into errors, evaluates eagerly, and compares with the float64 values (one compiled program each: eager
op-by-op evaluation of the reference would double the time). Tolerances: every value is a sum over the
``K N <= 32`` site terms of products of O(1) coefficients with the data (or a ratio of two such sums); in float32
its error is at most a few ``eps32`` per term times the sum of the terms' magnitudes, which each test bounds by an
explicit ``scale`` (the charge times the operator's norm, the box length, ``pi / a``), so ``64 eps32 * scale``.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice
from nnfield.operators import LatticeOperator, central_difference
from nnfield.state import State
from nnfield.theories import dirac, gauge

EPS32 = float(np.finfo(np.float32).eps)
TOL = 64 * EPS32
LAT1 = Lattice((16,))
M_MASS, DT = 0.5, 0.1


def _data(K: int, lat: Lattice, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """NumPy float64 fields ``(K, *shape)`` of charge ``a^D sum (phi^2 + pi^2) = 1`` (no float32 values)."""
    rng = np.random.default_rng(seed)
    phi, pi = rng.normal(size=(2, K, *lat.shape))
    norm = np.sqrt(lat.cell_volume * (np.sum(phi**2) + np.sum(pi**2)))
    phi, pi = phi / norm, pi / norm
    assert phi.dtype == pi.dtype == np.float64 and np.any(phi.astype(np.float32) != phi)
    return phi, pi


def _eager_without_x64(fn, *args):
    """``fn(*args)`` op by op with x64 off and every warning an error; its leaves as float32 NumPy arrays."""
    with jax.enable_x64(False), warnings.catch_warnings():
        warnings.simplefilter("error")
        out = fn(*args)
        leaves, tree = jax.tree.flatten(out)
        assert {np.asarray(v).dtype for v in leaves} == {np.dtype(np.float32)}, out
        return jax.tree.unflatten(tree, [np.asarray(v) for v in leaves])


def _check_close(got: dict, ref: dict, scale: dict) -> None:
    assert got.keys() == ref.keys()
    for k in ref:
        assert np.asarray(ref[k]).dtype == np.float64
        err = float(np.max(np.abs(np.asarray(got[k], np.float64) - np.asarray(ref[k]))))
        assert err <= TOL * scale[k], (k, err, TOL * scale[k])


def test_dirac_observables_of_a_numpy_state_without_x64():
    """The stable 1+1 Dirac model's observables (its invariant among them) of ``State(phi, pi)`` holding NumPy
    float64 data (``stable_invariant`` applied the bias map to NumPy data: ``jnp.zeros(..., float64)``)."""
    M = dirac.model(LAT1, M_MASS, DT, network="stable")
    phi, pi = _data(M.theory.K, LAT1)
    state = State(phi, pi)
    ref = jax.jit(M.observables)(state)
    got = _eager_without_x64(M.observables, state)
    # |H(k)| <= m + 2/a (forward bias), |alpha| = 1, |B| <= 2/a (invariant's h phi.B pi), x in [0, L)
    charge = float(ref["charge"])
    a, L = LAT1.spacing, LAT1.lengths[0]
    scale = {"charge": charge, "energy": (M_MASS + 2 / a) * charge, "invariant": (1 + 2 * DT / a) * charge,
             "current_x": charge, "position_x": L, "psi_max": float(ref["psi_max"])}
    _check_close(got, ref, scale)  # the observables include the invariant (M.invariant)


def test_gauged_dirac_observables_of_a_numpy_state_without_x64():
    """The gauged Dirac model in a uniform electric field (links ``uniform_electric``): observables and invariant
    of NumPy float64 data (``energy``, ``momentum``, ``wavenumber`` and ``plaquette`` asked for float64)."""
    E = 0.2
    links = gauge.uniform_electric(LAT1, DT, E)
    M = gauge.model(LAT1, M_MASS, DT, links)
    phi, pi = _data(M.theory.K, LAT1, seed=1)
    state = State(phi, pi)
    ref = jax.jit(M.observables)(state)
    got = _eager_without_x64(M.observables, state)
    charge = float(ref["charge"])
    a, L = LAT1.spacing, LAT1.lengths[0]
    qA0 = float(np.max(np.abs(np.asarray(M.qA0))))  # |q A0| <= q E L / 2
    assert qA0 <= E * L / 2 + 1e-12
    # energy: m + |q A0| + 2 |B| with |B| <= 2/a; momentum: |D| <= 1/a; wavenumber: |k| <= pi/a; position in [0, L]
    scale = {"charge": charge, "energy": (M_MASS + qA0 + 4 / a) * charge, "momentum_x": 1 / a,
             "wavenumber_x": np.pi / a, "position_x": L, "plaquette": 1.0}
    _check_close(got, ref, scale)
    inv = _eager_without_x64(M.invariant, state)
    assert abs(float(inv) - float(jax.jit(M.invariant)(state))) <= TOL * (1 + 2 * DT / a) * charge


def test_operator_of_numpy_data_without_x64():
    """``LatticeOperator.apply`` of a NumPy float64 field (K = 2): the bias map of the Dirac network, and an
    operator with JAX coefficients (a constant and a per-site one, ``astype(float64)`` before), K = 1 as well."""
    M = dirac.model(LAT1, M_MASS, DT, network="stable")
    phi, _ = _data(2, LAT1, seed=2)
    rng = np.random.default_rng(3)
    site = rng.normal(size=(2, 2, *LAT1.shape))
    ops = {
        "bias": M.network.B,
        "jax_coeffs": LatticeOperator.from_terms({(1,): jnp.asarray([[0.5, 1.0], [-1.0, 0.25]]),
                                                   (0,): jnp.asarray(site)}, 1, 2),
        "central": central_difference(0, 1, K=2, coeff=[[0.0, 1.0], [-1.0, 0.0]]),
    }
    one = LatticeOperator.from_terms({(1,): jnp.asarray([[0.5]]), (-1,): jnp.asarray([[-0.75]])}, 1, 1)

    def apply_all(f):
        return {k: op.apply(f) for k, op in ops.items()} | {"K1": one.apply(f[:1])}

    ref = jax.jit(apply_all)(phi)
    got = _eager_without_x64(apply_all, phi)
    # (O f)_i: at most 4 terms |C| |f| with |C| <= 1, |site C| <= max |site|
    fmax = float(np.max(np.abs(phi)))
    scale = {k: 4 * max(1.0, float(np.max(np.abs(site)))) * fmax for k in ref}
    _check_close(got, ref, scale)


@pytest.mark.parametrize("form", ["corrected", "printed"])
def test_per_type_loss_of_numpy_data_without_x64(form):
    """The per-type loss (4.14) and its split parts of NumPy float64 data (``jnp.asarray(C, float64)``,
    ``jnp.ones(K, float64)``, the ``shared`` part's zero without ``phi_sum``)."""
    X0 = dirac.Dirac(M_MASS, LAT1).X[0]
    loss = dirac.per_type_loss(X0, M_MASS, form)
    diag = dirac.PerTypeLoss(np.diag([0.5, -0.25]) + M_MASS * np.asarray(X0), phi_sum=False)
    phi, pi = _data(2, LAT1, seed=4)

    def parts(f, g):
        return {"loss": loss(f, g), "shared": loss.shared(f, g), "own": loss.own(f, g, g),
                "diag": diag(f, g), "diag_own": diag.own(f, g, g)}

    ref = jax.jit(parts)(phi, pi)
    got = _eager_without_x64(parts, phi, pi)
    # sums of |C| (phi^2 + pi^2) with |C| <= 1: at most the charge (1 here, a = 1)
    _check_close(got, ref, dict.fromkeys(ref, 2.0))


@pytest.mark.parametrize("network", ["paper", "stable"])
def test_a_network_step_of_a_numpy_state_without_x64(network):
    """One eager step of the Dirac network of a ``State`` holding NumPy float64 data (the step's operators warned of
    truncation), equal to the float64 step to float32 round-off: each new value is a few terms ``dt |B| |f|`` with
    ``|B| <= 2/a`` added to the old one, so the scale is ``(1 + 2 m dt + 8 dt / a) max |f|``."""
    M = dirac.model(LAT1, M_MASS, DT, network=network)
    phi, pi = _data(M.theory.K, LAT1, seed=4)
    state = State(phi, pi)
    ref = jax.jit(M.network.step)(state)
    got = _eager_without_x64(M.network.step, state)
    scale = (1 + 2 * M_MASS * DT + 8 * DT / LAT1.spacing) * float(max(np.abs(phi).max(), np.abs(pi).max()))
    for g, r in ((got.phi, ref.phi), (got.pi, ref.pi)):
        assert float(np.max(np.abs(np.asarray(g, np.float64) - np.asarray(r)))) <= TOL * scale
