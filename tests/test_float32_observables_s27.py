"""A float32 run computes and records its observables in float32 (``docs/config.md``: ``precision`` is the precision
"of the fields, model parameters, observables").

Found in session 27: a float32 Maxwell-Dirac run recorded ``energy`` and ``position_<x>`` as float64 (``decode``
scaled by ``np.sqrt(2.0)``, a NumPy float64 scalar, which JAX does not treat as a weak type; the position weighted
by the lattice's float64 NumPy coordinates), and a float32 sine-Gordon kink ``energy`` and ``discrete_energy``
(the twisted boundary's float64 edge mask). Only the shapes and dtypes are traced (``jax.eval_shape``): nothing is
compiled.
"""

from __future__ import annotations

import re
from pathlib import Path

import jax
import numpy as np
import pytest

from nnfield import runner
from nnfield.config import parse_config

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.toml"))
QUICK = ("sine_gordon_kink", "maxwell_dirac_packets_1d")


def _float32(path: Path):
    text = re.sub(r'\nprecision = "float(32|64)"', "", path.read_text())
    return parse_config(text.replace("[output]", '[output]\nprecision = "float32"', 1), source=str(path))


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem, marks=() if p.stem in QUICK else pytest.mark.slow)
                                  for p in EXAMPLES])
def test_the_observables_of_a_float32_run_are_float32(path):
    model, state = runner.build(_float32(path))
    assert {np.dtype(x.dtype) for x in jax.tree.leaves(state)} == {np.dtype(np.float32)}
    obs = jax.eval_shape(model.observables, state)
    wider = {k: str(v.dtype) for k, v in obs.items() if v.dtype != np.float32}
    assert not wider, wider
