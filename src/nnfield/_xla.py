"""XLA compile options for nnfield's compiled runs, and a ``jax.jit`` that applies them.

**Reductions on CPU.** Recent XLA:CPU hands fused reductions (``jnp.sum`` over an elementwise expression) to
YNNPACK (``xla_cpu_experimental_ynn_fusion_type``). For the reductions over a network step and shifted fields
that observables such as the Klein-Gordon ``discrete_energy`` compile to, that path was measured 3-5x slower than
XLA's own loop emitter (``benchmarks/observer_cost.py``: 10-13 ms against 2.6-4 ms for one observation at 64^3,
about 14 network steps against 4; results equal to round-off, the summation order differs). nnfield therefore
compiles its runs, observers and ensembles with the YNN fusions turned off.

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


class LazyJit:
    """``jax.jit(fun, **kwargs)`` with :func:`compiler_options`, created at first use.

    The options need a probe compile, which initializes JAX's backend; doing it at first use (not at import)
    keeps ``import nnfield`` free of that and lets ``jax.distributed.initialize`` run first.
    """

    def __init__(self, fun: Callable[..., Any], **kwargs: Any) -> None:
        self._fun = fun
        self._kwargs = kwargs
        self._jitted: Any = None
        self._nested = jax.jit(fun, **kwargs)  # inside another trace: JAX takes options only at the top level
        functools.update_wrapper(self, fun)

    def jitted(self) -> Any:
        """The underlying ``jax.jit`` object (``.lower``, ``.trace``, ``._cache_size`` ...)."""
        if self._jitted is None:
            self._jitted = jax.jit(self._fun, compiler_options=compiler_options() or None, **self._kwargs)
        return self._jitted

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves((args, kwargs))):
            return self._nested(*args, **kwargs)
        return self.jitted()(*args, **kwargs)

    def lower(self, *args: Any, **kwargs: Any) -> Any:
        """``jax.jit(...).lower`` (inspect the compiled program: ``.compile().as_text()``)."""
        return self.jitted().lower(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_fun", "_kwargs", "_jitted", "_nested"):
            raise AttributeError(name)
        return getattr(self.jitted(), name)


def jit(fun: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
    """``jax.jit`` with nnfield's compile options (usable as ``@jit`` or ``jit(fun, static_argnames=...)``)."""
    if fun is None:
        return functools.partial(jit, **kwargs)
    return LazyJit(fun, **kwargs)
