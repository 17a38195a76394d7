"""Bug hunt in the spectra and the recorded observables (``nnfield.spectra``, ``docs/spectra.md``).

Checked against independent NumPy formulas on the full FFT grid, float64.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield.lattice import Lattice
from nnfield.spectra import OCCUPATION, OCCUPATION_MODES, Shells, Spectra


def _double_well_omega(lat: Lattice, lam: float = 1.0) -> np.ndarray:
    """Small waves about ``phi = 0`` of ``V = lam/4 (phi^2 - 1)^2``: ``omega^2 = -lam + khat^2`` (nan where < 0)."""
    w2 = -lam - lat.laplacian_symbol()
    with np.errstate(invalid="ignore"):
        return np.where(w2 > 0, np.sqrt(w2), np.nan)


def test_the_total_occupation_counts_only_the_modes_that_have_one():
    """A double well about ``phi = 0`` on 8x8: shell 1 holds the 4 unstable modes ``(+-1, 0)``, ``(0, +-1)``
    (``khat^2 = 0.59 < 1``) and the 4 stable ``(+-1, +-1)`` (``|k| = 1.11`` rounds to the same shell). Its
    ``occupation`` is the mean over the 4 stable modes, so the total occupation ``sum_k n_k`` over the modes with a
    real ``omega_k`` is ``sum_b occupation_modes_b n_b``; ``sum_b modes_b n_b`` (what the docs claimed) counted
    shell 1 twice."""
    lat = Lattice((8, 8), 1.0)
    omega = _double_well_omega(lat)
    spectra = Spectra.of(lat, omega)
    rng = np.random.default_rng(28)
    phi, pi = rng.standard_normal((2, 1, 8, 8))
    out = jax.jit(spectra)({"phi": jnp.asarray(phi), "pi": jnp.asarray(pi)})
    # independent: n_k on the full grid from numpy.fft, summed over the stable modes
    V = lat.size * lat.cell_volume
    p_phi = np.abs(lat.cell_volume * np.fft.fftn(phi[0])) ** 2 / V
    p_pi = np.abs(lat.cell_volume * np.fft.fftn(pi[0])) ** 2 / V
    ok = np.isfinite(omega)
    n_k = 0.5 * (omega[ok] * p_phi[ok] + p_pi[ok] / omega[ok])
    sh = Shells.of(lat)
    assert sh.modes[1] == 8 and ok[sh.index == 1].sum() == 4  # the mixed shell (precondition)
    attrs = spectra.attrs()
    occupied = np.asarray(attrs[OCCUPATION_MODES])
    np.testing.assert_array_equal(occupied, [np.sum(ok[sh.index == b]) for b in range(sh.n_bins)])
    n_b = np.asarray(out[OCCUPATION])
    assert float(np.sum(occupied * n_b)) == pytest.approx(float(np.sum(n_k)), rel=1e-12)
    overcount = float(np.sum(sh.modes * n_b)) - float(np.sum(n_k))  # the old recipe: shell 1 counted twice
    assert overcount == pytest.approx(4 * float(n_b[1]), rel=1e-12) and overcount > 1e-3 * float(np.sum(n_k))
    assert occupied[0] == 0 and n_b[0] == 0.0  # the unstable zero mode: no occupation, stored as 0


def test_a_sweep_stores_each_members_occupied_modes():
    """In a sweep the members' dispersions differ (here: massive and massless), and with them the modes that have
    an occupation: ``occupation_modes`` is ``(members, bins)`` then, each row that member's count."""
    from nnfield.ensemble import stack_members

    lat = Lattice((6, 5), 0.5)
    members = []
    for m in (1.0, 0.0):
        omega = np.sqrt(m**2 - lat.laplacian_symbol())
        members.append(Spectra.of(lat, omega))
    stacked, _ = stack_members(members)
    occupied = np.asarray(stacked.attrs()[OCCUPATION_MODES])
    modes = np.asarray(Shells.of(lat).modes)
    np.testing.assert_array_equal(occupied[0], modes)  # massive: every mode
    np.testing.assert_array_equal(occupied[1], np.concatenate([[0.0], modes[1:]]))  # massless: not k = 0
