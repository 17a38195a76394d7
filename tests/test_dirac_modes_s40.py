"""The Dirac spectra from one FFT of the spinor (session 40).

``DiracModel.spectral_modes`` gives ``psi_k``, ``P_+(k) psi_k`` and ``psi_k - P_+(k) psi_k``; ``Spectra.of_model``
averages their power over the shells. Before, the run transformed ``psi``, projected it and transformed back
(``positive_energy_part``), then transformed each of the three fields again: five FFTs where one does. The spectra
are the same up to round-off (the tolerance: 1e-12 of the spectrum's largest value, float64, a few FFTs of round-off
each); a model without modes (Klein-Gordon) takes the old path, bit for bit.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from nnfield import runner
from nnfield.config import parse_config

CONFIG = """
[theory]
name = "dirac"
network = "{net}"
mass = 0.7
[lattice]
shape = {shape}
spacing = 0.5
[time]
dt = 0.05
steps = 2
scheme = "alternating"
[initial]
kind = "gaussian_packet"
width = 1.5
[output]
spectra = true
"""


KG = ('[theory]\nname = "klein-gordon"\nmass = 0.7\n[lattice]\nshape = [8, 6]\n[time]\ndt = 0.05\nsteps = 2\n'
      '[initial]\nkind = "random_spectrum"\nseed = 3\n[output]\nspectra = true\n')


def _mixed(state, seed: int):
    """A state with both energy bands populated (a Gaussian packet is almost all positive energy, so its
    negative-energy spectrum is round-off on both paths)."""
    rng = np.random.default_rng(seed)
    return jax.tree_util.tree_map(lambda x: jax.numpy.asarray(rng.normal(size=np.shape(x)), x.dtype), state)


@pytest.mark.parametrize("shape,net", [("[24]", "stable"), ("[8, 6]", "paper"), ("[4, 6, 5]", "stable")])
@pytest.mark.parametrize("projector", [True, False])
def test_spectra_from_the_modes_equal_the_spectra_of_the_fields(shape: str, net: str, projector: bool) -> None:
    cfg = parse_config(CONFIG.format(net=net, shape=shape))
    model, state = runner.build(cfg)
    state = _mixed(state, len(shape))
    spectra = runner.spectra_for(cfg, model, state)
    m = model.for_spectra() if projector else model  # with P_+ as a leaf, or computed from the concrete mass
    assert (m.projector is not None) == projector
    old = jax.jit(lambda s: spectra(m.spectral_fields(s)))(state)
    new = jax.jit(lambda s: spectra.of_model(m, s))(state)
    assert set(new) == set(old) == {"spectrum_psi", "spectrum_psi_positive", "spectrum_psi_negative"}
    scale = float(np.abs(np.asarray(old["spectrum_psi"])).max())
    for k in old:
        assert float(np.abs(np.asarray(old[k])).max()) > 1e-3 * scale, k  # both bands populated
        np.testing.assert_allclose(np.asarray(new[k]), np.asarray(old[k]), rtol=0, atol=1e-12 * scale, err_msg=k)
    # the two bands add up to the whole, mode by mode, hence shell by shell
    np.testing.assert_allclose(np.asarray(new["spectrum_psi_positive"] + new["spectrum_psi_negative"]),
                               np.asarray(new["spectrum_psi"]), rtol=0, atol=1e-12 * scale)


def test_a_model_without_modes_keeps_the_transform_of_its_fields() -> None:
    cfg = parse_config(KG)
    model, state = runner.build(cfg)
    spectra = runner.spectra_for(cfg, model, state)
    assert model.spectral_modes(state) is None
    old = jax.jit(lambda s: spectra(model.spectral_fields(s)))(state)
    new = jax.jit(lambda s: spectra.of_model(model, s))(state)
    assert set(new) == set(old) and "occupation" in new
    for k in old:
        assert np.array_equal(np.asarray(new[k]), np.asarray(old[k])), k


def test_of_modes_gives_the_occupation_of_a_real_scalar_from_its_modes() -> None:
    """``of_modes`` of ``phi`` and ``pi`` given by their full-grid FFTs: the spectra and occupation of the fields."""
    cfg = parse_config(KG)
    model, state = runner.build(cfg)
    spectra = runner.spectra_for(cfg, model, state)
    fields = model.spectral_fields(state)
    old = spectra(fields)
    modes = {k: jax.numpy.fft.fftn(v, axes=(-2, -1)) for k, v in fields.items()}
    new = spectra.of_modes(modes)
    assert set(new) == set(old)
    for k in old:
        scale = float(np.abs(np.asarray(old[k])).max())
        np.testing.assert_allclose(np.asarray(new[k]), np.asarray(old[k]), rtol=0, atol=1e-12 * scale, err_msg=k)


def test_a_dirac_run_records_its_spectra_from_the_modes(tmp_path) -> None:
    """A whole run (the chunk program observes through ``Spectra.of_model``): the recorded spectra of the last
    sample equal the fields' spectra of the run's final state."""
    from nnfield import io as nio

    cfg = parse_config(CONFIG.format(net="stable", shape="[16]"))
    res = runner.execute(cfg, tmp_path / "run", progress=False)
    run = nio.load_run(res.out_dir)
    model, state = runner.build(cfg)
    m = model.for_spectra()
    final = type(state)(phi=jax.numpy.asarray(run.phi[-1]), pi=jax.numpy.asarray(run.pi[-1]))
    spectra = runner.spectra_for(cfg, model, final)
    ref = spectra(m.spectral_fields(final))
    scale = float(np.abs(np.asarray(ref["spectrum_psi"])).max())
    for k in ("spectrum_psi", "spectrum_psi_positive"):
        np.testing.assert_allclose(np.asarray(run.observables[k][-1]), np.asarray(ref[k]), rtol=0, atol=1e-12 * scale)
