"""The one-device lowerings emitted directly (session 39: the periodic shift, the component read) are the traced ones.

``_shift_lowering_cpu`` used ``mlir.lower_fun`` everywhere, which traces ``_shift_lowered_cpu`` to a jaxpr at each
occurrence of the primitive (about 1 ms each). One-device programs now get the same StableHLO operations emitted
directly (``_emit_cpu``). Checked here: the values (a permutation: bit for bit ``np.roll``), and the module's
operations, which must be the traced lowering's one for one, except that ``jnp.where`` lowers to a call of a
private ``_where`` function holding the ``select`` that the direct form has inline.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

from nnfield.operators._shift import _shift_lowered_cpu, _shift_p

CASES = [  # shape, offsets, axes, minor
    ((7,), (1,), (0,), "pad"),
    ((7,), (-3,), (0,), "repeat"),
    ((7,), (7,), (0,), "pad"),  # a whole period: no operation
    ((4, 6), (1,), (1,), "pad"),
    ((4, 6), (-1,), (0,), "pad"),
    ((4, 6), (2, -1), (0, 1), "repeat"),
    ((3, 5, 4), (1, 3), (0, 2), "pad"),
    ((3, 5, 4), (-2,), (1,), "pad"),
    ((2, 3, 5, 4), (1, -1, 2), (1, 2, 3), "pad"),  # (K, ...) fields: the component axis never shifted
]
DTYPES = [np.float64, np.float32, np.complex128, np.int32, np.bool_, ml_dtypes.bfloat16]


def _shifted(x: jax.Array, offsets: tuple[int, ...], axes: tuple[int, ...], minor: str) -> jax.Array:
    return _shift_p.bind(x, offsets=offsets, axes=axes, minor=minor)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_emitted_shift_is_np_roll_bit_for_bit(case, dtype) -> None:
    shape, offsets, axes, minor = case
    x = np.random.default_rng(7).normal(size=shape) * 3
    x = (x > 0) if dtype is np.bool_ else x.astype(dtype)
    got = jax.jit(_shifted, static_argnums=(1, 2, 3))(jnp.asarray(x), offsets, axes, minor)
    want = x
    for o, ax in zip(offsets, axes, strict=True):
        want = np.roll(want, -o, axis=ax)
    assert got.dtype == want.dtype
    assert np.array_equal(np.asarray(got).view(np.uint8), np.ascontiguousarray(want).view(np.uint8))


def _ops(text: str) -> list[str]:
    """The module's StableHLO operations in order, the body of a ``call @_where`` put in its place."""
    bodies = dict(re.findall(r"func\.func private @(\w+)\(.*?\{\n(.*?)\n  \}", text, flags=re.S))
    main = text.split("func.func public @main")[1].split("\n  }")[0]
    out = []
    for line in main.splitlines():
        call = re.search(r"= call @(\w+)\(", line)
        if call:
            out += re.findall(r"= (stablehlo\.\w+)", bodies[call.group(1)])
        else:
            out += re.findall(r"= (stablehlo\.\w+)", line)
    return out


def _attrs(text: str) -> list[str]:
    """The operations' static attributes (slice bounds, paddings, iota dimensions, constants), in order."""
    return re.findall(r"(\[\d+:\d+(?:, \d+:\d+)*\]|low = \[[\d, ]+\], high = \[[\d, ]+\]|dim = \d+|dense<[^>]+>|"
                      r"dims = \[[\d, ]*\])", text)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_emitted_module_is_the_traced_lowerings(case) -> None:
    shape, offsets, axes, minor = case
    x = jnp.zeros(shape, jnp.float64)
    direct = jax.jit(_shifted, static_argnums=(1, 2, 3)).lower(x, offsets, axes, minor).as_text()
    traced = jax.jit(lambda y: _shift_lowered_cpu(y, offsets=offsets, axes=axes, minor=minor)).lower(x).as_text()
    assert "call @" not in direct
    assert _ops(direct) == _ops(traced)
    assert _attrs(direct) == _attrs(traced)


@pytest.mark.parametrize("shape_axis", [((3, 5), 0), ((2, 3, 4), 1), ((4, 2, 3), 2), ((1, 6), 0)], ids=str)
def test_the_emitted_component_read_is_the_traced_lowerings(shape_axis) -> None:
    """The same for the neuron-type components' primitive (``operators._components``): values and operations."""
    from nnfield.operators._components import _unstack_impl, _unstack_p

    shape, axis = shape_axis
    x = np.random.default_rng(3).normal(size=shape)
    f = jax.jit(lambda y: _unstack_p.bind(y, axis=axis))
    got = f(jnp.asarray(x))
    assert len(got) == shape[axis]
    for b, part in enumerate(got):
        assert np.array_equal(np.asarray(part), np.take(x, b, axis=axis))
    direct = f.lower(jnp.asarray(x)).as_text()
    traced = jax.jit(lambda y: _unstack_impl(y, axis=axis)).lower(jnp.asarray(x)).as_text()
    assert _ops(direct) == _ops(traced)
    assert _attrs(direct) == _attrs(traced)
