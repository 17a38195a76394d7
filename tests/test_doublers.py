"""The doubler block of ``nnfield analyze`` (``dirac.doubler_analysis``): on the configured lattice, counting both
momenta and zero eigenvalues, checked against the dense operator ``B B^T``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice
from nnfield.theories import clifford as cl
from nnfield.theories import dirac as dr


def _dense_kernel_dimension(B, lattice) -> int:
    """The number of zero eigenvalues of the real operator B B^T on the lattice, from its dense matrix."""
    K = np.shape(cl.representation(lattice.ndim)[0])[0]  # components of the spinor
    n = K * lattice.size
    eye = np.eye(n).reshape(n, K, *lattice.shape)
    cols = jax.vmap(lambda v: B.apply(B.T.apply(v)))(jnp.asarray(eye))
    M = np.asarray(cols).reshape(n, n).T
    ev = np.linalg.eigvalsh(0.5 * (M + M.T))
    return int(np.sum(ev <= 1e-10 * ev.max()))


@pytest.mark.parametrize("bias", ["forward", "wilson"])
def test_zero_eigenvalues_equal_the_dense_operators(bias):
    lat = Lattice((4, 4, 4), 1.0)
    B = dr.bias_map(cl.representation(3), lat, bias)
    d = dr.doubler_analysis(B, lat)
    assert d["grid"] == [4, 4, 4] and "configured 4x4x4 lattice" in d["grid_source"]
    assert d["zero_eigenvalues"] + d["zero_eigenvalues_k0"] == _dense_kernel_dimension(B, lat)
    if bias == "forward":
        assert d["count"] > 0 and d["zero_eigenvalues"] >= d["count"]
        assert [0.5, -0.5, 0.0] in d["locations_pi_over_a"]
    else:
        assert d["count"] == d["zero_eigenvalues"] == 0 and d["doubler_free"]


def test_non_cubic_lattice_uses_its_own_momenta():
    lat = Lattice((8, 4, 6), 0.5)
    d = dr.doubler_analysis(dr.bias_forward(cl.representation(3), lat), lat)
    assert d["grid"] == [8, 4, 6] and "8x4x6" in d["grid_source"]


def test_large_lattice_is_subsampled_and_says_so(monkeypatch):
    import nnfield.theories.dirac.analysis as an

    monkeypatch.setattr(an, "MAX_DOUBLER_MOMENTA", 1000)
    lat = Lattice((32, 32, 32), 1.0)
    d = dr.doubler_analysis(dr.bias_forward(cl.representation(3), lat), lat)
    assert np.prod(d["grid"]) <= 1000 and d["grid"] == [8, 8, 8]
    assert "every 4th momentum" in d["grid_source"] and "32x32x32" in d["grid_source"]
    assert d["count"] > 0  # (pi/2, -pi/2, 0)/a is still on the grid


def test_explicit_grid_keeps_the_brillouin_zone_grid():
    lat = Lattice((8, 8, 8), 1.0)
    d = dr.doubler_analysis(dr.bias_forward(cl.representation(3), lat), lat, n=16)
    assert d["grid"] == [16, 16, 16] and "16^3 grid over the Brillouin zone" in d["grid_source"]
    assert d["count"] == 6 and d["zero_eigenvalues"] == 12
