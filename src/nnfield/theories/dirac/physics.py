r"""The physics side of paper Sec. 4: the free Dirac field, independent of the network code (numpy FFT).

The Dirac equation (4.20)/(4.37) ``i d_t psi = H psi`` with ``H(k) = m beta + alpha.k`` (continuum) or its
lattice forms (see :meth:`Dirac.hamiltonian_symbol`), written from the gamma matrices (4.31); the Hamiltonian
``H = a^D sum_i psi_i^dagger (H psi)_i`` once (:meth:`Dirac.energy`), Hamilton's equations by ``jax.grad``
(:meth:`~nnfield.model.AbstractTheory.equations`), exact spectral propagation (:meth:`Dirac.evolve`, no
discretization error in time), Dirac and Klein-Gordon (4.40) residuals, charge, energy, current, density.

Spinor packing (4.19)/(4.30): :meth:`Dirac.pack` / :meth:`Dirac.unpack` between the network's real
``(phi, pi)``, each ``(K, *shape)``, and the complex spinor ``psi`` ``(K, *shape)``; they apply the complex
structure ``U`` of the representation, then :func:`~nnfield.theories.clifford.pack`. This is the only packing.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from ..._checks import check_number
from ...errors import ParameterError
from ...lattice import Lattice
from ...model import AbstractTheory
from .. import clifford

KINDS = ("continuum", "forward", "wilson")


@dataclasses.dataclass(frozen=True, eq=False)
class Dirac(AbstractTheory):
    """The free Dirac field in D + 1 dimensions on ``lattice``: ``i d_t psi = H psi`` (4.20), (4.37).

    ``psi`` has K complex components (K = 2 for D = 1, 4 for D = 2, 3), shape ``(K, *shape)``. The gamma
    matrices are (4.31) built from ``X``; ``H(k) = m beta + sum_mu alpha^mu k_mu`` in the continuum
    (``alpha^mu = -gamma^0 gamma^mu``, ``beta = gamma^0``). ``kind`` selects the spatial discretization whose
    exact (continuous-time) evolution :meth:`evolve` computes by default: ``"forward"`` (the paper's bias map),
    ``"wilson"`` (twisted Wilson, parameter ``r``) or ``"continuum"``.

    As an :class:`~nnfield.model.AbstractTheory` its canonical coordinates are the real and imaginary parts of
    the spinor, ``psi = psi_re + i psi_im`` (``psi = pack(phi, pi)`` for network data): :meth:`hamiltonian` is
    ``a^D sum psi^dagger H psi`` (:meth:`energy`), ``canonical_scale = 2`` makes the derived
    :meth:`~nnfield.model.AbstractTheory.equations` ``(Im H psi, -Re H psi) = (Re, Im)(-i H psi)``, and
    :meth:`reference` is the exact lattice evolution.
    """

    #: ``d psi_re/dt = dH/dpsi_im / (2 a^D)``: Hamilton's equations of ``a^D psi^dagger H psi`` are the Dirac eq.
    canonical_scale: ClassVar[float] = 2.0

    m: float
    lattice: Lattice
    X: Any = None
    kind: str = "forward"
    r: float = 1.0

    def __post_init__(self) -> None:
        # a NaN or infinite mass (or Wilson r) made every symbol, evolution and observable NaN in silence; a traced
        # mass or an ensemble's array of masses is taken as it is (check_number)
        check_number("m", self.m)
        check_number("r", self.r)
        X = clifford.representation(self.lattice.ndim) if self.X is None else self.X
        X = clifford.validate_clifford(X)
        if X.shape[0] != self.lattice.ndim + 1:
            raise ParameterError("X", f"need D + 1 = {self.lattice.ndim + 1} X matrices, got {X.shape[0]}")
        if self.kind not in KINDS:
            raise ParameterError("kind", f"expected one of {KINDS}, got {self.kind!r}; e.g. kind=\"wilson\"")
        object.__setattr__(self, "X", X)

    # -- identity ---------------------------------------------------------------------------------------
    def _key(self) -> tuple[Any, ...] | None:
        """The parameters that define this theory (``None`` when the mass is not a concrete number, e.g. traced
        or an ensemble's stacked masses: then identity decides)."""
        if not _concrete(self.m):
            return None
        return (type(self), float(self.m), *_DiracStatic.of(self).key)

    def __eq__(self, other: object) -> bool:
        """Equal parameters, equal theories (not identity, as other modules): two builds of one config compare
        equal, e.g. the theory a model holds before and after a checkpoint round trip."""
        if self is other:
            return True
        if type(other) is not type(self):
            return False
        a, b = self._key(), other._key()  # type: ignore[attr-defined]
        return a is not None and a == b

    def __hash__(self) -> int:
        key = self._key()
        return object.__hash__(self) if key is None else hash(key)

    # -- algebra ----------------------------------------------------------------------------------------
    @property
    def D(self) -> int:
        return self.lattice.ndim

    @property
    def K(self) -> int:
        return int(self.X.shape[1])

    @functools.cached_property
    def U(self) -> np.ndarray:
        """Orthogonal basis change to the canonical complex structure (identity for built-in reps)."""
        return clifford.complex_structure(self.X[0])

    @functools.cached_property
    def gammas(self) -> np.ndarray:
        """(4.31): ``gamma^0 = sigma_3 (x) I``, ``gamma^mu = sigma_1 (x) X~_mu``."""
        return clifford.gamma_matrices(self.X)

    @functools.cached_property
    def alpha(self) -> np.ndarray:
        return clifford.alpha_beta(self.X)[0]

    @property
    def beta(self) -> np.ndarray:
        return self.gammas[0]

    @functools.cached_property
    def gamma_w(self) -> np.ndarray:
        return clifford.twisted_wilson_matrix(self.X)

    # -- spinor packing ---------------------------------------------------------------------------------
    def check_spinor(self, psi: Any, name: str = "psi") -> None:
        """Refuse (a :class:`~nnfield.errors.ParameterError` naming ``name``) a field whose shape is not
        ``(K, *lattice.shape)``: K components (4.19)/(4.30) on this lattice.

        Static (shapes only; free under ``jit``). Without it a wrong count of components was packed with the
        pairs shifted (``phi[0::2] + i phi[1::2]`` broadcast), summed into the charge, or failed deep in an
        ``einsum``."""
        want = (self.K, *self.lattice.shape)
        got = tuple(np.shape(psi))
        if got != want:
            raise ParameterError(
                name, f"expected shape (K, *lattice.shape) = {want} (K = {self.K} components of the {self.D}+1 "
                f"Dirac field, lattice.shape = {self.lattice.shape}), got {got}")

    def pack(self, phi: Any, pi: Any) -> Any:
        """(4.19)/(4.30): ``psi`` from the real ``(phi, pi)`` (works on numpy and JAX arrays), each
        ``(K, *lattice.shape)`` (:meth:`check_spinor`)."""
        self.check_spinor(phi, "phi")
        self.check_spinor(pi, "pi")
        xp = np if isinstance(phi, np.ndarray) and isinstance(pi, np.ndarray) else jnp
        if not np.allclose(self.U, np.eye(self.K)):
            U = xp.asarray(self.U.T)
            phi = xp.einsum("ab,b...->a...", U, phi)
            pi = xp.einsum("ab,b...->a...", U, pi)
        return clifford.pack(phi, pi, xp)

    def unpack(self, psi: Any) -> tuple[Any, Any]:
        """Inverse of :meth:`pack`: the real ``(phi, pi)`` of ``psi`` ``(K, *lattice.shape)``."""
        self.check_spinor(psi)
        xp = np if isinstance(psi, np.ndarray) else jnp
        phi, pi = clifford.unpack(psi, xp)
        if not np.allclose(self.U, np.eye(self.K)):
            U = xp.asarray(self.U)
            phi = xp.einsum("ab,b...->a...", U, phi)
            pi = xp.einsum("ab,b...->a...", U, pi)
        return phi, pi

    # -- Fourier symbols ----------------------------------------------------------------------------------
    def hamiltonian_symbol(self, k: Sequence[Any], kind: str | None = None, m: float | None = None) -> np.ndarray:
        """``H(k)``, shape ``(*k.shape, K, K)`` (Hermitian), for ``kind`` (default: the theory's own).

        continuum: ``m beta + sum_mu alpha^mu k_mu``
        forward:   ``m beta + sum_mu [alpha^mu sin(k_mu a)/a - i gamma^mu (1 - cos k_mu a)/a]``
        wilson:    ``m beta + sum_mu alpha^mu sin(k_mu a)/a + (r/a) sum_mu (1 - cos k_mu a) (sigma_1 (x) I)``

        The lattice forms are the spinor form of the semi-discrete system ``d_t phi = m X_0 phi + B pi``,
        ``d_t pi = -B^T phi - m X_0 pi`` (``X_0 -> -i``, ``B -> X~.(difference symbol)``), derived by hand.
        ``m`` (default: the theory's) must be a number: the symbol is built with NumPy.
        """
        kind = self.kind if kind is None else kind
        m = self.m if m is None else m
        a = self.lattice.spacing
        k = [np.asarray(kk, dtype=float) for kk in k]
        shape = np.broadcast(*k).shape
        H = np.broadcast_to(m * self.beta, (*shape, self.K, self.K)).astype(complex)
        for mu, kk in enumerate(k):
            kk = kk[..., None, None]
            if kind == "continuum":
                H = H + kk * self.alpha[mu]
            elif kind == "forward":
                H = H + np.sin(kk * a) / a * self.alpha[mu] - 1j * (1 - np.cos(kk * a)) / a * self.gammas[mu + 1]
            elif kind == "wilson":
                H = H + np.sin(kk * a) / a * self.alpha[mu] + self.r * (1 - np.cos(kk * a)) / a * self.gamma_w
            else:
                raise ParameterError("kind", f"expected one of {KINDS}, got {kind!r}; e.g. kind=\"forward\"")
        return H

    def dispersion_branches(self, k: Sequence[Any], kind: str | None = None) -> np.ndarray:
        """The positive energies of ``H(k)``, ascending, shape ``(*k.shape, K/2)``."""
        ev = np.linalg.eigvalsh(self.hamiltonian_symbol(k, kind))
        return ev[..., self.K // 2 :]

    def dispersion(self, k: Sequence[Any], continuum: bool = False) -> np.ndarray:
        """``omega(k)``: ``sqrt(m^2 + k^2)`` (continuum) or the lowest positive lattice branch, shape ``k.shape``.

        Along a lattice axis both lattice branches coincide (``sqrt(m^2 + 4 sin^2(k a/2)/a^2)`` for the forward
        map); off the axes the forward map splits them in D >= 2 (see :meth:`dispersion_branches`).
        """
        if continuum:
            return np.sqrt(self.m**2 + sum(np.asarray(kk, dtype=float) ** 2 for kk in k))
        return self.dispersion_branches(k)[..., 0]

    def omega(self, continuum: bool = False) -> np.ndarray:
        """The lowest positive branch on the lattice's FFT grid."""
        return self.dispersion(self.lattice.momenta(), continuum)

    # -- exact evolution ----------------------------------------------------------------------------------
    def _axes(self) -> tuple[int, ...]:
        return tuple(range(1, self.D + 1))

    def spectral_symbol(self, f: Callable[[np.ndarray], np.ndarray], kind: str | None = None,
                        k: Sequence[Any] | None = None) -> np.ndarray:
        """``f(H(k)) = V f(E) V^dagger`` on the FFT grid (or on the momenta ``k``, e.g. a block of its planes),
        shape ``(*shape, K, K)``, from the eigendecomposition ``H = V E V^dagger`` of :meth:`hamiltonian_symbol` of
        ``kind`` (exact up to round-off; each ``H(k)`` diagonalized on its own)."""
        H = self.hamiltonian_symbol(self.lattice.momenta() if k is None else k, kind)
        E, V = np.linalg.eigh(H)
        return np.einsum("...ab,...b,...cb->...ac", V, f(E), V.conj())

    def propagator(self, t: float, continuum: bool = False) -> np.ndarray:
        """``exp(-i H(k) t)`` on the FFT grid, shape ``(*shape, K, K)`` (:meth:`spectral_symbol`)."""
        return self.spectral_symbol(lambda E: np.exp(-1j * E * t), "continuum" if continuum else self.kind)

    def apply_symbol(self, S: np.ndarray, psi: Any) -> np.ndarray:
        """``(S psi)(x) = IFFT[S(k) FFT[psi](k)]`` for a symbol ``S`` of shape ``(*shape, K, K)``."""
        self.check_spinor(psi)
        ax = self._axes()
        pk = np.fft.fftn(np.asarray(psi), axes=ax)
        out = np.einsum("...ab,b...->a...", S, pk)
        return np.fft.ifftn(out, axes=ax)

    def evolve(self, psi0: Any, t: float, continuum: bool = False) -> np.ndarray:
        """Exact ``psi(t) = exp(-i H t) psi(0)``: the continuum (band-limited data) or the theory's lattice kind.

        The lattice evolution is the exact solution of the semi-discrete system (continuous time, spacing a):
        the limit ``dt -> 0`` of the networks at fixed ``a``.
        """
        return self.apply_symbol(self.propagator(t, continuum), psi0)

    def exact(self, phi0: Any, pi0: Any, t: float, continuum: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Exact real fields ``(phi, pi)`` at time ``t`` from real initial data (via the spinor)."""
        psi = self.evolve(self.pack(np.asarray(phi0), np.asarray(pi0)), t, continuum)
        return self.unpack(psi)

    # -- the declared theory seam: Hamiltonian (once), reference ----------------------------------------------
    def hamiltonian(self, psi_re: Any, psi_im: Any) -> jax.Array:
        """``H = a^D sum_i psi_i^dagger (H psi)_i`` of ``psi = psi_re + i psi_im`` (:meth:`energy`, the theory's kind).

        Canonical coordinates are the real and imaginary parts of the spinor (each ``(K, *shape)``); with
        ``canonical_scale = 2`` the derived equations are ``i d_t psi = H psi`` (exact, no discretization in time).
        """
        return self.energy(psi_re + 1j * psi_im)

    def reference(self, psi_re: Any, psi_im: Any, t: float) -> tuple[np.ndarray, np.ndarray]:
        """The exact lattice evolution ``exp(-i H t) psi`` (:meth:`evolve`) of ``psi = psi_re + i psi_im``, as
        ``(Re, Im)``. For network data ``(phi, pi)`` use :meth:`exact`."""
        psi = self.evolve(np.asarray(psi_re) + 1j * np.asarray(psi_im), t)
        return np.real(psi), np.imag(psi)

    # -- equations and residuals --------------------------------------------------------------------------
    def _ik(self) -> list[np.ndarray]:
        return [1j * kk for kk in self.lattice.momenta()]

    def gradient(self, psi: Any) -> np.ndarray:
        """Spectral ``d_mu psi``, shape ``(D, K, *shape)`` (exact for band-limited data)."""
        self.check_spinor(psi)
        ax = self._axes()
        pk = np.fft.fftn(np.asarray(psi), axes=ax)
        return np.stack([np.fft.ifftn(ik * pk, axes=ax) for ik in self._ik()])

    def laplacian(self, f: Any) -> np.ndarray:
        """Spectral Laplacian over the trailing D axes."""
        ax = self._axes()
        k2 = sum(kk**2 for kk in self.lattice.momenta())
        return np.fft.ifftn(-k2 * np.fft.fftn(np.asarray(f), axes=ax), axes=ax)

    def dirac_operator(self, dpsi_dt: Any, psi: Any) -> np.ndarray:
        """``i gamma^0 d_t psi - i gamma^k d_k psi - m psi`` (4.37) (for D = 1 equal to (4.20) with (4.21)/(4.22))."""
        g = self.gammas
        grad = self.gradient(psi)
        out = 1j * np.einsum("ab,b...->a...", g[0], np.asarray(dpsi_dt)) - self.m * np.asarray(psi)
        for mu in range(self.D):
            out = out - 1j * np.einsum("ab,b...->a...", g[mu + 1], grad[mu])
        return out

    def dirac_residual(self, psi_prev: Any, psi: Any, psi_next: Any, dt: float) -> float:
        """Relative continuum residual of (4.37) with a centred time difference (order 2) and spectral space.

        ``|| (i gamma^0 d_t - i gamma^k d_k - m) psi || / || gamma^0 d_t psi ||``.
        """
        dpsi = (np.asarray(psi_next) - np.asarray(psi_prev)) / (2 * dt)
        r = self.dirac_operator(dpsi, psi)
        return float(np.linalg.norm(r) / np.linalg.norm(dpsi))

    def klein_gordon_residual(self, f_prev: Any, f: Any, f_next: Any, dt: float) -> np.ndarray:
        """Per real component, ``|| d_t^2 f - Lap f + m^2 f || / || d_t^2 f ||`` (4.40), centred in time."""
        f_prev, f, f_next = (np.asarray(x) for x in (f_prev, f, f_next))
        ftt = (f_next - 2 * f + f_prev) / dt**2
        r = ftt - self.laplacian(f).real + self.m**2 * f
        ax = self._axes()
        return np.sqrt(np.sum(r**2, axis=ax) / np.sum(ftt**2, axis=ax))

    # -- observables (jittable) -----------------------------------------------------------------------------
    def charge(self, psi: Any) -> jax.Array:
        """``Q = a^D sum_i |psi_i|^2`` (``= a^D sum (phi^2 + pi^2)``), conserved by the Dirac equation."""
        return self.lattice.cell_volume * jnp.sum(self.density(psi))

    def density(self, psi: Any) -> jax.Array:
        """``|psi_i|^2`` per site (summed over spinor components), shape ``lattice.shape``.

        As ``Re(psi)^2 + Im(psi)^2``: ``jnp.abs`` of a complex array is an overflow-safe ``hypot`` (a square root
        and a scaling per entry) that a square then undoes, several times the cost of the two squares in a run's
        observer (issue 10)."""
        self.check_spinor(psi)
        psi = jnp.asarray(psi)
        return jnp.sum(jnp.real(psi) ** 2 + jnp.imag(psi) ** 2, axis=0)

    @functools.cached_property
    def _H_grid(self) -> np.ndarray:
        return np.moveaxis(self.hamiltonian_symbol(self.lattice.momenta()), (-2, -1), (0, 1))

    @functools.cached_property
    def _P_grid(self) -> np.ndarray:
        """The projector onto the positive energies of ``H(k)`` on the FFT grid, ``(K, K, *shape)``."""
        return np.moveaxis(self.spectral_symbol(lambda E: (E > 0).astype(float)), (-2, -1), (0, 1))

    @functools.cached_property
    def _H0_grid(self) -> np.ndarray:
        """:attr:`_H_grid` without the mass term (what a traced mass is added to)."""
        return np.moveaxis(self.hamiltonian_symbol(self.lattice.momenta(), m=0.0), (-2, -1), (0, 1))

    def _H_grid_any(self, dtype: Any) -> jax.Array:
        """``H(k)`` on the FFT grid, ``(K, K, *shape)``: :attr:`_H_grid` for a concrete mass; for a traced one
        (an ensemble over masses) the massless symbol plus ``m beta``."""
        if _concrete(self.m):
            return jnp.asarray(self._H_grid, dtype)
        beta = self.beta.reshape(self.K, self.K, *([1] * self.D))
        return jnp.asarray(self._H0_grid, dtype) + self.m * jnp.asarray(beta, dtype)

    def positive_energy_part(self, psi: Any, projector: Any = None) -> jax.Array:
        """``psi_+ = IFFT[P_+(k) FFT[psi]]``: the part of ``psi`` in the positive-energy bands of the theory's
        ``H(k)`` (``psi - psi_+`` is the negative-energy part); jittable, also with a traced mass (then ``P_+``
        comes from ``jnp.linalg.eigh`` of ``H(k)`` at every grid point, in the program, unless ``projector``,
        ``P_+`` on the grid as ``(K, K, *shape)``, is given)."""
        self.check_spinor(psi)
        ax = self._axes()
        pk = jnp.fft.fftn(psi, axes=ax)
        return jnp.fft.ifftn(self.positive_energy_modes(pk, projector), axes=ax)

    def positive_energy_modes(self, pk: Any, projector: Any = None) -> jax.Array:
        """``P_+(k) psi_k``: the positive-energy part of the spinor's FFT modes ``pk`` (``fftn`` of ``psi`` over
        the lattice axes), on the FFT grid; :meth:`positive_energy_part` is its inverse FFT. ``projector`` as
        there."""
        if projector is not None:
            P = jnp.asarray(projector, pk.dtype)
        elif _concrete(self.m):
            P = jnp.asarray(self._P_grid, pk.dtype)
        else:
            H = jnp.moveaxis(self._H_grid_any(pk.dtype), (0, 1), (-2, -1))
            E, V = jnp.linalg.eigh(H)
            P = jnp.moveaxis(jnp.einsum("...ab,...b,...cb->...ac", V, (E > 0).astype(V.dtype), V.conj()),
                             (-2, -1), (0, 1))
        return jnp.einsum("ab...,b...->a...", P, pk)

    def energy(self, psi: Any) -> jax.Array:
        """``E = a^D sum_i psi^dagger H psi`` with the theory's (lattice or continuum) ``H``, via FFT."""
        self.check_spinor(psi)
        ax = self._axes()
        pk = jnp.fft.fftn(psi, axes=ax)
        Hpk = jnp.einsum("ab...,b...->a...", self._H_grid_any(pk.dtype), pk)
        return self.lattice.cell_volume / self.lattice.size * jnp.real(jnp.sum(jnp.conj(pk) * Hpk))

    def energy_local(self, psi: Any) -> jax.Array:
        """:meth:`energy` of a lattice kind (``forward``, ``wilson``) evaluated in position space, equal to it up to
        round-off: ``H(k)`` is a trigonometric polynomial, so with ``(T_mu psi)_i = psi_{i + e_mu}``

            sin(k_mu a)/a     -> (T_mu - T_mu^-1) / (2 i a)
            (1 - cos k_mu a)/a -> (1 - (T_mu + T_mu^-1) / 2) / a

        and ``E = a^D sum_i psi_i^dagger (H psi)_i`` (Parseval). O(N) per evaluation with the fusible shift
        primitive, against the FFT's O(N log N) and its fixed cost per call (about 40 microseconds on 256 sites
        on a CPU, 20 network ticks' worth): what a run's observer uses. The continuum kind is not local and
        keeps the FFT."""
        if self.kind == "continuum":
            return self.energy(psi)
        self.check_spinor(psi)
        from ...operators import shift

        a = self.lattice.spacing
        D = self.D
        cdt = jnp.result_type(jnp.asarray(psi).dtype, jnp.complex64)
        psi = jnp.asarray(psi, cdt)
        # H psi = C_0 psi + sum_mu (C_mu^+ T_mu psi + C_mu^- T_mu^-1 psi), the K x K matrices C from H(k) above;
        # C_0 = m beta + sum_mu G_mu / a, its mass part kept apart so that the mass may be traced (an ensemble)
        beta = self.beta.astype(complex)
        c0 = np.zeros_like(beta)  # sum_mu G_mu / a (the mass term is added per entry below)
        terms = []
        for mu in range(D):
            G = -1j * self.gammas[mu + 1] if self.kind == "forward" else self.r * self.gamma_w
            c0 = c0 + G / a
            e = [1 if nu == mu else 0 for nu in range(D)]
            terms.append((e, self.alpha[mu] / (2j * a) - G / (2 * a)))
            terms.append(([-v for v in e], -self.alpha[mu] / (2j * a) - G / (2 * a)))

        def mat(M: np.ndarray, f: jax.Array) -> list[Any]:
            # entry by entry over the nonzero pattern: elementwise products XLA fuses into one loop (a dot would not)
            return [sum((complex(M[r, c]) * f[c] for c in range(M.shape[1]) if M[r, c] != 0), jnp.zeros((), cdt))
                    for r in range(M.shape[0])]

        def coef0(r: int, c: int) -> Any:  # C_0[r, c] = m beta + sum G / a, the mass a number or traced
            return self.m * complex(beta[r, c]) + complex(c0[r, c]) if beta[r, c] != 0 else complex(c0[r, c])

        Hpsi = [sum((coef0(r, c) * psi[c] for c in range(self.K) if beta[r, c] != 0 or c0[r, c] != 0),
                    jnp.zeros((), cdt)) for r in range(self.K)]
        for e, M in terms:
            Hpsi = [h + g for h, g in zip(Hpsi, mat(M, shift(psi, e, axis0=1)), strict=True)]
        return self.lattice.cell_volume * jnp.real(jnp.sum(jnp.conj(psi) * jnp.stack(Hpsi)))

    def current_density(self, psi: Any) -> jax.Array:
        """``j^mu(x) = psi^dagger alpha^mu psi`` per site (the continuum velocity operator), ``(D, *shape)``.

        In real arithmetic over the nonzero entries of ``alpha^mu`` (``psi = u + i v``):
        ``Re(conj(psi_a) A psi_b) = Re A (u_a u_b + v_a v_b) - Im A (u_a v_b - v_a u_b)``, elementwise products
        that XLA fuses into one loop (a complex ``einsum`` is a ``dot`` with its own pass per call)."""
        self.check_spinor(psi)
        psi = jnp.asarray(psi)
        u, v = jnp.real(psi), jnp.imag(psi)
        out = []
        for al in np.asarray(self.alpha):
            acc = jnp.zeros(psi.shape[1:], u.dtype)
            for a, b in zip(*np.nonzero(al), strict=True):
                re, im = float(al[a, b].real), float(al[a, b].imag)
                if re:
                    acc = acc + re * (u[a] * u[b] + v[a] * v[b])
                if im:
                    acc = acc - im * (u[a] * v[b] - v[a] * u[b])
            out.append(acc)
        return jnp.stack(out)

    def current(self, psi: Any) -> jax.Array:
        """``J^mu = a^D sum_i psi^dagger alpha^mu psi`` (the continuum velocity operator), shape ``(D,)``."""
        cur = self.current_density(psi)
        return self.lattice.cell_volume * jnp.sum(cur.reshape(cur.shape[0], -1), axis=1)

    def mean_position(self, psi: Any) -> jax.Array:
        """``<x_mu> = sum x |psi|^2 / sum |psi|^2`` (plain coordinates; for packets away from the boundary)."""
        rho = self.density(psi)
        xs = [jnp.asarray(x, rho.dtype) for x in self.lattice.coordinates(sparse=True)]  # (no lattice constant)
        tot = jnp.sum(rho)
        return jnp.stack([jnp.sum(x * rho) / tot for x in xs])


# ----------------------------------------------------------------------------------------------------------
# the theory as a PyTree: its mass a leaf, the rest compile-time
# ----------------------------------------------------------------------------------------------------------
def _concrete(x: Any) -> bool:
    """Whether ``x`` is a concrete number (not a tracer, not an ensemble's array of masses)."""
    return isinstance(x, (int, float, np.floating, np.integer)) or (
        isinstance(x, (np.ndarray, jax.Array)) and not isinstance(x, jax.core.Tracer) and np.ndim(x) == 0)


@dataclasses.dataclass(frozen=True, eq=False)
class _DiracStatic:
    """The compile-time part of a :class:`Dirac` (lattice, Clifford matrices, kind, Wilson ``r``), equal and
    hashed by value (``X`` by its bytes)."""

    lattice: Lattice
    X: Any
    kind: str
    r: float
    key: tuple[Any, ...]

    @classmethod
    def of(cls, theory: Dirac) -> _DiracStatic:
        X = np.asarray(theory.X)
        return cls(theory.lattice, theory.X, theory.kind, theory.r,
                   (theory.lattice, X.shape, X.dtype.str, X.tobytes(), theory.kind, float(theory.r)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _DiracStatic) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


def _flatten(theory: Dirac) -> tuple[tuple[Any], _DiracStatic]:
    return (theory.m,), _DiracStatic.of(theory)


def _unflatten(static: _DiracStatic, children: tuple[Any, ...]) -> Dirac:
    # no validation: the static part was validated when the theory was made, and jax rebuilds PyTrees with
    # placeholders (in_axes, tracers, stacked masses) in place of the mass
    obj = object.__new__(Dirac)
    for name, value in (("m", children[0]), ("lattice", static.lattice), ("X", static.X), ("kind", static.kind),
                        ("r", static.r)):
        object.__setattr__(obj, name, value)
    return obj


# The mass is the theory's one leaf (as KleinGordon's, an equinox module's): a model that holds the theory sees it
# traced under jit and stacked along an ensemble's member axis, so a [sweep] over masses shares one program.
jax.tree_util.register_pytree_node(Dirac, _flatten, _unflatten)
