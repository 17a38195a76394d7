"""The Dirac spinor's spectra on a lattice split over devices come from a distributed FFT (session 41; issue 10,
item 4).

Before, a split Dirac run's spectra took the FFT of the whole spinor (a complex field), for which XLA gathers it
on every device: the spectra's cost per device did not fall with the number of devices (3D, 32^3, 8 fake devices:
4.66 whole states of temporaries per device, above the memory guard's 4.45; 4.10 now, ``scripts/split_memory.py``).
A model now declares the sources of its spectral modes (``spectral_sources``: the spinor), their per-mode tables
on the FFT grid (``mode_tables``: the positive-energy projector ``P_+(k)``) and the map from the one to the other
(``modes_from_sources``); ``Spectra.split_over(mesh, tables)`` lays the tables out like the distributed FFT
(``spectra.split_modes``, full grid) leaves the modes, and each device projects its own block. Checked here:

- ``split_modes`` of a complex block equals ``fftn`` (one device: the all-to-all of one block is the block);
- the split spectra over a one-device mesh equal the whole-lattice ones (2D and 3D, paper and stable networks,
  float32 tables cast to complex64), and the Dirac model's three hooks agree with ``spectral_modes``;
- (slow) 2D and 3D runs on 4 fake devices and a 2D run over 2 processes equal one device to 1e-12 of the
  spectrum's scale, with no all-gather in the compiled observer and fewer temporaries than the whole FFT's.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from test_parallel import _nnfield, _processes
from test_split_spectra_s34 import _run

DIRAC = ('[theory]\nname = "dirac"\nnetwork = "{net}"\n[lattice]\nshape = {shape}\nspacing = 0.5\n[time]\n'
         'dt = 0.05\nsteps = 20\nscheme = "{scheme}"\n[initial]\nkind = "gaussian_packet"\nwidth = 1.5\n'
         'momentum = {momentum}\n[output]\nevery = 5\nspectra = true\nprecision = "{precision}"\n')


def _config(shape: str, net: str = "stable", precision: str = "float64") -> str:
    D = shape.count(",") + 1
    momentum = str([1.0, 0.5, 0.2][:D])
    return DIRAC.format(net=net, shape=shape, scheme="alternating" if net == "stable" else "leapfrog",
                        momentum=momentum, precision=precision)


def _built(text: str):
    from nnfield import runner
    from nnfield.config import parse_config

    cfg = parse_config(text)
    model, state = runner.build(cfg)
    return cfg, model, state, runner.spectra_for(cfg, model, state)


def test_split_modes_of_a_complex_block_equal_the_whole_fft() -> None:
    """:func:`nnfield.spectra.split_modes` of a complex field on one device: ``fftn`` over the lattice axes, for
    components and 2 or 3 axes (and the half grid of ``rfftn`` for a real one)."""
    from nnfield.sharding import AXIS, lattice_mesh
    from nnfield.spectra import split_modes

    rng = np.random.default_rng(1)
    mesh = lattice_mesh(1)
    for shape in ((2, 6, 5), (3, 4, 6, 7)):
        D = len(shape) - 1
        f = jnp.asarray(rng.normal(size=shape) + 1j * rng.normal(size=shape))
        axes = tuple(range(1, len(shape)))
        for real, x, ref in ((False, f, np.fft.fftn(np.asarray(f), axes=axes)),
                             (True, f.real, np.fft.rfftn(np.asarray(f.real), axes=axes))):
            got = jax.shard_map(lambda y, D=D, real=real: split_modes(y, D, real), mesh=mesh,
                                in_specs=jax.sharding.PartitionSpec(None, AXIS),
                                out_specs=jax.sharding.PartitionSpec(None, AXIS), check_vma=False)(x)
            np.testing.assert_allclose(np.asarray(got), ref, rtol=0, atol=1e-13 * np.abs(ref).max())


@pytest.mark.parametrize(("shape", "net"), [("[8, 6]", "stable"), ("[6, 5, 7]", "paper")])
def test_split_dirac_spectra_on_one_device_equal_the_whole_ones(shape: str, net: str) -> None:
    """``Spectra.split_over(mesh, model.mode_tables())`` over a one-device mesh: the spinor's distributed FFT and
    the projector's blocks give the whole-lattice spectra (``of_model`` on the model ``for_spectra``) to round-off
    of the spectrum's scale (the positive or negative part of a packet may be round-off itself)."""
    from nnfield.sharding import lattice_mesh

    _, model, state, spectra = _built(_config(shape, net))
    whole = spectra.of_model(model.for_spectra(), state)
    split = spectra.split_over(lattice_mesh(1), model.mode_tables())
    assert split is not None and split.mode_tables is not None and split.mesh is not None
    got = jax.jit(lambda s: split.of_model(model, s))(state)
    assert set(got) == set(whole) == {"spectrum_psi", "spectrum_psi_positive", "spectrum_psi_negative"}
    scale = float(np.abs(np.asarray(whole["spectrum_psi"])).max())
    assert scale > 0
    for k in whole:
        np.testing.assert_allclose(np.asarray(got[k]), np.asarray(whole[k]), rtol=0, atol=1e-13 * scale, err_msg=k)
    # the positive and negative parts add up to the whole (Parseval per mode: P_+ and P_- are orthogonal)
    total = np.asarray(got["spectrum_psi_positive"]) + np.asarray(got["spectrum_psi_negative"])
    np.testing.assert_allclose(total, np.asarray(got["spectrum_psi"]), rtol=0, atol=1e-12 * scale)


