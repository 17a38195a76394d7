"""The neuron-type components of a field, ``f -> (f^1, ..., f^K)``, as one linear JAX primitive.

An operator reads the components ``f^b`` of a ``(K, *shape)`` field one by one. Written as ``K`` slices
``f[b]``, reverse-mode autodiff transposes each read into a ``pad`` of the cotangent back to ``(K, *shape)``
and sums the pads: XLA:CPU evaluates such a sum element by element with a branch per term and component, and
cannot rewrite it into the stack of per-component sums it is. As one primitive with ``K`` results, autodiff
first accumulates the cotangent of each component (sums of whole ``shape`` arrays) and then transposes the
primitive once: a stack. The learning gradient is still JAX autodiff of the loss; only the transpose of this
linear read is given, as JAX gives those of ``slice`` and ``pad`` (``docs/performance.md``).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend.core import Primitive
from jax.extend.mlir import ir
from jax.extend.mlir.dialects import stablehlo as hlo
from jax.interpreters import ad, batching, mlir

from ._shift import unpartitioned_program

_unstack_p = Primitive("unstack_components")
_unstack_p.multiple_results = True


def _unstack_impl(x: Any, *, axis: int) -> list[Any]:
    return [lax.index_in_dim(x, i, axis, keepdims=False) for i in range(x.shape[axis])]


def _unstack_abstract(x: Any, *, axis: int) -> list[Any]:
    shape = x.shape[:axis] + x.shape[axis + 1 :]
    return [jax.core.ShapedArray(shape, x.dtype, weak_type=getattr(x, "weak_type", False))] * x.shape[axis]


def _unstack_jvp(primals: Any, tangents: Any, *, axis: int) -> tuple[list[Any], list[Any]]:
    (x,), (t,) = primals, tangents
    out = _unstack_p.bind(x, axis=axis)
    if type(t) is ad.Zero:  # a zero tangent in, zero tangents out (of the components' shape)
        avals = _unstack_abstract(t.aval, axis=axis)
        return out, [ad.Zero(a) for a in avals]
    return out, _unstack_p.bind(t, axis=axis)


def _unstack_transpose(cts: Any, x: Any, *, axis: int) -> list[Any]:
    aval = x.aval
    shape = aval.shape[:axis] + aval.shape[axis + 1 :]
    parts = [jnp.zeros(shape, aval.dtype) if type(c) is ad.Zero else c for c in cts]
    return [jnp.stack(parts, axis=axis)]


def _unstack_batch(args: Any, dims: Any, *, axis: int) -> tuple[list[Any], list[int]]:
    (x,), (d,) = args, dims
    ax = axis + (d <= axis)  # the component axis of the batched array
    outs = _unstack_p.bind(x, axis=ax)
    return outs, [d if d < ax else d - 1] * len(outs)


_lower_traced = mlir.lower_fun(_unstack_impl, multiple_results=True)


def _unstack_lowering(ctx: Any, x: Any, *, axis: int) -> Any:
    """A one-device program gets :func:`_unstack_impl`'s operations (a slice and a reshape per component)
    emitted directly: ``mlir.lower_fun`` traces a jaxpr at every occurrence (about 1 ms). Other programs
    (partitioned over devices, whose operations may carry shardings) keep the traced lowering."""
    if not unpartitioned_program(ctx):
        return _lower_traced(ctx, x, axis=axis)
    aval = ctx.avals_in[0]
    shape = list(aval.shape)
    elem = mlir.dtype_to_ir_type(np.dtype(aval.dtype))
    part = ir.RankedTensorType.get(shape[:axis] + shape[axis + 1 :], elem)
    out = []
    for b in range(shape[axis]):
        start, limit = [0] * len(shape), list(shape)
        start[axis], limit[axis] = b, b + 1
        piece = hlo.slice(x, mlir.dense_int_array(start), mlir.dense_int_array(limit),
                          mlir.dense_int_array([1] * len(shape)))
        out.append(hlo.reshape(part, piece))
    return out


_unstack_p.def_impl(_unstack_impl)
_unstack_p.def_abstract_eval(_unstack_abstract)
mlir.register_lowering(_unstack_p, _unstack_lowering)
ad.primitive_jvps[_unstack_p] = _unstack_jvp
ad.primitive_transposes[_unstack_p] = _unstack_transpose
batching.primitive_batchers[_unstack_p] = _unstack_batch


def components(f: Any, axis: int = 0) -> list[Any]:
    """The slices ``f[b]`` along ``axis`` (the neuron-type axis) as a list, read by one linear primitive whose
    transpose is one stack (see the module docstring). NumPy in, NumPy views out."""
    if not isinstance(f, jax.Array | jax.core.Tracer):
        return [f[(slice(None),) * axis + (b,)] for b in range(f.shape[axis])]
    return list(_unstack_p.bind(f, axis=axis))
