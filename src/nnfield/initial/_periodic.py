r"""Distances on the periodic box: the one minimum-image helper of the library, and the periodized Gaussian.

On a periodic axis of length ``L`` the signed distance from ``c`` to ``x`` is the one to the nearest image,
``d = x - c - L round((x - c) / L)``, so ``|d| <= L/2``. Two ways of rounding are in use (they differ only in
the last bit and at ``|d| = L/2`` exactly), and each caller keeps its own for bit-identical results:

- ``"wrap"``: ``((x - c + L/2) mod L) - L/2``, in ``[-L/2, L/2)`` (scalar packets);
- ``"nearest"``: ``d - L round(d / L)`` with ``d = x - c`` (NumPy rounds half to even; spinor packets, gauge
  observables).

Exact (no discretization error): it only picks the image.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

Rounding = Literal["wrap", "nearest"]


def minimum_image(x: Any, center: float, length: float, rounding: Rounding = "wrap") -> Any:
    """The signed minimum-image distance ``x - center`` on a periodic axis of ``length`` (NumPy arrays).

    ``rounding="wrap"`` gives ``((x - c + L/2) mod L) - L/2``; ``"nearest"`` gives ``d - L round(d / L)``.
    """
    if rounding == "wrap":
        return ((x - center + 0.5 * length) % length) - 0.5 * length
    if rounding == "nearest":
        d = x - center
        return d - length * np.round(d / length)
    raise ValueError(f"rounding: expected 'wrap' or 'nearest', got {rounding!r}")


def minimum_image_distances(lattice: Any, center: Sequence[float], rounding: Rounding = "wrap") -> list[Any]:
    """The minimum-image distances ``d_mu`` of every site of ``lattice`` from ``center``, one array per axis."""
    return [
        minimum_image(x, c, ell, rounding)
        for x, c, ell in zip(lattice.coordinates(), center, lattice.lengths, strict=True)
    ]


def periodized_gaussian(lattice: Any, center: Sequence[float], width: float, momentum: Sequence[float]) -> Any:
    r"""``prod_mu sum_j exp(-(d_mu - j L_mu)^2 / (4 w^2) + i k_mu (d_mu - j L_mu))``: smooth on the torus.

    The Gaussian ``exp(-|x - c|^2/(4 w^2) + i k.(x - c))`` (``|psi|^2`` of rms width ``w``) summed over the
    periodic images (``j = -n .. n``, ``n = ceil(8 w / L) + 1``: the omitted images are below
    ``exp(-16)`` relative). Complex array of ``lattice.shape``. (For the spinor packets of the Dirac theory.)
    """
    return periodized_gaussian_at(lattice.coordinates(), lattice.lengths, center, width, momentum)


def periodized_gaussian_at(xs: Sequence[Any], lengths: Sequence[float], center: Sequence[float], width: float,
                           momentum: Sequence[float]) -> Any:
    """:func:`periodized_gaussian` at the sites ``xs`` (the coordinates' grids: the lattice's, or a slab's) of a
    box of ``lengths``: the same expressions elementwise."""
    L = np.asarray(lengths)
    env = np.ones(np.broadcast_shapes(*(np.shape(x) for x in xs)), dtype=complex)
    for mu in range(len(xs)):
        d = minimum_image(xs[mu], center[mu], L[mu], "nearest")
        n_img = int(np.ceil(8 * width / L[mu])) + 1
        g = sum(np.exp(-((d - j * L[mu]) ** 2) / (4 * width**2) + 1j * momentum[mu] * (d - j * L[mu]))
                for j in range(-n_img, n_img + 1))
        env = env * g
    return env
