"""Bug hunt (session 28) on the Dirac field, the Clifford tools, the lattice operators and the spinor initial data.

Each test guards one fix: bad input that was accepted in silence (or failed deep inside NumPy/JAX) is refused in
one line naming the parameter, and the one wrong result (``kron`` of a per-site operator) is checked against an
independent dense Kronecker product.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnfield import Lattice, initial
from nnfield import operators as ops
from nnfield.errors import ParameterError
from nnfield.theories import clifford as cl
from nnfield.theories import dirac as dr

NAN = float("nan")


# ----------------------------------------------------------------------------------------------------------
# operators
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("N", [2, 3])
def test_kron_of_a_per_site_operator_is_the_kronecker_product(N):
    """``M (x) O`` for a per-site scalar operator ``O`` equals ``np.kron(M, O)`` as dense matrices (index
    ``a N + site``). Before: with ``N = K`` sites the per-site field was broadcast against M's columns (a wrong
    constant coefficient, off by 0.25 here), otherwise a broadcast error."""
    rng = np.random.default_rng(3)
    M = np.array([[0.3, 1.0], [-1.0, 0.7]])
    w = rng.normal(size=N)
    O = ops.LatticeOperator.from_terms({(1,): w.reshape(1, 1, N), (0,): 2.0}, 1, 1)
    got = ops.kron(M, O).dense((N,))
    assert np.abs(got - np.kron(M, O.dense((N,)))).max() <= 1e-15


@pytest.mark.parametrize("build", [
    lambda: ops.forward_difference(3, 3),  # was -1 (T_0 - 1 merged into one key): no difference at all
    lambda: ops.central_difference(2, 2),  # was the zero operator
    lambda: ops.shift_operator(-1, 2),  # was the identity
    lambda: ops.shift_operator(True, 2),
], ids=["forward", "central", "shift-negative", "shift-bool"])
def test_a_direction_out_of_range_is_refused(build):
    with pytest.raises(ParameterError, match=r"^mu: expected a direction 0\.\."):
        build()


def test_fractional_offsets_and_a_zero_spacing_are_refused():
    """A shift by 0.5 sites was truncated to no shift; ``laplacian(spacing=0)`` divided by zero."""
    with pytest.raises(ValueError, match="whole lattice offsets"):
        ops.LatticeOperator.from_terms({(0.5,): 1.0}, 1, 1)
    with pytest.raises(ValueError, match="whole lattice offsets"):
        ops.shift(np.zeros((2, 4)), (1.5,), axis0=1)
    with pytest.raises(ValueError, match="whole lattice offsets"):
        ops.shift_operator(0, 1, steps=1.5)
    with pytest.raises(ParameterError, match=r"^spacing: expected a positive number"):
        ops.laplacian(2, 0.0)
    # whole numbers given as floats are still shifts
    f = np.arange(8.0).reshape(2, 4)
    assert np.array_equal(ops.shift(f, (1.0,), axis0=1), np.roll(f, -1, axis=1))


# ----------------------------------------------------------------------------------------------------------
# Clifford matrices
# ----------------------------------------------------------------------------------------------------------
def test_complex_X_with_an_imaginary_part_is_refused():
    """The cast to float dropped the imaginary part with only a warning and validated the real part."""
    X = cl.representation(1)
    with pytest.raises(ParameterError, match=r"^X: expected real matrices"):
        cl.check_clifford(X + 0.5j)
    with pytest.raises(ParameterError, match=r"^X: expected real matrices"):
        dr.Dirac(0.5, Lattice((4,)), X=X + 0.5j)
    assert cl.check_clifford(X + 0j).ok  # a complex dtype with zero imaginary part is the real set


# ----------------------------------------------------------------------------------------------------------
# the physics side
# ----------------------------------------------------------------------------------------------------------
def test_dirac_refuses_a_non_finite_mass_or_wilson_r():
    lat = Lattice((8,), 0.5)
    with pytest.raises(ParameterError, match=r"^m: expected a finite number"):
        dr.Dirac(NAN, lat)
    with pytest.raises(ParameterError, match=r"^r: expected a finite number"):
        dr.Dirac(1.0, lat, kind="wilson", r=float("inf"))
    # a negative mass is a valid Dirac mass (the spectrum is +-sqrt(m^2 + sigma^2))
    th = dr.Dirac(-0.5, lat)
    E = th.dispersion_branches(lat.momenta())[..., 0]
    assert np.allclose(E, dr.Dirac(0.5, lat).dispersion_branches(lat.momenta())[..., 0], rtol=0, atol=1e-14)


@pytest.mark.parametrize("call", ["pack", "unpack", "charge", "energy", "evolve", "current"])
def test_a_wrong_spinor_shape_is_refused_in_one_line(call):
    """K = 2 in 1+1: three components were packed with the pairs shifted (``phi[0::2] + i phi[1::2]``
    broadcast), summed into the charge, or failed deep in an einsum / a broadcast."""
    lat = Lattice((8,), 0.5)
    th = dr.Dirac(0.5, lat)
    bad = np.zeros((3, 8))
    fns = {
        "pack": lambda: th.pack(bad, bad),
        "unpack": lambda: th.unpack(bad + 0j),
        "charge": lambda: th.charge(bad + 0j),
        "energy": lambda: th.energy(bad + 0j),
        "evolve": lambda: th.evolve(np.zeros((2, 7), complex), 1.0),  # right K, wrong lattice
        "current": lambda: th.current(bad + 0j),
    }
    with pytest.raises(ParameterError, match=r"^(phi|psi): expected shape \(K, \*lattice\.shape\) = \(2, 8\)"):
        fns[call]()


# ----------------------------------------------------------------------------------------------------------
# spinor initial data and the network builders
# ----------------------------------------------------------------------------------------------------------
def test_spinor_initial_data_name_the_bad_parameter():
    lat3 = Lattice((4, 4, 4), 1.0)
    th3 = dr.Dirac(0.5, lat3)
    with pytest.raises(ParameterError, match=r"^spin: expected 0\.\.1"):  # was an IndexError
        dr.plane_wave(th3, [1, 0, 0], spin=1.5)
    with pytest.raises(ParameterError, match=r"^spin: expected 0\.\.1"):  # was taken as spin 1
        dr.gaussian_packet(th3, spin=True)
    lat = Lattice((8,), 0.5)
    modes = dr.DiracModes(dr.Dirac(0.5, lat))
    # a NaN phase was reported as "amplitude: the initial data overflow ... use a smaller amplitude"
    with pytest.raises(ParameterError, match=r"^phase: expected a finite number"):
        initial.spinor_plane_wave(lat, modes, [1], phase=NAN)
    with pytest.raises(ParameterError, match=r"^amplitude: expected a finite number"):
        initial.spinor_packet(lat, modes, amplitude=NAN)


@pytest.mark.parametrize("builder", ["paper_network", "stable_network", "literal_linear_network", "model"])
def test_network_builders_refuse_a_nan_or_array_mass(builder):
    """``m * X_0`` broadcast an array of K masses into a wrong (non-antisymmetric) mass weight in silence;
    a NaN mass gave a NaN network (or a ValueError from the exact rationals of the stable rates)."""
    lat = Lattice((8,), 0.5)
    build = getattr(dr, builder)
    with pytest.raises(ParameterError, match=r"^m: expected a finite number"):
        build(lat, NAN, 0.1)
    with pytest.raises(ParameterError, match=r"^m: expected one mass"):
        build(lat, np.array([0.5, 1.0]), 0.1)
    if builder == "stable_network":  # was a ZeroDivisionError in the rates
        with pytest.raises(ParameterError, match=r"^dt: expected a positive number"):
            build(lat, 0.5, 0.0)
