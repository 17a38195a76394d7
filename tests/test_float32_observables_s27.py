"""A float32 run computes and records its observables in float32 (``docs/config.md``: ``precision`` is the precision
"of the fields, model parameters, observables").

Found in session 27: a float32 Maxwell-Dirac run recorded ``energy`` and ``position_<x>`` as float64 (``decode``
scaled by ``np.sqrt(2.0)``, a NumPy float64 scalar, which JAX does not treat as a weak type; the position weighted
by the lattice's float64 NumPy coordinates), and a float32 sine-Gordon kink ``energy`` and ``discrete_energy``
(the twisted boundary's float64 edge mask). The same mask made the float32 sine-Gordon network's learning step
compute its field-sized gradient terms in float64. Only shapes and dtypes are traced (``jax.eval_shape``,
``jax.make_jaxpr``): nothing is compiled.
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


def _wide_values(fn, *args, sites: int) -> list[str]:
    """The float64 or complex128 values of at least ``sites`` elements that ``fn(*args)`` computes (its jaxpr,
    nested jaxprs included): a float32 run computing a field in double precision."""
    found: list[str] = []

    def walk(jaxpr) -> None:
        for eqn in jaxpr.eqns:
            for v in eqn.outvars:
                aval = v.aval
                if getattr(aval, "dtype", None) in (np.float64, np.complex128) and np.prod(aval.shape) >= sites:
                    found.append(f"{eqn.primitive} {aval.dtype}{list(aval.shape)}")
            for p in eqn.params.values():
                for sub in p if isinstance(p, (tuple, list)) else (p,):
                    inner = getattr(sub, "jaxpr", sub)
                    if hasattr(inner, "eqns"):
                        walk(inner)

    walk(jax.make_jaxpr(fn)(*args).jaxpr)
    return found


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem, marks=() if p.stem in QUICK else pytest.mark.slow)
                                  for p in EXAMPLES])
def test_a_float32_network_steps_and_observes_in_float32(path):
    model, state = runner.build(_float32(path))
    sites = int(np.prod(model.lattice.shape))
    assert _wide_values(model.network.step, state, sites=sites) == []
    assert _wide_values(model.observables, state, sites=sites) == []