def test_the_dirac_models_spectral_hooks_agree() -> None:
    """``spectral_sources``/``mode_tables``/``modes_from_sources`` give ``spectral_modes``; the tables are the
    projector ``for_spectra`` holds; without a projector the theory's own is used; a traced mass is refused."""
    _, model, state, _ = _built(_config("[6, 4]"))
    tables = model.mode_tables()
    assert set(tables) == {"projector"} and tables["projector"].shape == (4, 4, 6, 4)
    np.testing.assert_array_equal(tables["projector"], np.asarray(model.for_spectra().projector))
    pk = jnp.fft.fftn(model.spectral_sources(state)["psi"], axes=(1, 2))
    ref = model.for_spectra().spectral_modes(state)
    for projector in (tables["projector"], None):
        got = model.modes_from_sources({"psi": pk}, {"projector": projector})
        for k in ref:
            np.testing.assert_allclose(np.asarray(got[k]), np.asarray(ref[k]), rtol=0, atol=1e-13)
    import equinox as eqx

    with pytest.raises(ValueError, match="traced"):
        jax.jit(lambda m: eqx.tree_at(lambda x: x.theory.m, model, m).mode_tables())(1.0)


def test_float32_tables_are_complex64_and_1d_keeps_the_whole_fft() -> None:
    """The split tables take the run's precision (complex64 for float32, as ``spectra_model`` casts the projector);
    a 1D lattice (its only axis is the split one) keeps the whole FFT; a model without sources declares none."""
    from nnfield import runner
    from nnfield.model import AbstractModel
    from nnfield.sharding import lattice_mesh

    _, model, state, spectra = _built(_config("[8, 6]", precision="float32"))
    split = spectra.split_over(lattice_mesh(1), model.mode_tables(), np.float32)
    assert split.mode_tables["projector"].dtype == np.complex64
    got = jax.jit(lambda s: split.of_model(model, s))(state)
    assert all(v.dtype == np.float32 for v in got.values())
    with pytest.raises(ValueError, match="of_model"):
        split({"psi": jnp.zeros((4, 8, 6))})

    _, model1, state1, spectra1 = _built(_config("[16]"))
    assert spectra1.split_over(lattice_mesh(1), model1.mode_tables()) is None
    assert runner._has_spectral_sources(model1, state1)
    cfg = ('[theory]\nname = "klein-gordon"\n[lattice]\nshape = [8, 6]\n[time]\ndt = 0.1\nsteps = 2\n'
           '[initial]\nkind = "gaussian_packet"\n[output]\nspectra = true\n')
    _, kg, kg_state, _ = _built(cfg)
    assert not runner._has_spectral_sources(kg, kg_state) and kg.mode_tables() == {}
    with pytest.raises(NotImplementedError):
        AbstractModel.modes_from_sources(kg, {}, {})


