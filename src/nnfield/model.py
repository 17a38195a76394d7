r"""The two declared seams above the network: the physics side (:class:`AbstractTheory`) and the model
(:class:`AbstractModel`: a network together with the theory it should reproduce).

Generic layers (runner, analysis, command line, ``verify``) speak only to these and to
:class:`~nnfield.network.AbstractNetwork`; nothing probes an object for attributes.

- A **theory** writes its Hamiltonian ``H(phi, pi)`` once; its equations of motion are *derived* by
  ``jax.grad`` (:meth:`AbstractTheory.equations`, final), and :meth:`AbstractTheory.reference` is its
  independent reference solver (exact, spectral or a standard integrator).
- A **model** maps physics data to a network state and back (:meth:`AbstractModel.encode`,
  :meth:`AbstractModel.decode`), computes the observables recorded during a run, and *declares* which of them
  its network conserves (:meth:`AbstractModel.conserved`): an exact ``invariant`` (conserved to round-off by
  the discrete map) or a ``bounded`` quantity (oscillates with an amplitude set by the scheme's order, no
  secular drift). The run summary reports exactly these.

Fields may be PyTrees (several named fields, e.g. matter, links, electric field): ``phi`` and ``pi`` are
then PyTrees of arrays with the same structure, and ``jax.grad`` handles them unchanged.
"""


import abc
import dataclasses
from typing import Any, ClassVar, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._module import Module
from ._xla import device_array
from .lattice import Lattice
from .network import AbstractNetwork
from .state import State, field_items

INVARIANT = "invariant"
BOUNDED = "bounded"


@dataclasses.dataclass(frozen=True)
class Conserved:
    """A conserved quantity a model declares for its network.

    Attributes:
        name: the observable's name (a key of :meth:`AbstractModel.observables`).
        kind: ``"invariant"`` (conserved to round-off by the discrete map) or ``"bounded"`` (oscillates with an
            amplitude of the scheme's order in ``dt``, no secular drift).
        doc: what it is, in one line (with the equation number where the paper has one).
        scale: ``""``, or the observable whose size the quantity's round-off is measured against when the quantity
            itself is zero to round-off of it (e.g. the Dirac ``energy`` of a packet of equal positive- and
            negative-energy parts against its ``charge``: judged relative to itself, a quantity that is zero
            to round-off has a relative oscillation of order 1; :func:`nnfield.conservation.verdict`).
    """

    name: str
    kind: Literal["invariant", "bounded"]
    doc: str = ""
    scale: str = ""

    def __post_init__(self) -> None:
        if self.kind not in (INVARIANT, BOUNDED):
            raise ValueError(f"Conserved.kind: expected 'invariant' or 'bounded', got {self.kind!r}")


class AbstractTheory(abc.ABC):
    """The physics side of a theory: its Hamiltonian written once, equations by autodiff, a reference solver.

    Subclasses provide a ``lattice`` attribute, :meth:`hamiltonian` and :meth:`reference`; they may be equinox
    modules (then their parameters are PyTree leaves that ``jit``/``vmap``/``grad`` see) or plain frozen
    dataclasses (hashable by identity, held as static fields).

    ``canonical_scale`` ``c`` normalizes Hamilton's equations of the lattice Hamiltonian
    ``H = a^D sum_i h_i``: ``d phi/dt = dH/dpi / (c a^D)``, ``d pi/dt = -dH/dphi / (c a^D)`` (``c = 1`` for
    real fields with ``pi = d phi/dt``; ``c = 2`` for a spinor ``psi = phi + i pi`` with ``H = a^D psi^dagger
    H psi``).
    """

    canonical_scale: ClassVar[float] = 1.0
    #: the lattice the fields live on (a field or attribute of every subclass)
    lattice: Lattice

    @abc.abstractmethod
    def hamiltonian(self, phi: Any, pi: Any) -> jax.Array:
        """The total energy ``H(phi, pi)`` (a scalar, in physical units: ``a^D`` times the sum of densities)."""

    @abc.abstractmethod
    def reference(self, phi: Any, pi: Any, t: float) -> tuple[Any, Any]:
        """The physics-side solution at time ``t`` from the data ``(phi, pi)`` at ``t = 0``."""

    def equations(self, phi: Any, pi: Any) -> tuple[Any, Any]:
        """Hamilton's equations ``(d phi/dt, d pi/dt) = (dH/dpi, -dH/dphi) / (c a^D)`` by ``jax.grad`` (final).

        Exact derivatives of :meth:`hamiltonian` (no discretization error of its own).
        """
        g_phi, g_pi = jax.grad(self.hamiltonian, argnums=(0, 1))(phi, pi)
        scale = 1.0 / (self.canonical_scale * self.lattice.cell_volume)
        return (
            jax.tree_util.tree_map(lambda g: scale * g, g_pi),
            jax.tree_util.tree_map(lambda g: -scale * g, g_phi),
        )


