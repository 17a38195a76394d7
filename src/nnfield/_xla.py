"""XLA compile options for nnfield's compiled runs, and a ``jax.jit`` that applies them.

**Reductions on CPU.** Recent XLA:CPU hands fused reductions (``jnp.sum`` over an elementwise expression) to
YNNPACK (``xla_cpu_experimental_ynn_fusion_type``). For the reductions over a network step and shifted fields
that observables such as the Klein-Gordon ``discrete_energy`` compile to, that path was measured 3-5x slower than
XLA's own loop emitter (``benchmarks/observer_cost.py``: 10-13 ms against 2.6-4 ms for one observation at 64^3,
about 14 network steps against 4; results equal to round-off, the summation order differs). nnfield therefore
compiles its runs, observers and ensembles with the YNN fusions turned off.

- Only programs with a field of at least :data:`MIN_SITES` entries get it: without YNNPACK the reductions are
  compiled by XLA's own emitters, which took 15-25% longer to compile (a scalar-QED run on 8x8: 2.2-2.3 s
  against 2.6-2.7 s; Klein-Gordon 16x16: 1.1 s against 1.2-1.4 s), and on small lattices the compile is most
  of a run while an observation costs microseconds.
- The option is passed per compiled program (``jax.jit(..., compiler_options=...)``), never through the
  process-wide ``XLA_FLAGS``: other JAX code in the same process is unaffected.
- A jaxlib that does not know the option (older than the YNN backend) gets no options: probed once with a
  trivial program.
- ``NNFIELD_XLA_DEFAULTS=0`` in the environment, or the option named in ``XLA_FLAGS``, keeps XLA's defaults.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import jax

CPU_OPTIONS: dict[str, Any] = {"xla_cpu_experimental_ynn_fusion_type": ""}
#: the size of the largest array argument from which a program is compiled with :func:`compiler_options`
MIN_SITES = 1 << 16
#: for programs that run once on a tiny lattice (the stability gate's impulse response, :mod:`nnfield.analysis`):
#: LLVM without its optimization passes compiles them about twice as fast (the 2D Maxwell-Dirac kernel 2.9 ->
#: 1.5 s, results bit for bit the same) and their run time (milliseconds) does not matter
RUN_ONCE_OPTIONS: dict[str, Any] = {"xla_backend_optimization_level": 0}


@functools.cache
def compiler_options() -> dict[str, Any]:
    """The compile options nnfield adds (see the module docstring); ``{}`` where they do not apply."""
    if os.environ.get("NNFIELD_XLA_DEFAULTS", "1") == "0":
        return {}
    flags = os.environ.get("XLA_FLAGS", "")
    opts = {k: v for k, v in CPU_OPTIONS.items() if k not in flags}
    if not opts:
        return {}
    try:
        jax.jit(lambda x: x + 1, compiler_options=opts).lower(1.0).compile()
    except Exception:  # noqa: BLE001 - an unknown option (older jaxlib) or a backend that refuses it
        return {}
    return opts


@functools.cache
def run_once_options() -> dict[str, Any]:
    """:data:`RUN_ONCE_OPTIONS`, probed once (``{}`` where refused; ``NNFIELD_XLA_DEFAULTS=0`` keeps XLA's
    defaults)."""
    if os.environ.get("NNFIELD_XLA_DEFAULTS", "1") == "0":
        return {}
    flags = os.environ.get("XLA_FLAGS", "")
    opts = {k: v for k, v in RUN_ONCE_OPTIONS.items() if k not in flags}
    try:
        jax.jit(lambda x: x + 1, compiler_options=opts).lower(1.0).compile()
    except Exception:  # noqa: BLE001 - an option this backend does not take
        return {}
    return opts


class LazyJit:
    """``jax.jit(fun, **kwargs)`` with :func:`compiler_options`, created at first use.

    The options need a probe compile, which initializes JAX's backend; doing it at first use (not at import)
    keeps ``import nnfield`` free of that and lets ``jax.distributed.initialize`` run first.
    """

    def __init__(self, fun: Callable[..., Any], *, options: Callable[[], dict[str, Any]] = compiler_options,
                 min_sites: int = MIN_SITES, **kwargs: Any) -> None:
        self._fun = fun
        self._kwargs = kwargs
        self._options, self._min_sites = options, min_sites
        self._jitted: Any = None
        # inside another trace (JAX takes options only at the top level) and for small programs
        self._nested = jax.jit(fun, **kwargs)
        functools.update_wrapper(self, fun)

    def jitted(self) -> Any:
        """The underlying ``jax.jit`` object (``.lower``, ``.trace``, ``._cache_size`` ...)."""
        if self._jitted is None:
            self._jitted = jax.jit(self._fun, compiler_options=self._options() or None, **self._kwargs)
        return self._jitted

    def _choose(self, args: Any, kwargs: Any) -> Any:
        leaves = jax.tree_util.tree_leaves((args, kwargs))
        if any(isinstance(x, jax.core.Tracer) for x in leaves):
            return self._nested  # inside someone else's trace
        if max((getattr(x, "size", 0) for x in leaves), default=0) < self._min_sites:
            return self._nested  # a small program: XLA's defaults compile faster
        return self.jitted()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._choose(args, kwargs)(*args, **kwargs)

    def cache_size(self) -> int:
        """How many programs this function has compiled in this process (with and without the options)."""
        return int(self._nested._cache_size()) + (0 if self._jitted is None else int(self._jitted._cache_size()))

    def lower(self, *args: Any, **kwargs: Any) -> Any:
        """``jax.jit(...).lower`` of the program a call with these arguments runs (inspect it with
        ``.compile().as_text()``)."""
        return self._choose(args, kwargs).lower(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_fun", "_kwargs", "_jitted", "_nested", "_options", "_min_sites",
                                             "_small"):
            raise AttributeError(name)
        return getattr(self.jitted(), name)


class SmallRunOnceJit(LazyJit):
    """:func:`jit_run_once` for a program on fewer than :data:`MIN_SITES` entries, :func:`jit` from there on:
    for a program that runs once per run (a run's step-0 observables), whose compile is most of its cost on a
    small lattice (a 2D Klein-Gordon observer 0.46 -> 0.25 s, the 2D Maxwell-Dirac one 1.3 -> 0.87 s) while
    without LLVM's optimizations a large lattice's single call would cost more than the compile saves."""

    def __init__(self, fun: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(fun, **kwargs)
        self._small = LazyJit(fun, options=run_once_options, min_sites=0, **kwargs)

    def _choose(self, args: Any, kwargs: Any) -> Any:
        leaves = jax.tree_util.tree_leaves((args, kwargs))
        if any(isinstance(x, jax.core.Tracer) for x in leaves):
            return self._nested
        if max((getattr(x, "size", 0) for x in leaves), default=0) < self._min_sites:
            return self._small.jitted()
        return self.jitted()

    def cache_size(self) -> int:
        return super().cache_size() + self._small.cache_size()


def jit(fun: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
    """``jax.jit`` with nnfield's compile options (usable as ``@jit`` or ``jit(fun, static_argnames=...)``)."""
    if fun is None:
        return functools.partial(jit, **kwargs)
    return LazyJit(fun, **kwargs)


def jit_run_once(fun: Callable[..., Any]) -> LazyJit:
    """``jax.jit`` with :func:`run_once_options`: for a program compiled to run once (whatever its size)."""
    return LazyJit(fun, options=run_once_options, min_sites=0)
