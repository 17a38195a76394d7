"""Session 29, the lead's small fixes found through the helpers' reports."""

from __future__ import annotations

import numpy as np
import pytest

from nnfield.errors import ParameterError
from nnfield.lattice import Lattice


def test_gaussian_field_names_an_unstable_vacuum_not_the_spectrum():
    # a double well V = lam/4 (phi^2 - 1)^2 has omega_k^2 = -lam + k^2 about phi = 0: NaN omega at small k. The
    # refusal blamed the spectrum ("got nan ... use an expression that is finite"), which the user did not write
    from nnfield import initial

    lat = Lattice((32,), 0.5)
    k = lat.momenta()[0]
    with np.errstate(invalid="ignore"):
        omega = np.sqrt(-1.0 + (2 / 0.5 * np.sin(k * 0.5 / 2)) ** 2)
    with pytest.raises(ParameterError) as err:
        initial.gaussian_field(lat, omega)
    assert err.value.param == "omega" and "unstable vacuum" in str(err.value)
    # omega is checked only on the modes kept: a cutoff below a (made-up) NaN band at high |k| is fine
    high = np.where(np.abs(k) > 3.0, np.nan, np.sqrt(1.0 + k**2))
    phi, _ = initial.gaussian_field(lat, high, cutoff=2.0)
    assert np.all(np.isfinite(phi))
