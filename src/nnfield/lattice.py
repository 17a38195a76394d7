"""Periodic hypercubic lattices of any dimension D >= 1."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from ._checks import check_number
from .errors import ParameterError


@dataclasses.dataclass(frozen=True)
class Lattice:
    """A periodic lattice with ``shape`` sites and spacing ``a``.

    Site ``i = (i_1, ..., i_D)`` sits at ``x_i = a * i``. Plane waves ``exp(i k . x)`` with
    ``k_mu = 2 pi n_mu / (N_mu a)`` are the eigenfunctions of every translation-invariant operator.
    The lattice is hashable and static: it is part of a network's PyTree structure, not a leaf.
    """

    shape: tuple[int, ...]
    spacing: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.shape, (int, np.integer)):
            raise ParameterError("shape", f"expected a tuple of sizes, got {self.shape!r}; e.g. ({self.shape},)")
        try:
            sizes = list(self.shape)
        except TypeError:
            raise ParameterError("shape", f"expected a tuple of sizes, got {self.shape!r}; e.g. (64, 64)") from None
        bad = [n for n in sizes if isinstance(n, bool) or not float(n).is_integer()] if all(
            isinstance(n, (int, float, np.integer, np.floating)) for n in sizes) else sizes
        if bad:
            raise ParameterError("shape", f"expected whole numbers of sites, got {sizes}; e.g. (64, 64)")
        shape = tuple(int(n) for n in sizes)
        if len(shape) < 1:
            raise ParameterError("shape", "expected at least one dimension, got (); e.g. (64,)")
        for n in shape:
            if n < 1:
                raise ParameterError("shape", f"expected positive sizes, got {list(shape)}; use e.g. (64, 64)")
        check_number("spacing", self.spacing, positive=True)
        if np.ndim(self.spacing) != 0:
            raise ParameterError("spacing", f"expected one number (the same spacing on every axis), got "
                                 f"{self.spacing!r}")
        a = float(self.spacing)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "spacing", a)

    @classmethod
    def cubic(cls, n: int, ndim: int, spacing: float = 1.0) -> Lattice:
        """An ``n^ndim`` lattice."""
        if isinstance(ndim, bool) or not isinstance(ndim, int | np.integer) or ndim < 1:
            raise ParameterError("ndim", f"expected a whole number of dimensions >= 1, got {ndim!r}")
        return cls((n,) * int(ndim), spacing)

    @property
    def ndim(self) -> int:
        """Number of spatial dimensions D."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """Number of sites."""
        return int(np.prod(self.shape))

    @property
    def cell_volume(self) -> float:
        """Volume per site, ``a^D`` (the measure of lattice sums approximating integrals)."""
        return self.spacing**self.ndim

    @property
    def lengths(self) -> tuple[float, ...]:
        """Physical side lengths ``N_mu a``."""
        return tuple(n * self.spacing for n in self.shape)

    def unit(self, mu: int) -> tuple[int, ...]:
        """The lattice vector ``e_mu`` as an integer offset."""
        if not 0 <= mu < self.ndim:
            raise ParameterError("mu", f"expected a direction 0..{self.ndim - 1} of a {self.ndim}D lattice, got {mu}")
        return tuple(1 if nu == mu else 0 for nu in range(self.ndim))

    def coordinates(self, sparse: bool = False) -> list[np.ndarray]:
        """Site positions ``x_mu = a i_mu``, D arrays of ``self.shape`` (``indexing='ij'``); with ``sparse``,
        broadcastable ones (``x_mu`` of shape ``(1, .., N_mu, .., 1)``, the same values).

        Inside a traced function take the sparse ones: a NumPy array is a constant of the compiled program, and a
        full grid of coordinates was a constant of the lattice's size, held whole by every process of a run split
        over several (session 47), where the sparse ones are ``N_mu`` numbers broadcast in the program."""
        return list(np.meshgrid(*[self.spacing * np.arange(n) for n in self.shape], indexing="ij", sparse=sparse))

    def momenta_1d(self) -> list[np.ndarray]:
        """Lattice momenta along each axis in FFT order, ``k = 2 pi fftfreq(N, a)``."""
        return [2 * np.pi * np.fft.fftfreq(n, d=self.spacing) for n in self.shape]

    def momenta(self, sparse: bool = False) -> list[np.ndarray]:
        """Momentum grid ``k_mu`` (FFT order, ``indexing='ij'``), each of shape ``self.shape``; with ``sparse``,
        broadcastable (``k_mu`` of shape ``(1, .., N_mu, .., 1)``; inside a traced function, as
        :meth:`coordinates`)."""
        return list(np.meshgrid(*self.momenta_1d(), indexing="ij", sparse=sparse))

    def laplacian_symbol(self) -> np.ndarray:
        """``-(4/a^2) sum_mu sin^2(k_mu a / 2)``: the symbol of the nearest-neighbour Laplacian."""
        a = self.spacing
        return -sum(4.0 / a**2 * np.sin(k * a / 2) ** 2 for k in self.momenta())

    def with_spacing(self, spacing: float) -> Lattice:
        """The same sites with spacing ``spacing``."""
        return Lattice(self.shape, spacing)

    def with_shape(self, shape: Sequence[int]) -> Lattice:
        """A lattice of ``shape`` sites with this spacing."""
        return Lattice(tuple(shape), self.spacing)


def check_lattice(lattice: object, name: str = "lattice") -> Lattice:
    """``lattice`` itself if it is a :class:`Lattice`; else a :class:`~nnfield.errors.ParameterError` naming
    ``name`` (a tuple of sizes is the common mistake: the builders need the spacing too)."""
    if not isinstance(lattice, Lattice):
        shown = f" {lattice!r}" if isinstance(lattice, (tuple, list, int)) else ""
        example = tuple(lattice) if isinstance(lattice, (tuple, list)) else (64, 64)
        raise ParameterError(name, f"expected a nnfield.Lattice, got {type(lattice).__name__}{shown}; e.g. "
                             f"Lattice({example}, spacing=1.0)")
    return lattice
