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


def test_stability_gate_names_a_physical_instability_of_the_linearized_theory():
    # an inverted parabola V = -lam phi^2/2 (no minimum: the gate linearizes about phi = 0) has
    # omega_k^2 = -lam + k_lat^2: the k = 0 mode grows as exp(kappa t), kappa = sqrt(lam), which the leapfrog
    # reproduces at every dt: lambda + 1/lambda = 2 + kappa^2 dt^2, i.e. ln(lambda)/dt = 2 asinh(kappa dt/2)/dt.
    # The gate called it "unstable at every dt tried; check the lattice spacing" as if the scheme were at fault.
    # (Until session 33 this test used the double well lam/4 (phi^2 - 1)^2, which had the same linearization about
    # phi = 0; a double well is now judged about its vacuum +1, where it is stable: tests/test_phi4_broken_s33.py.)
    import jax

    jax.config.update("jax_enable_x64", True)
    from nnfield import stability
    from nnfield.theories import nonlinear as nl

    lat, lam, dt = Lattice((16,), 0.5), 2.0, 0.1

    def factory(h):
        return nl.model(lat, "-lam/2*phi**2", h, params={"lam": lam}).network

    st = stability.network_stability(factory(dt), factory, dt=dt, steps=10)
    kappa = np.sqrt(lam)
    assert not st.stable and st.dt_max == 0.0
    assert st.physical_rate == pytest.approx(2 * np.arcsinh(kappa * dt / 2) / dt, rel=1e-10)
    line = st.refusal("dw.toml", "leapfrog")
    assert "physical instability" in line and "--allow-unstable" in line and "lattice spacing" not in line
    assert "per unit time" in st.describe()


def test_stability_gate_keeps_calling_a_scheme_instability_by_its_name():
    # explicit Euler (the paper's Dirac network) grows per unit time at ln(1 + omega^2 dt^2)/(2 dt): O(dt), not a
    # rate of the theory; a leapfrog beyond its CFL bound has a dt_max > 0
    import jax

    jax.config.update("jax_enable_x64", True)
    from nnfield import stability
    from nnfield.theories import dirac as dr
    from nnfield.theories import klein_gordon as kg

    lat = Lattice((16,), 0.5)
    st = stability.network_stability(dr.model(lat, 0.5, 0.1).network, lambda h: dr.model(lat, 0.5, h).network,
                                     dt=0.1, steps=10)
    assert not st.stable and st.dt_max == 0.0 and st.physical_rate is None
    st = stability.network_stability(kg.model(lat, 1.0, 0.6).network, lambda h: kg.model(lat, 1.0, h).network,
                                      dt=0.6, steps=10)
    assert not st.stable and st.dt_max > 0 and st.physical_rate is None
    assert "lower time.dt" in st.refusal("kg.toml", "leapfrog")


def test_a_sweep_that_changes_the_program_names_its_file():
    # every config error starts with the file; this one (raised while the members are stacked) did not
    from pathlib import Path

    from nnfield.config import parse_config
    from nnfield.ensemble import build_ensemble
    from nnfield.errors import ConfigError

    text = Path(__file__).parent.parent.joinpath("examples", "kg_1d_packet.toml").read_text()
    cfg = parse_config(text, source="mine.toml")
    with pytest.raises(ConfigError, match=r"^mine\.toml: sweep: the members differ in structure"):
        build_ensemble(cfg, {"theory.network": ["3.8", "3.14"]})
