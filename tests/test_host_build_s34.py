"""A run spread over several devices builds its model and initial state on the host, never whole on one device
(session 34; issue 10, item 4).

Before, ``prepare`` built the state with JAX's default device, i.e. the whole lattice on the first accelerator of
every process, and only then split it: a run sharded because its state does not fit one GPU failed in the build.
This machine has no GPU, so the host's role is played by fake CPU device 3 (``parallel.host_device`` patched) and
the run goes over devices 0 and 1: every array a run places (its state, its model's site fields, a sweep's
members) must arrive from device 3, never from device 0 (JAX's default device, the stand-in accelerator; a
resumed run's template is placed as shapes since session 41), and the results equal the one-device run. On CPU
``place`` also copies each shard, so that the whole NumPy array it was cut from is not kept alive by an aliasing
shard for the run's length.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    '''
    import sys
    import textwrap
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    from nnfield import ensemble, parallel, runner
    from nnfield import io as nio
    from nnfield.config import parse_config

    assert len(jax.devices()) == 4, jax.devices()
    HOST, DEFAULT = jax.devices()[3], jax.devices()[0]
    parallel.host_device = lambda: HOST  # fake device 3 plays the host's CPU; device 0 the accelerator
    arrived, shapes = [], []

    def spy(fn):
        def wrapped(tree, *args):
            for leaf in jax.tree_util.tree_leaves(tree):
                if isinstance(leaf, jax.Array) and leaf.ndim >= 2:
                    arrived.append(leaf.devices())
                elif isinstance(leaf, jax.ShapeDtypeStruct) and leaf.ndim >= 2:
                    shapes.append(leaf.shape)  # (a resume's template since session 41: nothing built)
            return fn(tree, *args)
        return wrapped

    parallel.place, parallel.place_model = spy(parallel.place), spy(parallel.place_model)
    _shard_members = ensemble.shard_members
    ensemble.shard_members = lambda ens, devices: spy(lambda _tree, *a: _shard_members(ens, *a))(
        (ens.state, ens.model), devices)
    out = sys.argv[1]

    def check(what):
        assert arrived, what
        assert all(d == {HOST} for d in arrived), (what, arrived)
        print(what, len(arrived), "arrays placed from the host stand-in")
        arrived.clear()

    GAUGED = """
    [theory]
    name = "gauged-dirac"
    field = "magnetic"
    n_flux = 1
    mass = 1.0
    network = "stable"
    [lattice]
    shape = [8, 8]
    [time]
    dt = 0.1
    steps = 20
    scheme = "alternating"
    [initial]
    kind = "gaussian_packet"
    width = 1.5
    [output]
    every = 5
    checkpoint_every = 10
    [parallel]
    devices = {devices}
    build = "whole"
    """
    # (build = "whole": the whole build placed from the host is what this checks; a packet is built split by
    # default since session 46, its runs with the host elsewhere in tests/test_split_initial_s45.py)
    results = {}
    for devices in (1, 2):
        cfg = parse_config(textwrap.dedent(GAUGED.format(devices=devices)))
        res = runner.execute(cfg, f"{out}/gauged{devices}", progress=False)
        results[devices] = nio.load_run(f"{out}/gauged{devices}").observables
        if devices == 1:
            assert all(d == {DEFAULT} for d in arrived), arrived  # (one device: built on it, as before)
            arrived.clear()
    check("gauged-dirac, 2 devices")
    for name, ref in results[1].items():
        np.testing.assert_allclose(results[2][name], ref, rtol=1e-12, atol=1e-13, err_msg=name)

    runner.resume(f"{out}/gauged2", steps=30, progress=False)
    # the resumed state's template is placed as shapes (session 41), whatever arrays are placed come from the host
    assert shapes and all(d == {HOST} for d in arrived), (shapes, arrived)
    print("gauged-dirac resumed on 2 devices:", len(shapes), "shapes placed,", len(arrived), "arrays from the host")
    arrived.clear()

    SWEEP = """
    [theory]
    name = "klein-gordon"
    [lattice]
    shape = [16]
    [time]
    dt = 0.1
    steps = 10
    [initial]
    kind = "gaussian_packet"
    [output]
    every = 5
    [sweep]
    "theory.mass" = [0.5, 1.0]
    [parallel]
    devices = 2
    """
    runner.execute(parse_config(textwrap.dedent(SWEEP)), f"{out}/sweep", progress=False)
    check("a sweep over 2 devices")

    import gc, weakref
    for trial in range(10):  # (before: a shard aliased its NumPy slice in about a third of the placements)
        arr = np.random.default_rng(trial).normal(size=(1, 64, 64))
        alive = weakref.ref(arr)
        placed = parallel.place({"phi": arr}, 2, 64)
        del arr
        gc.collect()
        assert alive() is None, f"placement {trial}: a shard keeps the whole host array alive"
    print("OK")
    '''
)


@pytest.mark.slow  # (4.4 s; the quick siblings: the two tests below, the rule and the build's device)
def test_a_split_run_builds_on_the_host_and_equals_one_device(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), JAX_PLATFORMS="cpu")
    env["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=4".strip()
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, env=env,
                          timeout=600, check=False)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stdout + proc.stderr[-4000:]


def test_a_shard_placed_on_the_cpu_is_a_copy() -> None:
    """The rule :func:`nnfield.parallel.place` cuts shards with (the placements themselves: the script above)."""
    import jax

    from nnfield import parallel

    mesh = type("Mesh", (), {"devices": np.array(jax.devices("cpu")[:1])})()
    arr = np.arange(24.0).reshape(1, 4, 6)
    shard = parallel._local_copy(arr, mesh)((slice(None), slice(0, 2), slice(None)))
    assert not np.shares_memory(shard, arr)
    np.testing.assert_array_equal(shard, arr[:, :2])


def test_a_split_build_puts_its_arrays_on_the_host_device(monkeypatch) -> None:
    """``runner.build(cfg, host=True)`` builds under JAX's default device :func:`nnfield.parallel.host_device` (here
    a stand-in that records that it was asked), and without ``host`` on the default device as before."""
    import jax

    from nnfield import parallel, runner
    from nnfield.config import parse_config

    asked = []
    cpu = jax.devices("cpu")[0]
    monkeypatch.setattr(parallel, "host_device", lambda: asked.append(1) or cpu)
    cfg = parse_config('[theory]\nname = "klein-gordon"\n[lattice]\nshape = [8]\n[time]\ndt = 0.1\nsteps = 2\n'
                       '[initial]\nkind = "gaussian_packet"\n')
    seen = []
    real = jax.default_device

    def spy(device):
        seen.append(device)
        return real(device)

    monkeypatch.setattr(jax, "default_device", spy)
    model, state = runner.build(cfg, host=True)
    assert asked and seen == [cpu]
    assert all(x.devices() == {cpu} for x in jax.tree_util.tree_leaves(state))
    seen.clear()
    runner.build(cfg)
    assert seen == []
