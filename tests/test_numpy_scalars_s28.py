"""NumPy float64 scalars as a builder's step or coupling keep a float32 state in float32.

JAX treats Python scalars as weakly typed (``dt * phi`` keeps ``phi``'s precision) but a NumPy ``float64`` scalar
as strongly typed: ``kg.model(lat, 1.0, np.float64(0.1))`` stepped a float32 state into float64 (found in session
28; parameters read from a NumPy array or computed with NumPy are float64 scalars). The networks' ``create`` take
concrete scalars as Python floats (``nnfield._checks.weak_scalar``). Only shapes and dtypes are traced.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pytest

from nnfield import runner
from nnfield._checks import weak_scalar
from nnfield.config import load_config
from nnfield.theories import dirac as dr
from nnfield.theories import gauge
from nnfield.theories import klein_gordon as kg
from nnfield.theories import maxwell as mx
from nnfield.theories import maxwell_dirac as md
from nnfield.theories import nonlinear as nl
from nnfield.theories import scalar_qed as sq

jax.config.update("jax_enable_x64", True)
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
f64 = np.float64


def _float32_state(name: str):
    model, state = runner.build(load_config(EXAMPLES / f"{name}.toml"))
    return model.lattice, jax.tree.map(lambda x: x.astype(np.float32), state)


CASES = {
    "kg_1d_packet": lambda lat: kg.model(lat, f64(1.0), f64(0.05)),
    "dirac_1p1": lambda lat: dr.model(lat, f64(1.0), f64(0.1), network="stable"),
    "phi4_1d": lambda lat: nl.model(lat, "lam/4*(phi**2 - 1)**2", f64(0.05), params={"lam": f64(1.0)}),
    "gauge_electric_1p1": lambda lat: gauge.model(lat, f64(1.0), f64(0.1)),
    "maxwell_plane_wave_2d": lambda lat: mx.model(lat, f64(0.1), charge=f64(1.0)),
    "maxwell_dirac_packets_1d": lambda lat: md.model(lat, f64(0.1), charge=f64(0.5), m=f64(1.0)),
    "scalar_qed_packets_1d": lambda lat: sq.model(lat, f64(0.1), charge=f64(0.5), lam=f64(0.0), v=f64(0.0),
                                                  m=f64(1.0)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_float32_state_steps_in_float32_with_numpy_parameters(name: str) -> None:
    lattice, state = _float32_state(name)
    model = CASES[name](lattice)
    out = jax.eval_shape(model.network.step, state)
    wider = {str(x.dtype) for x in jax.tree.leaves(out)} - {"float32"}
    assert not wider


def test_weak_scalar() -> None:
    assert type(weak_scalar(f64(0.1))) is float and weak_scalar(f64(0.1)) == 0.1
    assert type(weak_scalar(np.array(0.25))) is float
    assert type(weak_scalar(np.float32(0.5))) is float
    batch = np.array([0.1, 0.2])
    assert weak_scalar(batch) is batch  # a batch (e.g. masses to vmap over) is left as it is
    assert weak_scalar(0.1) == 0.1 and weak_scalar(None) is None and weak_scalar(True) is True
    assert jax.jit(lambda x: weak_scalar(x) * 2)(1.0) == 2.0  # a traced value passes through
