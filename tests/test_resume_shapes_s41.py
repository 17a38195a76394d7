"""A resumed run split over devices or processes restores its checkpoint onto placed shapes (session 41; issue 10,
item 4: "checkpoints save and restore sharded state").

Before, every process of a split resume first built the whole state's zeros on its host
(``runner.build_template``), placed them shard by shard, then read the checkpoint onto those shards: a transient
whole-lattice allocation per process. ``runner.template_shapes`` gives the state's ``jax.ShapeDtypeStruct`` leaves
(at the configured precision), ``parallel.place`` gives each its sharding without allocating, and
``checkpoint.load_checkpoint`` reads each device's shard from the files. Checked here:

- ``template_shapes`` has the structure, shapes and dtypes of the built state (several theories, both precisions);
- ``place`` of shapes gives shapes with the sharding ``place`` of arrays gives (4 fake devices, slow; the resume
  tests of ``tests/test_parallel.py`` then run the whole path, slow);
- a checkpoint restored onto sharded shapes equals one restored onto arrays (one device, quick).
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pytest

from test_split_spectra_s34 import _run

CONFIGS = {
    "klein-gordon": ('name = "klein-gordon"', "[8, 6]", 'kind = "gaussian_packet"', "leapfrog"),
    "dirac": ('name = "dirac"\nnetwork = "stable"', "[8, 6]", 'kind = "gaussian_packet"\nwidth = 1.5',
              "alternating"),
    "scalar-qed": ('name = "scalar-qed"', "[8, 6]", 'kind = "charged_packets"\nmomentum = [1.0, 0.0]', "leapfrog"),
    "maxwell-dirac": ('name = "maxwell-dirac"', "[8]", 'kind = "charged_packets"', "leapfrog"),
}


def _config(theory: str, precision: str = "float64", steps: int = 4, extra: str = "") -> str:
    name, shape, initial, scheme = CONFIGS[theory]
    return (f"[theory]\n{name}\n[lattice]\nshape = {shape}\n[time]\ndt = 0.05\nsteps = {steps}\nscheme = "
            f'"{scheme}"\n[initial]\n{initial}\n[output]\nprecision = "{precision}"\n{extra}')


def _flat(tree):
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
    return [(jax.tree_util.keystr(k), tuple(x.shape), np.dtype(x.dtype)) for k, x in leaves], treedef


@pytest.mark.parametrize("theory", sorted(CONFIGS))
@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_template_shapes_are_the_built_states(theory: str, precision: str) -> None:
    from nnfield import runner
    from nnfield.config import parse_config

    cfg = parse_config(_config(theory, precision))
    model, state = runner.build(cfg)
    shapes = runner.template_shapes(cfg, model)
    assert shapes is not None
    assert all(isinstance(x, jax.ShapeDtypeStruct) for x in jax.tree_util.tree_leaves(shapes))
    assert _flat(shapes) == _flat(state)
    _, template = runner.build_template(cfg)  # (the zeros of the one-device resume: the same structure)
    assert _flat(template) == _flat(state)


def test_a_checkpoint_restores_onto_sharded_shapes_as_onto_arrays(tmp_path: Path) -> None:
    """A run's checkpoint (1D Klein-Gordon, float32) read onto placed shapes (one device's mesh) equals the same
    checkpoint read onto the zeros of ``build_template``, bit for bit, with the shapes' shardings."""
    from jax.sharding import NamedSharding, PartitionSpec

    from nnfield import checkpoint, runner
    from nnfield.config import parse_config
    from nnfield.sharding import AXIS, lattice_mesh

    cfg = parse_config(_config("klein-gordon", "float32", steps=20, extra="checkpoint_every = 10\n"))
    runner.execute(cfg, tmp_path / "run", progress=False)
    ckpt = checkpoint.list_checkpoints(tmp_path / "run")[-1]
    model, template = runner.build_template(cfg)
    mesh = lattice_mesh(1)
    shapes = jax.tree_util.tree_map(
        lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=NamedSharding(
            mesh, PartitionSpec(None, AXIS) if len(s.shape) >= 2 else PartitionSpec())),
        runner.template_shapes(cfg, model))
    a = checkpoint.load_checkpoint(ckpt, template)
    b = checkpoint.load_checkpoint(ckpt, shapes)
    for (ka, xa), (kb, xb) in zip(jax.tree_util.tree_flatten_with_path(a)[0],
                                  jax.tree_util.tree_flatten_with_path(b)[0], strict=True):
        assert ka == kb and xa.dtype == xb.dtype
        np.testing.assert_array_equal(np.asarray(xa), np.asarray(xb))
        assert isinstance(xb, jax.Array) and xb.sharding.mesh == mesh
    assert any(np.asarray(x).any() for x in jax.tree_util.tree_leaves(b))  # (the run's state, not the zeros)


SCRIPT = r'''
import sys
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np
from nnfield import parallel, runner
from nnfield.config import parse_config

assert jax.device_count() == 4
cfg = parse_config(open(sys.argv[2]).read())
model, state = runner.build(cfg, host=True)
placed = parallel.place(state, 4, cfg.lattice.shape[0])
_, shapes = runner.build_template(cfg, host=True, shapes_only=True)  # (what a split resume restores onto)
assert all(isinstance(x, jax.ShapeDtypeStruct) for x in jax.tree_util.tree_leaves(shapes))
shapes = parallel.place(shapes, 4, cfg.lattice.shape[0])
for x, y in zip(jax.tree_util.tree_leaves(placed), jax.tree_util.tree_leaves(shapes), strict=True):
    assert isinstance(y, jax.ShapeDtypeStruct) and y.shape == x.shape and y.dtype == x.dtype
    assert y.sharding == x.sharding, (y.sharding, x.sharding)
print("OK")
'''


@pytest.mark.slow  # (a 4-device child, about 3 s; the quick siblings above)
def test_a_split_resume_places_shapes_like_the_fresh_runs_state(tmp_path: Path) -> None:
    path = tmp_path / "cfg.toml"
    path.write_text(_config("dirac", steps=4))
    proc = _run(SCRIPT, tmp_path, str(path))
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stdout + proc.stderr[-4000:]
