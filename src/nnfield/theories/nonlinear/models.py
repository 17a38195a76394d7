r"""The nonlinear-field model: the network of :mod:`.networks` with its physics side, observables and the
conserved quantities it declares (momentum encoding: the state is ``(phi, pi)``).

Builders: :func:`model` (any potential), :func:`phi4_model` and :func:`sine_gordon_model` (``twist = 2 pi / b``
for a single kink).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._deprecation import positional_options, renamed_arguments
from ...errors import ParameterError
from ...lattice import Lattice, check_lattice
from ...model import BOUNDED, Conserved, IdentityEncoding
from ...network import AbstractNetwork, Network, as_pytree_callable
from ...schemes import Scheme
from ...state import State
from ..params import check_number
from .networks import network
from .physics import NonlinearField, forward_diffs_roll
from .potentials import DoubleWellPotential, Phi4Potential, SineGordonPotential, _concrete, vacuum


class NonlinearModel(IdentityEncoding):
    """A nonlinear-field network with its physics side (momentum encoding: the state is ``(phi, pi)``)."""

    network: AbstractNetwork
    theory: NonlinearField
    declared: tuple[Conserved, ...] = eqx.field(static=True, default=())

    def conserved(self) -> tuple[Conserved, ...]:
        """What this network conserves (declared by :func:`model`, see :func:`conserved_quantities`)."""
        return self.declared

    def dispersion(self, k: list[Any]) -> np.ndarray:
        """Small-amplitude waves about the ground state (:meth:`NonlinearField.dispersion`)."""
        return self.theory.dispersion(k)

    def analysis_extra(self) -> dict[str, Any]:
        """The ground state ``phi_0`` the analysis is taken about, with ``V''(phi_0)`` (the small waves' mass
        squared, by autodiff of ``V``), for the ``nnfield analyze`` report."""
        return {**super().analysis_extra(), "ground_state": {
            "phi_0": float(self.theory.ground), "V''(phi_0)": self.theory.curvature(),
            "note": "the uniform vacuum the linear analysis, the dispersion and the initial data are taken about"}}

    def spectral_fields(self, state: State) -> dict[str, jax.Array]:
        """``phi - phi_0`` and ``pi`` (occupation numbers with the small-amplitude dispersion about the ground state
        ``phi_0``, :attr:`NonlinearField.ground`: ``0``, or ``+v`` for a double well).

        With a twisted boundary (``phi(x + L_0) = phi(x) + twist``, a kink) the periodic part
        ``phi - twist i_0 / N_0`` (``i_0`` the site index along axis 0) is recorded: the stored period of the lifted
        field jumps by ``twist`` at the boundary, and its spectrum was that seam's (``P_phi ~ 1/k^2``, occupation
        1e-2 per mode at the zone edge for the shipped kink), not the smooth kink's."""
        phi, pi = self.decode(state)
        twist = self.theory.twist
        if twist:
            n0 = phi.shape[1]
            ramp = jnp.arange(n0, dtype=phi.dtype) * (twist / n0)
            phi = phi - ramp.reshape((1, n0) + (1,) * (phi.ndim - 2))
        ground = self.network.ground if isinstance(self.network, Network) else None
        if ground is not None:
            phi = phi - jnp.asarray(ground, phi.dtype).reshape((-1,) + (1,) * (phi.ndim - 1))
        return {"phi": phi, "pi": pi}

    def discrete_energy(self, state: State) -> jax.Array:
        """``a^D sum [ |phi' - phi|^2/(2 dt^2) + grad phi'.grad phi/2 + (V(phi) + V(phi'))/2 ]``, ``phi'`` = next phi.

        For ``V`` at most linear in ``phi`` (``V = 0``: a free massless field) this is the leapfrog invariant,
        conserved to round-off by ``alternating``/``leapfrog``; with any other V it is conserved to ``O(dt^2)``
        without drift, a mass term ``m^2 phi^2/2`` included (``(V(phi) + V(phi'))/2`` is not the bilinear
        ``m^2 phi phi'/2`` of the Klein-Gordon model's exact invariant).
        """
        th = self.theory
        phi = state.phi
        nxt = self.network.step(state).phi
        dn = forward_diffs_roll(nxt[0], th.twist)
        d0 = forward_diffs_roll(phi[0], th.twist)
        grad = sum(x * y for x, y in zip(dn, d0, strict=True)) / th.lattice.spacing**2
        kin = ((nxt[0] - phi[0]) / self.network.tick) ** 2
        dens = 0.5 * kin + 0.5 * grad + 0.5 * (th.potential(phi[0]) + th.potential(nxt[0]))
        return th.lattice.cell_volume * jnp.sum(dens)

    def observables(self, state: State) -> dict[str, jax.Array]:
        phi, pi = self.decode(state)
        return {
            "energy": self.theory.hamiltonian(phi, pi),
            "discrete_energy": self.discrete_energy(state),
            "phi_mean": jnp.mean(phi),
            "phi_rms": jnp.sqrt(jnp.mean(phi**2)),
            "phi_max": jnp.max(jnp.abs(phi)),
        }


