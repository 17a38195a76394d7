r"""U(1) backgrounds as link variables ``U = X_0^alpha`` and the gauge transformations (paper Sec. 5).

``X_0^alpha = cos(alpha pi/2) I + sin(alpha pi/2) X_0`` (5.1) commutes with every ``X_mu`` (4.25); in the spinor
language ``X_0 -> -i`` and ``X_0^alpha -> exp(-i alpha pi/2)``. A background is a spatial link
``U_mu,i = X_0^(alpha_mu,i)`` from site ``i`` to ``i + e_mu`` and a temporal link ``U0_i = X_0^(alpha0_i)`` applied
once per tick. From physical potentials: ``alpha_mu = 2 q a A_mu / pi`` (``U -> exp(-i q a A_mu)``, covariant
derivative ``d_mu - i q A_mu``) and ``alpha0 = 2 q dt A0 / pi`` (``U0 -> exp(-i q dt A0)``).

Local gauge transformations (5.2), ``G_i(t) = X_0^(theta_i(t))``, act on states as ``(phi, pi) -> G (phi, pi)`` and
on links as ``U_mu,i -> G_i U_mu,i G_{i+mu}^-1``, ``U0_i -> G_i(t+1) U0_i G_i(t)^-1`` (X_0 powers add). All maps
here are exact (no discretization error: they are the lattice objects themselves).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np

from ..._module import Module
from ...errors import InputError, ParameterError
from ...lattice import Lattice
from ...operators import apply_local
from ...state import State


def x0_power(X0: Any, alpha: Any) -> Any:
    """``X_0^alpha = cos(alpha pi/2) I + sin(alpha pi/2) X_0`` (5.1); ``alpha`` scalar or per site.

    Returns ``(K, K)`` for scalar ``alpha`` and ``(K, K, *alpha.shape)`` otherwise (NumPy in, NumPy out).
    """
    xp = np if isinstance(alpha, (int, float, np.ndarray, np.floating)) else jnp
    X0 = xp.asarray(X0)
    alpha = xp.asarray(alpha, dtype=float)
    K = X0.shape[0]
    extra = (1,) * alpha.ndim
    c = xp.cos(alpha * np.pi / 2)[None, None]
    s = xp.sin(alpha * np.pi / 2)[None, None]
    return c * xp.eye(K).reshape((K, K) + extra) + s * X0.reshape((K, K) + extra)


def _links_array(data: Any, key: str, expected: tuple[int, ...], path: Path) -> np.ndarray:
    """``data[key]`` as a finite real float array of shape ``expected`` (else :class:`InputError`)."""
    raw = np.asarray(data[key])
    where = f"links file {str(path)!r}: array {key!r}"
    if raw.dtype.kind not in "biuf":
        what = "complex" if raw.dtype.kind == "c" else f"of dtype {raw.dtype}"
        raise InputError(f"{where} is {what}; expected real angles (X_0 powers) of shape {expected}")
    if raw.shape != expected:
        raise InputError(f"{where} has shape {raw.shape}; expected {expected} for this lattice")
    values = np.asarray(raw, dtype=float)
    if not np.all(np.isfinite(values)):
        raise InputError(f"{where} holds {int(np.sum(~np.isfinite(values)))} NaN/Inf values; expected finite angles")
    return values


class U1Links(Module):
    """A U(1) background on the lattice as X_0-powers.

    ``alpha[mu]`` (shape ``(D, *shape)``): spatial link ``U_mu,i = X_0^(alpha_mu,i)`` from site ``i`` to
    ``i + e_mu``; ``alpha0`` (shape ``shape``): temporal link ``U0_i = X_0^(alpha0_i)`` applied once per tick.
    """

    alpha: Any
    alpha0: Any

    @classmethod
    def zero(cls, lattice: Lattice) -> U1Links:
        return cls(np.zeros((lattice.ndim, *lattice.shape)), np.zeros(lattice.shape))

    @classmethod
    def from_potentials(
        cls, lattice: Lattice, dt: float, A: Any = None, A0: Any = None, q: float = 1.0
    ) -> U1Links:
        """Links from the vector potential ``A[mu]`` (at link midpoints) and the scalar potential ``A0`` (at sites).

        ``alpha_mu = 2 q a A_mu / pi``, ``alpha0 = 2 q dt A0 / pi`` (``U -> exp(-i q a A)``, ``U0 -> exp(-i q dt A0)``).
        """
        a = lattice.spacing
        A = np.zeros((lattice.ndim, *lattice.shape)) if A is None else np.broadcast_to(
            np.asarray(A, dtype=float), (lattice.ndim, *lattice.shape)
        )
        A0 = np.zeros(lattice.shape) if A0 is None else np.broadcast_to(np.asarray(A0, dtype=float), lattice.shape)
        return cls(2 * q * a * A / np.pi, 2 * q * dt * A0 / np.pi)

    @classmethod
    def load(cls, path: str | Path, lattice: Lattice) -> U1Links:
        """Read ``alpha`` (``(D, *shape)``) and optional ``alpha0`` (``shape``) from a ``.npz`` file.

        Raises :class:`~nnfield.errors.InputError` for a file that is missing, a directory, not a ``.npz``
        archive, or holds arrays of the wrong shape, complex or non-finite values.
        """
        path = Path(path)
        hint = "give a .npz with arrays 'alpha' [, 'alpha0'] (e.g. written by U1Links.save)"
        if not path.exists():
            raise InputError(f"links file {str(path)!r} does not exist; {hint}")
        if path.is_dir():
            raise InputError(f"links file {str(path)!r} is a directory; {hint}")
        unreadable = (OSError, ValueError, EOFError, zipfile.BadZipFile)
        try:
            data = np.load(path, allow_pickle=False)
        except unreadable as exc:
            raise InputError(f"links file {str(path)!r} cannot be read as .npz ({exc}); {hint}") from None
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise InputError(f"links file {str(path)!r} holds a single array, not a .npz archive; {hint}")
        with data:
            if "alpha" not in data:
                raise InputError(f"links file {str(path)!r} has no array 'alpha' (expected shape (D, *lattice.shape))")
            try:
                alpha = _links_array(data, "alpha", (lattice.ndim, *lattice.shape), path)
                alpha0 = (
                    _links_array(data, "alpha0", lattice.shape, path) if "alpha0" in data else np.zeros(lattice.shape)
                )
            except InputError:
                raise
            except unreadable as exc:  # e.g. an object array (pickles are refused)
                raise InputError(f"links file {str(path)!r}: unreadable array ({exc}); {hint}") from None
        return cls(alpha, alpha0)

    def save(self, path: str | Path) -> None:
        np.savez(path, alpha=np.asarray(self.alpha), alpha0=np.asarray(self.alpha0))

    @property
    def uniform(self) -> bool:
        """True when every link is the same (the network is then translation invariant)."""
        al = np.asarray(self.alpha)
        flat = al.reshape(al.shape[0], -1)
        return bool(np.all(flat == flat[:, :1]) and self.temporal_uniform)

    @property
    def temporal_uniform(self) -> bool:
        """True when every temporal link ``U0_i`` is the same (then ``U0`` commutes with the bias map)."""
        a0 = np.asarray(self.alpha0)
        return bool(np.all(a0 == a0.reshape(-1)[0]))

    def plaquettes(self) -> np.ndarray:
        """Plaquette angles ``P_{mu nu,i} = alpha_mu,i + alpha_nu,i+mu - alpha_mu,i+nu - alpha_nu,i`` (X_0-power units).

        Shape ``(n_pairs, *shape)`` for the pairs ``mu < nu``; gauge invariant modulo 4.
        """
        al = np.asarray(self.alpha)
        D = al.shape[0]
        out = []
        for mu in range(D):
            for nu in range(mu + 1, D):
                out.append(al[mu] + np.roll(al[nu], -1, mu) - np.roll(al[mu], -1, nu) - al[nu])
        return np.stack(out) if out else np.zeros((0, *al.shape[1:]))


# ----------------------------------------------------------------------------------------------------------
# backgrounds
# ----------------------------------------------------------------------------------------------------------
def uniform_electric(
    lattice: Lattice, dt: float, E: float, direction: int = 0, q: float = 1.0, center: float | None = None
) -> U1Links:
    """A uniform electric field ``E`` along ``direction`` as the static potential ``A0 = -E (x - center)``.

    The force on a charge ``q`` is ``q E``. On the periodic lattice the potential jumps at the box edge
    (``center`` defaults to the middle): keep packets away from the edge.
    """
    if not 0 <= direction < lattice.ndim:
        raise ParameterError("direction", f"expected an axis 0..{lattice.ndim - 1} of the lattice, got {direction}")
    x = lattice.coordinates()[direction]
    c = lattice.lengths[direction] / 2 if center is None else center
    return U1Links.from_potentials(lattice, dt, A0=-E * (x - c), q=q)


def uniform_magnetic(
    lattice: Lattice, n_flux: int, q: float = 1.0, plane: tuple[int, int] = (0, 1)
) -> tuple[U1Links, float]:
    """A uniform magnetic field through the ``plane`` with ``n_flux`` flux quanta through the torus.

    ``q B = 2 pi n_flux / (L_x L_y)`` (flux quantization on the torus). Landau gauge ``A_y = B x`` with the
    boundary twist ``a A_x(x = L_x - a, y) = -B L_x y`` that makes every plaquette carry the same flux
    ``q B a^2``. Returns ``(links, B)``.
    """
    mu, nu = plane
    if lattice.ndim < 2:
        raise ParameterError("lattice", f"a magnetic field needs at least 2 axes, got D = {lattice.ndim}")
    a = lattice.spacing
    Lx, Ly = lattice.lengths[mu], lattice.lengths[nu]
    qB = 2 * np.pi * n_flux / (Lx * Ly)
    xs = lattice.coordinates()
    A = np.zeros((lattice.ndim, *lattice.shape))
    A[nu] = (qB / q) * xs[mu]
    edge = np.isclose(xs[mu], Lx - a)
    # the edge links carry the gauge transformation chi = B L_x y that glues x = L_x to x = 0: a A_x = -B L_x y
    A[mu] = np.where(edge, -(qB / q) * Lx * xs[nu] / a, 0.0)
    return U1Links.from_potentials(lattice, 1.0, A=A, q=q), qB / q


def random_links(lattice: Lattice, rng: np.random.Generator, scale: float = 0.5) -> U1Links:
    """Random links (for covariance tests)."""
    return U1Links(
        scale * rng.standard_normal((lattice.ndim, *lattice.shape)), scale * rng.standard_normal(lattice.shape)
    )


# ----------------------------------------------------------------------------------------------------------
# gauge transformations
# ----------------------------------------------------------------------------------------------------------
def transform_state(state: State, X0: Any, theta: Any) -> State:
    """``(phi, pi) -> G (phi, pi)`` with ``G_i = X_0^(theta_i)`` (5.1)/(5.2)."""
    G = x0_power(X0, theta)
    return State(apply_local(G, state.phi), apply_local(G, state.pi))


def transform_links(links: U1Links, theta: Any, theta_next: Any = None) -> U1Links:
    """``U_mu,i -> G_i U_mu,i G_{i+mu}^-1`` and ``U0_i -> G_i(t+1) U0_i G_i(t)^-1`` (X_0 powers add).

    ``theta`` is the gauge function at time ``t``; ``theta_next`` at ``t + 1`` (default: the same).
    """
    th = np.asarray(theta, dtype=float)
    th1 = th if theta_next is None else np.asarray(theta_next, dtype=float)
    al = np.asarray(links.alpha)
    new = np.stack([al[mu] + th - np.roll(th, -1, mu) for mu in range(al.shape[0])])
    return U1Links(new, np.asarray(links.alpha0) + th1 - th)
