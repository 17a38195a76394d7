r"""Local U(1) gauge transformations of the fields (exact; no discretization error).

With ``chi(x)`` a gauge function on the sites: links ``theta_mu(x) -> theta_mu(x) + chi(x) - chi(x + e_mu)``
(``U -> G(x) U G(x + mu)^-1``, ``G = exp(i chi)``), a charged field ``Phi -> exp(i chi) Phi`` (two real neuron
types ``(phi_1, phi_2)`` rotate by the X_0 power ``X_0^(2 chi / pi)``), the electric field is unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def transform_links(theta: Any, chi: Any) -> np.ndarray:
    """``theta_mu(x) + chi(x) - chi(x + e_mu)`` (``theta`` shaped ``(D, *shape)``)."""
    theta = np.asarray(theta, dtype=float)
    chi = np.asarray(chi, dtype=float)
    return np.stack([theta[mu] + chi - np.roll(chi, -1, mu) for mu in range(theta.shape[0])])


def rotate(pair: Any, chi: Any) -> np.ndarray:
    """``(phi_1, phi_2)`` rotated by ``chi`` (``phi_1 + i phi_2 -> exp(i chi) (phi_1 + i phi_2)``), ``(2, *shape)``."""
    pair = np.asarray(pair, dtype=float)
    c, s = np.cos(chi), np.sin(chi)
    return np.stack([c * pair[0] - s * pair[1], s * pair[0] + c * pair[1]])
