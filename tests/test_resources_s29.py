"""Session 29 hunt in the memory guard (``nnfield.resources``): ``MEASURED`` holds the largest temporaries over
lattice sizes (XLA's fusion choices change with the size) and over chunk programs (a chunk of one sample after a
block of ticks holds more than one sampled after every tick)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import jax
import numpy as np
import pytest

from nnfield import resources
from test_resources import _config as resources_config  # (its TOML, with an [output] every)

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "measure_memory.py"


def _config(shape, theory, kind, steps, every, scheme="leapfrog"):
    """tests/test_resources.py's config at dt = 0.05 with an ``[output] every``."""
    return resources_config(shape, theory, scheme, dt=0.05, steps=steps, extra=f"[output]\nevery = {every}", kind=kind)


def _measured(cfg) -> tuple[int, int]:
    """What the run's chunk holds on its device (the state's and the model's arrays and XLA's temporaries of the
    compiled chunk that ``nnfield run`` chooses), and the chunk's length."""
    from nnfield.network import _run_jit
    from nnfield.runner import build, choose_chunk, observer_for

    model, state = build(cfg)
    nbytes = sum(int(x.nbytes) for x in jax.tree_util.tree_leaves((model, state)) if np.ndim(x))
    every = cfg.output.every
    chunk = choose_chunk(cfg.time.steps, every, cfg.output.snapshot_every, int(np.prod(cfg.lattice.shape)))
    mem = _run_jit.lower(model.network, state, chunk, every, observer_for(model, state)).compile().memory_analysis()
    return nbytes + int(mem.temp_size_in_bytes), chunk


def test_a_one_sample_chunk_of_a_small_maxwell_lattice_is_not_under_estimated():
    """A 2D Maxwell run on 64^2 sites sampled every 8 ticks runs chunks of one sample after a block of 8 ticks;
    XLA holds 3.0 states of temporaries there, and the table said 2.8 (measured on 2^15 sites with a sample after
    every tick only), so the guard asked for 0.95 of what the chunk holds. The estimate errs on the large side
    (``docs/config.md``): at least what XLA allocates, at most twice."""
    cfg = _config((64, 64), 'name = "maxwell"', "random_photons", steps=8, every=8)
    got, chunk = _measured(cfg)
    assert chunk == cfg.output.every  # one sample a chunk
    est = resources.estimate_run_memory(cfg)
    assert 1.0 <= est["device"] / got <= 2.0, (est, got)


def test_the_table_is_measured_over_lattice_sizes_and_chunk_programs():
    """``scripts/measure_memory.py`` measures lattices below and above 2^15 sites (where the 3D gauge theories'
    temporaries are smallest: 1.6 states for scalar QED against 4.2 on 16^3 and 2.8 on 64^3) and a chunk of one
    sample after a block of ticks besides one sampled after every tick."""
    spec = importlib.util.spec_from_file_location("measure_memory_s29", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert min(script.SITES) <= 2**12 and max(script.SITES) >= 2**18
    assert any(steps == every > 1 for steps, every in script.PROGRAMS)  # one sample after a block of ticks
    assert any(every == 1 < steps for steps, every in script.PROGRAMS)  # a sample after every tick


@pytest.mark.slow
@pytest.mark.parametrize("shape, theory, kind, every", [
    ((16, 16, 16), 'name = "scalar-qed"\nmass = 2.0', "charged_packets", 1),
    ((16, 16, 16), 'name = "scalar-qed"\nmass = 2.0', "charged_packets", 8),
    ((64, 64, 64), 'name = "scalar-qed"\nmass = 2.0', "charged_packets", 8),
    ((16, 16, 16), 'name = "maxwell-dirac"\nbias = "wilson"', "charged_packets", 1),
    ((64, 64, 64), 'name = "maxwell-dirac"\nbias = "wilson"', "charged_packets", 8),
    ((64, 64, 64), 'name = "maxwell"', "random_photons", 8),
])
def test_3d_gauge_lattices_are_not_under_estimated(shape, theory, kind, every):
    """The named defect of session 28: estimate / XLA's allocation was 0.54 for scalar QED and 0.75 for
    Maxwell-Dirac on 16^3 (their links' ``cos``/``sin`` are buffers of their own there), and 0.75 for scalar QED,
    0.85 for Maxwell on 64^3 in chunks of one sample; the estimate is now at least the allocation, at most twice."""
    cfg = _config(shape, theory, kind, steps=8 * every, every=every)
    got, _ = _measured(cfg)
    est = resources.estimate_run_memory(cfg)
    assert 1.0 <= est["device"] / got <= 2.0, (est, got)