class AbstractModel(Module):
    """A network together with the theory it should reproduce.

    Attributes (abstract): ``network`` (an :class:`~nnfield.network.AbstractNetwork`) and ``theory`` (an
    :class:`AbstractTheory`).

    Methods: :meth:`encode` / :meth:`decode` (physics data <-> network state), :meth:`observables` (the
    scalars recorded during a run; jittable), :meth:`conserved` (what the network conserves, declared),
    :meth:`dispersion` (the theory's ``omega(k)`` for ``nnfield analyze``, or ``None``) and
    :meth:`analysis_extra` (theory-specific entries of the analysis report) and :meth:`spectral_fields` (the
    fields whose power spectra a run records, none by default).
    """

    network: eqx.AbstractVar[AbstractNetwork]
    theory: eqx.AbstractVar[Any]

    @abc.abstractmethod
    def encode(self, phi: Any, pi: Any) -> Any:
        """The network state for the physics data ``(phi, pi)`` (each ``(K, *shape)`` or a PyTree of such)."""

    @abc.abstractmethod
    def decode(self, state: Any) -> tuple[Any, Any]:
        """The physics data ``(phi, pi)`` of a network state."""

    @abc.abstractmethod
    def observables(self, state: Any) -> dict[str, jax.Array]:
        """The scalars recorded during a run (a dict of JAX scalars; evaluated inside the compiled loop)."""

    @abc.abstractmethod
    def conserved(self) -> tuple[Conserved, ...]:
        """The quantities (names of :meth:`observables`) this network conserves, with their kind."""

    @property
    def lattice(self) -> Lattice:
        return self.network.lattice

    def dispersion(self, k: list[Any]) -> Any:
        """The target theory's ``omega(k)`` at momenta ``k`` (one array per axis), or ``None`` if it has none."""
        return None

    def analysis_extra(self) -> dict[str, Any]:
        """Theory-specific entries for the ``nnfield analyze`` report (none by default)."""
        return {}

    def plot_fields(self, state: Any) -> dict[str, jax.Array]:
        """The physical fields a plot draws, ``{label: array shaped lattice.shape}`` (real; jittable).

        Default: every component of the decoded ``phi`` and ``pi`` (``phi``, ``pi`` for one component,
        ``phi[a]``, ``pi[a]`` for several; a PyTree of fields is named by its tree path). A spinor theory draws
        its density ``|psi|^2`` and current instead."""
        phi, pi = self.decode(state)
        out: dict[str, jax.Array] = {}
        for base, tree in (("phi", phi), ("pi", pi)):
            for path, leaf in field_items(tree).items():
                name = base if path in ("", "0") else f"{base}.{path}"
                leaf = jnp.asarray(leaf)
                lat_ndim = self.lattice.ndim
                comps = leaf.reshape((-1, *leaf.shape[leaf.ndim - lat_ndim:]))
                for a in range(comps.shape[0]):
                    out[name if comps.shape[0] == 1 else f"{name}[{a}]"] = jnp.real(comps[a])
        return out

    def spectral_fields(self, state: Any) -> dict[str, jax.Array]:
        """The physical fields whose power spectra a run records (``nnfield.spectra``; jittable), each
        ``(components, *lattice.shape)``; none by default. A real scalar returns ``{"phi": phi, "pi": pi}``
        (then the occupation numbers follow from :meth:`dispersion`), a spinor ``{"psi": psi}`` (complex)."""
        return {}

    def spectral_modes(self, state: Any) -> dict[str, jax.Array] | None:
        """The FFT modes of :meth:`spectral_fields` (``jnp.fft.fftn`` over the lattice axes, each
        ``(components, *lattice.shape)``, the same names), where the model has them more cheaply than by
        transforming each field: the Dirac model's positive- and negative-energy parts are projections of the
        spinor's own modes (one FFT instead of five). ``None`` by default: the spectra transform the fields."""
        return None

    def spectral_sources(self, state: Any) -> dict[str, jax.Array] | None:
        """The fields whose FFT modes :meth:`modes_from_sources` maps to the modes of :meth:`spectral_fields`
        (``(components, *lattice.shape)`` each, computed site by site from ``state``: the Dirac model's spinor
        ``psi``), or ``None`` (the default): then a run whose lattice is split over devices transforms the spectral
        fields themselves (real fields by a distributed FFT, complex ones by the whole FFT)."""
        return None

    def mode_tables(self) -> dict[str, np.ndarray]:
        """The per-mode arrays :meth:`modes_from_sources` reads, on the full FFT grid (``(..., *lattice.shape)``,
        NumPy, computed once outside ``jit`` with the model's parameters concrete; the Dirac model's positive-energy
        projector ``P_+(k)``). A split run lays them out like its distributed FFT (``Spectra.split_over``)."""
        return {}

    def modes_from_sources(self, modes: dict[str, jax.Array], tables: dict[str, jax.Array]
                           ) -> dict[str, jax.Array]:
        """The FFT modes of :meth:`spectral_fields` from those of :meth:`spectral_sources` (``modes``) and the
        :meth:`mode_tables`, mode by mode; both given in the same layout of the grid (the whole FFT grid, or one
        device's block of a distributed FFT's), so it may read nothing else of the model that depends on the site
        or the mode. Only for models with :meth:`spectral_sources`."""
        raise NotImplementedError(f"{type(self).__name__} declares no spectral sources")

    def for_spectra(self) -> "AbstractModel":
        """The model a run that records spectra observes (called once per run, outside ``jit``, with the model's
        parameters concrete): it may precompute what :meth:`spectral_fields` needs as leaves, so that the compiled
        chunk does not recompute it at every observation (e.g. the Dirac model's positive-energy projector,
        whose mass is a traced leaf in the chunk). The model itself by default."""
        return self

    # -- the names of the first release (kept working; see CHANGELOG) -------------------------------------
    def initial_state(self, phi: Any, pi: Any) -> Any:
        """Alias of :meth:`encode` (the first release's name)."""
        return self.encode(phi, pi)

    def physics_state(self, state: Any) -> tuple[Any, Any]:
        """Alias of :meth:`decode` (the first release's name)."""
        return self.decode(state)


