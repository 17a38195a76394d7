"""Sums of single-precision arrays accumulated in float64: a jaxpr rewrite for a run's observer (session 42).

A float32 run's observables are sums over the lattice (the charge ``sum |psi|^2``, energies, moments). nnfield
compiles its runs with YNNPACK's reduction fusions off (:mod:`nnfield._xla`), and XLA:CPU's own emitter then splits
a sum into a few partial sums, each accumulated sequentially in float32: for ``N`` terms of one sign the relative
error grows like ``sqrt(N) eps`` (random rounding) up to ``N eps``. Measured on the float32 state itself (the
observer compared with the float64 observer of the same float32 numbers, ``scripts/float32_observables.py``): a
3D Dirac example's charge 1.6e-4 off on 24^3, a 3D Maxwell plaquette sum 2.4e-4 on 32^3.

:func:`sums_in_float64` re-evaluates a function's jaxpr with every ``reduce_sum`` of at least :data:`MIN_TERMS`
float32 (complex64) terms accumulated in float64 (complex128) from float32 partial sums of up to :data:`BLOCK`
neighbours (:func:`_wide_sum`), and every such ``dot_general`` accumulated in float64 (``preferred_element_type``);
each result is rounded back to its own dtype. The elementwise arithmetic stays in the run's precision. The rewrite
reaches into ``jit`` calls and custom-derivative calls (evaluated as their primal jaxpr: an observer is not
differentiated); sums inside control flow (``scan``, ``while``, ``cond``) and ``shard_map`` bodies are left as
written.

Why a rewrite and not float64 observables: evaluating the whole observer on the state widened to float64 was also
accurate, but XLA materializes the observer's shifted copies and reduction inputs, which in float64 are twice the
bytes: the Klein-Gordon observer on 96^3 took 17.4 ms against 3.4 ms in float32, and runs observing every 5 ticks
ran at 0.58-0.63x. Why only long sums (:data:`MIN_TERMS`): widening the sums over a spinor's 4 components and its
4x4 gamma products too made the 3D Dirac observer's per-site arrays float64 (13-17 ms against 4.3-4.7 ms on 48^3).
As kept (float32 blocks, :func:`_wide_sum`), runs observing every 20 ticks ran at 0.88x (Klein-Gordon 96^3) and
0.99-1.00x (3D Dirac, Maxwell-Dirac) of the float32 sums' rate, every 5 ticks at 0.74x and 0.95-0.98x
(``benchmarks/float32_observer.py``, ``docs/performance.md``); ``runner.SUMS_IN_FLOAT64 = False`` sums in float32.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend.core import Jaxpr, Literal  # (not ``jax.extend``'s attribute: nnfield._lazy_imports)

#: operand dtypes whose sums are widened (to float64 or complex128)
NARROW = frozenset({np.dtype(np.float32), np.dtype(np.complex64), np.dtype(np.float16), np.dtype(jnp.bfloat16)})
_CALLS = ("jit", "pjit", "closed_call", "core_call")
_CUSTOM = ("custom_jvp_call", "custom_vjp_call")


#: a sum of fewer terms (over a spinor's components, a gamma matrix's rows) is left in the run's precision: its
#: error is at most ``MIN_TERMS eps``, and widening it would make the per-site arrays after it float64
MIN_TERMS = 64
#: terms summed in float32 before the float64 accumulation (:func:`_wide_sum`): their sum errs by at most
#: ``(BLOCK - 1)`` units of float32 round-off (4e-7 relative), and the float64 partial sums are ``1/BLOCK`` of the
#: operand's elements
BLOCK = 8


def _terms(shape: tuple[int, ...], axes: Any) -> int:
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


def _wide(dtype: Any) -> Any:
    return jnp.promote_types(dtype, jnp.float64)


def _block(n: int) -> int:
    """The largest divisor of ``n`` from 2 to :data:`BLOCK` below ``n`` (1 if none: ``n`` a prime above ``BLOCK``)."""
    return next((b for b in range(min(BLOCK, n - 1), 1, -1) if n % b == 0), 1)


def _wide_sum(x: Any, params: dict[str, Any]) -> Any:
    """``reduce_sum(x, **params)`` accumulated in float64 from float32 partial sums of ``b`` neighbours along the
    contiguous axis, when it is summed over (``b`` from :func:`_block`, up to :data:`BLOCK`). XLA computes the partial
    sums in the loop that computes ``x``: the float64 arrays are ``1/b`` of ``x``'s size, but that loop is slower
    than the elementwise one it replaces (the Klein-Gordon ``discrete_energy`` on 96^3: 3.4-4.1 ms against 1.6-2.4
    ms; blocks of strided elements instead, ``x[..., j + i n / b]``, were no faster, and slower for 3D Dirac).
    Converting ``x`` itself to float64 made
    XLA:CPU store ``x`` in float64 before its tree reduction: a float32 1+1 Dirac run's temporaries grew by 1.5 states
    (``scripts/measure_memory.py --compare --precision float32``: the guard's estimate 0.81 of the allocation, 1.05 with
    the partial sums). The partial sums err by at most ``(BLOCK - 1) u sum |x|`` (``u`` float32's unit round-off):
    ``4e-7`` relative for a sum of one sign (a charge, an energy); a sum that cancels (a mean position, a momentum)
    has that absolute error, a few times the ``u sum |x|`` its float32 terms carry anyway."""
    last = x.ndim - 1
    block = _block(x.shape[last]) if last in params["axes"] else 1
    if block > 1:
        x = lax.reduce_sum(x.reshape(*x.shape[:-1], x.shape[last] // block, block), (x.ndim,))
    return lax.reduce_sum_p.bind(x.astype(_wide(x.dtype)), **params).astype(x.dtype)


def _eval(jaxpr: Jaxpr, consts: list[Any], args: list[Any]) -> list[Any]:
    """``jaxpr`` evaluated on ``args`` (as ``jax.core.eval_jaxpr``) with its sums widened (module docstring)."""
    env: dict[Any, Any] = {}

    def read(v: Any) -> Any:
        return v.val if isinstance(v, Literal) else env[v]

    env.update(zip(jaxpr.constvars, consts, strict=True))
    env.update(zip(jaxpr.invars, args, strict=True))
    for eqn in jaxpr.eqns:
        invals = [read(v) for v in eqn.invars]
        name = eqn.primitive.name
        with eqn.ctx.manager:
            if (name == "reduce_sum" and invals[0].dtype in NARROW
                    and _terms(invals[0].shape, eqn.params["axes"]) >= MIN_TERMS):
                outs = [_wide_sum(invals[0], eqn.params)]
            elif (name == "dot_general" and any(x.dtype in NARROW for x in invals)
                  and _terms(invals[0].shape, eqn.params["dimension_numbers"][0][0]) >= MIN_TERMS):
                dtype = eqn.outvars[0].aval.dtype
                params = dict(eqn.params, preferred_element_type=_wide(dtype))
                outs = [lax.dot_general_p.bind(*invals, **params).astype(dtype)]
            elif name in _CALLS and ("jaxpr" in eqn.params or "call_jaxpr" in eqn.params):
                inner = eqn.params.get("jaxpr", eqn.params.get("call_jaxpr"))
                outs = _eval(inner.jaxpr, list(inner.consts), invals) if hasattr(inner, "consts") \
                    else _eval(inner, [], invals)
            elif name in _CUSTOM and "call_jaxpr" in eqn.params:
                inner = eqn.params["call_jaxpr"]
                outs = _eval(inner.jaxpr, list(inner.consts), invals)
            else:
                outs = eqn.primitive.bind(*invals, **eqn.primitive.get_bind_params(eqn.params))
                if not eqn.primitive.multiple_results:
                    outs = [outs]
        env.update(zip(eqn.outvars, outs, strict=True))
    return [read(v) for v in jaxpr.outvars]


def sums_in_float64(fun: Callable[..., Any]) -> Callable[..., Any]:
    """``fun`` with every sum of a single-precision array accumulated in float64 (see the module docstring).

    ``fun`` takes and returns PyTrees of arrays. Without JAX's 64-bit mode (no float64 to accumulate in) ``fun``
    itself is returned. On float64 data the rewrite changes nothing (the same primitives are bound again).
    """

    def wrapped(*args: Any) -> Any:
        closed, shape = jax.make_jaxpr(fun, return_shape=True)(*args)
        outs = _eval(closed.jaxpr, list(closed.consts), jax.tree_util.tree_leaves(args))
        return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(shape), outs)

    return wrapped if jax.config.read("jax_enable_x64") else fun
