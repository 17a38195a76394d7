"""No program of a run holds a constant of the lattice's size (session 47; issue 10, item 4).

A NumPy array used inside a traced function becomes a constant of the compiled program. A sine-Gordon kink's
twist mask (a full array of the lattice's shape, in the network's loss and in the energies) and the Dirac family's
coordinate grids (``position_<mu>``, the gauged field's ``<k>``) were such constants: every process of a run split
over several held them whole, in the lowered program and several times over while XLA compiled it (a 3D kink of
128^3 peaked at about 740 MB in each of 2 processes' ``--dry-run``; 400 MB without them, ``benchmarks/RESULTS.md``).
Now they are broadcast from ``N_mu`` numbers (:meth:`nnfield.lattice.Lattice.coordinates` ``sparse=True``,
:func:`nnfield.theories.nonlinear.physics.edge`).

The check: every theory's step (the network's update, with its autodiff learning) and its step-0 observer (with the
spectra) are lowered as a run lowers them, and no constant in the StableHLO has as many elements as the lattice
has sites. On the 2D and 3D lattices here, the sites outnumber any constant a model needs (a Clifford table, an axis
of coordinates), so the bound is exact; a 1D lattice's coordinates are ``N`` numbers and are not checked.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import jax
import pytest

from nnfield import runner
from nnfield.config import parse_config

ROOT = Path(__file__).resolve().parent.parent

#: (example, its lattice line, a 2D or 3D lattice): one run of every theory; the walls on a 2D lattice (twisted)
RUNS = [
    ("kg_2d_plane_wave.toml", None, None),
    ("dirac_3p1.toml", None, None),
    ("gauge_magnetic_2p1.toml", None, None),
    ("maxwell_plane_wave_2d.toml", None, None),
    ("maxwell_dirac_packet_2d.toml", None, None),
    ("scalar_qed_vortex_2d.toml", None, None),
    ("sine_gordon_kink.toml", "shape = [800]", "shape = [80, 6]"),
    ("phi4_kink_collision.toml", "shape = [1024]", "shape = [320, 4]"),
]

_CONSTANT = re.compile(r"stablehlo\.constant .*: tensor<((?:\d+x)*)[a-z]\w*>")


def largest_constant(text: str) -> int:
    """The element count of the largest ``stablehlo.constant`` in a lowered program's text."""
    sizes = [math.prod(int(d) for d in m.group(1).split("x") if d) for m in _CONSTANT.finditer(text)]
    return max(sizes, default=0)


def test_the_constant_pattern_reads_a_lowered_program():
    """The pattern finds a NumPy array captured by a traced function (the failure this file guards against)."""
    import numpy as np

    grid = np.ones((5, 7))
    text = jax.jit(lambda x: x * grid).lower(np.zeros((5, 7))).as_text()
    assert largest_constant(text) == 35
    assert largest_constant(jax.jit(lambda x: 2.0 * x).lower(np.zeros((5, 7))).as_text()) == 1


@pytest.mark.parametrize(("example", "old", "new"), RUNS, ids=[r[0].removesuffix(".toml") for r in RUNS])
def test_no_program_of_a_run_holds_a_constant_of_the_lattice_size(example, old, new):
    text = (ROOT / "examples" / example).read_text()
    if old is not None:
        assert old in text
        text = text.replace(old, new, 1)
    cfg = parse_config(text, source=example)
    sites = math.prod(cfg.lattice.shape)
    assert len(cfg.lattice.shape) >= 2
    model, state = runner.build(cfg)
    spectra = runner.spectra_for(cfg, model, state) or runner.Spectra.of(
        cfg.make_lattice(), model.dispersion(cfg.make_lattice().momenta()))
    programs = {"step": jax.jit(lambda m, s: m.network.step(s)).lower(model, state)}
    for name, spec in (("observer", None), ("observer with spectra", spectra)):
        observer = runner.observer_for(model, state, spec)
        programs[name] = (jax.jit(runner._observe_partial_impl).lower(observer, state)
                          if isinstance(observer, jax.tree_util.Partial) else jax.jit(observer).lower(state))
    sizes = {name: largest_constant(p.as_text()) for name, p in programs.items()}
    assert all(n < sites for n in sizes.values()), f"{sites} sites; largest constants {sizes}"