def conserved_quantities(scheme: str) -> tuple[Conserved, ...]:
    """What a nonlinear-field network conserves: with the ``alternating`` or ``leapfrog`` scheme the energy and
    ``discrete_energy`` are bounded (``O(dt^2)``, no drift; ``discrete_energy`` is exact only for V = 0);
    with ``yoshida4`` the energy (``O(dt^4)``); with ``simultaneous`` (explicit Euler) nothing."""
    energy = Conserved("energy", BOUNDED, "the lattice Hamiltonian; oscillates at O(dt^order), no drift")
    if scheme in ("alternating", "leapfrog"):
        return (Conserved("discrete_energy", BOUNDED, "the leapfrog energy; exact for V = 0, else O(dt^2)"),
                energy)
    if scheme == "yoshida4":
        return (energy,)
    return ()


@positional_options
def model(
    lattice: Lattice, potential: Any, dt: float, *, scheme: str | Scheme = "leapfrog", twist: float = 0.0,
    name: str = "nonlinear field", params: Mapping[str, float] | None = None,
) -> NonlinearModel:
    """Network + physics side for the potential ``V``: any elementwise PyTree callable, or an expression string in
    ``phi`` and the numbers ``params`` (``model(lat, "lam/4*(phi**2 - 1)**2", 0.05, params={"lam": 1.0})``,
    parsed as a config's ``[theory] potential``: :class:`~nnfield.duality.expression.ExprFunction`)."""
    check_lattice(lattice)
    check_number("dt", dt, positive=True)
    if isinstance(potential, str):
        from ...duality.expression import ExpressionError, ExprFunction

        try:
            potential = ExprFunction.from_string(potential, ("phi",), params)
        except ExpressionError as exc:
            raise ParameterError("potential", str(exc)) from None
    elif params is not None:
        raise ParameterError("params", "the numbers of a potential given as an expression string; got a callable")
    elif not callable(potential):
        raise ParameterError("potential", f"expected a callable V(phi) (elementwise) or an expression string in phi "
                             f"such as \"phi**2/2 + phi**4/4\", got {type(potential).__name__}")
    check_number("twist", twist)
    potential = as_pytree_callable(potential)
    net = network(lattice, potential, dt, scheme=scheme, twist=twist, name=name, ground=_ground(potential))
    field = NonlinearField(potential, lattice, float(twist))
    return NonlinearModel(net, field, conserved_quantities(net.scheme.name))


def _ground(potential: Any) -> Any:
    """The network's ``ground`` (:attr:`nnfield.network.Network.ground`): the potential's vacuum
    (:func:`.potentials.vacuum`), ``None`` when it is zero or there is none (the network then linearizes about 0,
    with the same program as before ground states were declared)."""
    g = vacuum(potential)
    if g is None:
        return None
    c = _concrete(g)
    return None if c == 0.0 else g


@renamed_arguments(mass="m")
@positional_options
def phi4_model(
    lattice: Lattice, m: float, lam: float, dt: float, *, scheme: str | Scheme = "leapfrog"
) -> NonlinearModel:
    """phi^4: ``V = m^2 phi^2/2 + lam phi^4/4`` (``m >= 0``, ``lam >= 0``; ``mass=`` is a deprecated alias of
    ``m``, the name of every other builder)."""
    check_number("m", m, minimum=0.0)
    check_number("lam", lam, minimum=0.0)
    mf = _concrete(m)
    if mf is not None and not math.isfinite(mf * mf):  # V uses m^2 (a Python float's ** raised OverflowError)
        raise ParameterError("m", f"the potential's m^2 must be a finite number, got m = {mf:g}; e.g. m = 1.0")
    return model(lattice, Phi4Potential(m**2, lam), dt, scheme=scheme, name="phi^4 field")


@positional_options
def double_well_model(
    lattice: Lattice, lam: float, v: float, dt: float, *, scheme: str | Scheme = "leapfrog"
) -> NonlinearModel:
    """phi^4 in its broken phase: ``V = lam/4 (phi^2 - v^2)^2`` (``lam > 0``, ``v > 0``; :class:`DoubleWellPotential`):
    vacua ``+-v``, meson mass ``sqrt(2 lam) v``; the network's ground state (the linear analysis, the stability
    gate, small waves) is ``+v``."""
    check_number("lam", lam, positive=True)
    check_number("v", v, positive=True)
    return model(lattice, DoubleWellPotential(lam, v), dt, scheme=scheme, name="phi^4 field (double well)")


@renamed_arguments(mass="m")
@positional_options
def sine_gordon_model(
    lattice: Lattice, m: float, b: float, dt: float, *, scheme: str | Scheme = "leapfrog", twist: float = 0.0
) -> NonlinearModel:
    """sine-Gordon: ``V = (m^2/b^2)(1 - cos(b phi))`` (``m > 0``; ``mass=`` is a deprecated alias of ``m``, the
    name of every other builder); ``twist = 2 pi / b`` for a single kink."""
    check_number("m", m, positive=True)
    check_number("b", b, positive=True)
    mf, bf = _concrete(m), _concrete(b)
    if mf is not None and bf is not None and not math.isfinite((mf / bf) * (mf / bf)):
        raise ParameterError("b", f"the potential's scale (m/b)^2 must be a finite number, got m = {mf:g}, "
                                  f"b = {bf:g}; use a larger b, e.g. b = 1.0")
    return model(lattice, SineGordonPotential(m, b), dt, scheme=scheme, twist=twist, name="sine-Gordon field")
