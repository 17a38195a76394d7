"""XLA compile options for nnfield's compiled runs, and a ``jax.jit`` that applies them.

**Reductions on CPU.** Recent XLA:CPU hands fused reductions (``jnp.sum`` over an elementwise expression) to
YNNPACK (``xla_cpu_experimental_ynn_fusion_type``). For the reductions over a network step and shifted fields
that observables such as the Klein-Gordon ``discrete_energy`` compile to, that path was measured 3-5x slower than
XLA's own loop emitter (``benchmarks/observer_cost.py``: 10-13 ms against 2.6-4 ms for one observation at 64^3,
about 14 network steps against 4; results equal to round-off, the summation order differs). nnfield therefore
compiles its runs, observers and ensembles with the YNN fusions turned off.

**Vector width on CPU.** XLA:CPU asks LLVM for 256-bit vectors even on a CPU with AVX-512; nnfield's runs ask for
512 (``xla_cpu_prefer_vector_width``): 1.00-1.21x on its run programs in one measurement and 0.97-1.64x in
another (float32 at 128^3 gains most), the fields bit for bit the same (``benchmarks/vector_width.py``). A CPU
without AVX-512 keeps its own register width.

- Only programs with a field of at least :data:`MIN_SITES` entries get it: without YNNPACK the reductions are
  compiled by XLA's own emitters, which took 15-25% longer to compile (a scalar-QED run on 8x8: 2.2-2.3 s
  against 2.6-2.7 s; Klein-Gordon 16x16: 1.1 s against 1.2-1.4 s), and on small lattices the compile is most
  of a run while an observation costs microseconds.
- The option is passed per compiled program (``jax.jit(..., compiler_options=...)``), never through the
  process-wide ``XLA_FLAGS``: other JAX code in the same process is unaffected.
- A jaxlib or backend that does not take an option (older than the YNN backend, or a plug-in that refuses it)
  gets no options: the first program compiled with them fails with XLA's ``No such compile option`` (or a
  refused value); :class:`LazyJit` then remembers the refusal for the process (:data:`REFUSED`) and compiles
  that program, and every later one, without them. Nothing is compiled to find out: a probe program cost every
  run a compile on a cold cache (28 ms) and a lowering and cache read on a warm one.
- ``NNFIELD_XLA_DEFAULTS=0`` in the environment, or the option named in ``XLA_FLAGS``, keeps XLA's defaults.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

CPU_OPTIONS: dict[str, Any] = {"xla_cpu_experimental_ynn_fusion_type": "", "xla_cpu_prefer_vector_width": 512}
#: the size of the largest array argument from which a program is compiled with :func:`compiler_options`
MIN_SITES = 1 << 16
#: for programs that run once on a tiny lattice (the stability gate's impulse response, :mod:`nnfield.analysis`):
#: LLVM without its optimization passes compiles them about twice as fast (the 2D Maxwell-Dirac kernel 2.9 ->
#: 1.5 s, results bit for bit the same) and their run time (milliseconds) does not matter
RUN_ONCE_OPTIONS: dict[str, Any] = {"xla_backend_optimization_level": 0}


#: option names a backend refused in this process (see the module docstring); never passed again
REFUSED: set[str] = set()


def _wanted(options: dict[str, Any]) -> dict[str, Any]:
    if os.environ.get("NNFIELD_XLA_DEFAULTS", "1") == "0":
        return {}
    flags = os.environ.get("XLA_FLAGS", "")  # the user's own setting of an option wins
    return {k: v for k, v in options.items() if k not in flags and k not in REFUSED}


def compiler_options() -> dict[str, Any]:
    """The compile options nnfield adds (see the module docstring); ``{}`` where they do not apply
    (``NNFIELD_XLA_DEFAULTS=0``, the option named in ``XLA_FLAGS``, or refused by this backend)."""
    return _wanted(CPU_OPTIONS)


def run_once_options() -> dict[str, Any]:
    """:data:`RUN_ONCE_OPTIONS` where they apply (as :func:`compiler_options`)."""
    return _wanted(RUN_ONCE_OPTIONS)


def _refused(exc: BaseException, options: dict[str, Any]) -> list[str]:
    """The options of ``options`` that the compile error ``exc`` says the backend does not take."""
    text = str(exc)
    return [k for k in options if k in text] if "option" in text else []


class LazyJit:
    """``jax.jit(fun, **kwargs)`` with :func:`compiler_options`, created at first use.

    Created at first use (not at import), so that ``import nnfield`` does not initialize JAX's backend and
    ``jax.distributed.initialize`` can run first. A backend that refuses an option is answered by compiling
    without it (see the module docstring).
    """

    def __init__(self, fun: Callable[..., Any], *, options: Callable[[], dict[str, Any]] = compiler_options,
                 min_sites: int = MIN_SITES, **kwargs: Any) -> None:
        self._fun = fun
        self._kwargs = kwargs
        self._options, self._min_sites = options, min_sites
        self._jitted: Any = None
        self._with: dict[str, Any] = {}
        # inside another trace (JAX takes options only at the top level) and for small programs
        self._nested = jax.jit(fun, **kwargs)
        functools.update_wrapper(self, fun)

    def jitted(self) -> Any:
        """The underlying ``jax.jit`` object (``.lower``, ``.trace``, ``._cache_size`` ...)."""
        if self._jitted is None:
            self._with = self._options()
            self._jitted = jax.jit(self._fun, compiler_options=self._with or None, **self._kwargs)
        return self._jitted

    def _choose(self, args: Any, kwargs: Any) -> Any:
        leaves = jax.tree_util.tree_leaves((args, kwargs))
        if any(isinstance(x, jax.core.Tracer) for x in leaves):
            return self._nested  # inside someone else's trace
        if max((getattr(x, "size", 0) for x in leaves), default=0) < self._min_sites:
            return self._nested  # a small program: XLA's defaults compile faster
        return self.jitted()

    def _call(self, chosen: Any, args: Any, kwargs: Any) -> Any:
        try:
            return chosen(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - re-raised unless the backend refused one of our options
            if chosen is not self._jitted or not (bad := _refused(exc, self._with)):
                raise
            REFUSED.update(bad)
            self._jitted = None
            return self.jitted()(*args, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(self._choose(args, kwargs), args, kwargs)

    def cache_size(self) -> int:
        """How many programs this function has compiled in this process (with and without the options)."""
        return int(self._nested._cache_size()) + (0 if self._jitted is None else int(self._jitted._cache_size()))

    def lower(self, *args: Any, **kwargs: Any) -> Any:
        """``jax.jit(...).lower`` of the program a call with these arguments runs (inspect it with
        ``.compile().as_text()``)."""
        return self._choose(args, kwargs).lower(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_fun", "_kwargs", "_jitted", "_nested", "_options", "_min_sites",
                                             "_small", "_with"):
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

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        chosen = self._choose(args, kwargs)
        if chosen is self._small._jitted:
            return self._small._call(chosen, args, kwargs)
        return self._call(chosen, args, kwargs)

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


def on_one_cpu(x: Any) -> bool:
    """Whether the JAX array ``x`` is held whole by one CPU device: NumPy then reads it without a copy from an
    accelerator, and host-side work on it (a cast, a stack) followed by ``jax.device_put`` replaces an eager
    program. ``False`` for a tracer, a split array or one on an accelerator."""
    try:
        devices = x.devices()
    except Exception:  # a tracer has no devices
        return False
    return len(devices) == 1 and next(iter(devices)).platform == "cpu"


def device_array(x: Any, dtype: Any = None, *, private: bool = False) -> Any:
    """``jnp.asarray(x, dtype)``, without a compiled program for a NumPy array.

    JAX 0.10 lifts a NumPy array given to ``jnp.asarray`` (no dtype) through ``lax.stage``, a jitted identity:
    one lowering and compile per shape and dtype (10-30 ms each on a cold cache, a lowering and a cache read on a
    warm one), paid at the start of every run. Here the array is copied on the host (a private buffer in the
    native byte order) and that copy handed to ``jax.device_put``: the same values and (canonicalized) dtype,
    nothing compiled. The host copy is needed: on CPU, ``jax.device_put`` of a NumPy array may alias its buffer
    even with ``may_alias=False`` (JAX 0.10: about a third of the arrays in a test, the aligned ones), and the
    caller may change its array afterwards. A numeric array in a non-native byte order (big-endian data an HDF5
    or ``.npz`` file may hold, which ``jnp.asarray`` refuses) arrives in the native order. Anything else (a JAX
    array, a tracer, a Python scalar, a requested ``dtype``, a non-numeric dtype) goes through ``jnp.asarray`` as
    before, with its conversions and its errors. ``private``: ``x`` is the caller's own temporary, never changed
    or used again (e.g. a fresh ``np.stack``): no host copy when it is in the native byte order.
    """
    if dtype is None and type(x) is np.ndarray and x.dtype.kind in "biufc":
        if private and x.dtype.isnative:
            return jax.device_put(x)
        return jax.device_put(np.array(x, dtype=x.dtype.newbyteorder("="), copy=True))
    return jnp.asarray(x, dtype)


# ----------------------------------------------------------------------------------------------------------
# where the time of getting compiled programs goes (``nnfield run -v``)
# ----------------------------------------------------------------------------------------------------------
#: JAX's compile events (``jax.monitoring``) and the counter each adds to
_COMPILE_EVENTS = {
    "/jax/core/compile/jaxpr_trace_duration": "trace",
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower",
    "/jax/core/compile/backend_compile_duration": "compile",
    "/jax/compilation_cache/cache_retrieval_time_sec": "cached",
}
_compile_totals: dict[str, float] = {}
_listening = False


def _on_compile_event(event: str, duration: float, **_kwargs: Any) -> None:
    kind = _COMPILE_EVENTS.get(event)
    if kind is not None:
        _compile_totals[kind] = _compile_totals.get(kind, 0.0) + duration
        _compile_totals[f"n_{kind}"] = _compile_totals.get(f"n_{kind}", 0.0) + 1


def compile_clock() -> dict[str, float]:
    """The seconds (and counts, ``n_*``) of JAX's tracing (``trace``), lowering to StableHLO (``lower``) and
    backend compiles (``compile``: an XLA compile, or a read from the persistent compilation cache, which
    ``cached`` counts separately) since the first call of this function in the process (a listener on
    ``jax.monitoring``, registered once). Subtract two readings to time a part of a run."""
    global _listening
    if not _listening:
        jax.monitoring.register_event_duration_secs_listener(_on_compile_event)
        _listening = True
    return dict(_compile_totals)


def describe_compiles(before: dict[str, float], after: dict[str, float]) -> str:
    """``"tracing 0.08 s, lowering 0.07 s, 2 programs (XLA compiles 1, 0.41 s; read from the compilation cache 1,
    0.01 s)"``: the difference of two :func:`compile_clock` readings."""
    d = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in set(after) | set(before)}
    n, hits = int(d.get("n_compile", 0)), int(d.get("n_cached", 0))
    # a backend compile event covers the cache lookup too: with no XLA compile, all of it was the cache's
    xla = d.get("compile", 0.0) - d.get("cached", 0.0) if n > hits else 0.0
    cached = d.get("compile", 0.0) - xla
    return (f"tracing {d.get('trace', 0.0):.2f} s, lowering {d.get('lower', 0.0):.2f} s, {n} program"
            f"{'' if n == 1 else 's'} (XLA compiles {n - hits}, {xla:.2f} s; read from the compilation cache "
            f"{hits}, {cached:.2f} s)")
