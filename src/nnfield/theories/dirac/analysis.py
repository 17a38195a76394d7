r"""Linear analysis of the Dirac networks: fermion doublers of ``B B^T``, the stable network's bound, the paper
scheme's growth, and the dispersion extras of ``nnfield analyze`` (:func:`analysis_report`).

Each mode of a network with bias map ``B`` sees the singular values ``sigma(k)`` of the symbol ``B(k)``; the
target lattice energies are ``omega^2 = m^2 + sigma^2`` (4.40). Exact (eigenvalues of the symbols; no
discretization beyond the momentum grid).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...lattice import Lattice
from ...network import Network
from ...operators import LatticeOperator
from .physics import Dirac


def bbt_eigenvalues(B: LatticeOperator, k: Sequence[Any], spacing: float) -> np.ndarray:
    """Eigenvalues of ``B(k) B(k)^dagger`` (the symbol of ``B B^T``), ascending, shape ``(*k.shape, K)``."""
    Bk = B.symbol(k, spacing)
    return np.linalg.eigvalsh(Bk @ np.conj(np.swapaxes(Bk, -1, -2)))


#: at most this many momenta in the doubler count; a larger configured lattice is subsampled (every s-th momentum)
MAX_DOUBLER_MOMENTA = 2**18


def doubler_grid(lattice: Lattice, n: int | None = None) -> tuple[list[np.ndarray], str]:
    """The momenta of :func:`doubler_analysis` and the sentence that says which they are.

    ``n=None``: the configured lattice's own momenta ``2 pi j / (N_mu a)`` (every mode a run on it has); above
    :data:`MAX_DOUBLER_MOMENTA` momenta every ``s``-th one per axis (``s`` the smallest stride that fits; these are
    still momenta of the lattice). ``n``: an ``n^D`` grid over the Brillouin zone ``[-pi/a, pi/a)``.
    """
    a, shape = lattice.spacing, tuple(lattice.shape)
    if n is not None:
        axes = [2 * np.pi * np.fft.fftfreq(n, d=a)] * lattice.ndim
        source = f"a {n}^{lattice.ndim} grid over the Brillouin zone"
    else:
        stride = 1
        while math.prod(-(-N // stride) for N in shape) > MAX_DOUBLER_MOMENTA:
            stride += 1
        axes = [(2 * np.pi * np.fft.fftfreq(N, d=a))[::stride] for N in shape]
        dims = "x".join(map(str, shape))
        source = (f"the configured {dims} lattice (all its momenta)" if stride == 1 else
                  f"every {stride}th momentum per axis of the configured {dims} lattice (at most "
                  f"{MAX_DOUBLER_MOMENTA} momenta)")
    return list(np.meshgrid(*axes, indexing="ij")), source


def doubler_analysis(B: LatticeOperator, lattice: Lattice, n: int | None = None, tol: float = 1e-10) -> dict[str, Any]:
    """Zero modes of ``B B^T`` in the Brillouin zone away from ``k = 0`` (fermion doublers).

    The momenta are those of the configured lattice (``n=None``; subsampled above :data:`MAX_DOUBLER_MOMENTA`)
    or an ``n^D`` Brillouin-zone grid (:func:`doubler_grid`; multiples of 4 include ``k = pi/2``-type points).
    Returns:

    - ``grid`` (points per axis) and ``grid_source`` (which momenta, in words);
    - ``count``: momenta ``k != 0`` where the smallest eigenvalue of ``B(k) B(k)^dagger`` is below ``tol * max``
      (doubler momenta);
    - ``zero_eigenvalues``: the zero eigenvalues of ``B(k) B(k)^dagger`` at those momenta, with multiplicity. On
      the configured lattice this is the number of zero eigenvalues of the real operator ``B B^T`` (size
      ``K N``) besides the ``zero_eigenvalues_k0`` of ``k = 0`` (the physical massless modes);
    - ``locations_pi_over_a`` (first 24 doubler momenta, in units of ``pi/a``); ``min_sigma_away``: the smallest
      singular value of ``B(k)`` over ``|k| >= pi/(2a)`` (0 with doublers); ``sigma_max``: the largest over the
      grid; ``doubler_free``.
    """
    nd, a = lattice.ndim, lattice.spacing
    k, source = doubler_grid(lattice, n)
    ev = bbt_eigenvalues(B, k, a)
    ev = np.clip(ev, 0.0, None)
    lam_min = ev[..., 0]
    scale = float(ev.max())
    origin = np.all([kk == 0 for kk in k], axis=0)
    zero_ev = ev <= tol * scale
    zero = zero_ev[..., 0] & ~origin
    where = np.argwhere(zero)
    locs = [[float(k[mu][tuple(w)] * a / np.pi) for mu in range(nd)] for w in where[:24]]
    kabs = np.sqrt(sum(kk**2 for kk in k))
    away = kabs >= np.pi / (2 * a)
    return {
        "grid": list(k[0].shape),
        "grid_source": source,
        "count": int(zero.sum()),
        "zero_eigenvalues": int(zero_ev[~origin].sum()),
        "zero_eigenvalues_k0": int(zero_ev[origin].sum()),
        "locations_pi_over_a": locs,
        "min_sigma_away": float(np.sqrt(lam_min[away].min())) if away.any() else float("nan"),
        "sigma_max": float(np.sqrt(scale)),
        "doubler_free": bool(zero.sum() == 0),
    }


def forward_doubler_curve_point(lattice: Lattice) -> list[float]:
    """A momentum on the 3D forward-map doubler curves, ``k = (pi/2, -pi/2, 0)/a`` (D >= 2; for tests)."""
    a = lattice.spacing
    return [np.pi / (2 * a), -np.pi / (2 * a)] + [0.0] * (lattice.ndim - 2)


def stability_bound(m: float, dt: float, sigma_max: float) -> dict[str, float | bool]:
    """The stable network's bound ``h sigma_max(B) < 2 |cos(m h/2)|`` at ``h = dt`` and the first loss of stability
    ``dt_max`` (bisection below ``min(pi/m, 2/sigma_max)``).

    ``stable`` (and ``two_cos_mh_2``) use ``|cos|``: beyond ``m h = pi`` the mass rotation wraps and the network is
    stable again in islands (e.g. ``m = 30``, ``sigma_max = 4``, ``h = 0.2``: ``2 |cos 3| = 1.98 > 0.8``, measured
    stable), which the signed ``2 cos(m h/2) = -1.98`` called unstable. ``dt_max`` is the first loss (no island)."""
    lhs, rhs = dt * sigma_max, 2 * abs(math.cos(m * dt / 2))
    lo, hi = 0.0, min(math.pi / max(m, 1e-300), 2.0 / sigma_max) if sigma_max > 0 else math.inf
    if math.isfinite(hi):
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if mid * sigma_max < 2 * math.cos(m * mid / 2):
                lo = mid
            else:
                hi = mid
    return {"h_sigma_max": lhs, "two_cos_mh_2": rhs, "stable": bool(lhs < rhs), "dt_max": lo if math.isfinite(hi) else
            math.inf}


def paper_growth_per_step(m: float, dt: float, sigma: Any) -> Any:
    """``|lambda| = sqrt(1 + h^2 (m^2 + sigma^2))``: the paper scheme's amplification of a mode (NOTES Sec. 4)."""
    return np.sqrt(1.0 + dt**2 * (m**2 + np.asarray(sigma) ** 2))



