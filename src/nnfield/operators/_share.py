"""``share_shifts``: evaluate a function with each distinct periodic shift of an array computed once.

A jaxpr interpreter used by the learning gradient (autodiff of a quadratic loss reads the same shifted
fields in its forward and backward passes; XLA does not see that they are equal).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
from jax import lax
from jax.extend.core import Literal

from ._shift import _shift_p


def _bind_eqn(eqn: Any, invals: Sequence[Any]) -> Any:
    params = eqn.primitive.get_bind_params(eqn.params)
    subfuns, params = params if isinstance(params, tuple) else ((), params)  # jax < 0.7 returns (subfuns, params)
    ctx = getattr(getattr(eqn, "ctx", None), "manager", None)
    if ctx is None:
        return eqn.primitive.bind(*subfuns, *invals, **params)
    with ctx:
        return eqn.primitive.bind(*subfuns, *invals, **params)


def _eval_sharing_shifts(jaxpr: Any, consts: Sequence[Any], args: Sequence[Any]) -> list[Any]:
    """Evaluate ``jaxpr`` like ``jax.core.eval_jaxpr``, computing each distinct shift of an array once.

    A shift of a uniform rescaling, ``T_s (c x)`` with ``c`` a scalar (or a broadcast scalar), is evaluated
    as ``c (T_s x)`` with the same multiplications in the same order: exact, since ``T_s`` only permutes
    sites. Identical shifts of the same array then share one value.
    """
    env: dict[Any, Any] = {}
    uniform: set[Any] = set()  # vars whose value is the same at every site
    chain: dict[Any, tuple[Any, tuple[tuple[Any, int], ...]]] = {}  # var -> (x, scalings applied to x)
    done: dict[tuple[Any, Any, Any], Any] = {}

    def read(v: Any) -> Any:
        return v.val if isinstance(v, Literal) else env[v]

    def is_uniform(v: Any) -> bool:
        return isinstance(v, Literal) or getattr(v.aval, "shape", None) == () or v in uniform

    env.update(zip(jaxpr.constvars, consts, strict=True))
    env.update(zip(jaxpr.invars, args, strict=True))
    for eqn in jaxpr.eqns:
        prim = eqn.primitive
        if prim is _shift_p and not isinstance(eqn.invars[0], Literal):
            base, scalings = chain.get(eqn.invars[0], (eqn.invars[0], ()))
            key = (base, eqn.params["offsets"], eqn.params["axes"], eqn.params.get("minor", "pad"))
            if key not in done:
                done[key] = _bind_eqn(eqn, [read(base)])
            val = done[key]
            for scale_eqn, pos in scalings:
                invals = [read(v) for v in scale_eqn.invars]
                invals[pos] = val
                val = _bind_eqn(scale_eqn, invals)
            env[eqn.outvars[0]] = val
            continue
        ans = _bind_eqn(eqn, [read(v) for v in eqn.invars])
        if prim.multiple_results:
            env.update(zip(eqn.outvars, ans, strict=True))
            continue
        out = eqn.outvars[0]
        env[out] = ans
        if prim is lax.broadcast_in_dim_p and is_uniform(eqn.invars[0]):
            uniform.add(out)
        elif prim in (lax.mul_p, lax.neg_p):
            for pos, x in enumerate(eqn.invars):
                others = eqn.invars[:pos] + eqn.invars[pos + 1 :]
                if not isinstance(x, Literal) and x.aval.shape == out.aval.shape and all(map(is_uniform, others)):
                    base, scalings = chain.get(x, (x, ()))
                    chain[out] = (base, (*scalings, (eqn, pos)))
                    break
    return [read(v) for v in jaxpr.outvars]


def share_shifts(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` evaluated with each distinct periodic shift of an array computed once (same arithmetic).

    Reverse-mode autodiff of a quadratic loss ``phi . O phi`` shifts ``phi`` for ``O phi`` and the cotangent
    ``c phi`` for ``O^T (c phi)``; XLA does not see that these are the same shifted reads. ``share_shifts``
    traces ``fn`` to a jaxpr and evaluates it with ``T_s (c x) -> c T_s x`` (exact: ``T_s`` permutes sites)
    and common shifts shared, which halves the shifted reads of a learning gradient. The floating-point
    operations are those of ``fn`` (bitwise-equal results op by op; compiled, XLA may contract multiply-adds
    differently, a round-off difference). Works under ``jit``, ``vmap`` and autodiff like ``fn``.
    """

    def wrapped(*args: Any) -> Any:
        flat, tree = jax.tree_util.tree_flatten(args)
        dynamic = [i for i, x in enumerate(flat) if isinstance(x, (jax.Array, np.ndarray, np.generic, float, int))]

        def traced(*values: Any) -> Any:
            leaves = list(flat)  # leaves that are not arrays (if any) stay Python objects
            for i, v in zip(dynamic, values, strict=True):
                leaves[i] = v
            return fn(*jax.tree_util.tree_unflatten(tree, leaves))

        values = [flat[i] for i in dynamic]
        closed, out_shape = jax.make_jaxpr(traced, return_shape=True)(*values)
        out = _eval_sharing_shifts(closed.jaxpr, closed.consts, values)
        return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(out_shape), out)

    return wrapped
