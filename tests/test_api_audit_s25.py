"""The Python API refuses bad arguments with one ParameterError naming them (an audit of 2026-12-05 found each
case below accepted, or failing deep inside JAX, NumPy or h5py with a message that named nothing the user wrote).
"""

from __future__ import annotations

import h5py
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice
from nnfield import io as nio
from nnfield.errors import ParameterError
from nnfield.theories import dirac
from nnfield.theories import klein_gordon as kg
from nnfield.theories import nonlinear as nl

LAT = Lattice((8,), spacing=0.5)


@pytest.mark.parametrize("value", ["1.0", None, True, 1 + 2j, [1.0], jnp.array(np.nan), jnp.array(-0.1)])
def test_a_builders_number_must_be_a_real_finite_number(value):
    """Strings, None, booleans and complex numbers built a model that failed in ``run`` (``Error interpreting
    argument to <function _run_impl> as an abstract array``); a concrete 0-d JAX array was not checked at all
    (a NaN mass ran to NaN, a negative dt ran backwards)."""
    with pytest.raises(ParameterError, match="^dt: "):
        kg.model(LAT, 1.0, value)


def test_traced_and_batched_numbers_still_pass():
    """The check leaves tracers and arrays of values (a batch to vmap over) to the computation."""
    energies = jax.vmap(lambda m: kg.model(LAT, m, 0.1).network.dt * m)(jnp.array([0.5, 1.0]))
    assert np.allclose(energies, [0.05, 0.1])
    assert float(jax.jit(lambda dt: kg.model(LAT, 1.0, dt).network.dt)(0.1)) == 0.1


@pytest.mark.parametrize("spacing", ["0.5", True, None, [0.5], np.array([0.5, 0.5]), -1.0, np.inf])
def test_the_lattice_spacing_must_be_one_positive_number(spacing):
    with pytest.raises(ParameterError, match="^spacing: "):
        Lattice((4, 4), spacing)


def test_a_cubic_lattice_needs_a_whole_number_of_dimensions():
    with pytest.raises(ParameterError, match="^ndim: "):
        Lattice.cubic(8, 2.5)
    assert Lattice.cubic(4, 2, 0.5) == Lattice((4, 4), 0.5)


@pytest.mark.parametrize("phi", [None, "abc", np.full((1, 8), np.nan)])
def test_encode_refuses_what_is_not_finite_field_data(phi):
    model = kg.model(LAT, 1.0, 0.1)
    with pytest.raises(ParameterError, match="^phi: "):
        model.encode(phi, np.zeros((1, 8)))


def test_dirac_wilson_r_is_checked_and_the_stable_network_takes_no_loss():
    """``wilson_r = nan`` failed in LAPACK (``Eigenvalues did not converge``), a negative one was accepted (the
    config requires r > 0); ``loss`` was silently ignored by the stable network (the config refuses it)."""
    with pytest.raises(ParameterError, match="^wilson_r: "):
        dirac.model(LAT, 0.5, 0.1, bias="wilson", wilson_r=np.nan)
    with pytest.raises(ParameterError, match="^wilson_r: "):
        dirac.model(LAT, 0.5, 0.1, bias="wilson", wilson_r=-1.0)
    with pytest.raises(ParameterError, match="^loss: "):
        dirac.model(LAT, 0.5, 0.1, network="stable", loss="printed")


def test_nonlinear_builders_check_their_potential_and_constants():
    """``b = 0`` raised ZeroDivisionError, ``b = nan`` and ``twist = nan`` ran to NaN, a potential that is not a
    callable failed inside the scan (``'NoneType' object is not callable``)."""
    for call, name in ((lambda: nl.sine_gordon_model(LAT, 1.0, 0.0, 0.05), "b"),
                       (lambda: nl.sine_gordon_model(LAT, 1.0, np.nan, 0.05), "b"),
                       (lambda: nl.sine_gordon_model(LAT, 1.0, 1.0, 0.05, twist=np.nan), "twist"),
                       (lambda: nl.model(LAT, None, 0.05), "potential"),
                       (lambda: nl.model(LAT, 3, 0.05), "potential")):
        with pytest.raises(ParameterError, match=f"^{name}: "):
            call()


def test_the_ensemble_checks_steps_and_every(tmp_path):
    from nnfield.config import parse_config
    from nnfield.ensemble import build_ensemble, run_ensemble

    cfg = parse_config("[lattice]\nshape = [8]\nspacing = 0.5\n[theory]\nname = \"klein-gordon\"\nmass = 1.0\n"
                       "[time]\ndt = 0.1\nsteps = 4\n[initial]\nkind = \"plane_wave\"\n[output]\nevery = 2\n")
    ens = build_ensemble(cfg, {"theory.mass": [0.5, 1.0]})
    for kwargs, name in (({"every": 0}, "every"), ({"every": -1}, "every"), ({"steps": -5}, "steps"),
                         ({"steps": 2.5}, "steps"), ({"steps": "10"}, "steps")):
        with pytest.raises(ParameterError, match=f"^{name}: "):
            run_ensemble(ens, **kwargs)
    assert run_ensemble(ens, 4, 2).observables["energy"].shape == (2, 2)


def test_a_file_with_nnfields_groups_but_missing_datasets_is_not_a_run(tmp_path):
    """It raised h5py's ``KeyError: object 'step' doesn't exist`` (and ``schema_version = "abc"`` a ValueError of
    ``int()``)."""
    f = tmp_path / "run.h5"
    with h5py.File(f, "w") as h5:
        h5.create_group("observables")
        h5.create_group("snapshots")
        h5.attrs["status"] = "completed"
    with pytest.raises(nio.NotARunFileError, match="step"):
        nio.load_run(f)
    with h5py.File(f, "a") as h5:
        h5.attrs["schema_version"] = "abc"
    with pytest.raises(nio.NotARunFileError, match="abc"):
        nio.load_run(f)
