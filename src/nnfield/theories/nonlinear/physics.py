r"""The physics side of the nonlinear scalar fields, written independently of the network code (``jnp.roll``).

    Hamiltonian: ``Ham = a^D sum_i [ pi_i^2/2 + sum_mu (phi_{i+e_mu} - phi_i)^2/(2 a^2) + V(phi_i) ]``
    Hamilton's equations (semi-discrete, by ``jax.grad`` of Ham): ``dphi/dt = pi``, ``dpi/dt = Lap_a phi - V'(phi)``
    reference solvers: classical RK4 (order 4, jitted ``fori_loop``) and SciPy ``DOP853`` (small lattices).

Twisted boundary: with ``twist = t`` the field obeys ``phi_{i + N e_0} = phi_i + t`` along axis 0 (the stored
array is one period of the lifted field); the differences across the last slice of axis 0 are lifted.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._checks import check_number
from ..._module import Module
from ...lattice import Lattice
from ...model import AbstractTheory, check_field_shapes


# ----------------------------------------------------------------------------------------------------------
def edge(shape: tuple[int, ...], axis: int, index: int) -> np.ndarray:
    """1 at ``index`` along ``axis``, 0 elsewhere: ``shape[axis]`` numbers shaped to broadcast against ``shape``
    (``1`` on every other axis).

    Not the full array of ``shape``: inside a traced function a NumPy array is a constant of the compiled
    program, and the full mask was a constant of the lattice's size in every program of a kink (the network's
    loss, the energies), held whole by every process of a run split over several (session 47)."""
    sel = np.zeros(shape[axis])
    sel[index] = 1.0
    view = [1] * len(shape)
    view[axis] = shape[axis]
    return sel.reshape(view)


def forward_diffs_roll(f: jax.Array, twist: float) -> list[jax.Array]:
    """``phi_{i+e_mu} - phi_i`` (lifted across the twisted boundary of axis 0), by ``jnp.roll``."""
    out = []
    for ax in range(f.ndim):
        d = jnp.roll(f, -1, ax) - f
        if ax == 0 and twist:
            d = d + twist * jnp.asarray(edge(f.shape, 0, f.shape[0] - 1), f.dtype)
        out.append(d)
    return out


@jax.jit
def _curvature(potential: Any, ground: jax.Array) -> jax.Array:
    """``V''(ground)`` by ``jax.grad`` of ``jax.grad``, compiled as one program (eagerly, the second derivative of
    a phi^4 potential dispatched about ten single-op programs, each compiled on a cold cache)."""
    return jax.grad(jax.grad(lambda f: jnp.sum(potential(f))))(ground)


class NonlinearField(Module, AbstractTheory):
    """The lattice scalar field with potential ``V`` (fields shaped ``(1, *shape)``); see the module docstring."""

    potential: Any
    lattice: Lattice = eqx.field(static=True)
    twist: float = eqx.field(static=True, default=0.0)

    def hamiltonian(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        """``a^D sum [pi^2/2 + |grad_+ phi|^2/2 + V(phi)]`` (twisted differences along axis 0)."""
        check_field_shapes(self.lattice, 1, phi, pi)
        a = self.lattice.spacing
        grad2 = sum(d**2 for d in forward_diffs_roll(phi[0], self.twist)) / a**2
        dens = 0.5 * pi[0] ** 2 + 0.5 * grad2 + self.potential(phi[0])
        return self.lattice.cell_volume * jnp.sum(dens)

    @property
    def ground(self) -> Any:
        """The uniform ground state ``phi_0`` (:func:`.potentials.vacuum`: ``0`` for the massive and massless phi^4
        and sine-Gordon, ``+v`` for a double well); ``0`` when ``V`` has no minimum."""
        from .potentials import vacuum

        g = vacuum(self.potential)
        return 0.0 if g is None else g

    def curvature(self) -> float:
        """``V''(phi_0)`` at the ground state (:attr:`ground`), by autodiff of ``V``: the small waves' mass squared."""
        return float(_curvature(self.potential, np.asarray(self.ground, float)))

    def dispersion(self, k: list[Any]) -> np.ndarray:
        """Small-amplitude waves about the ground state ``phi_0`` (:attr:`ground`):
        ``omega^2 = V''(phi_0) + (4/a^2) sum_mu sin^2(k_mu a/2)``.

        ``nan`` where ``omega^2 < 0`` (a potential without a minimum, e.g. ``-phi^2``, about ``phi = 0``).
        """
        a = self.lattice.spacing
        v2 = self.curvature()
        w2 = v2 + sum(4.0 / a**2 * np.sin(np.asarray(kk) * a / 2) ** 2 for kk in k)
        return np.where(w2 >= 0, np.sqrt(np.abs(w2)), np.nan)

    def reference(self, phi: Any, pi: Any, t: float) -> tuple[np.ndarray, ...]:
        """The reference solution at ``t``: :meth:`dop853` on Hamilton's equations ``(pi, Lap_a phi - V'(phi))``,
        which are :meth:`equations`, derived from :meth:`hamiltonian` by ``jax.grad``."""
        return self.dop853(phi, pi, t)

    def rk4(self, phi: Any, pi: Any, t: float, dt: float) -> tuple[jax.Array, jax.Array]:
        """Classical Runge-Kutta 4 to time ``t`` with step ``<= dt`` (order 4; the reference solver). ``t`` finite
        (negative integrates backwards), ``dt > 0`` finite: a :class:`~nnfield.errors.ParameterError` otherwise."""
        check_number("t", t)
        check_number("dt", dt, positive=True)
        n = max(1, int(np.ceil(abs(t) / dt - 1e-9)))
        return _rk4(self, jnp.asarray(phi, dtype=float), jnp.asarray(pi, dtype=float), t / n, n)

    def dop853(self, phi: Any, pi: Any, t: float, rtol: float = 1e-12, atol: float = 1e-12) -> tuple[np.ndarray, ...]:
        """SciPy ``DOP853`` on the semi-discrete equations (small lattices; each RHS call is a jitted JAX call).
        ``t`` finite (a :class:`~nnfield.errors.ParameterError` otherwise: SciPy never returns for nan or inf)."""
        check_number("t", t)
        from scipy.integrate import solve_ivp

        shape = np.shape(phi)
        n = int(np.prod(shape))
        rhs_jit = jax.jit(lambda y: jnp.concatenate([x.ravel() for x in self.equations(
            y[:n].reshape(shape), y[n:].reshape(shape))]))
        y0 = np.concatenate([np.ravel(phi), np.ravel(pi)]).astype(float)
        sol = solve_ivp(lambda _, y: np.asarray(rhs_jit(y)), (0.0, t), y0, method="DOP853",
                        rtol=rtol, atol=atol)
        if not sol.success:  # pragma: no cover
            raise RuntimeError(f"DOP853 failed: {sol.message}")
        y = sol.y[:, -1]
        return y[:n].reshape(shape), y[n:].reshape(shape)


def _rk4_impl(field: NonlinearField, phi: jax.Array, pi: jax.Array, h: Any, n: int) -> tuple[jax.Array, jax.Array]:
    def step(_: int, y: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        p, q = y
        k1 = field.equations(p, q)
        k2 = field.equations(p + 0.5 * h * k1[0], q + 0.5 * h * k1[1])
        k3 = field.equations(p + 0.5 * h * k2[0], q + 0.5 * h * k2[1])
        k4 = field.equations(p + h * k3[0], q + h * k3[1])
        return (
            p + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]),
            q + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]),
        )

    return jax.lax.fori_loop(0, n, step, (phi, pi))


_rk4 = jax.jit(_rk4_impl)
