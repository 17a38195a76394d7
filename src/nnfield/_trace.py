"""``trace_once``: a function traced once per argument structure inside other traces, then inlined.

A run traces the network's learning gradient several times for the same shapes: in the observer (a Klein-Gordon
``discrete_energy`` takes a network step), in the chunk's first half kick, its loop body and its last half kick,
and again in the observer inside the chunk. Each trace runs the Python of the loss, its ``jax.vjp`` and
:func:`~nnfield.operators.share_shifts`' interpreter again; for the 1D Klein-Gordon example that was seven traces
of one gradient, about 0.1 s of a warm run's 0.46 s (``nnfield run -v``, 2026-12-06, session 36).

:func:`trace_once` wraps ``fn`` so that a call whose arguments hold a tracer goes through ``jax.jit(...,
inline=True)``: JAX traces ``fn`` once per argument structure, shapes and dtypes (its jit cache) and *inlines*
the cached jaxpr into the calling trace, equation by equation. The calling program is the one a direct call
traces (the same equations in the same order, no nested call in the lowered module; the persistent compilation
cache finds the programs it compiled before the change). Only calls being staged into a program take that path
(their tracers are all ``jit``'s staging tracers); any other call (eager, or under ``jax.jvp`` / ``jax.vmap``
outside a staged program) calls ``fn`` directly, as before.

Which leaves are traced: the tracers, and only they. Every other leaf (Python numbers, strings, callables) is
static: part of the cache key, compared by ``==`` as for ``jax.jit(static_argnums=...)``, so the function sees
exactly the Python values a direct call would (a Python ``float`` parameter stays a number that Python arithmetic
folds, as before). A concrete array is not hashable, so a call with one among its arguments (a model built eagerly
and closed over by the caller's ``jit``) calls ``fn`` directly: its jaxpr would otherwise hold computations that the
direct trace folds into constants. Inside a run every leaf of the network and the state is a tracer (they are
arguments of the run's ``jit``), so a run always takes the cached path.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable
from typing import Any

import jax

#: ``NNFIELD_TRACE_ONCE=0`` in the environment (read at import) traces every call directly, as before session 36
#: (the baseline of ``benchmarks/trace_once.py``; the programs are the same either way)
ENABLED = os.environ.get("NNFIELD_TRACE_ONCE", "1") != "0"

try:  # the tracer of a trace that stages a program (jit, scan, eval_shape); private, so looked up defensively
    from jax._src.interpreters.partial_eval import DynamicJaxprTracer as _StagingTracer
except ImportError:  # pragma: no cover - a JAX without it: every call traced directly, as before
    _StagingTracer = None


def _staged(leaves: list[Any]) -> bool:
    """Whether the call is being staged into a program: some leaf is a tracer and every tracer is a staging one.

    Under ``jax.jvp`` / ``jax.vmap`` of an eager computation (e.g. inside ``jax.ensure_compile_time_eval``) the
    tracers are not staging ones and the call must run directly: a jit there would stage the JVP instead of
    evaluating it."""
    if _StagingTracer is None:
        return False
    tracers = [x for x in leaves if isinstance(x, jax.core.Tracer)]
    return bool(tracers) and all(isinstance(x, _StagingTracer) for x in tracers)


@dataclasses.dataclass(frozen=True)
class _Spec:
    """What a staged call keeps static: the function, the argument tree and its static leaves by position."""

    fn: Callable[..., Any]
    tree: Any
    static: tuple[tuple[int, Any], ...]
    size: int


def _call(spec: _Spec, *values: Any) -> Any:
    """``spec.fn`` of the arguments rebuilt from the static leaves and the traced ``values`` (in leaf order)."""
    static, it = dict(spec.static), iter(values)
    leaves = [static[i] if i in static else next(it) for i in range(spec.size)]
    return spec.fn(*jax.tree_util.tree_unflatten(spec.tree, leaves))


#: every :func:`trace_once` function shares this jit (its cache is keyed by the spec, i.e. by the function)
_inline = jax.jit(_call, static_argnums=0, inline=True)


def trace_once(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn``, traced once per argument structure when called inside another trace (see the module docstring).

    The values are those of ``fn``: the cached jaxpr is what tracing ``fn`` gives, inlined into the caller's
    trace. ``fn`` must not close over tracers of a caller's trace (pass them as arguments).
    """

    @functools.wraps(fn)
    def wrapped(*args: Any) -> Any:
        flat, tree = jax.tree_util.tree_flatten(args)
        if not ENABLED or not _staged(flat):
            return fn(*args)
        static = tuple((i, x) for i, x in enumerate(flat) if not isinstance(x, jax.core.Tracer))
        spec = _Spec(fn, tree, static, len(flat))
        try:
            hash(spec)
        except TypeError:  # an unhashable static leaf (a concrete array): trace directly
            return fn(*args)
        return _inline(spec, *(x for x in flat if isinstance(x, jax.core.Tracer)))

    return wrapped