def check_field_shapes(lattice: Lattice, K: int, phi: Any, pi: Any) -> None:
    """A :class:`~nnfield.errors.ParameterError` naming ``phi`` or ``pi`` unless each is shaped ``(K,
    *lattice.shape)``: a physics side reads ``phi[0]`` as its field, which for data without the component axis is
    the first row (a wrong answer, not an error). Shapes only: passes under ``jit``, ``vmap`` and ``grad``."""
    from .errors import ParameterError

    expected = (int(K), *lattice.shape)
    for name, x in (("phi", phi), ("pi", pi)):
        if tuple(np.shape(x)) != expected:
            raise ParameterError(name, f"expected shape {expected} (K, *lattice.shape), got {tuple(np.shape(x))}; "
                                 f"e.g. phi[None] for a field without its component axis")


def check_real_dtype(name: str, x: Any, why_real: str) -> None:
    """A :class:`~nnfield.errors.ParameterError` naming ``name`` unless ``x`` (a NumPy or JAX array) has a real
    numeric dtype (float, integer or bool); ``why_real`` follows the refusal of complex data."""
    from .errors import ParameterError

    if jnp.issubdtype(x.dtype, jnp.complexfloating):  # jnp: also knows JAX's own dtypes (bfloat16)
        raise ParameterError(name, f"expected real data, got {x.dtype}: {why_real}")
    if not (jnp.issubdtype(x.dtype, jnp.inexact) or jnp.issubdtype(x.dtype, jnp.integer) or x.dtype == jnp.bool_):
        raise ParameterError(name, f"expected a real numeric array, got dtype {x.dtype}")


