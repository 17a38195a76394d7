"""The spectra of a lattice split over devices come from a distributed FFT and equal the one-device spectra
(session 34; issue 10, item 4).

Before, a split run's spectra took the FFT of the whole field, for which XLA's SPMD partitioner gathers the whole
field on every device (4 fields' bytes on each device at every sample, whatever the number of devices: a run split
because its state does not fit one GPU could not record spectra). ``Spectra.split_over`` computes them with each
device's own block (``spectra.split_power``: local FFTs, one all-to-all). Checked here on 4 fake CPU devices:

- ``spectrum_phi``, ``spectrum_pi`` and ``occupation`` of 2D and 3D runs (Klein-Gordon, phi^4 in its broken
  phase, whose unstable modes at the top of the well the occupation leaves out; odd half grids that need padding)
  equal the one-device run's to 1e-12 relative (round-off: the same transform, its FFTs in another order);
- the compiled observer holds no all-gather, and its temporaries on each device are below the whole FFT's;
- the 1D lattice (its only axis is the split one) keeps the whole FFT, for real fields and for the Dirac spinor
  (since session 41 a 2D or 3D Dirac spinor's spectra are split too: ``tests/test_split_dirac_spectra_s41.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_parallel import _nnfield, _processes

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r'''
import re
import sys
import textwrap
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np
from nnfield import runner
from nnfield import io as nio
from nnfield.config import parse_config
from nnfield.sharding import lattice_mesh

out = sys.argv[1]
assert jax.device_count() == 4
CASES = {
    "kg3d": ('name = "klein-gordon"\nmass = 0.7', "[8, 6, 10]", 'kind = "random_spectrum"\nseed = 4'),
    "phi4": ('name = "phi4"\nphase = "broken"\nmass = 1.0\nlambda = 0.5', "[12, 9]", 'kind = "gaussian"\nseed = 2'),
    "kg2d": ('name = "klein-gordon"\nmass = 1.0', "[16, 14]", 'kind = "gaussian_packet"\nmomentum = [1.0, 0.5]'),
}
for name, (theory, shape, initial) in CASES.items():
    if name not in sys.argv[2].split(","):
        continue
    obs = {}
    for devices in (1, 4):
        text = (f"[theory]\n{theory}\n[lattice]\nshape = {shape}\nspacing = 0.5\n[time]\ndt = 0.05\nsteps = 20\n"
                f"[initial]\n{initial}\n[output]\nevery = 5\nspectra = true\n[parallel]\ndevices = {devices}\n")
        cfg = parse_config(text)
        runner.execute(cfg, f"{out}/{name}{devices}", progress=False)
        obs[devices] = nio.load_run(f"{out}/{name}{devices}").observables
        if devices == 4:
            model, state = runner.build(cfg, host=True)
            from nnfield import parallel
            state = parallel.place(state, 4, cfg.lattice.shape[0])
            model = parallel.place_model(model, 4, cfg.lattice.shape)
            spectra = runner.spectra_for(cfg, model, state)
            split = runner._observed(spectra, model, state, 4)
            assert split.mesh is not None, name
            mem = {}
            for what, spec in (("whole", spectra), ("split", split)):
                fn = jax.jit(lambda s, sp=spec: sp(model.spectral_fields(s)))
                compiled = fn.lower(state).compile()
                mem[what] = compiled.memory_analysis().temp_size_in_bytes
                gathers = len(re.findall(r"all-gather\(", compiled.as_text()))
                assert (gathers == 0) == (what == "split"), (name, what, gathers)
            assert mem["split"] < mem["whole"], (name, mem)
            print(name, "temporaries per device", mem)
    keys = [k for k in obs[1] if k.startswith("spectrum_") or k == "occupation"]
    assert {"spectrum_phi", "spectrum_pi", "occupation"} <= set(keys), keys
    for k in keys:
        a, b = np.asarray(obs[1][k]), np.asarray(obs[4][k])
        scale = np.abs(a).max()
        assert scale > 0 and np.abs(a - b).max() <= 1e-12 * scale, (name, k, np.abs(a - b).max(), scale)
    print(name, "spectra equal to one device")

# a 1D lattice and a complex field keep the whole FFT
from nnfield import parallel
FALLBACK = ('[theory]\nname = "klein-gordon"\n[lattice]\nshape = [32]\n[time]\ndt = 0.1\nsteps = 2\n'
             '[initial]\nkind = "gaussian_packet"\n[output]\nspectra = true\n',
             '[theory]\nname = "dirac"\n[lattice]\nshape = [16]\n[time]\ndt = 0.1\nsteps = 2\n'
             'scheme = "alternating"\n[initial]\nkind = "gaussian_packet"\nwidth = 1.5\n[output]\nspectra = true\n')
for text in FALLBACK if "fallback" in sys.argv[2] else ():
    cfg = parse_config(text)
    model, state = runner.build(cfg, host=True)
    state = parallel.place(state, 4, cfg.lattice.shape[0])
    spectra = runner.spectra_for(cfg, model, state)
    assert runner._observed(spectra, model, state, 4) is spectra
    if cfg.theory.name == "dirac":  # (session 37) what the chunk program is given lives on the 4 devices, once
        model = parallel.place_model(model, 4, cfg.lattice.shape)
        observer = runner.observer_for(model, state, spectra)
        leaves = jax.tree_util.tree_leaves((model.network, observer))
        assert any(isinstance(x, np.ndarray) and x.shape == (2, 2, 16) for x in leaves)  # the projector, on the host
        placed = parallel.place_leftovers(leaves, cfg.lattice.shape)
        assert all(len(x.sharding.device_set) == 4 for x in placed if isinstance(x, jax.Array)), placed
        obs = {}
        for devices in (1, 4):
            runner.execute(parse_config(text + f"[parallel]\ndevices = {devices}\n"), f"{out}/dirac{devices}",
                           progress=False, allow_unstable=True)  # (the paper network at this dt: 1.005 per step)
            obs[devices] = nio.load_run(f"{out}/dirac{devices}").observables
        for k in ("spectrum_psi", "spectrum_psi_positive", "spectrum_psi_negative"):
            a, b = np.asarray(obs[1][k]), np.asarray(obs[4][k])
            assert np.abs(a - b).max() <= 1e-12 * np.abs(a).max(), (k, np.abs(a - b).max())
print("OK")
'''


def _run(script: str, tmp_path: Path, cases: str, devices: int = 4) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "script.py"
    path.write_text(script)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), JAX_PLATFORMS="cpu")
    env["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}".strip()
    return subprocess.run([sys.executable, str(path), str(tmp_path), cases], capture_output=True, text=True, env=env,
                          timeout=600, check=False)


@pytest.mark.slow  # (4 s; the quick sibling: test_split_power_equals_the_whole_real_fft)
def test_split_spectra_equal_one_device_without_gathering_the_field(tmp_path: Path) -> None:
    """2D Klein-Gordon (an odd half grid, padded), and the lattices that keep the whole FFT."""
    proc = _run(SCRIPT, tmp_path, "kg2d,fallback")
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stdout + proc.stderr[-4000:]


@pytest.mark.slow
def test_split_spectra_in_3d_and_of_a_double_well_equal_one_device(tmp_path: Path) -> None:
    """3D Klein-Gordon and phi^4 in its broken phase (its occupation leaves the unstable modes out); the quick
    sibling: the 2D case above."""
    proc = _run(SCRIPT, tmp_path, "kg3d,phi4")
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stdout + proc.stderr[-4000:]


def test_split_power_equals_the_whole_real_fft() -> None:
    """:func:`nnfield.spectra.split_power` on one device (the all-to-all of one block is the block): the half grid
    of ``rfftn`` with the zeros of its padding, for components and 2 or 3 axes."""
    import jax
    import jax.numpy as jnp

    from nnfield.sharding import AXIS, lattice_mesh
    from nnfield.spectra import power, split_power

    rng = np.random.default_rng(0)
    mesh = lattice_mesh(1)
    for shape in ((2, 6, 5), (1, 4, 6, 7)):
        f = jnp.asarray(rng.normal(size=shape))
        D = len(shape) - 1
        got = jax.shard_map(lambda x, D=D: split_power(x, D, 0.25, 3.0), mesh=mesh,
                            in_specs=jax.sharding.PartitionSpec(None, AXIS), out_specs=jax.sharding.PartitionSpec(),
                            check_vma=False)(f)
        ref = power(f, 0.25, 3.0, tuple(range(1, len(shape))), half=True)
        np.testing.assert_allclose(np.asarray(got), np.asarray(ref), rtol=1e-13, atol=1e-15 * float(ref.max()))


@pytest.mark.slow
def test_split_spectra_over_two_processes_equal_one_device(tmp_path: Path) -> None:
    """The same distributed FFT over 2 processes (gloo collectives), a 3D Klein-Gordon run with spectra against
    the one-process run."""
    cfg = tmp_path / "kg.toml"
    cfg.write_text('[theory]\nname = "klein-gordon"\nmass = 0.7\n[lattice]\nshape = [8, 6, 10]\nspacing = 0.5\n'
                   '[time]\ndt = 0.05\nsteps = 20\n[initial]\nkind = "random_spectrum"\nseed = 4\n'
                   '[output]\nevery = 5\nspectra = true\n')
    one = _nnfield("run", str(cfg), "--out", str(tmp_path / "one"), "-q")  # (test_parallel's launchers)
    assert one.returncode == 0, one.stderr
    _processes(cfg, tmp_path / "two", 2)
    from nnfield import io as nio

    a, b = nio.load_run(tmp_path / "one").observables, nio.load_run(tmp_path / "two").observables
    for k in ("spectrum_phi", "spectrum_pi", "occupation"):
        scale = np.abs(a[k]).max()
        assert np.abs(a[k] - b[k]).max() <= 1e-12 * scale, (k, np.abs(a[k] - b[k]).max(), scale)