def analysis_report(network: Network, theory: Dirac, kind: str, loss: str = "corrected") -> dict[str, Any]:
    """Doublers of ``B B^T``, dispersion branches vs ``omega^2 = m^2 + k^2``, stability (``nnfield analyze``).

    ``kind`` is ``"stable"`` (reports :func:`stability_bound`) or ``"paper"`` (reports the largest growth per step,
    :func:`paper_growth_per_step`, where it is this network's: the paper's ``simultaneous`` update of (4.11), i.e.
    ``loss`` ``"corrected"``; another scheme or loss grows otherwise, and the report says so instead: the network's
    own growth is ``nnfield analyze``'s ``max_amplification``). Dispersions along the axis and, in D >= 2, the
    diagonal ``(1, -1, 0)``: the
    network's (from its one-step symbol), the lattice branches and the continuum, with their relative deviations.
    """
    from ...analysis import network_dispersion

    lat, net, th = theory.lattice, network, theory
    dbl = doubler_analysis(net.B, lat)
    h = float(net.dt)
    out: dict[str, Any] = {"doublers": dbl, "dirac_network": kind}
    if kind == "stable":
        out["stability_bound"] = stability_bound(th.m, h, dbl["sigma_max"])
    elif getattr(net.scheme, "name", None) == "simultaneous" and loss == "corrected":
        out["growth_per_step_max"] = float(paper_growth_per_step(th.m, h, dbl["sigma_max"]))
    else:  # the formula is the simultaneous update of (4.11): it was reported for every scheme and loss (wrongly)
        out["growth_per_step_max"] = None
        out["growth_per_step_note"] = (
            "sqrt(1 + h^2 (m^2 + sigma_max^2)) is the growth of the paper's simultaneous update of (4.11) (loss "
            "\"corrected\"); this network's growth per step is max_amplification")
    a = lat.spacing
    t = np.linspace(0.0, np.pi / a, 9)
    paths = {"axis": [t] + [np.zeros_like(t)] * (lat.ndim - 1)}
    if lat.ndim >= 2:
        paths["diagonal_1,-1"] = [t, -t] + [np.zeros_like(t)] * (lat.ndim - 2)

    def rounded(x: Any) -> Any:
        return np.vectorize(lambda v: float(f"{v:.6g}"))(np.asarray(x)).tolist()

    disp: dict[str, Any] = {"k_over_pi_a": rounded(t * a / np.pi)}
    dev: dict[str, float] = {}
    for name, path in paths.items():
        om_net = network_dispersion(net, path)
        om_lat = th.dispersion_branches(path)
        om_cont = th.dispersion(path, continuum=True)
        disp[name] = {"network": rounded(om_net), "lattice": rounded(om_lat), "continuum": rounded(om_cont)}
        dev[f"{name}: network vs lattice (lowest branch)"] = float(
            np.abs(om_net[:, 0] - om_lat[:, 0]).max() / om_lat[:, 0].max())
        small = t <= np.pi / (4 * a)
        dev[f"{name}: lattice vs continuum, |k| <= pi/(4a)"] = float(
            np.abs(om_lat[small] - om_cont[small, None]).max() / om_cont[small].max())
    out["dispersion_rel_dev"] = dev
    out["dispersion_branches"] = disp
    return out
