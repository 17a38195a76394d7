r"""The gauged Dirac model: a link network (Sec. 5) with its physics side and gauge-invariant observables.

Observables recorded during a run (gauge invariant under static transformations; ``a^D`` the cell volume,
``X_0 -> -i``):

    charge       a^D sum (phi^2 + pi^2)                                   (= a^D sum |psi|^2)
    energy       a^D [m (|phi|^2 - |pi|^2) + q A0 (|phi|^2 + |pi|^2) - phi.X_0 B(U) pi + pi.X_0 B(U)^T phi]
    momentum_x   <psi, -i D psi> / <psi, psi> with the covariant central difference D (order 2 in a)
    wavenumber_x canonical mean lattice momentum from the FFT
    position_x   charge-weighted, minimum image about the box centre
    plaquette    mean cos(pi P / 2) of the background (constant)

Declared conservation (measured, ``tests/test_gauge_model.py``): the stable network with a temporal link that is
the same on every site (no ``A0`` or a uniform one; any spatial links, e.g. a magnetic field) conserves the
modified charge ``I = a^D [|phi|^2 + |pi|^2 + dt phi.((I - tan(m dt/2) X_0) B(U) pi)]`` exactly
(:meth:`GaugedDiracModel.invariant`; ``U0`` then commutes with ``B(U)``), so ``charge`` and ``energy`` stay
bounded (O(dt) oscillation; the network is order 1). With a non-uniform ``A0`` (an electric field) nothing is
conserved that can be shown: the charge drifts slowly (0.4% over t = 20 in ``examples/gauge_electric_1p1.toml``).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._deprecation import positional_options, renamed_arguments
from ...initial import minimum_image
from ...lattice import Lattice, check_lattice
from ...model import BOUNDED, Conserved, IdentityEncoding
from ...network import AbstractNetwork
from ...operators import LatticeOperator
from ...sharding import lattice_fftn
from ...state import State
from .. import dirac
from ..dirac.models import spinor_plot_fields
from ..params import check_number
from .bias import covariant_central, gauged_bias_map
from .links import U1Links
from .networks import clifford_matrices, link_network
from .spectrum import complex_step_matrix, distinct_levels

CHARGE_Q = Conserved("charge", BOUNDED, "a^D sum |psi|^2; oscillates at O(dt), no drift")
ENERGY_Q = Conserved("energy", BOUNDED, "a^D <psi, H(U) psi> of the generator; oscillates at O(dt), no drift")


class GaugedDiracModel(IdentityEncoding):
    """A gauged Dirac network with its physics side and gauge-invariant observables (see the module docstring).

    Holds what its observables need: the gauged bias map ``B(U)`` (energy, invariant), the covariant central
    differences (momentum), ``q A0`` per site (energy) and the plaquette mean; built by :meth:`create`.
    """

    network: AbstractNetwork
    theory: dirac.Dirac  # a PyTree: its mass a leaf (an ensemble may vary it)
    links: U1Links | None
    bias_map: LatticeOperator
    central: tuple[LatticeOperator, ...]
    qA0: Any
    plaquette_mean: Any
    tan_half: Any
    kind: str = eqx.field(static=True, default="stable")
    uniform: bool = eqx.field(static=True, default=True)
    temporal_uniform: bool = eqx.field(static=True, default=True)

    @classmethod
    def create(
        cls, network: AbstractNetwork, theory: dirac.Dirac, links: U1Links | None, kind: str
    ) -> GaugedDiracModel:
        """Precompute the background-dependent pieces (``B(U)``, covariant differences, ``q A0``, plaquettes) once.

        ``network.dt`` and ``links.alpha0`` may be traced (a model built inside ``jax.jit``, ``jax.vmap`` or
        ``jax.grad``): ``q A0`` and the invariant's rate are then JAX values."""
        lat = theory.lattice
        X0 = np.asarray(theory.X[0])
        alpha = np.zeros((lat.ndim, *lat.shape)) if links is None else np.asarray(links.alpha)
        central = tuple(covariant_central(X0, lat, alpha, mu) for mu in range(lat.ndim))
        dt = network.dt
        if links is None:
            qA0: Any = 0.0
        elif isinstance(links.alpha0, jax.core.Tracer) or isinstance(dt, jax.core.Tracer):
            qA0 = jnp.asarray(links.alpha0)[None] * (np.pi / 2) / dt
        else:
            qA0 = np.asarray(links.alpha0)[None] * (np.pi / 2) / float(dt)
        plaq = 1.0
        if links is not None and lat.ndim >= 2:
            plaq = float(np.mean(np.cos(np.pi / 2 * links.plaquettes())))
        B = gauged_bias_map(theory.X, lat, U1Links.zero(lat) if links is None else links, theory.kind, theory.r)
        tan_half = dirac.orthogonal_rates(theory.m * dt, dt)[2] if kind == "stable" else 0.0
        return cls(
            network=network, theory=theory, links=links, bias_map=B, central=central, qA0=qA0, plaquette_mean=plaq,
            tan_half=tan_half, kind=kind, uniform=links is None or links.uniform,
            temporal_uniform=links is None or links.temporal_uniform,
        )

    # -- state maps -----------------------------------------------------------------------------------------
    # -- declarations ---------------------------------------------------------------------------------------
    def conserved(self) -> tuple[Conserved, ...]:
        """The stable network with a site-independent temporal link: ``charge`` and ``energy`` bounded (its exact
        quadratic invariant :meth:`invariant` is positive definite below the stability bound). Otherwise (the paper
        network, unstable; a non-uniform ``A0``, where :meth:`invariant` is not conserved): nothing."""
        if self.kind == "stable" and self.temporal_uniform:
            return (CHARGE_Q, ENERGY_Q)
        return ()

    def dispersion(self, k: list[Any]) -> Any:
        """In a uniform background, the particle branch ``omega(k - q A) + q A0`` of the lattice Dirac field (the
        lowest positive branch of :meth:`Dirac.dispersion` at the kinetic momentum); ``None`` otherwise."""
        if not self.uniform:
            return None
        if self.links is None:
            return self.theory.dispersion(k)
        lat = self.theory.lattice
        qA = [np.pi * float(np.asarray(self.links.alpha[mu]).reshape(-1)[0]) / (2 * lat.spacing)
              for mu in range(lat.ndim)]
        qA0 = np.pi * float(np.asarray(self.links.alpha0).reshape(-1)[0]) / (2 * float(self.network.dt))
        return self.theory.dispersion([np.asarray(kk, dtype=float) - qa for kk, qa in zip(k, qA, strict=True)]) + qA0

    def plot_fields(self, state: State) -> dict[str, jax.Array]:
        """The gauge-invariant density ``|psi|^2`` and current ``psi^dagger alpha^mu psi`` per site."""
        return spinor_plot_fields(self.theory, self.theory.pack(state.phi, state.pi))

    def spectral_fields(self, state: State) -> dict[str, jax.Array]:
        """The gauge-invariant density ``rho = |psi|^2`` (``psi`` itself, and its band parts, depend on the gauge
        of the background links, so their Fourier modes are not physical): ``spectrum_rho``."""
        return {"rho": self.theory.density(self.theory.pack(state.phi, state.pi))[None]}

    # -- observables ----------------------------------------------------------------------------------------
    def _X0(self) -> np.ndarray:
        return np.asarray(self.theory.X[0])

    def charge(self, state: State) -> jax.Array:
        return self.theory.lattice.cell_volume * (jnp.sum(state.phi**2) + jnp.sum(state.pi**2))

    def energy(self, state: State) -> jax.Array:
        """``a^D [m (|phi|^2 - |pi|^2) + q A0 (|phi|^2 + |pi|^2) - phi.X_0 B pi + pi.X_0 B^T phi]``.

        The quadratic form ``-s.(J L s)`` of the generator ``L`` (``J = X_0`` on phi and pi), i.e.
        ``psi^dagger H psi`` with ``X_0 -> -i``; invariant under static gauge transformations.
        """
        dtype = jnp.result_type(state.phi)  # the dtype JAX has (float32 for NumPy float64 data without x64)
        X0 = jnp.asarray(self._X0(), dtype)
        B = self.bias_map
        phi, pi = state.phi, state.pi
        m = self.theory.m
        dens = (
            m * (phi**2 - pi**2)
            + jnp.asarray(self.qA0, dtype) * (phi**2 + pi**2)
            - phi * jnp.einsum("ab,b...->a...", X0, B.apply(pi))
            + pi * jnp.einsum("ab,b...->a...", X0, B.T.apply(phi))
        )
        return self.theory.lattice.cell_volume * jnp.sum(dens)

    def invariant(self, state: State) -> jax.Array:
        """``a^D I`` with ``I`` of :func:`nnfield.theories.dirac.stable_invariant` and ``B(U)`` (stable network),
        or the charge (paper network). Not recorded during runs (one more application of a per-site ``B(U)``
        roughly doubles the compile time of the observables); it is what makes ``charge`` and ``energy`` bounded.
        """
        if self.kind == "stable":
            inv = dirac.stable_invariant(self.bias_map, self.network.dt, self.tan_half, self._X0(), state.phi, state.pi)
            return self.theory.lattice.cell_volume * inv
        return self.charge(state)

    def momentum(self, state: State) -> jax.Array:
        """Kinetic momentum per unit charge, ``<psi, -i D psi> / <psi, psi>`` per direction (``-i -> X_0``)."""
        X0 = jnp.asarray(self._X0(), jnp.result_type(state.phi))
        out = []
        for Dmu in self.central:
            p = jnp.sum(state.phi * jnp.einsum("ab,b...->a...", X0, Dmu.apply(state.phi)))
            p = p + jnp.sum(state.pi * jnp.einsum("ab,b...->a...", X0, Dmu.apply(state.pi)))
            out.append(p)
        return jnp.stack(out) / (jnp.sum(state.phi**2) + jnp.sum(state.pi**2))

    def wavenumber(self, state: State) -> jax.Array:
        """Mean canonical lattice momentum ``sum_k k |psi_k|^2 / sum_k |psi_k|^2`` (FFT; ``k`` in ``[-pi/a, pi/a)``).

        Equals the kinetic momentum where the vector potential vanishes (e.g. an electric field as ``A0``); then
        ``d<k>/dt = q E`` holds on the lattice without discretization error in the momentum operator.
        """
        lat = self.theory.lattice
        psi = self.theory.pack(state.phi, state.pi)
        w = jnp.sum(jnp.abs(lattice_fftn(psi, lat.ndim)) ** 2, axis=0)  # (split: the distributed FFT)
        out = jnp.stack([jnp.sum(w * jnp.asarray(k, w.dtype)) for k in lat.momenta(sparse=True)]) / jnp.sum(w)
        return out.astype(jnp.result_type(state.phi))

    def position(self, state: State) -> jax.Array:
        lat = self.theory.lattice
        dens = jnp.sum(state.phi**2, axis=0) + jnp.sum(state.pi**2, axis=0)
        out = []
        for mu, x in enumerate(lat.coordinates(sparse=True)):  # (broadcast: no constant of the lattice size)
            L = lat.lengths[mu]
            d = minimum_image(x, L / 2, L, "nearest")
            out.append(jnp.sum(dens * jnp.asarray(d + L / 2, jnp.result_type(dens))) / jnp.sum(dens))
        return jnp.stack(out)

    def plaquette(self) -> Any:
        """Mean ``cos(pi P / 2)`` over the plaquettes of the background (1 without a field)."""
        return self.plaquette_mean

    def observables(self, state: State) -> dict[str, jax.Array]:
        out = {"charge": self.charge(state), "energy": self.energy(state)}
        p = self.momentum(state)
        kk = self.wavenumber(state)
        x = self.position(state)
        for mu in range(self.theory.lattice.ndim):
            out[f"momentum_{'xyz'[mu]}"] = p[mu]
            out[f"wavenumber_{'xyz'[mu]}"] = kk[mu]
            out[f"position_{'xyz'[mu]}"] = x[mu]
        out["plaquette"] = jnp.asarray(self.plaquette(), jnp.result_type(state.phi))
        return out

    # -- nnfield analyze ----------------------------------------------------------------------------------------
    def analysis_extra(self, max_dense: int = 2048) -> dict[str, Any]:
        """For ``nnfield analyze``: uniform links are analysed by the Fourier symbol; a non-uniform background
        (magnetic field, ``A0 = -E x``) on a small lattice (``K N <= max_dense``) by the dense spectrum of the
        complex one-tick map (growth per step and the lowest positive frequencies, e.g. Landau levels);
        otherwise the report says that it cannot (magnetic translations are not implemented)."""
        out: dict[str, Any] = {"uniform": bool(self.uniform), "plaquette": float(self.plaquette())}
        if self.uniform:
            out["note"] = "uniform links: translation invariant, analysed by the Fourier symbol"
            return {"gauge": out}
        n = self.network.K * self.theory.lattice.size
        if n > max_dense:
            out["note"] = (
                f"non-uniform background: no Fourier symbol (magnetic translations are not implemented) and the "
                f"dense spectrum needs K N = {n} > {max_dense}; use a smaller lattice for the spectrum"
            )
            return {"gauge": out}
        lam = np.linalg.eigvals(complex_step_matrix(self.network, self.theory))
        w = np.sort(-np.angle(lam) / float(self.network.tick))
        levels = distinct_levels(w[w > 0], 1e-3 * max(1.0, float(np.abs(w).max())))[:6]
        out.update({
            "dense_spectrum": True,
            "max_amplification": float(np.abs(lam).max()),
            "stable": bool(np.abs(lam).max() <= 1 + 1e-6),
            "lowest_levels": [round(x, 6) for x, _ in levels],
            "multiplicities": [k for _, k in levels],
            "note": "non-uniform background: dense spectrum of the one-tick map (network_frequencies)",
        })
        return {"gauge": out}


