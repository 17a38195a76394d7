r"""The Maxwell-Dirac model: the network of :mod:`.network`, its physics side (:mod:`.physics`), the packing
between them and gauge-invariant observables.

Physics data (initial conditions, :meth:`MaxwellDiracModel.decode`): ``phi = (A_1..A_D, Q)``, ``pi = (E_1..E_D,
P)`` with the spinor ``psi = (Q + i P)/sqrt(2)``; the network's matter is ``(phi, pi) = unpack(psi)`` of (4.30)
(:meth:`nnfield.theories.dirac.Dirac.unpack`), so ``|phi|^2 + |pi|^2 = |psi|^2`` per site.

Observables (gauge invariant under static transformations):

=====================  =======================================================================================
``energy``             the physics side's Hamiltonian of the decoded data (an independent code path)
``energy_electric``    ``a^D sum E^2/2``; ``energy_magnetic`` ``a^D sum (1 - cos P)/(q^2 a^4)`` (D >= 2)
``energy_matter``      ``a^D sum [m (|phi|^2 - |pi|^2) - 2 phi . X_0 B(theta) pi]`` (the Dirac energy)
``gauss_residual``     ``max |div E - (rho - <rho>)|`` relative to the largest term at a site (the uniform
                       ``<rho>`` is the static neutralizing background: ``div E`` has no ``k = 0`` part)
``charge``             ``a^D sum rho``, ``rho`` the network's time-centred charge (:mod:`.matter`)
``charge_plain``       ``q a^D sum (|phi|^2 + |pi|^2)`` (= ``q a^D sum |psi|^2``)
``momentum_<x>``       total momentum: matter, field and the static background; ``momentum_matter_<x>``
                       ``a^D <psi, -i D psi>`` (covariant central difference ``D``), the field's
                       ``-a^D sum_j E_j F_{ij}`` (site averages), the background's ``-Q <A>``
``position_<x>``       charge-weighted (minimum image about the box centre; the centre without matter)
``field_<x>``          the mean electric field (the applied uniform field and its back-reaction)
``plaquette``, ``flux`` mean ``cos P`` (D >= 2), ``sum wrap(P) / q`` (2D)
=====================  =======================================================================================
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from ..._checks import weak_scalar
from ..._deprecation import positional_options, renamed_arguments
from ...initial import minimum_image
from ...lattice import Lattice, check_lattice
from ...model import BOUNDED, Conserved
from ...state import State
from .. import clifford, dirac
from ..u1 import ELECTRIC, LINKS, MATTER, GaugeModel, photon_omega
from ..u1._lattice import backward, divergence_scale, forward, pairs, plaquettes, wrap
from ..u1.model import packed_fields
from .matter import DiracMatter, check_matter_parameters
from .network import MaxwellDiracNetwork
from .physics import MaxwellDirac

ENERGY = Conserved("energy", BOUNDED, "the Maxwell-Dirac Hamiltonian; oscillates at O(dt), no drift")
CHARGE = Conserved("charge", BOUNDED, "the network's time-centred charge; exact with fixed links, O(dt^2) with "
                                      "moving ones (docs/maxwell_dirac.md)")


class MaxwellDiracModel(GaugeModel):
    """A :class:`~.network.MaxwellDiracNetwork` with its physics side and the spinor packing."""

    network: MaxwellDiracNetwork
    theory: MaxwellDirac
    packing: dirac.Dirac  # a PyTree: its mass a leaf (an ensemble may vary it)
    #: an initial-data file holds the spinor as ``Q``, ``P`` (``psi = (Q + i P) / sqrt(2)``)
    matter_arrays: ClassVar[tuple[str, str]] = ("Q", "P")
    #: Gauss's law is the network's ``div E = rho - <rho>`` (the static neutralizing background)
    neutralizing_background: ClassVar[bool] = True

    # -- state maps -----------------------------------------------------------------------------------------
    def encode(self, phi: Any, pi: Any) -> dict[str, Any]:
        """The network state of physics data ``phi = (A, Q)``, ``pi = (E, P)``, each ``(D + K, *lattice.shape)``
        (checked by :func:`~nnfield.theories.u1.model.packed_fields`): links ``theta = a q A``, ``electric`` ``E``
        and the matter ``unpack(psi)`` of ``psi = (Q + i P) / sqrt(2)`` (4.30)."""
        phi, pi = packed_fields(self, phi, pi)  # NumPy data stay NumPy: no small program compiled per operation
        D = self.lattice.ndim
        qa = self.network.charge * self.lattice.spacing
        psi = (phi[D:] + 1j * pi[D:]) / np.sqrt(2.0)
        m_phi, m_pi = self.packing.unpack(psi)
        return {LINKS: qa * phi[:D], ELECTRIC: pi[:D], MATTER: State(m_phi.astype(phi.dtype), m_pi.astype(phi.dtype))}

    def decode(self, state: dict[str, Any]) -> tuple[jax.Array, jax.Array]:
        """The physics data ``(A, Q)``, ``(E, P)`` of a network state (inverse of :meth:`encode`)."""
        qa = self.network.charge * self.lattice.spacing
        m = state[MATTER]
        psi = self.packing.pack(m.phi, m.pi)
        r2 = 2.0**0.5  # a Python float: weakly typed, keeps a float32 state's precision (np.sqrt's float64 did not)
        Q, P = r2 * jnp.real(psi), r2 * jnp.imag(psi)
        return jnp.concatenate([state[LINKS] / qa, Q]), jnp.concatenate([state[ELECTRIC], P])

    # -- per-site fields ------------------------------------------------------------------------------------
    def charge_density(self, state: dict[str, Any]) -> jax.Array:
        """The network's time-centred charge ``q [|pi|^2 + phi . T phi(t+1)]`` (at the half step of ``E``)."""
        return self.network.matter.network_charge(self.network.midpoint_links(state), state[MATTER])

    def fields(self, state: dict[str, Any]) -> dict[str, jax.Array]:
        """Per-site fields (gauge invariant): ``electric``, ``magnetic``, ``plaquette``, ``electric_energy``,
        ``magnetic_energy``, ``charge_density``, ``gauss`` (``div E - (rho - <rho>)``), ``matter_energy``,
        ``psi_abs2``, ``energy``."""
        rho = self.charge_density(state)
        out = self.gauge_fields(state, rho)
        out["gauss"] = out["gauss"] + jnp.mean(rho)  # the static neutralizing background
        dens = self.network.matter.densities(state[LINKS], state[MATTER])
        out["matter_energy"] = dens["energy"]
        out["psi_abs2"] = dens["psi_abs2"]
        out["energy"] = out["electric_energy"] + out["magnetic_energy"] + dens["energy"]
        return out

    def gauss_residual(self, state: dict[str, Any], fields: dict[str, jax.Array] | None = None) -> jax.Array:
        """``max |div E - (rho - <rho>)|`` over the larger of the largest term at a site and the matter's charge
        scale (round-off: ``~1e-16``)."""
        f = self.fields(state) if fields is None else fields
        rho = f["charge_density"] - jnp.mean(f["charge_density"])
        scale = jnp.maximum(divergence_scale(state[ELECTRIC], rho, self.lattice.spacing),
                            self.charge_scale(state))
        return jnp.max(jnp.abs(f["gauss"])) / jnp.maximum(scale, jnp.finfo(scale.dtype).tiny)

    # -- momentum -------------------------------------------------------------------------------------------
    def matter_momentum(self, state: dict[str, Any]) -> jax.Array:
        """``a^D <psi, -i D_mu psi>`` per direction, ``D_mu f = (U f(x+mu) - U(x-mu)^T f(x-mu)) / (2a)``."""
        mat: DiracMatter = self.network.matter
        theta, m = state[LINKS], state[MATTER]
        D, a = self.lattice.ndim, self.lattice.spacing
        out = []
        for mu in range(D):
            p = 0.0
            for f in (m.phi, m.pi):
                up = mat.link(theta[mu], forward(f, mu, D))
                down = mat.link(-backward(theta[mu], mu, D), backward(f, mu, D))
                p = p + jnp.sum(f * mat.mix(0, (up - down) / (2 * a)))
            out.append(p)
        return self.lattice.cell_volume * jnp.stack(out)

    def field_momentum(self, state: dict[str, Any]) -> jax.Array:
        """``-a^D sum_x sum_j E_j F_{ij}`` (``E = dA/dt``; ``E`` and ``F`` averaged to the sites; zero in 1D)."""
        D, a, q = self.lattice.ndim, self.lattice.spacing, self.network.charge
        E = state[ELECTRIC]
        if D < 2:
            return jnp.zeros((1,), jnp.result_type(E))
        Fp = wrap(plaquettes(state[LINKS])) / (q * a**2)
        idx = {pq: n for n, pq in enumerate(pairs(D))}
        Es = [(E[j] + backward(E[j], j, D)) / 2 for j in range(D)]
        out = []
        for i in range(D):
            tot = 0.0
            for j in range(D):
                if i == j:
                    continue
                sgn, F = (1.0, Fp[idx[(i, j)]]) if i < j else (-1.0, Fp[idx[(j, i)]])
                Fs = (F + backward(F, i, D) + backward(F, j, D) + backward(backward(F, i, D), j, D)) / 4
                tot = tot + sgn * jnp.sum(Es[j] * Fs)
            out.append(-tot)
        return self.lattice.cell_volume * jnp.stack(out)

    def background_momentum(self, state: dict[str, Any], charge: jax.Array) -> jax.Array:
        """``-Q <A>``: the momentum the static neutralizing background (charge ``-Q``, ``Q = a^D sum rho``) has
        taken up, ``d/dt = -Q <E>`` (the force of the uniform field on it)."""
        qa = self.network.charge * self.lattice.spacing
        return -charge * jnp.mean(state[LINKS], axis=tuple(range(1, self.lattice.ndim + 1))) / qa

    def position(self, state: dict[str, Any]) -> jax.Array:
        """The ``|psi|^2``-weighted position per axis (minimum image about the box centre); the box centre ``L/2``
        where there is no matter (``psi = 0``: photons about the vacuum, whose ``0/0`` was a NaN that stopped the
        run as non-finite initial data)."""
        m = state[MATTER]
        dens = jnp.sum(m.phi**2, axis=0) + jnp.sum(m.pi**2, axis=0)
        total = jnp.sum(dens)
        empty = total == 0
        out = []
        for mu, x in enumerate(self.lattice.coordinates(sparse=True)):  # (broadcast: no lattice constant)
            L = self.lattice.lengths[mu]
            d = jnp.asarray(minimum_image(x, L / 2, L, "nearest") + L / 2, dens.dtype)  # (in the state's precision)
            out.append(jnp.where(empty, L / 2, jnp.sum(dens * d) / jnp.where(empty, 1, total)))
        return jnp.stack(out)

    # -- observables ------------------------------------------------------------------------------------------
    def observables(self, state: dict[str, Any]) -> dict[str, jax.Array]:
        """The observables a run records (the module docstring's table)."""
        vol = self.lattice.cell_volume
        f = self.fields(state)
        phi, pi = self.decode(state)
        D = self.lattice.ndim
        out = {
            "energy": self.theory.hamiltonian(phi, pi),
            "energy_electric": vol * jnp.sum(f["electric_energy"]),
            "energy_magnetic": vol * jnp.sum(f["magnetic_energy"]),
            "energy_matter": vol * jnp.sum(f["matter_energy"]),
            "gauss_residual": self.gauss_residual(state, f),
            "charge": vol * jnp.sum(f["charge_density"]),
            "charge_plain": vol * self.network.charge * jnp.sum(f["psi_abs2"]),
        }
        pm = self.matter_momentum(state)
        pf = self.field_momentum(state)
        pb = self.background_momentum(state, out["charge"])
        x = self.position(state)
        for mu in range(D):
            c = "xyz"[mu]
            out[f"momentum_{c}"] = pm[mu] + (pf[mu] if D >= 2 else 0.0) + pb[mu]
            out[f"momentum_matter_{c}"] = pm[mu]
            out[f"position_{c}"] = x[mu]
            out[f"field_{c}"] = jnp.mean(state[ELECTRIC][mu])
        if D >= 2:
            out["plaquette"] = jnp.mean(f["plaquette"])
        if D == 2:
            out["flux"] = jnp.sum(f["magnetic"]) * self.lattice.spacing**2
        return out

    def conserved(self) -> tuple[Conserved, ...]:
        """Energy and charge, bounded (see :data:`ENERGY`, :data:`CHARGE`; ``docs/maxwell_dirac.md``)."""
        return (ENERGY, CHARGE)

    def dispersion(self, k: list[Any]) -> Any:
        """The transverse photon's lattice ``omega(k)`` (the free Dirac branches are the Dirac theory's)."""
        return photon_omega(self.lattice, 0.0, k)

    def gauge_transform(self, phi: Any, pi: Any, chi: Any) -> tuple[np.ndarray, np.ndarray]:
        """Physics data transformed by ``chi``: ``A -> A + (chi - chi(x + mu)) / (q a)``, ``psi -> exp(i chi) psi``,
        ``E`` unchanged."""
        from ..u1.transform import transform_links

        phi, pi = np.array(phi, dtype=float), np.array(pi, dtype=float)
        D = self.lattice.ndim
        qa = float(self.network.charge) * self.lattice.spacing
        phi[:D] = transform_links(qa * phi[:D], chi) / qa
        c, s = np.cos(chi), np.sin(chi)
        Q, P = phi[D:].copy(), pi[D:].copy()
        phi[D:], pi[D:] = c * Q - s * P, s * Q + c * P
        return phi, pi


