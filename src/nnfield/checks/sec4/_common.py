"""Helpers shared by the checks of this section."""

from __future__ import annotations

from typing import Any

import numpy as np

EXACT_TOL = 1e-12  # relative residuals below this are round-off (float64, O(1) data, a few operations)
FAIL_MIN = 1e-3  # a printed form "fails" when its residual is at least this large


def _rng(seed: int = 2411) -> np.random.Generator:
    return np.random.default_rng(seed)


def _rel(x: object, y: object) -> float:
    x, y = np.asarray(x), np.asarray(y)
    return float(np.abs(x - y).max() / max(np.abs(x).max(), np.abs(y).max(), 1e-300))


def _state(K: int, shape: tuple[int, ...], seed: int = 2411) -> Any:
    import jax.numpy as jnp

    from ...state import State

    rng = _rng(seed)
    return State(jnp.asarray(rng.normal(size=(K, *shape))), jnp.asarray(rng.normal(size=(K, *shape))))


_STEP: list[Any] = []


def _step(net: Any, s: Any) -> Any:
    """One jitted tick (one jit shared by all checks: networks of equal structure share compilations)."""
    if not _STEP:
        import jax

        _STEP.append(jax.jit(lambda n, x: n.step(x)))
    return _STEP[0](net, s)
