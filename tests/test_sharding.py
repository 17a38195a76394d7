"""A run sharded over 4 (simulated) CPU devices equals the single-device run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    from nnfield import Lattice
    from nnfield.sharding import lattice_mesh, shard_state
    from nnfield.theories import klein_gordon as kg

    assert len(jax.devices()) == 4, jax.devices()
    lat = Lattice((16, 12), 0.5)
    rng = np.random.default_rng(1)
    M = kg.model(lat, 1.0, 0.1, network="3.8", scheme="leapfrog")
    s0 = M.initial_state(rng.normal(size=(1, 16, 12)), rng.normal(size=(1, 16, 12)))
    ref, obs_ref = M.network.run(s0, 50, every=10, observer=M.observables)
    s1 = shard_state(s0, lattice_mesh(4))
    out, obs = M.network.run(s1, 50, every=10, observer=M.observables)
    assert len(out.phi.sharding.device_set) == 4
    err = float(np.abs(np.asarray(out.phi) - np.asarray(ref.phi)).max())
    eerr = float(np.abs(np.asarray(obs["energy"]) - np.asarray(obs_ref["energy"])).max())
    print("ERR", err, eerr)
    assert err < 1e-12 and eerr < 1e-10, (err, eerr)

    # a model's site fields (the gauged Dirac network's per-site link coefficients) are split like the state
    from nnfield import parallel
    from nnfield.config import parse_config
    cfg = parse_config('''
    [theory]
    name = "gauged-dirac"
    field = "magnetic"
    n_flux = 1
    [lattice]
    shape = [8, 6]
    [time]
    dt = 0.1
    steps = 1
    scheme = "alternating"
    [initial]
    kind = "gaussian_packet"
    ''', source="gauged.toml")
    gm = parallel.place_model(cfg.build_model(), 4, (8, 6))
    leaves = [x for x in jax.tree_util.tree_leaves(gm) if isinstance(x, jax.Array)]
    site = [x for x in leaves if x.shape[-2:] == (8, 6)]
    assert len(site) >= 8 and all(x.sharding.shard_shape(x.shape)[-2:] == (2, 6) for x in site)
    assert all(x.is_fully_replicated for x in leaves if x.shape[-2:] != (8, 6))

    # its observer on the split lattice: the momentum <k> (an FFT of the spinor) by the distributed FFT, no
    # device gathering the whole spinor (XLA's partitioner did, at every sample, before session 47); equal to one
    # device's to the FFT's round-off, O(eps log2 N) of the largest |k| (the last axis, 6, padded to 8 in it)
    from nnfield import runner
    one_model, one_state = runner.build(cfg)
    want = jax.jit(one_model.observables)(one_state)
    split_state = parallel.place(one_state, 4, 8)
    observer = runner.observer_for(gm, split_state, None, 4)
    program = jax.jit(runner._observe_partial_impl).lower(observer, split_state).compile()
    gathers = [line.split("=", 1)[1].split("[", 1)[1].split("]", 1)[0] for line in program.as_text().splitlines()
               if " all-gather(" in line or " all-gather-start(" in line]
    assert all(np.prod([int(d) for d in g.split(",") if d]) < 48 for g in gathers), gathers
    got = program(observer, split_state)
    kmax = np.pi / cfg.lattice.spacing
    for name in ("wavenumber_x", "wavenumber_y"):
        assert abs(float(got[name]) - float(want[name])) <= 16 * np.finfo(float).eps * np.log2(48) * kmax, name

    # a Dirac sweep's members split over devices: its model has a field that is None (no spectral projector),
    # which shard_members once counted as a leaf of the in_axes tree (a traceback before 2026-12-04)
    from nnfield.ensemble import build_ensemble, shard_members
    cfg = parse_config(open("examples/dirac_1p1_mass_sweep.toml").read().replace(
        '"theory.mass" = [0.5, 1.0, 2.0]', '"theory.mass" = [0.5, 1.0]'), source="sweep.toml")
    ens = shard_members(build_ensemble(cfg, cfg.sweep, cfg.output.spectra), 2)
    stacked = [x for x, ax in zip(jax.tree_util.tree_leaves(ens.model),
                                  jax.tree_util.tree_structure(ens.model).flatten_up_to(ens.model_axes)) if ax == 0]
    assert stacked and all(len(x.sharding.device_set) == 2 and not x.is_fully_replicated for x in stacked)
    """
)


def test_sharded_run_equals_single_device():
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=4".strip()
    env = dict(os.environ, XLA_FLAGS=flags, JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ERR" in proc.stdout