@renamed_arguments(r="wilson_r")
@positional_options
def model(lattice: Lattice, dt: float, *, charge: float = 1.0, m: float = 1.0, bias: str = "forward",
          wilson_r: float = 1.0, X: Any = None) -> MaxwellDiracModel:
    """The ``maxwell-dirac`` model: mass ``m``, coupling ``q``, step ``dt``, bias map ``"forward"`` (4.24) or
    ``"wilson"`` (doubler-free, parameter ``wilson_r``; ``r=`` is a deprecated alias), Clifford matrices ``X``
    (default: the built-in representation)."""
    check_lattice(lattice)
    r = wilson_r
    from ..gauge import clifford_matrices

    check_matter_parameters(dt, charge, m, bias, r)
    dt, charge, m, r = (weak_scalar(x) for x in (dt, charge, m, r))  # NumPy scalars: a float32 state stays float32
    X = clifford_matrices(lattice, X)
    matter = DiracMatter.create(X, m, charge, dt, lattice.spacing, bias, r)
    net = MaxwellDiracNetwork.create(lattice, charge, dt, matter,
                                     name=f"maxwell-dirac (links with momentum + stable Dirac, {bias})")
    packing = dirac.Dirac(m=m, lattice=lattice, X=X, kind=bias, r=r)
    Xc = clifford.complex_X(X)
    U = packing.U
    if not np.allclose(U, np.eye(U.shape[0])):  # pragma: no cover - built-in representations have U = I
        raise NotImplementedError("Clifford matrices whose X_0 is not I (x) eps")
    theory = MaxwellDirac(charge=charge, lattice=lattice, m=m, Xc=np.asarray(Xc[1:]), kind=bias, r=r)
    return MaxwellDiracModel(net, theory, packing)
