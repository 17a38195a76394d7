r"""The Dirac model (paper Sec. 4): a network of :mod:`.networks` together with the physics side :class:`.Dirac`.

The network state is the physics data ``(phi, pi)`` itself; the spinor is ``psi = pack(phi, pi)`` (4.19)/(4.30).
What each network conserves (declared by :meth:`DiracModel.conserved`, measured by ``tests/test_dirac_model.py``):

- the stable network: its modified charge ``invariant`` exactly (round-off), the charge and the energy bounded
  (oscillating at O(dt), no drift; with ``m = 0`` the energy is exact, see below);
- the paper network (4.11) with ``m > 0``: nothing. Its mass weight ``I + h m X_0`` has ``|det| > 1`` per mode,
  so every scheme grows (``simultaneous``, the paper: ``|lambda|^2 = 1 + h^2 (m^2 + sigma^2)``; measured growth
  for ``alternating``, ``leapfrog`` and ``yoshida4`` too);
- with ``m = 0`` and a loss that gives (4.11) (``corrected``, ``printed_summed``, ``4.12``), the split schemes
  (``alternating``, ``leapfrog``, ``yoshida4``) conserve the energy exactly: it is proportional to
  ``phi.(X_0 B pi)``, which each drift ``phi += h B pi`` and each kick ``pi -= h B^T phi`` leaves unchanged
  (``B^T X_0 B`` and ``X_0 B B^T`` are antisymmetric); the charge is then bounded.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._deprecation import positional_options
from ...errors import ParameterError
from ...lattice import Lattice, check_lattice
from ...model import BOUNDED, INVARIANT, Conserved, IdentityEncoding
from ...network import Network
from ...schemes import Scheme, get_scheme
from ...state import State
from ..params import check_number
from .analysis import analysis_report
from .bias import BIASES
from .invariant import stable_invariant
from .losses import LOSSES
from .networks import NETWORKS, orthogonal_rates, paper_network, stable_network
from .physics import Dirac

#: the split schemes that conserve the massless energy exactly (every sub-step does)
SPLIT_SCHEMES = ("alternating", "leapfrog", "yoshida4")


class DiracModel(IdentityEncoding):
    """A Dirac network with its physics side; the network state is the physics state ``(phi, pi)`` itself.

    ``psi = pack(phi, pi)`` (4.19)/(4.30). Observables: ``charge`` (``a^D sum |psi|^2``), ``energy``
    (``a^D sum psi^dagger H psi``, lattice H of the bias map), ``current_<mu>`` (``a^D sum psi^dagger alpha psi``),
    ``position_<mu>`` (``<x_mu>`` of the density ``|psi|^2``, for packets; called ``mean_<mu>`` before, an old
    name still reads, see ``nnfield.labels.OBSERVABLE_ALIASES``), ``invariant`` (``a^D I`` with ``I`` the exact
    invariant of the stable map, :func:`~.invariant.stable_invariant`; the charge for the paper network),
    ``psi_max``. Table: ``docs/observables.md``.

    Attributes:
        network: the paper or stable network (:mod:`.networks`).
        tan_half: ``tan(mh/2)`` of the stable network's realized rotation (0 for the paper network).
        theory: the physics side (a PyTree whose one leaf is the mass).
        kind: ``"paper"`` or ``"stable"`` (static).
        declared: what the network conserves (static; see :func:`conserved_quantities`).
        projector: ``None``, or the positive-energy projector on the FFT grid a run with spectra uses
            (:meth:`for_spectra`).
        loss: the paper network's per-type loss (``"corrected"``, ``"printed"``, ``"printed_summed"``, ``"4.12"``;
            static; ``"corrected"`` for the stable network).
    """

    network: Network
    tan_half: Any = 0.0
    theory: Dirac = None  # type: ignore[assignment]  # a PyTree: its mass a leaf (an ensemble may vary it)
    kind: str = eqx.field(static=True, default="paper")
    declared: tuple[Conserved, ...] = eqx.field(static=True, default=())
    projector: Any = None
    loss: str = eqx.field(static=True, default="corrected")

    @property
    def m(self) -> float:
        return self.theory.m

    def conserved(self) -> tuple[Conserved, ...]:
        """What this network conserves (declared by :func:`model`, see :func:`conserved_quantities`)."""
        return self.declared

    def dispersion(self, k: list[Any]) -> np.ndarray:
        """The target lattice dispersion (lowest branch; :meth:`Dirac.dispersion`)."""
        return self.theory.dispersion(k)

    def psi(self, state: State) -> jax.Array:
        return self.theory.pack(state.phi, state.pi)

    def plot_fields(self, state: State) -> dict[str, jax.Array]:
        """The density ``|psi|^2`` and the current density ``psi^dagger alpha^mu psi`` per site (not the raw
        network components ``phi[a]``, ``pi[a]``)."""
        return spinor_plot_fields(self.theory, self.psi(state))

    def spectral_fields(self, state: State) -> dict[str, jax.Array]:
        """The spinor ``psi`` and its parts in the positive- and negative-energy bands of the theory's ``H(k)``
        (``psi_positive``, ``psi_negative``; each spectrum sums ``|psi^a_k|^2`` over the components)."""
        psi = self.psi(state)
        plus = self.theory.positive_energy_part(psi, self.projector)
        return {"psi": psi, "psi_positive": plus, "psi_negative": psi - plus}

    def spectral_modes(self, state: State) -> dict[str, jax.Array]:
        """:meth:`spectral_fields` in momentum space from one FFT of ``psi``: ``psi_k``, ``P_+(k) psi_k`` and
        ``psi_k - P_+(k) psi_k`` (the fields' own FFTs up to round-off: :meth:`spectral_fields` takes the inverse
        FFT of the projected modes, and the spectra transformed each field again)."""
        pk = jnp.fft.fftn(self.psi(state), axes=self.theory._axes())
        return self.modes_from_sources({"psi": pk}, {"projector": self.projector})

    def spectral_sources(self, state: State) -> dict[str, jax.Array]:
        """The spinor ``psi``: the spectral modes are projections of its modes (:meth:`modes_from_sources`)."""
        return {"psi": self.psi(state)}

    def mode_tables(self) -> dict[str, np.ndarray]:
        """The positive-energy projector ``P_+(k)`` of the theory's ``H(k)`` on the FFT grid, ``(K, K, *shape)``
        complex (NumPy; the mass must be concrete)."""
        if isinstance(self.theory.m, jax.core.Tracer):
            raise ValueError("DiracModel.mode_tables: the mass is traced; build the tables with a concrete mass")
        return {"projector": np.asarray(self.theory._P_grid)}

    def modes_from_sources(self, modes: dict[str, jax.Array], tables: dict[str, jax.Array]
                           ) -> dict[str, jax.Array]:
        """``psi_k``, ``P_+(k) psi_k`` and ``psi_k - P_+(k) psi_k`` from ``psi_k`` and the projector, mode by mode
        (``tables["projector"]`` ``None``: the theory's own, :meth:`Dirac.positive_energy_modes`)."""
        pk = modes["psi"]
        plus = self.theory.positive_energy_modes(pk, tables.get("projector"))
        return {"psi": pk, "psi_positive": plus, "psi_negative": pk - plus}

    def for_spectra(self) -> DiracModel:
        """With the positive-energy projector ``P_+(k)`` of the theory's ``H(k)`` on the FFT grid as a leaf
        (:attr:`projector`, ``(K, K, *shape)`` complex), computed once here with NumPy: in the compiled chunk the
        mass is traced, and :meth:`Dirac.positive_energy_part` would otherwise diagonalize ``H(k)`` at every
        observation (measured on ``examples/dirac_3p1.toml`` with spectra every 5 ticks: 5x slower)."""
        if self.projector is not None or isinstance(self.theory.m, jax.core.Tracer):
            return self
        return eqx.tree_at(lambda m: m.projector, self, self.theory._P_grid, is_leaf=lambda x: x is None)

    def invariant(self, state: State) -> jax.Array:
        """``a^D I`` with ``I`` of :func:`stable_invariant` (stable network) or the charge (paper network)."""
        if self.kind == "stable":
            net = self.network
            inv = stable_invariant(net.B, net.dt, self.tan_half, self.theory.X[0], state.phi, state.pi)
            return self.theory.lattice.cell_volume * inv
        return self.theory.lattice.cell_volume * (jnp.sum(state.phi**2) + jnp.sum(state.pi**2))

    def observables(self, state: State) -> dict[str, jax.Array]:
        psi = self.psi(state)
        out = {
            "charge": self.theory.charge(psi),
            "energy": self.theory.energy_local(psi),  # = energy (FFT) to round-off, O(N)
            "invariant": self.invariant(state),
            "psi_max": jnp.sqrt(jnp.max(self.theory.density(psi))),
        }
        cur = self.theory.current(psi)
        pos = self.theory.mean_position(psi)
        for mu in range(self.theory.D):
            out[f"current_{'xyz'[mu]}"] = cur[mu]
            out[f"position_{'xyz'[mu]}"] = pos[mu]  # "mean_<mu>" before (the name of the gauged model)
        return out

    def analysis_extra(self) -> dict[str, Any]:
        """Doublers of ``B B^T``, dispersion branches vs ``omega^2 = m^2 + k^2``, stability (``nnfield analyze``)."""
        return analysis_report(self.network, self.theory, self.kind, self.loss)


def spinor_plot_fields(theory: Dirac, psi: jax.Array) -> dict[str, jax.Array]:
    """``{"density |psi|^2": ..., "current j_x": ..}``: what a plot draws of a spinor field (per site)."""
    out = {"density |psi|^2": theory.density(psi)}
    cur = theory.current_density(psi)
    for mu in range(theory.D):
        out[f"current j_{'xyz'[mu]}"] = cur[mu]
    return out


INVARIANT_I = Conserved("invariant", INVARIANT, "the stable map's modified charge (see stable_invariant)")
CHARGE = Conserved("charge", BOUNDED, "a^D sum |psi|^2; oscillates at O(dt), no drift")
ENERGY = Conserved("energy", BOUNDED, "a^D sum psi^dagger H psi (lattice H); oscillates at O(dt), no drift",
                   scale="charge")
ENERGY_EXACT = Conserved("energy", INVARIANT,
                         "a^D sum psi^dagger H psi at m = 0 (~ phi.X_0 B pi): kept by every sub-step", scale="charge")


def conserved_quantities(network: str, scheme: str, loss: str, m: float) -> tuple[Conserved, ...]:
    """What a Dirac network conserves (measured; see the module docstring for the reasons).

    ``stable``: ``invariant`` exactly, ``charge`` bounded, ``energy`` bounded (exact for ``m = 0``). ``paper``
    with ``m = 0``, a loss that gives (4.11) and a split scheme: ``energy`` exactly, ``charge`` bounded.
    Otherwise (the paper network with ``m > 0``, any scheme; the ``simultaneous`` scheme; the printed loss)
    nothing. A traced ``m`` (inside ``jax.jit``, ``jax.vmap`` or ``jax.grad``) counts as ``m > 0``.
    """
    massless = not isinstance(m, jax.core.Tracer) and m == 0  # a traced mass (jit, vmap, grad): the general case
    if network == "stable":
        return (INVARIANT_I, CHARGE, ENERGY_EXACT if massless else ENERGY)
    if massless and scheme in SPLIT_SCHEMES and loss != "printed":
        return (ENERGY_EXACT, CHARGE)
    return ()


@positional_options
def model(
    lattice: Lattice,
    m: float,
    dt: float,
    *,
    network: str = "paper",
    scheme: str | Scheme | None = None,
    bias: str = "forward",
    wilson_r: float = 1.0,
    loss: str = "corrected",
    X: Any = None,
) -> DiracModel:
    """Build a Dirac model: ``network="paper"`` (scheme default ``simultaneous``) or ``"stable"`` (``alternating``)."""
    check_lattice(lattice)
    check_number("m", m, minimum=0.0)
    if not isinstance(m, jax.core.Tracer) and np.ndim(m) != 0:  # (then a TypeError deep in the rates, or worse)
        raise ParameterError("m", f"expected one mass (a number >= 0), got an array of shape {np.shape(m)}; sweep "
                             "the mass with nnfield.ensemble ([sweep] in a config)")
    check_number("dt", dt, positive=True)
    if network not in NETWORKS:
        raise ParameterError("network", f"expected one of {NETWORKS}, got {network!r}; e.g. network=\"stable\"")
    if bias not in BIASES:
        raise ParameterError("bias", f"expected one of {BIASES}, got {bias!r}; e.g. bias=\"wilson\"")
    if loss not in LOSSES:
        raise ParameterError("loss", f"expected one of {LOSSES}, got {loss!r}; e.g. loss=\"corrected\"")
    if network == "stable" and loss != "corrected":  # as the config: the stable network has no loss choice
        raise ParameterError("loss", f"applies to network=\"paper\" only (the stable network's loss is fixed), got "
                             f"loss={loss!r} with network=\"stable\"; leave it out")
    check_number("wilson_r", wilson_r, positive=True)
    theory = Dirac(m=m, lattice=lattice, X=X, kind=bias, r=wilson_r)
    if network == "paper":
        sch = get_scheme("simultaneous" if scheme is None else scheme)
        net = paper_network(lattice, m, dt, X=theory.X, scheme=sch, bias=bias, wilson_r=wilson_r, loss=loss)
        return DiracModel(net, 0.0, theory, network, conserved_quantities(network, sch.name, loss, m), loss=loss)
    if scheme is not None and get_scheme(scheme).name != "alternating":
        raise ParameterError(
            "scheme",
            f"the stable Dirac network is defined with the 'alternating' scheme (learning on the activation "
            f"output), got {get_scheme(scheme).name!r}; use scheme=\"alternating\"",
        )
    net = stable_network(lattice, m, dt, X=theory.X, bias=bias, wilson_r=wilson_r)
    declared = conserved_quantities(network, "alternating", loss, m)
    return DiracModel(net, orthogonal_rates(m * dt, dt)[2], theory, network, declared)