SCRIPT = r'''
import re
import sys
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np
from nnfield import runner, parallel
from nnfield import io as nio
from nnfield.config import parse_config

out, texts = sys.argv[1], open(sys.argv[2]).read().split("|")
assert jax.device_count() == 4
for i, text in enumerate(texts):
    obs = {}
    for devices in (1, 4):
        cfg = parse_config(text + f"[parallel]\ndevices = {devices}\n")
        runner.execute(cfg, f"{out}/case{i}_{devices}", progress=False, allow_unstable=True)
        obs[devices] = nio.load_run(f"{out}/case{i}_{devices}").observables
    model, state = runner.build(cfg, host=True)
    state = parallel.place(state, 4, cfg.lattice.shape[0])
    model = parallel.place_model(model, 4, cfg.lattice.shape)
    spectra = runner.spectra_for(cfg, model, state)
    split = runner._observed(spectra, model, state, 4)
    assert split.mesh is not None and split.mode_tables is not None, i
    # the split observer holds no projector of its own (the tables do, split like the modes)
    observer = runner.observer_for(model, state, split)
    shape = tuple(cfg.lattice.shape)
    assert not any(getattr(x, "shape", ())[-len(shape):] == shape and getattr(x, "ndim", 0) == len(shape) + 2
                   for x in jax.tree_util.tree_leaves(observer.args[0])), i
    mem = {}
    for what, sp, m in (("whole", spectra, model.for_spectra()), ("split", split, model)):
        compiled = jax.jit(lambda s, sp=sp, m=m: sp.of_model(m, s)).lower(state).compile()
        mem[what] = compiled.memory_analysis().temp_size_in_bytes
        gathers = len(re.findall(r"all-gather\(", compiled.as_text()))
        assert (gathers == 0) == (what == "split"), (i, what, gathers)
    assert mem["split"] < mem["whole"], (i, mem)
    scale = np.abs(np.asarray(obs[1]["spectrum_psi"])).max()
    for k in ("spectrum_psi", "spectrum_psi_positive", "spectrum_psi_negative"):
        a, b = np.asarray(obs[1][k]), np.asarray(obs[4][k])
        assert scale > 0 and np.abs(a - b).max() <= 1e-12 * scale, (i, k, np.abs(a - b).max(), scale)
    print(i, "temporaries per device", mem)
print("OK")
'''


def _script_run(tmp_path: Path, texts: list[str]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "texts.txt"
    path.write_text("|".join(texts))
    return _run(SCRIPT, tmp_path, str(path))


@pytest.mark.slow  # (about 10 s; the quick siblings: the one-device mesh tests above)
def test_split_dirac_spectra_on_four_devices_equal_one_device(tmp_path: Path) -> None:
    """2D (stable network, 12x9: an odd last axis padded to a multiple of 4) and 3D (paper network) runs with
    spectra on 4 fake devices against one device; no all-gather, fewer temporaries than the whole FFT."""
    proc = _script_run(tmp_path, [_config("[12, 9]"), _config("[8, 6, 5]", "paper")])
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stdout + proc.stderr[-4000:]


@pytest.mark.slow
def test_split_dirac_spectra_over_two_processes_equal_one_process(tmp_path: Path) -> None:
    """The same over 2 processes (gloo collectives): a 2D Dirac run with spectra against the one-process run."""
    cfg = tmp_path / "dirac.toml"
    cfg.write_text(_config("[12, 9]"))
    one = _nnfield("run", str(cfg), "--out", str(tmp_path / "one"), "-q")
    assert one.returncode == 0, one.stderr
    _processes(cfg, tmp_path / "two", 2)
    from nnfield import io as nio

    a, b = nio.load_run(tmp_path / "one").observables, nio.load_run(tmp_path / "two").observables
    scale = np.abs(a["spectrum_psi"]).max()
    for k in ("spectrum_psi", "spectrum_psi_positive", "spectrum_psi_negative"):
        assert scale > 0 and np.abs(a[k] - b[k]).max() <= 1e-12 * scale, (k, np.abs(a[k] - b[k]).max(), scale)