@renamed_arguments(r="wilson_r")
@positional_options
def model(
    lattice: Lattice,
    m: float,
    dt: float,
    links: U1Links | None = None,
    *,
    network: str = "stable",
    bias: str = "forward",
    wilson_r: float = 1.0,
    X: Any = None,
) -> GaugedDiracModel:
    """A gauged Dirac model (link form) on ``lattice`` with background ``links`` (``m >= 0``, ``dt > 0``).

    ``links``: :class:`U1Links` built on ``lattice`` (and, when they record one, for this ``dt``), or ``None``;
    anything else is refused with a :class:`~nnfield.errors.ParameterError` naming ``links``. ``m``, ``dt`` and
    the temporal links may be traced (``jax.jit``, ``jax.vmap``, ``jax.grad``); the dt check is then skipped.
    The state keeps its dtype (float32, float16 as well as float64).

    ``wilson_r``: the Wilson parameter of ``bias = "wilson"`` (the name of :func:`nnfield.theories.dirac.model`
    and of the config key; ``r=`` is a deprecated alias)."""
    check_lattice(lattice)
    r = wilson_r
    check_number("m", m, minimum=0.0)
    check_number("dt", dt, positive=True)
    X = clifford_matrices(lattice, X)
    net = link_network(lattice, m, dt, links, network=network, bias=bias, wilson_r=r, X=X)
    theory = dirac.Dirac(m=m, lattice=lattice, X=X, kind=bias, r=r)
    return GaugedDiracModel.create(net, theory, links, network)


