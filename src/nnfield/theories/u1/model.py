r"""The model shared by the dynamical U(1) theories: packed physics data <-> named network fields, observables.

Physics data (what initial conditions produce and :meth:`GaugeModel.decode` returns) are the canonical pairs
packed in one array each, ``phi = (A_1..A_D [, matter phi])`` and ``pi = (E_1..E_D [, matter pi])``; the network
state is ``{"links": q a A, "electric": E [, "matter": State(phi, pi)]}``.

Per-site fields (:meth:`GaugeModel.fields`, gauge invariant unless said; for plots and tests):
``electric`` E (``(D, *shape)``, unchanged by gauge transformations), ``magnetic`` ``B_{mu nu} = P / (q a^2)`` with
the compact plaquette wrapped into ``(-pi, pi]`` (``(n_pairs, *shape)``), ``plaquette`` ``cos P``,
``electric_energy`` ``E^2/2``, ``magnetic_energy`` ``(1 - cos P)/(q^2 a^4)``, ``charge_density`` rho, ``gauss``
``div E - rho``, ``energy`` (the total density) and the matter's own densities (e.g. ``phi_abs2`` ``|phi|^2``).

Observables recorded during a run: ``energy`` (the physics side's Hamiltonian, an independent code path),
``energy_electric``, ``energy_magnetic`` [, ``energy_matter``], ``gauss_residual`` (``max |div E - rho|``
relative to the largest term at a site or the matter's charge scale, :func:`~.gauss.gauss_residual`), ``charge``
(``a^D sum rho``),
``plaquette`` (mean ``cos P``, D >= 2), ``flux`` (2D: ``sum wrap(P) / q``, the magnetic flux through the torus,
``2 pi n / q``) and the matter's (``phi_abs2_mean``, ``phi_abs_min``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from ...model import BOUNDED, AbstractModel, Conserved, check_real_dtype
from ...operators import array_module
from ...state import State
from ._lattice import divergence, plaquettes, wrap
from .gauss import gauss_residual
from .network import ELECTRIC, LINKS, MATTER, GaugeNetwork
from .photons import photon_omega
from .physics import U1Theory

ENERGY = Conserved("energy", BOUNDED, "the Kogut-Susskind Hamiltonian; oscillates at O(dt^2), no drift")


def packed_fields(model: GaugeModel, phi: Any, pi: Any) -> tuple[Any, Any]:
    """``(phi, pi)``, the packed physics data of ``model`` (``(A, matter phi)``, ``(E, matter pi)``), as arrays of
    one real floating dtype (their common type, as :func:`nnfield.model.real_fields`: float32 with float64 gives
    float64; integers become floats), each ``(K, *lattice.shape)`` with ``K = D`` + the matter's
    components; a :class:`~nnfield.errors.ParameterError` naming ``phi`` or ``pi`` otherwise (the check of
    :func:`nnfield.model.real_fields` for the other theories). Before, a wrong number of components was silently
    cut or shifted into the matter (``phi[:D]``), a missing one failed inside the run's loop, complex data failed
    in ``jax.grad`` and a scalar ``pi`` with an ``IndexError``. Shapes and dtypes only (static): passes under
    ``jax.jit``, ``jax.vmap`` and ``jax.grad``. NumPy data stay NumPy (no small program compiled per operation)."""
    from ...errors import ParameterError

    xp = array_module(phi, pi)
    arrays = []
    for name, x in (("phi", phi), ("pi", pi)):
        try:
            x = xp.asarray(x)
        except (TypeError, ValueError) as exc:
            raise ParameterError(name, f"expected a real numeric array, got {type(x).__name__} ({exc})") from None
        check_real_dtype(name, x, "the packed data are real (the gauge potential, the electric field and the "
                                  "matter's real components)")
        arrays.append(x)
    phi, pi = arrays
    dtype = xp.result_type(phi.dtype, pi.dtype)  # the common type: float32 with float64 is float64, never cut
    if not xp.issubdtype(dtype, xp.inexact):
        dtype = xp.result_type(float)
    phi = phi if phi.dtype == dtype else phi.astype(dtype)
    D = model.lattice.ndim
    expected = (int(model.network.K), *model.lattice.shape)
    n_matter = expected[0] - D
    what = {"phi": ", ".join(f"A_{mu + 1}" for mu in range(D)), "pi": ", ".join(f"E_{mu + 1}" for mu in range(D))}
    if n_matter:
        mp, mpi = model.matter_arrays
        what = {"phi": f"{what['phi']} then the matter's {n_matter} components ({mp})",
                "pi": f"{what['pi']} then the matter's {n_matter} components ({mpi})"}
    for name, x in (("phi", phi), ("pi", pi)):
        if tuple(x.shape) != expected:
            raise ParameterError(name, f"expected shape (K, *lattice.shape) = {expected} ({what[name]}), got "
                                       f"{tuple(x.shape)}")
    return phi, pi if pi.dtype == dtype else pi.astype(dtype)


class GaugeModel(AbstractModel):
    """A :class:`~.network.GaugeNetwork` with its physics side (:class:`~.physics.U1Theory`)."""

    network: GaugeNetwork
    theory: U1Theory
    #: the names of the matter's canonical pair ``(phi, pi)`` in an initial-data file (:mod:`.datafile`)
    matter_arrays: ClassVar[tuple[str, str]] = ("phi", "pi")
    #: whether Gauss's law is ``div E = rho - <rho>`` (a static uniform neutralizing background) rather than
    #: ``div E = rho`` with a neutral total charge
    neutralizing_background: ClassVar[bool] = False

    # -- state maps -----------------------------------------------------------------------------------------
    def encode(self, phi: Any, pi: Any) -> dict[str, Any]:
        """The network state of packed physics data ``phi = (A, matter phi)``, ``pi = (E, matter pi)``, each
        ``(K, *lattice.shape)`` (checked by :func:`packed_fields`): links ``theta = a q A``, ``electric`` ``E`` and
        the matter's ``State``."""
        phi, pi = packed_fields(self, phi, pi)
        D = self.lattice.ndim
        qa = self.network.charge * self.lattice.spacing
        state: dict[str, Any] = {LINKS: qa * phi[:D], ELECTRIC: pi[:D]}
        if self.network.matter is not None:
            state[MATTER] = State(phi[D:], pi[D:])
        return state

    def decode(self, state: dict[str, Any]) -> tuple[jax.Array, jax.Array]:
        """The packed physics data ``(A, matter phi)``, ``(E, matter pi)`` of a network state (inverse of
        :meth:`encode`)."""
        qa = self.network.charge * self.lattice.spacing
        A, E = state[LINKS] / qa, state[ELECTRIC]
        if self.network.matter is None:
            return A, E
        m = state[MATTER]
        return jnp.concatenate([A, m.phi]), jnp.concatenate([E, m.pi])

    # -- per-site fields --------------------------------------------------------------------------------------
    def charge_density(self, state: dict[str, Any]) -> jax.Array:
        """``rho(x)`` of the matter (zero without matter), the source of Gauss's law ``div E = rho``."""
        if self.network.matter is None:
            return jnp.zeros(self.lattice.shape, jnp.result_type(state[ELECTRIC]))
        return self.network.matter.charge_density(state[MATTER])

    def charge_scale(self, state: dict[str, Any]) -> jax.Array:
        """The floor of the Gauss residual's scale (the matter's :meth:`~.loss.AbstractMatter.charge_scale`; 0 without
        matter)."""
        if self.network.matter is None:
            return jnp.zeros((), jnp.result_type(state[ELECTRIC]))
        return self.network.matter.charge_scale(state[MATTER])

    def gauge_fields(self, state: dict[str, Any], rho: jax.Array) -> dict[str, jax.Array]:
        """The gauge field's per-site fields: ``electric``, ``magnetic``, ``plaquette`` (``cos P``), the electric and
        magnetic energy densities, the charge density ``rho`` given and ``gauss = div E - rho``."""
        a, q = self.lattice.spacing, self.network.charge
        theta, E = state[LINKS], state[ELECTRIC]
        P = plaquettes(theta)
        # 1 - cos P as 2 sin^2(P/2): no cancellation for small P (session 42: a float32 plane wave's magnetic energy
        # was 1.1e-4 off in 1 - cos P; the loss, whose gradient drives the links, keeps 1 - cos P); cos P from the
        # same (one transcendental per plaquette, as before: a second one cost a 2D Maxwell chunk 0.5% more memory)
        one_minus_cos = 2.0 * jnp.sin(0.5 * P) ** 2
        return {
            "electric": E,
            "magnetic": wrap(P) / (q * a**2),
            "plaquette": 1.0 - one_minus_cos,
            "electric_energy": 0.5 * jnp.sum(E**2, axis=0),
            "magnetic_energy": jnp.sum(one_minus_cos, axis=0) / (q**2 * a**4),
            "charge_density": rho,
            "gauss": divergence(E, a) - rho,
        }

    def spectral_fields(self, state: dict[str, Any]) -> dict[str, jax.Array]:
        """The gauge-invariant fields (the links and a charged matter field are not, so their Fourier modes depend
        on the gauge): the electric field ``E`` (its ``D`` link components), the magnetic field ``B = wrap(P) /
        (q a^2)`` (one component per lattice plane; none in 1D) and, with matter, the charge density ``rho``.
        Each spectrum sums ``|f^c_k|^2`` over the components (``docs/spectra.md``)."""
        f = self.gauge_fields(state, self.charge_density(state))
        out = {"E": f["electric"]}
        if f["magnetic"].shape[0]:
            out["B"] = f["magnetic"]
        if self.network.matter is not None:
            out["rho"] = f["charge_density"][None]
        return out

    def gauss_residual(self, state: dict[str, Any], fields: dict[str, jax.Array] | None = None) -> jax.Array:
        """The observable ``gauss_residual``: ``max |div E - rho|`` relative to the largest term at a site or the
        matter's charge scale (:func:`~.gauss.gauss_residual`; ``fields``: :meth:`fields` if already computed)."""
        rho = self.charge_density(state) if fields is None else fields["charge_density"]
        return gauss_residual(state[ELECTRIC], rho, self.lattice.spacing, self.charge_scale(state))

    def fields(self, state: dict[str, Any]) -> dict[str, jax.Array]:
        """Per-site fields for plots and tests (see the module docstring)."""
        theta = state[LINKS]
        out = self.gauge_fields(state, self.charge_density(state))
        energy = out["electric_energy"] + out["magnetic_energy"]
        if self.network.matter is not None:
            dens = self.network.matter.densities(theta, state[MATTER])
            energy = energy + dens["energy"]
            out.update({k if k != "energy" else "matter_energy": v for k, v in dens.items()})
        out["energy"] = energy
        return out

    def plot_fields(self, state: dict[str, Any]) -> dict[str, jax.Array]:
        """The gauge-invariant maps a plot draws (links themselves are gauge dependent): ``|E|`` (``E_x`` in 1D),
        ``B`` (2D; ``|B|`` in 3D), the charge density, the Gauss residual ``div E - rho`` and, with a charged
        scalar, ``|phi|``; each shaped like the lattice."""
        f = self.fields(state)
        E, B = f["electric"], f["magnetic"]
        out: dict[str, jax.Array] = {}
        if self.lattice.ndim == 1:
            out["E_x"] = E[0]
        else:
            out["|E|"] = jnp.sqrt(jnp.sum(E**2, axis=0))
        if B.shape[0] == 1:
            out["B"] = B[0]
        elif B.shape[0] > 1:
            out["|B|"] = jnp.sqrt(jnp.sum(B**2, axis=0))
        out["charge density"] = f["charge_density"]
        out["div E - rho"] = f["gauss"]
        if "phi_abs2" in f:
            out["|phi|"] = jnp.sqrt(f["phi_abs2"])
        return out

    # -- observables ------------------------------------------------------------------------------------------
    def observables(self, state: dict[str, Any]) -> dict[str, jax.Array]:
        """The observables a run records (see the module docstring)."""
        vol = self.lattice.cell_volume
        f = self.fields(state)
        phi, pi = self.decode(state)
        out = {
            "energy": self.theory.hamiltonian(phi, pi),
            "energy_electric": vol * jnp.sum(f["electric_energy"]),
            "energy_magnetic": vol * jnp.sum(f["magnetic_energy"]),
            "gauss_residual": self.gauss_residual(state, f),
            "charge": vol * jnp.sum(f["charge_density"]),
        }
        if self.lattice.ndim >= 2:
            out["plaquette"] = jnp.mean(f["plaquette"])
        if self.lattice.ndim == 2:
            out["flux"] = jnp.sum(f["magnetic"]) * self.lattice.spacing**2
        if self.network.matter is not None:
            out["energy_matter"] = vol * jnp.sum(f["matter_energy"])
            out["phi_abs2_mean"] = jnp.mean(f["phi_abs2"])
            out["phi_abs_min"] = jnp.sqrt(jnp.min(f["phi_abs2"]))
        return out

    def conserved(self) -> tuple[Conserved, ...]:
        """The energy, bounded (Stormer-Verlet: O(dt^2) oscillation, no drift below the stability bound). Gauss's
        law holds to round-off (``gauss_residual``, recorded; not a relative drift, so not declared here)."""
        return (ENERGY,)

    def dispersion(self, k: list[Any]) -> Any:
        """The transverse photon's lattice ``omega(k)`` (massless; the Higgs phase overrides)."""
        return photon_omega(self.lattice, 0.0, k)

    def analysis_extra(self) -> dict[str, Any]:
        """For ``nnfield analyze``: the photon branches of the network's own linearized step along ``k = (kx, 0, ..)``
        against ``4 sin^2(Omega dt/2)/dt^2 = omega_k^2`` (``D - 1`` transverse polarizations; the longitudinal pair
        at zero frequency: it does not propagate).

        The transverse branches are the eigenvalues of the symbol's block of the transverse links and their ``E``
        (``theta_mu``, ``E_mu``, ``mu >= 1``): for ``k`` along axis 0 it is decoupled from the longitudinal link and
        from the matter (whose branches, e.g. a massive charged scalar or a Dirac field, may lie above the
        photons'; the highest branches of the whole symbol were taken before, and compared the matter's)."""
        from ... import analysis

        lat, dt = self.lattice, float(self.network.tick)
        if lat.ndim < 2:
            return {"photons": {"note": "D = 1: no transverse photons; E is fixed by Gauss's law"}}
        kx = np.linspace(0.0, np.pi / lat.spacing, 17)[1:]  # k = 0: every branch meets at 0 (a defective block)
        path = [kx] + [np.zeros_like(kx)] * (lat.ndim - 1)
        M = analysis.one_step_symbol(self.network, path)  # (16, 2K, 2K), ordered (theta, matter phi, E, matter pi)
        K = M.shape[-1] // 2
        transverse = [mu for mu in range(1, lat.ndim)] + [K + mu for mu in range(1, lat.ndim)]
        Om = np.sort(np.abs(np.angle(analysis._eigvals(M))) / dt, axis=-1)  # every branch, sorted
        Om_t = np.abs(np.angle(analysis._eigvals(M[..., transverse, :][..., :, transverse]))) / dt
        with np.errstate(invalid="ignore"):
            want = 2 / dt * np.arcsin(dt * np.asarray(self.dispersion(path)) / 2)
        return {"photons": {
            "transverse_polarizations": lat.ndim - 1,
            "max_deviation_from_leapfrog_dispersion": float(np.nanmax(np.abs(Om_t - want[:, None]))),
            "longitudinal_max_frequency": float(np.abs(Om[:, :2]).max()),
        }}

    def gauge_transform(self, phi: Any, pi: Any, chi: Any) -> tuple[np.ndarray, np.ndarray]:
        """Packed physics data transformed by the gauge function ``chi`` (links ``A -> A + (chi - chi(x+mu))/(q a)``;
        the matter rotated by ``exp(i chi)``; ``E`` unchanged)."""
        from .transform import rotate, transform_links

        phi, pi = np.array(phi, dtype=float), np.array(pi, dtype=float)
        D = self.lattice.ndim
        qa = float(self.network.charge) * self.lattice.spacing
        phi[:D] = transform_links(qa * phi[:D], chi) / qa
        if self.network.matter is not None:
            phi[D:] = rotate(phi[D:], chi)
            pi[D:] = rotate(pi[D:], chi)
        return phi, pi
