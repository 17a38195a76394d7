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


@pytest.mark.parametrize(("amplitude", "phase", "name"), [(1.0, math.nan, "phase"), (1.0, math.inf, "phase"),
                                                          (math.nan, 0.0, "amplitude")])
def test_scalar_plane_wave_names_a_non_finite_phase(amplitude, phase, name) -> None:
    """A NaN phase was reported as "amplitude: the initial data overflow ... use a smaller amplitude"."""
    from nnfield import initial
    from nnfield.theories.klein_gordon.spec import _modes

    modes = _modes(kg.model(LAT, 1.0, 0.1))
    with pytest.raises(ParameterError, match=rf"^{name}: expected a finite number"):
        initial.plane_wave(LAT, modes, [1], amplitude, phase)
