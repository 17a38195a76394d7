r"""The physics side of Sec. 5: the continuum gauged Dirac equation (5.10), solved independently of the networks.

``i d_t psi = [sum_mu alpha^mu (-i d_mu - q A_mu) + beta m + q A0] psi`` with spectral (FFT) derivatives on the
periodic box (exact for band-limited data) and SciPy's DOP853 in time (order 8, ``rtol`` 1e-10).
"""

from __future__ import annotations

import numpy as np

from .. import dirac
from .links import U1Links, check_links


class ContinuumReference:
    """The gauged Dirac equation (5.10) in Hamiltonian form, solved independently of the network code.

    ``i d_t psi = [sum_mu alpha^mu (-i d_mu - q A_mu) + beta m + q A0] psi`` with spectral (FFT) derivatives on
    the lattice's periodic box and SciPy's DOP853 in time (``rtol`` 1e-10). The gamma matrices come from the
    Dirac theory (4.31); ``A``/``A0`` are read from links (``A_mu = pi alpha_mu / (2 q a)`` at sites,
    ``A0 = pi alpha0 / (2 q dt)``). Spectrally accurate in space for smooth fields, so the network's error
    against it measures the network's own discretization (order 1 in a and dt).

    ``dt``: the step the temporal links were built for; by default the links' own (:attr:`U1Links.dt`), or 1
    when they do not record one. Links of another lattice, or recording another ``dt``, are refused
    (:func:`~.links.check_links`).
    """

    def __init__(self, theory: dirac.Dirac, links: U1Links | None = None, dt: float | None = None,
                 q: float = 1.0):
        self.theory = theory
        lat = theory.lattice
        self.k = lat.momenta()
        if links is not None:
            links = check_links(links, lat, dt)
            dt = (1.0 if links.dt is None else links.dt) if dt is None else dt
        if links is None:
            self.A = np.zeros((lat.ndim, *lat.shape))
            self.A0 = np.zeros(lat.shape)
        else:
            self.A = np.pi * np.asarray(links.alpha) / (2 * q * lat.spacing)
            self.A0 = np.pi * np.asarray(links.alpha0) / (2 * q * dt)
        self.q = q

    def hamiltonian(self, psi: np.ndarray) -> np.ndarray:
        th = self.theory
        axes = tuple(range(1, psi.ndim))
        out = th.m * np.einsum("ab,b...->a...", th.beta, psi) + self.q * self.A0[None] * psi
        fpsi = np.fft.fftn(psi, axes=axes)
        for mu, k in enumerate(self.k):
            dpsi = np.fft.ifftn(1j * k[None] * fpsi, axes=axes)
            out = out + np.einsum("ab,b...->a...", th.alpha[mu], -1j * dpsi - self.q * self.A[mu][None] * psi)
        return out

    def evolve(self, psi0: np.ndarray, t: float, rtol: float = 1e-10) -> np.ndarray:
        from scipy.integrate import solve_ivp

        psi0 = np.asarray(psi0, dtype=complex)
        shape = psi0.shape

        def rhs(_: float, y: np.ndarray) -> np.ndarray:
            return (-1j * self.hamiltonian(y.reshape(shape))).ravel()

        sol = solve_ivp(rhs, (0.0, t), psi0.ravel(), method="DOP853", rtol=rtol, atol=rtol * np.abs(psi0).max())
        return sol.y[:, -1].reshape(shape)
