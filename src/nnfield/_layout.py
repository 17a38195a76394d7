"""The physical layout of a multi-component field inside a compiled loop: site-major on one CPU device.

A field of ``K`` components on a ``D``-dimensional lattice is a ``(K, N_1, ..., N_D)`` array, stored row-major:
component by component. XLA:CPU splits each loop over threads along the outermost *physical* axis of its output
(``outer_dimension_partitions``), which is then the component axis: with two threads and ``K = 4``, each thread
writes two components of the whole lattice and reads every input component a stencil couples to them over the
whole lattice, so the loop streams up to ``K / (threads per component)`` times the inputs a site-by-site sweep
reads. :func:`site_major` asks XLA to store such arrays with the first lattice axis outermost and the component
axis next, ``(N_1, K, N_2, ..., N_D)`` in memory, while the array keeps its logical shape ``(K, N_1, ...)``:
every operator, loss and observer is unchanged, each thread then sweeps its own slab of planes for every
component, and the contiguous axis (the last lattice axis, the one loops vectorize along) stays the same.

Measured on the 3+1 Dirac tick (``benchmarks/dirac_layouts.py``): the same program, 1.5-1.7x faster at 64^3 and
1.1-1.2x at 128^3 (``docs/performance.md``). The values are the row-major program's up to round-off: LLVM may
contract multiply-adds differently in the re-laid-out loop (bit for bit at 16^3 over 37 ticks, 3e-14 apart after
11574 ticks at 12^3).

It is one identity primitive, ``site_major``, linear (its transpose is itself, so reverse-mode autodiff through a
run keeps the layout) and batched with the batch axis outermost. Its CPU lowering is XLA's ``LayoutConstraint``
(:func:`jax.experimental.layout.with_layout_constraint`'s) only in a program for one device, or inside a
``shard_map`` manual over every axis of its mesh (each device's own program: the explicit halo exchange); a
program the SPMD partitioner splits over several devices, and every other platform (not measured: no GPU was
available), lower it to nothing. ``NNFIELD_SITE_MAJOR=0`` in the environment turns it off (read when a program is
traced; for comparisons).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax.extend.core import Primitive
from jax.interpreters import ad, batching, mlir

from .operators._shift import one_device_program

site_major_p = Primitive("site_major")

#: set to 0 to keep every array row-major (the layout before session 31; for comparisons and debugging)
ENV = "NNFIELD_SITE_MAJOR"


def enabled() -> bool:
    """Whether :func:`site_major` lays anything out (``NNFIELD_SITE_MAJOR``, read when a program is traced)."""
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def _site_major_lowering_cpu(ctx: Any, x: Any, *, perm: tuple[int, ...]) -> Any:
    if not one_device_program(ctx):
        return [x]
    from jax.experimental.layout import Layout, with_layout_constraint

    constrain = mlir.lower_fun(lambda y: with_layout_constraint(y, Layout(perm)), multiple_results=False)
    return constrain(ctx, x)


def _site_major_batch(args: Sequence[Any], dims: Sequence[Any], *, perm: tuple[int, ...]) -> tuple[Any, Any]:
    (x,), (d,) = args, dims
    # the batch axis outermost (each thread sweeps its own members), the rest as before
    batched = (d, *(p + (p >= d) for p in perm))
    return site_major_p.bind(x, perm=batched), d


site_major_p.def_impl(lambda x, *, perm: x)  # eagerly: the array as it is (a layout is a compiled program's choice)
site_major_p.def_abstract_eval(lambda x, *, perm: x)
mlir.register_lowering(site_major_p, lambda ctx, x, *, perm: [x])
mlir.register_lowering(site_major_p, _site_major_lowering_cpu, platform="cpu")
ad.deflinear2(site_major_p, lambda ct, x, *, perm: [site_major_p.bind(ct, perm=perm)])
batching.primitive_batchers[site_major_p] = _site_major_batch


def site_major_perm(shape: Sequence[int], lattice_shape: Sequence[int]) -> tuple[int, ...] | None:
    """The physical axis order (major to minor) for an array of ``shape`` on ``lattice_shape``, or ``None``.

    ``(K..., N_1, ..., N_D)`` -> ``(N_1, K..., N_2, ..., N_D)`` where the trailing axes are the lattice's, there are
    at least two of them (on a 1D lattice the component axis would become the contiguous one) and more than one
    component leads them; ``None`` where the row-major layout stays (one component, a 1D lattice, another shape).
    """
    shape, lat = tuple(shape), tuple(lattice_shape)
    nd, lead = len(lat), len(shape) - len(lat)
    if nd < 2 or lead < 1 or shape[lead:] != lat or int(np.prod(shape[:lead])) <= 1:
        return None
    return (lead, *range(lead), *range(lead + 1, len(shape)))


def _leaf_perm(x: Any, lattice_shape: Sequence[int]) -> tuple[int, ...] | None:
    """:func:`site_major_perm` of a floating array leaf; ``None`` for anything else (integers, Python numbers)."""
    if not isinstance(x, jax.Array) or not jax.numpy.issubdtype(x.dtype, jax.numpy.inexact):
        return None
    return site_major_perm(x.shape, lattice_shape)


def site_major_applies(tree: Any, lattice_shape: Sequence[int]) -> bool:
    """Whether :func:`site_major` changes where XLA stores some array of ``tree`` in a program compiled now: the
    default backend a CPU with one device (a sharded program lowers it to nothing) and an array it lays out."""
    if not enabled() or jax.default_backend() != "cpu" or jax.device_count() != 1:
        return False
    return any(_leaf_perm(x, lattice_shape) is not None for x in jax.tree_util.tree_leaves(tree))


class SiteMajor:
    """``layout(tree)``: :func:`site_major` on ``lattice_shape`` as the ``layout`` of
    :func:`nnfield.schemes.tick_loop`; ``layout.applies(tree)``: :func:`site_major_applies`."""

    def __init__(self, lattice_shape: Sequence[int]) -> None:
        self.lattice_shape = tuple(int(n) for n in lattice_shape)

    def __call__(self, tree: Any) -> Any:
        return site_major(tree, self.lattice_shape)

    def applies(self, tree: Any) -> bool:
        return site_major_applies(tree, self.lattice_shape)


def site_major(tree: Any, lattice_shape: Sequence[int]) -> Any:
    """Each floating array of ``tree`` shaped ``(K..., *lattice_shape)`` kept site-major inside the compiled
    program (:func:`site_major_perm`; the module docstring). The same values: only where XLA stores them."""

    if not enabled():
        return tree

    def one(x: Any) -> Any:
        perm = _leaf_perm(x, lattice_shape)
        return x if perm is None else site_major_p.bind(x, perm=perm)

    return jax.tree_util.tree_map(one, tree)
