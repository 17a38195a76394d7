"""The memory guard's estimate of building the initial data covers what the build holds (session 44).

Until session 44 the guard counted ``6 K sites 8`` bytes for the initial data while it is built; measured with
``tracemalloc`` (``scripts/measure_initial_memory.py``), 23 of 28 initial kinds hold more (a Dirac packet 6.5 times
that, its energy projector built on the whole FFT grid at once; now a block of planes at a time), and for a 3D
Dirac packet the build, not the run, was the peak of a run. The table ``resources.MEASURED_INITIAL`` holds each
kind's bytes; here the build is measured again on lattices and dimensions the table was not measured on, and the
estimate must cover it.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

from nnfield import resources
from nnfield.config import parse_config
from nnfield.theories import load_all
from nnfield.theories.registry import THEORIES

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import measure_initial_memory as mim  # noqa: E402


# lattices of about 2^17 sites, shapes the table was not measured on (the guard matters for large lattices; on small
# ones fixed costs, the FFT's plans and a block of the Dirac projector's planes, are most of a build:
# resources._initial_fixed)
@pytest.mark.parametrize(("theory", "kind", "shape"), [
    ("klein-gordon", "random_spectrum", [64, 48, 40]),
    ("dirac", "gaussian_packet", [360, 320]),
    # (slow: 2-3 s each, most of it building the gauge models; the quick cases cover a scalar, a spinor packet and
    # the whole table's completeness)
    pytest.param("maxwell-dirac", "charged_packets", [320, 300], marks=pytest.mark.slow),
    pytest.param("scalar-qed", "vortex_pair", [400, 300], marks=pytest.mark.slow),
    ("sine-gordon", "collision", [120000]),
])
def test_the_estimate_covers_the_build(theory, kind, shape) -> None:
    per = mim.measure(theory, kind, shape)
    assert per is not None
    est = resources.estimate_run_memory(parse_config(mim.config(theory, kind, shape)))
    sites = math.prod(shape)
    K = est["fields"] // (2 * sites * 8)  # (float64 fields: 2 K sites 8 bytes)
    assert est["initial"] >= per * K * sites, (est["initial"], per * K * sites)
    per_site = est["initial"] - resources._initial_fixed(K, sites)
    assert per_site <= 2.5 * per * K * sites  # (the largest over dimensions: not a blanket margin)


def test_every_initial_kind_has_a_measurement() -> None:
    load_all()
    missing = [(t, k) for t, spec in THEORIES.items() for k in spec.initial
               if k not in mim.SKIP and (t, k) not in resources.MEASURED_INITIAL]
    assert not missing, f"measure them: scripts/measure_initial_memory.py --theories ... ({missing})"


@pytest.mark.parametrize(("shape", "kind"), [((64,), "forward"), ((20, 18), "wilson"), ((9, 8, 6), "forward"),
                                             ((7, 6, 5), "wilson")])
def test_the_projector_built_block_by_block_is_the_whole_one_bit_for_bit(monkeypatch, shape, kind) -> None:
    import numpy as np

    from nnfield.lattice import Lattice
    from nnfield.theories.dirac import initial as dirac_initial
    from nnfield.theories.dirac.physics import Dirac

    modes = dirac_initial.DiracModes(Dirac(lattice=Lattice(shape, 0.5), m=0.7, kind=kind))
    rng = np.random.default_rng(1)
    psi = rng.normal(size=(modes.theory.K, *shape)) + 1j * rng.normal(size=(modes.theory.K, *shape))
    for sign in (1, -1):
        whole = modes.apply_symbol(modes.energy_projector(sign), psi)
        for block in (1 << 14, 7, 1):  # every plane at once, a few planes, one plane per block
            monkeypatch.setattr(dirac_initial, "PROJECT_BLOCK_SITES", block)
            got = modes.project(sign, psi)
            # the same numbers in the same memory order: the packet's norm, a sum over it, then rounds alike (the
            # first version returned a C-ordered array and changed an example's norm by an ulp)
            assert np.array_equal(got, whole) and got.strides == whole.strides, (sign, block)


@pytest.mark.parametrize("shape", [[40, 36], [130, 140]])  # one block; two blocks of planes
def test_a_packets_data_is_the_same_with_the_projector_by_blocks(monkeypatch, shape) -> None:
    import numpy as np

    from nnfield import runner
    from nnfield.theories.dirac import initial as dirac_initial

    cfg = parse_config(mim.config("dirac", "gaussian_packet", shape))
    model = runner._build_model(cfg)
    by_blocks = cfg.initial_fields(model)
    monkeypatch.delattr(dirac_initial.DiracModes, "project")  # the library's whole-symbol path
    whole = cfg.initial_fields(model)
    assert all(np.array_equal(a, b) for a, b in zip(by_blocks, whole, strict=True))


def test_the_guard_knows_the_projectors_block() -> None:
    from nnfield.theories.dirac import initial as dirac_initial

    assert resources._BLOCK_SITES == dirac_initial.PROJECT_BLOCK_SITES
