"""Defects left by the API audit of session 25, fixed in session 26 (core package)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice
from nnfield.theories import dirac


@pytest.mark.parametrize("phi_dtype, pi_dtype, want", [
    (np.float32, np.float64, np.float64), (np.float64, np.float32, np.float64),
    (np.float32, np.float32, np.float32), (np.int64, np.float32, np.float32), (np.int64, np.int64, np.float64),
])
def test_encode_takes_the_common_dtype_and_cuts_no_data(phi_dtype, pi_dtype, want):
    """A float32 ``phi`` with a float64 ``pi`` used to cut ``pi`` to float32 silently; the state now has the two
    arrays' common type (NumPy's promotion), so both round-trip exactly."""
    M = dirac.model(Lattice((8,)), 0.5, 0.5)
    rng = np.random.default_rng(0)
    phi = rng.standard_normal((2, 8)).astype(phi_dtype) if phi_dtype != np.int64 else np.arange(16).reshape(2, 8)
    pi = (rng.standard_normal((2, 8)) / 3).astype(pi_dtype) if pi_dtype != np.int64 else np.ones((2, 8), int)
    s = M.encode(phi, pi)
    assert s.phi.dtype == want and s.pi.dtype == want
    back_phi, back_pi = M.decode(s)
    np.testing.assert_array_equal(np.asarray(back_phi), phi.astype(want))
    np.testing.assert_array_equal(np.asarray(back_pi), pi.astype(want))
    assert jnp.result_type(back_pi) == want


@pytest.mark.parametrize("xp", [np, jnp])
def test_gauge_encode_takes_the_common_dtype_too(xp):
    """The dynamical gauge theories' ``encode`` (``u1.packed_fields``) promotes like ``real_fields``: a float32
    ``phi`` with a float64 ``pi`` keeps ``pi``'s float64 values (NumPy and JAX input)."""
    from nnfield.theories import maxwell
    M = maxwell.model(Lattice((4, 4)), 0.1)
    rng = np.random.default_rng(1)
    phi = xp.asarray(rng.standard_normal((2, 4, 4)), dtype=np.float32)
    pi = xp.asarray(rng.standard_normal((2, 4, 4)) / 3, dtype=np.float64)
    got_phi, got_pi = M.decode(M.encode(phi, pi))
    assert jnp.result_type(got_pi) == np.float64
    np.testing.assert_array_equal(np.asarray(got_pi), np.asarray(pi))
    np.testing.assert_array_equal(np.asarray(got_phi), np.asarray(phi).astype(np.float64))
