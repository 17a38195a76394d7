r"""The scalar-QED model: a :class:`~nnfield.theories.u1.GaugeNetwork` with the charged scalar, its physics side,
and the tree-level masses for ``nnfield analyze``.

Tree level (``|phi|^2 = (phi_1^2 + phi_2^2)/2``, ``V = m^2 |phi|^2 + lambda (|phi|^2 - v^2)^2``, vacuum ``v_e``):
``m_A = sqrt(2) q v_e`` (each transverse photon, and the longitudinal one that ate the Goldstone),
``m_H = 2 sqrt(lambda) v_e``. On the lattice at ``k = 0`` these are exact in ``a``; the leapfrog shifts the
measured frequency to ``4 sin^2(Omega dt/2) / dt^2 = m^2`` (order 2 in dt).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import numpy as np

from ..._deprecation import positional_options
from ...errors import ParameterError
from ...lattice import Lattice, check_lattice
from ..params import check_number
from ..u1 import GaugeModel, GaugeNetwork, photon_omega
from .matter import ScalarMatter, vev
from .physics import ScalarQED


class ScalarQEDModel(GaugeModel):
    """The Abelian Higgs network with its physics side (:class:`~.physics.ScalarQED`)."""

    def tree_masses(self) -> dict[str, float]:
        """``{"photon": m_A, "higgs": m_H}`` in the Higgs phase; ``{"photon": 0, "scalar": M}`` in the symmetric."""
        th = self.theory
        lam, v, m, q = (float(x) for x in (th.lam, th.v, th.m, th.charge))
        v_e = vev(lam, v, m)
        if v_e > 0:
            return {"photon": math.sqrt(2) * abs(q) * v_e, "higgs": 2 * math.sqrt(lam) * v_e, "vev": v_e}
        return {"photon": 0.0, "scalar": math.sqrt(max(m**2 - 2 * lam * v**2, 0.0)), "vev": 0.0}

    def dispersion(self, k: list[Any]) -> Any:
        """The transverse photon ``omega^2 = m_A^2 + (4/a^2) sum sin^2(k a/2)`` (``m_A = 0`` in the symmetric phase)."""
        return photon_omega(self.lattice, self.tree_masses()["photon"], k)

    def analysis_extra(self) -> dict[str, Any]:
        """The masses at ``k = 0`` from the network's own one-tick symbol about the vacuum (linearized by autodiff),
        next to tree level: ``m = (2/dt) sin(Omega dt/2)`` of each distinct non-zero ``Omega``."""
        from ... import analysis

        net = self.network
        lam = np.linalg.eigvals(analysis.one_step_symbol(net, [np.zeros(1)] * self.lattice.ndim))[0]
        dt = float(net.tick)
        omega = np.sort(np.abs(np.angle(lam)) / dt)
        masses = np.unique(np.round((2 / dt) * np.sin(omega * dt / 2), 9))
        return {**super().analysis_extra(), "masses": {"tree_level": self.tree_masses(),
                           "network_k0": [float(x) for x in masses if x > 1e-6],
                           "note": "k = 0 frequencies of the linearized one-tick map, m = (2/dt) sin(Omega dt/2)"}}


@positional_options
def model(lattice: Lattice, dt: float, *, charge: float = 1.0, lam: float = 0.5, v: float = 1.0,
          m: float = 0.0) -> ScalarQEDModel:
    """The ``scalar-qed`` model: ``V = m^2 |phi|^2 + lambda (|phi|^2 - v^2)^2``, coupling ``q``, step ``dt``."""
    check_lattice(lattice)
    traced = [k for k, x in (("lam", lam), ("v", v), ("m", m)) if isinstance(x, jax.core.Tracer)]
    if traced:
        raise ParameterError(", ".join(traced), "lam, v and m decide the phase (the vacuum v_e is a constant of the "
                             "network), so they must be concrete numbers, not traced by jax.jit, jax.vmap or "
                             "jax.grad; build one model per value (a [sweep] table or nnfield.ensemble for a sweep). "
                             "The charge and dt may be traced")
    check_number("lam", lam, minimum=0.0)
    check_number("v", v)
    check_number("m", m, minimum=0.0)
    matter = ScalarMatter(lam=lam, v=v, m=m, charge=charge, spacing=lattice.spacing, v_e=vev(lam, v, m))
    net = GaugeNetwork.create(lattice, charge, dt, matter, name="scalar QED (links with momentum + Sec. 3 scalar)")
    return ScalarQEDModel(net, ScalarQED(charge=charge, lattice=lattice, lam=lam, v=v, m=m))