@renamed_arguments(r="wilson_r")
@positional_options
def with_links(
    m: GaugedDiracModel, links: U1Links, *, lattice: Lattice | None = None, dt: float | None = None,
    bias: str | None = None, wilson_r: float | None = None,
) -> GaugedDiracModel:
    """The same model with other links (e.g. gauge transformed); ``lattice``, ``dt``, ``bias`` and ``wilson_r``
    default to the model's own. ``links`` is checked as by :func:`model` (type, the lattice's shapes, its ``dt``
    and spacing when recorded).

    Network and theory are rebuilt together, as :func:`model` builds them: the result's ``theory`` (used by the
    observables and the analysis) is the Dirac theory of the new ``lattice``, ``bias`` and ``wilson_r`` with the
    model's mass. The model's Clifford matrices ``X`` are kept when the new lattice has as many axes as the old
    one; otherwise the new lattice's default representation is taken (:func:`~.networks.clifford_matrices`)."""
    lattice = m.theory.lattice if lattice is None else lattice
    check_lattice(lattice)
    dt = m.network.dt if dt is None else dt
    bias = m.theory.kind if bias is None else bias
    wilson_r = m.theory.r if wilson_r is None else wilson_r
    X = clifford_matrices(lattice, m.theory.X if lattice.ndim == m.theory.lattice.ndim else None)
    net = link_network(lattice, m.theory.m, dt, links, network=m.kind, bias=bias, wilson_r=wilson_r, X=X)
    theory = dirac.Dirac(m=m.theory.m, lattice=lattice, X=X, kind=bias, r=wilson_r)
    return GaugedDiracModel.create(net, theory, links, m.kind)
