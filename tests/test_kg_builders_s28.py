"""The low-level Klein-Gordon builders refuse a bad mass or step in one line, as ``klein_gordon.model`` does
(a NaN mass built a network whose every step was NaN; a negative one was silently squared)."""

from __future__ import annotations

import math

import jax
import pytest

from nnfield.errors import ParameterError
from nnfield.lattice import Lattice
from nnfield.theories import klein_gordon as kg

jax.config.update("jax_enable_x64", True)

LAT = Lattice((8,), 0.5)
BUILDERS = [kg.momentum_network, kg.printed_linear_network, kg.leapfrog_network]


@pytest.mark.parametrize("build", BUILDERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(("m", "dt", "name"), [(math.nan, 0.1, "m"), (-1.0, 0.1, "m"), ("1", 0.1, "m"),
                                               (1.0, 0.0, "dt"), (1.0, math.inf, "dt")])
def test_bad_mass_or_step_is_refused_by_name(build, m, dt, name) -> None:
    with pytest.raises(ParameterError, match=rf"^{name}: "):
        build(LAT, m, dt)


@pytest.mark.parametrize("build", BUILDERS, ids=lambda f: f.__name__)
def test_a_traced_mass_is_still_accepted(build) -> None:
    """Masses as traced leaves (sweeps, ``vmap``): the check leaves them to the computation."""
    tick = jax.jit(lambda m: build(LAT, m, 0.1).tick)(1.0)
    assert float(tick) == pytest.approx(0.1)
