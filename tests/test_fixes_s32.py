"""Defects found and fixed in session 32, each with the test that would have caught it."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from nnfield import Lattice
from nnfield.theories import maxwell_dirac as md


@pytest.mark.parametrize("theory", ["maxwell-dirac", "dirac"])
def test_a_4d_spinor_lattice_names_x(theory):
    """Found in session 32: a 4D Maxwell-Dirac (or Dirac) model raised a bare ``ValueError`` from the built-in
    representations; it is a :class:`~nnfield.errors.ParameterError` naming ``X`` and what to pass."""
    from nnfield.errors import ParameterError
    from nnfield.theories import dirac

    lat = Lattice((4, 4, 4, 4))
    with pytest.raises(ParameterError, match=r"X: no built-in Clifford matrices for D = 4.*pass the D \+ 1 = 5"):
        md.model(lat, 0.05) if theory == "maxwell-dirac" else dirac.model(lat, 1.0, 0.05)


def test_a_float32_runs_spectral_projector_is_complex64_and_estimated():
    """Found in session 32 (``scripts/measure_memory.py --compare --precision float32``): a float32 Dirac run with
    spectra held the positive-energy projector that ``for_spectra`` precomputes with NumPy in complex128, and cast
    it to complex64 in the chunk at every sample; the memory guard estimated 0.82 of what the 2D run held. The
    projector is now cast like the model's other leaves, and the estimate covers the run."""
    from nnfield import resources
    from nnfield.network import _run_jit
    from nnfield.runner import build, observer_for, spectra_for
    from test_resources import _config

    cfg = _config((64, 64), 'name = "dirac"\nnetwork = "paper"\nbias = "forward"', "simultaneous", steps=4,
                  extra='[output]\nevery = 1\nprecision = "float32"\nspectra = true')
    model, state = build(cfg)
    observer = observer_for(model, state, spectra_for(cfg, model, state))
    projector = observer.args[0].projector
    assert projector.dtype == np.complex64 and projector.shape == (4, 4, 64, 64)
    nbytes = sum(int(x.nbytes) for x in jax.tree_util.tree_leaves((observer, state)) if np.ndim(x))
    temps = _run_jit.lower(model.network, state, 4, 1, observer).compile().memory_analysis().temp_size_in_bytes
    got = nbytes + int(temps)
    est = resources.estimate_run_memory(cfg)["device"]
    assert 1.0 <= est / got <= 2.0, (est, got)


def test_a_sweeps_estimate_counts_no_halo_check():
    """Found in session 32: ``nnfield run --dry-run`` of a sweep with ``[parallel] halo = true`` said "parallel.halo:
    not used (a sweep splits its members over the devices ...)" and still counted a ``halo check`` in its memory
    estimate. A sweep's estimate has none; a run's still has it."""
    from nnfield import resources
    from nnfield.config import parse_config

    text = ('[theory]\nname = "klein-gordon"\nmass = 1.0\n[lattice]\nshape = [64, 64]\n[time]\ndt = 0.05\nsteps = 10\n'
            '[initial]\nkind = "gaussian_packet"\n[parallel]\ndevices = 2\nhalo = true\n')
    run = resources.estimate_run_memory(parse_config(text))
    sweep = resources.estimate_run_memory(parse_config(text + '[sweep]\n"theory.mass" = [0.5, 1.0]\n'))
    assert run["halo"] > 0 and sweep["halo"] == 0
    line = resources.describe_memory(parse_config(text + '[sweep]\n"theory.mass" = [0.5, 1.0]\n'), 2, 2)
    assert "halo check" not in line


@pytest.mark.parametrize(("shape", "theory", "scheme", "every"), [
    ((32768,), 'name = "phi4"', "simultaneous", 8),
    ((64, 64), 'name = "sine-gordon"', "simultaneous", 8),
])
def test_float32_runs_are_not_under_estimated(shape, theory, scheme, every):
    """Found in session 32 (``scripts/measure_memory.py --compare --precision float32``): the table was measured in
    float64 only, and float32 programs hold more temporaries relative to their fields: the guard estimated 0.83 of a
    1D phi^4 chunk of one sample after 8 ticks (0.90-0.97 for sine-Gordon, 0.94 for a 1D Klein-Gordon alternating
    run on 2^18 sites). The table now keeps the larger of both precisions; the estimate is at least the allocation,
    at most twice."""
    from nnfield import resources
    from test_resources import _config
    from test_resources_s29 import _measured

    cfg = _config(shape, theory, scheme, dt=0.05, steps=8 * every,
                  extra=f'[output]\nevery = {every}\nprecision = "float32"')
    got, _ = _measured(cfg)
    est = resources.estimate_run_memory(cfg)
    assert 1.0 <= est["device"] / got <= 2.0, (est, got)
