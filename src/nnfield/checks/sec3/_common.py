"""Helpers shared by the checks of this section."""

from __future__ import annotations

from typing import Any

import numpy as np

EXACT_TOL = 1e-12  # relative residuals below this are round-off (float64, a few dozen operations per entry)
ORDER_TOL = 0.25  # measured convergence orders within this of the declared order


def _rng(seed: int = 3) -> np.random.Generator:
    return np.random.default_rng(seed)


def _lap(f: np.ndarray, a: float = 1.0) -> np.ndarray:
    """Nearest-neighbour Laplacian of ``(1, *shape)`` fields by ``np.roll`` (the reference)."""
    return sum(np.roll(f, 1, ax) - 2 * f + np.roll(f, -1, ax) for ax in range(1, f.ndim)) / a**2


def _force(f: np.ndarray, m: float, a: float = 1.0) -> np.ndarray:
    return _lap(f, a) - m**2 * f


def _rel(x: Any, y: Any) -> float:
    x, y = np.asarray(x), np.asarray(y)
    return float(np.abs(x - y).max() / max(np.abs(y).max(), 1e-300))


def _state(shape: tuple[int, ...], seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = _rng(seed)
    return rng.normal(size=(1, *shape)), rng.normal(size=(1, *shape))


def _jit() -> dict[str, Any]:
    """Jitted helpers (built lazily, cached across checks: one compilation per network structure)."""
    global _JIT
    if _JIT is None:
        import jax

        def advance(net: Any, s: Any, n: Any) -> Any:
            return jax.lax.fori_loop(0, n, lambda _, x: net.step(x), s)

        def traj(net: Any, s: Any, n: int) -> Any:
            return jax.lax.scan(lambda x, _: (net.step(x),) * 2, s, None, length=n)[1]

        _JIT = {
            "step": jax.jit(lambda net, s: net.step(s)),
            "learn": jax.jit(lambda net, phi, pi: (net.activate(phi, pi, net.dt), net.learn(phi, pi, net.dt))),
            "advance": jax.jit(advance),
            "traj": jax.jit(traj, static_argnums=2),
        }
    return _JIT


_JIT: dict[str, Any] | None = None


def _state_of(phi: np.ndarray, pi: np.ndarray) -> Any:
    import jax.numpy as jnp

    from ...state import State

    return State(jnp.asarray(phi), jnp.asarray(pi))


def _phis(net: Any, phi: np.ndarray, pi: np.ndarray, n: int) -> list[np.ndarray]:
    """``[phi(0), ..., phi(n)]`` of a run."""
    tr = _jit()["traj"](net, _state_of(phi, pi), n)
    return [phi] + [np.asarray(p) for p in tr.phi]


# ----------------------------------------------------------------------------------------------------------
# (3.4)-(3.5): the lattice Hamiltonian and its equations
# ----------------------------------------------------------------------------------------------------------
