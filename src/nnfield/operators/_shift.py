"""The periodic shift ``(T_s f)_i = f_{i+s}`` as one linear JAX primitive, with its fusible lowerings.

Lowered to slice + pad + select (or, on a single CPU device, a slice of the field repeated twice for
non-minor axes); XLA fuses either into its consumers, which ``jnp.roll`` (a concatenate) does not on CPU.
A program XLA's SPMD partitioner splits over devices gets the concatenate instead, which it turns into one
exchange of the boundary rows (:func:`_shift_lowered_split`, ``docs/scaling.md``). Its transpose is the inverse
shift, so reverse-mode autodiff stays one fused shift. See ``docs/performance.md``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend.core import Primitive
from jax.extend.mlir import ir
from jax.extend.mlir.dialects import stablehlo as hlo
from jax.interpreters import ad, batching, mlir


# ----------------------------------------------------------------------------------------------------------
# periodic shifts
# ----------------------------------------------------------------------------------------------------------
def _take_axis(x: jax.Array, offset: int, axis: int) -> jax.Array:
    """``y[..., i, ...] = x[..., (i + offset) mod N, ...]`` along ``axis`` (fusible: slice, pad, select)."""
    n = x.shape[axis]
    o = offset % n
    if o == 0:
        return x
    head = lax.slice_in_dim(x, o, n, axis=axis)  # goes to y[0 : n - o]
    tail = lax.slice_in_dim(x, 0, o, axis=axis)  # goes to y[n - o : n]
    zero = jnp.zeros((), x.dtype)
    cfg_head = [(0, 0, 0)] * x.ndim
    cfg_tail = [(0, 0, 0)] * x.ndim
    cfg_head[axis] = (0, o, 0)
    cfg_tail[axis] = (n - o, 0, 0)
    a = lax.pad(head, zero, cfg_head)
    b = lax.pad(tail, zero, cfg_tail)
    iota = lax.broadcasted_iota(jnp.int32, x.shape, axis)
    return jnp.where(iota < n - o, a, b)


def _take_outer_axis(x: jax.Array, offset: int, axis: int) -> jax.Array:
    """Like :func:`_take_axis` for a non-minor ``axis``: a slice of ``x`` repeated twice along ``axis``."""
    n = x.shape[axis]
    o = offset % n
    if o == 0:
        return x
    twice = x.shape[:axis] + (2,) + x.shape[axis:]
    x2 = lax.broadcast_in_dim(x, twice, tuple(d for d in range(x.ndim + 1) if d != axis))
    x2 = lax.reshape(x2, x.shape[:axis] + (2 * n,) + x.shape[axis + 1 :])
    return lax.slice_in_dim(x2, o, o + n, axis=axis)


def _shift_lowered(x: jax.Array, *, offsets: tuple[int, ...], axes: tuple[int, ...], minor: str = "pad"
                   ) -> jax.Array:
    for o, ax in zip(offsets, axes, strict=True):
        x = _take_axis(x, o, ax)
    return x


def _shift_lowered_split(x: jax.Array, *, offsets: tuple[int, ...], axes: tuple[int, ...], minor: str = "pad"
                         ) -> jax.Array:
    """The lowering for a program XLA's SPMD partitioner splits: the two slices concatenated (``jnp.roll``), which
    the partitioner turns into one exchange of the boundary rows (``collective-permute``) per shift of the split
    axis. In the pad/select form the wrapped rows were first summed over the devices (an ``all-reduce`` per shift)
    and then padded to the *whole* lattice on every device, a buffer XLA kept in some programs: a float32 2D
    Maxwell-Dirac chunk on 4 devices held 10.1 MB per device against 4.4 MB this way (session 43,
    ``docs/scaling.md``)."""
    for o, ax in zip(offsets, axes, strict=True):
        n = x.shape[ax]
        o %= n
        if o:
            x = lax.concatenate([lax.slice_in_dim(x, o, n, axis=ax), lax.slice_in_dim(x, 0, o, axis=ax)], ax)
    return x


def _shift_lowered_cpu(x: jax.Array, *, offsets: tuple[int, ...], axes: tuple[int, ...], minor: str = "pad"
                       ) -> jax.Array:
    for o, ax in zip(offsets, axes, strict=True):
        outer = ax < x.ndim - 1 or minor == "repeat"
        x = _take_outer_axis(x, o, ax) if outer else _take_axis(x, o, ax)
    return x


_lower_generic = mlir.lower_fun(_shift_lowered, multiple_results=False)
_lower_cpu = mlir.lower_fun(_shift_lowered_cpu, multiple_results=False)
_lower_split = mlir.lower_fun(_shift_lowered_split, multiple_results=False)

#: how a program the SPMD partitioner splits lowers a shift: ``"roll"`` (:func:`_shift_lowered_split`, since
#: session 43) or ``"pad"`` (slice/pad/select, as before; ``NNFIELD_SPLIT_SHIFT=pad`` in the environment, read
#: at import, for comparisons)
SPLIT_SHIFT = os.environ.get("NNFIELD_SPLIT_SHIFT", "roll")


def _emit_cpu(ctx: Any, x: Any, *, offsets: tuple[int, ...], axes: tuple[int, ...], minor: str = "pad"
              ) -> list[Any]:
    """The operations :func:`_shift_lowered_cpu` lowers to, emitted directly (StableHLO, in the same order).

    ``mlir.lower_fun`` traces the function to a jaxpr at every occurrence of the primitive, about 1 ms each
    (a 3D program has dozens of shifts; ``nnfield verify`` lowers ~430 of them); emitting the five to seven
    operations takes about a tenth of that. The module is the traced one's, except that ``jnp.where``'s
    ``select`` is inline instead of a call to a private ``_where`` function (which XLA inlines first). Used
    for one-device programs, whose operations carry no sharding (``tests/test_shift_emit_s39.py``)."""
    aval = ctx.avals_in[0]
    shape, dtype = list(aval.shape), np.dtype(aval.dtype)
    elem, i32 = mlir.dtype_to_ir_type(dtype), mlir.dtype_to_ir_type(np.dtype(np.int32))
    arr, nd = mlir.dense_int_array, len(shape)
    zeros, ones = [0] * nd, arr([1] * nd)
    for o, ax in zip(offsets, axes, strict=True):
        n = shape[ax]
        o %= n
        if o == 0:
            continue
        if ax < nd - 1 or minor == "repeat":  # _take_outer_axis: a slice of x repeated twice along ax
            twice = hlo.broadcast_in_dim(ir.RankedTensorType.get(shape[:ax] + [2] + shape[ax:], elem), x,
                                         arr([d for d in range(nd + 1) if d != ax]))
            twice = hlo.reshape(ir.RankedTensorType.get(shape[:ax] + [2 * n] + shape[ax + 1 :], elem), twice)
            start, limit = list(zeros), list(shape)
            start[ax], limit[ax] = o, o + n
            x = hlo.slice(twice, arr(start), arr(limit), ones)
            continue
        # _take_axis: head and tail padded into place, chosen by an iota
        start, limit = list(zeros), list(shape)
        start[ax] = o
        head = hlo.slice(x, arr(start), arr(limit), ones)
        limit = list(shape)
        limit[ax] = o
        tail = hlo.slice(x, arr(zeros), arr(limit), ones)
        high, low = list(zeros), list(zeros)
        high[ax], low[ax] = o, n - o
        a = hlo.pad(head, mlir.ir_constant(np.zeros((), dtype)), arr(zeros), arr(high), arr(zeros))
        b = hlo.pad(tail, mlir.ir_constant(np.zeros((), dtype)), arr(low), arr(zeros), arr(zeros))
        index = ir.RankedTensorType.get(shape, i32)
        iota = hlo.iota(index, mlir.i64_attr(ax))
        bound = hlo.broadcast_in_dim(index, mlir.ir_constant(np.int32(n - o)), arr([]))
        below = hlo.compare(iota, bound, hlo.ComparisonDirectionAttr.get("LT"),
                            compare_type=hlo.ComparisonTypeAttr.get("SIGNED"))
        x = hlo.select(below, a, b)
    return [x]


def _shift_lowering_cpu(ctx: Any, x: Any, *, offsets: tuple[int, ...], axes: tuple[int, ...], minor: str = "pad"
                        ) -> Any:
    # XLA:CPU evaluates each pad in a loop fusion with a branch per element; a non-minor axis is shifted
    # faster as a slice of the field repeated twice (branch-free, vectorizes). That form makes the SPMD
    # partitioner all-gather a sharded axis, so programs partitioned over several devices concatenate the two
    # slices (which it turns into halo exchanges; :func:`_shift_lowered_split`). Inside a ``shard_map`` over
    # every axis of its mesh (the explicit halo exchange, nnfield.halo) each device's program is its own: no
    # partitioner, so the fast form again (traced there, as its operations may carry the mesh's manual axes).
    if unpartitioned_program(ctx):
        return _emit_cpu(ctx, x, offsets=offsets, axes=axes, minor=minor)
    return (_lower_cpu if one_device_program(ctx) else _partitioned_lowering())(ctx, x, offsets=offsets, axes=axes,
                                                                                 minor=minor)


def _partitioned_lowering() -> Any:
    return _lower_split if SPLIT_SHIFT == "roll" else _lower_generic


def _shift_lowering(ctx: Any, x: Any, *, offsets: tuple[int, ...], axes: tuple[int, ...], minor: str = "pad"
                    ) -> Any:
    """Every other platform: slice/pad/select, or, in a program the SPMD partitioner splits, the two slices
    concatenated (:func:`_shift_lowered_split`)."""
    lower = _lower_generic if one_device_program(ctx) else _partitioned_lowering()
    return lower(ctx, x, offsets=offsets, axes=axes, minor=minor)


def unpartitioned_program(ctx: Any) -> bool:
    """Whether the program being lowered is for one device (no partitioner, no ``shard_map`` axes): its
    operations carry no sharding, so a lowering may emit them directly (:func:`_emit_cpu`)."""
    return getattr(getattr(ctx.module_context, "axis_context", None), "num_devices", 0) == 1


def one_device_program(ctx: Any) -> bool:
    """Whether the program being lowered is one device's own: a one-device program, or the body of a
    ``shard_map`` manual over every axis of its mesh (no SPMD partitioner will split it). The lowerings that the
    partitioner would undo (a repeated-slice shift, a layout constraint) check it."""
    if unpartitioned_program(ctx):
        return True
    context = getattr(ctx.module_context, "axis_context", None)
    mesh, manual = getattr(context, "mesh", None), getattr(context, "manual_axes", frozenset())
    return mesh is not None and bool(manual) and set(manual) == set(mesh.axis_names)


def _shift_transpose(ct: Any, x: Any, *, offsets: tuple[int, ...], axes: tuple[int, ...], minor: str = "pad"
                     ) -> list[Any]:
    # T_s is a permutation, so its transpose is its inverse T_{-s}: again one fused shift.
    back = tuple((-o) % ct.shape[ax] for o, ax in zip(offsets, axes, strict=True))
    return [_shift_p.bind(ct, offsets=back, axes=axes, minor=minor)]


def _shift_batch(args: Sequence[Any], dims: Sequence[Any], *, offsets: tuple[int, ...], axes: tuple[int, ...],
                 minor: str = "pad"):
    (x,), (d,) = args, dims
    return _shift_p.bind(x, offsets=offsets, axes=tuple(a + (d <= a) for a in axes), minor=minor), d


# The periodic shift is one linear primitive (lowered to slice/pad/select) rather than a composition of those
# primitives, so that reverse-mode autodiff transposes it into the inverse shift: autodiff of slice/pad/select
# yields nested pad(slice(select(...))) expressions that XLA:CPU fuses but evaluates 2-3x slower.
_shift_p = Primitive("periodic_shift")


@jax.jit
def _shift_eager(x: jax.Array, offsets: jax.Array) -> jax.Array:
    # Outside ``jit`` the shift runs as one compiled program, not as 4-5 eagerly dispatched slice/pad/iota/select
    # ops that XLA would each compile once per shape; the offsets of every axis (zero for the axes not shifted)
    # are an argument (``jnp.roll`` by a traced amount, a dynamic slice), so it compiles once per shape and
    # dtype, not once per offset and set of axes as well. A permutation either way: the values of the
    # primitive's lowering, bit for bit. (The fused lowering is what ``jit``-compiled code gets.)
    for ax in range(x.ndim):
        x = jnp.roll(x, -offsets[ax], axis=ax)
    return x


def _shift_impl(x: jax.Array, **params: Any) -> jax.Array:
    if jax.config.jax_disable_jit:  # op by op, as asked (and the jitted form would bind back into this impl)
        return _shift_lowered(x, **params)
    full = np.zeros(x.ndim, np.int32)
    full[list(params["axes"])] = params["offsets"]
    return _shift_eager(x, full)


_shift_p.def_impl(_shift_impl)
_shift_p.def_abstract_eval(lambda x, *, offsets, axes, minor="pad": x)
mlir.register_lowering(_shift_p, _shift_lowering)
mlir.register_lowering(_shift_p, _shift_lowering_cpu, platform="cpu")
ad.deflinear2(_shift_p, _shift_transpose)
batching.primitive_batchers[_shift_p] = _shift_batch


def integer_offsets(s: Sequence[Any], name: str = "s") -> tuple[int, ...]:
    """The lattice offsets ``s`` as Python ints; a ``ValueError`` naming ``name`` if one is not a whole number.

    ``int`` alone truncated a fractional offset in silence (a shift by 0.5 sites was no shift at all)."""
    try:
        vals = tuple(s)
    except TypeError:
        raise ValueError(f"{name}: expected a sequence of whole lattice offsets, got {s!r}") from None
    for v in vals:
        whole = (not isinstance(v, bool | np.bool_) and isinstance(v, int | np.integer | float | np.floating)
                 and np.isfinite(v) and float(v).is_integer())
        if not whole:
            raise ValueError(f"{name}: expected whole lattice offsets (a shift moves by whole sites), got {list(vals)}")
    return tuple(int(v) for v in vals)


#: the lowerings of a contiguous-axis shift (see :func:`shift`)
MINOR_LOWERINGS = ("pad", "repeat")


def shift(f: jax.Array, s: Sequence[int], axis0: int = 0, minor: str = "pad") -> jax.Array:
    """Periodic shift ``(T_s f)_i = f_{i+s}`` over the trailing ``len(s)`` axes starting at ``axis0``.

    Equivalent to ``jnp.roll(f, [-s_mu], axes)`` but one ``periodic_shift`` primitive that XLA fuses into its
    consumers (lowered to slice/pad/select; on one CPU device a non-minor axis is a slice of the field
    repeated twice). A concrete numpy array (e.g. per-site coefficients while an operator is built) is
    shifted with ``np.roll`` and stays numpy. Under autodiff the shift is linear with transpose ``T_{-s}``;
    under ``vmap`` it shifts the same axes.

    ``minor`` chooses the CPU lowering of a shift along the last (contiguous) axis: ``"pad"`` (slice/pad/select,
    the default) or ``"repeat"`` (a slice of the field repeated twice, like the other axes). The same shift; XLA may
    fuse the surrounding program differently (results then differ at round-off), and which is faster depends on
    the program (``LatticeOperator.minor``, ``docs/performance.md``).
    """
    if minor not in MINOR_LOWERINGS:
        raise ValueError(f"minor={minor!r}: expected one of {MINOR_LOWERINGS}")
    s = integer_offsets(s)
    if isinstance(f, np.ndarray):
        return np.roll(f, [-v for v in s], tuple(range(axis0, axis0 + len(s))))
    f = jnp.asarray(f)
    offsets, axes = [], []
    for mu, s_mu in enumerate(s):
        ax = axis0 + mu
        o = s_mu % f.shape[ax]
        if o:
            offsets.append(o)
            axes.append(ax)
    if not offsets:
        return f
    return _shift_p.bind(f, offsets=tuple(offsets), axes=tuple(axes), minor=minor)