def real_fields(model: Any, phi: Any, pi: Any) -> tuple[Any, Any]:
    """``(phi, pi)`` as arrays of one real floating dtype, checked against the model's
    network: each ``(K, *lattice.shape)``, the same shape; a :class:`~nnfield.errors.ParameterError` naming the
    argument otherwise (a shape or dtype mistake used to surface deep inside JAX, or to run silently on a lattice
    of another size).

    The dtype is the two arrays' common type (NumPy's promotion: float32 with float64 gives float64, so no data is
    cut; integers and bools become the default float); a run's precision is set by its config's ``dtype``, which
    casts the encoded state.
    """
    from .errors import ParameterError

    arrays = []
    for name, x in (("phi", phi), ("pi", pi)):
        if x is None or isinstance(x, str | bytes):
            raise ParameterError(name, f"expected an array of shape (K, *lattice.shape), got {type(x).__name__}")
        if not isinstance(x, jax.Array):  # host data (NumPy, lists): its values are checked here, for free
            try:
                host = np.asarray(x)
            except (TypeError, ValueError) as exc:
                raise ParameterError(name, f"expected an array of shape (K, *lattice.shape), got "
                                     f"{type(x).__name__} ({exc})") from None
            if host.dtype.kind in "fc" and not np.isfinite(host).all():
                raise ParameterError(name, f"expected finite values, got {int(np.size(host) - np.isfinite(host).sum())}"
                                     f" NaN or Inf of {np.size(host)}")
        arrays.append(device_array(x))  # (a JAX array or tracer passes through)
    phi, pi = arrays
    for name, x in (("phi", phi), ("pi", pi)):
        check_real_dtype(name, x, "the network's neuron states are real (a spinor's complex components are packed "
                                  "into real ones by the theory's initial data, e.g. "
                                  "nnfield.theories.dirac.gaussian_packet)")
    dtype = jnp.result_type(phi.dtype, pi.dtype)  # the common type: float32 with float64 is float64, never cut
    if not jnp.issubdtype(dtype, jnp.inexact):
        dtype = jnp.result_type(float)
    phi = phi if phi.dtype == dtype else phi.astype(dtype)
    net = getattr(model, "network", None)
    lattice = getattr(net, "lattice", None)
    K = getattr(net, "K", None)
    expected = (int(K), *lattice.shape) if isinstance(K, int) and lattice is not None else None
    if expected is not None and tuple(phi.shape) != expected:
        raise ParameterError("phi", f"expected shape (K, *lattice.shape) = {expected}, got {tuple(phi.shape)}")
    if tuple(pi.shape) != tuple(phi.shape):
        raise ParameterError("pi", f"expected the shape of phi {tuple(phi.shape)}, got {tuple(pi.shape)}")
    return phi, pi if pi.dtype == dtype else pi.astype(dtype)


class IdentityEncoding(AbstractModel):
    """A model whose network state *is* the physics data: ``State(phi, pi)`` both ways (Dirac, gauged Dirac,
    the nonlinear fields; not the Klein-Gordon network (3.14), whose ``pi`` is the previous ``-phi``)."""

    def encode(self, phi: Any, pi: Any) -> State:
        return State(*real_fields(self, phi, pi))

    def decode(self, state: State) -> tuple[Any, Any]:
        return state.phi, state.pi
