r"""U(1) backgrounds as link variables ``U = X_0^alpha`` and the gauge transformations (paper Sec. 5).

``X_0^alpha = cos(alpha pi/2) I + sin(alpha pi/2) X_0`` (5.1) commutes with every ``X_mu`` (4.25); in the spinor
language ``X_0 -> -i`` and ``X_0^alpha -> exp(-i alpha pi/2)``. A background is a spatial link
``U_mu,i = X_0^(alpha_mu,i)`` from site ``i`` to ``i + e_mu`` and a temporal link ``U0_i = X_0^(alpha0_i)`` applied
once per tick. From physical potentials: ``alpha_mu = 2 q a A_mu / pi`` (``U -> exp(-i q a A_mu)``, covariant
derivative ``d_mu - i q A_mu``) and ``alpha0 = 2 q dt A0 / pi`` (``U0 -> exp(-i q dt A0)``).

Local gauge transformations (5.2), ``G_i(t) = X_0^(theta_i(t))``, act on states as ``(phi, pi) -> G (phi, pi)`` and
on links as ``U_mu,i -> G_i U_mu,i G_{i+mu}^-1``, ``U0_i -> G_i(t+1) U0_i G_i(t)^-1`` (X_0 powers add). All maps
here are exact (no discretization error: they are the lattice objects themselves).
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np

from ..._module import Module
from ...errors import InputError, ParameterError
from ...lattice import Lattice
from ...operators import apply_local
from ...state import State


def x0_power(X0: Any, alpha: Any) -> Any:
    """``X_0^alpha = cos(alpha pi/2) I + sin(alpha pi/2) X_0`` (5.1); ``alpha`` scalar or per site.

    Returns ``(K, K)`` for scalar ``alpha`` and ``(K, K, *alpha.shape)`` otherwise (NumPy in, NumPy out).
    """
    xp = np if isinstance(alpha, (int, float, np.ndarray, np.floating)) else jnp
    X0 = xp.asarray(X0)
    alpha = xp.asarray(alpha, dtype=float)
    K = X0.shape[0]
    extra = (1,) * alpha.ndim
    c = xp.cos(alpha * np.pi / 2)[None, None]
    s = xp.sin(alpha * np.pi / 2)[None, None]
    return c * xp.eye(K).reshape((K, K) + extra) + s * X0.reshape((K, K) + extra)


#: the arrays a links file may hold, by member name in the ``.npz`` (zip) archive
_LINK_KEYS = ("alpha", "alpha0")
#: the largest ``.npy`` header read (NumPy's own default; a real header is ~128 bytes)
_MAX_HEADER = 10000
_HINT = "give a .npz with arrays 'alpha' [, 'alpha0'] (e.g. written by U1Links.save)"


def _member_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, header bytes)`` from the ``.npy`` header of one archive member, reading only the header
    (a few hundred bytes are decompressed, never the data)."""
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=_MAX_HEADER)
        elif version == (2, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=_MAX_HEADER)
        else:
            raise InputError(f"{where} has .npy format version {version}; expected 1.0 or 2.0 (np.savez writes them)")
        return tuple(int(n) for n in shape), np.dtype(dtype), f.tell()


def _check_header(shape: tuple[int, ...], dtype: np.dtype, header: int, info: zipfile.ZipInfo,
                  expected: tuple[int, ...], where: str, values: str = "angles (X_0 powers)",
                  example: str = "np.asarray(alpha, dtype=float)") -> None:
    """A member's declared dtype (real floating point only: no object arrays, i.e. pickles, no complex), shape
    (``expected``) and uncompressed size (exactly the header plus the data the shape needs) before any data is
    decompressed. ``values`` and ``example`` word the messages (also used by the gauge theories' initial-data
    files, :mod:`nnfield.theories.u1.datafile`)."""
    if dtype.hasobject:
        raise InputError(f"{where} is an object array (a pickle, never loaded); expected real {values} "
                         f"of shape {expected}")
    if dtype.kind != "f" or dtype.fields is not None or dtype.subdtype is not None:
        what = "complex" if dtype.kind == "c" else f"of dtype {dtype.str!r}"
        raise InputError(f"{where} is {what}; expected real floating-point {values} of shape {expected}, "
                         f"e.g. {example}")
    if shape != expected:
        raise InputError(f"{where} has shape {shape}; expected {expected} for this lattice")
    need = header + math.prod(expected) * dtype.itemsize
    if info.file_size != need:
        raise InputError(f"{where} is {info.file_size} bytes uncompressed, but its header (shape {shape}, dtype "
                         f"{dtype.str!r}) makes it {need}; the file is corrupt or not written by NumPy")


def _scan_archive(zf: zipfile.ZipFile, path: Path, lattice: Lattice) -> dict[str, zipfile.ZipInfo]:
    """The members ``alpha`` [, ``alpha0``] of the archive, each checked from its header (:func:`_check_header`);
    any other member, or a member twice, is refused."""
    expected = {"alpha": (lattice.ndim, *lattice.shape), "alpha0": tuple(lattice.shape)}
    found: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if key not in expected:
            raise InputError(f"links file {str(path)!r} holds an unexpected member {info.filename!r}; expected only "
                             f"the arrays 'alpha' [, 'alpha0']")
        if key in found:
            raise InputError(f"links file {str(path)!r} holds the array {key!r} twice; expected each array once")
        where = f"links file {str(path)!r}: array {key!r}"
        shape, dtype, header = _member_header(zf, info, where)
        _check_header(shape, dtype, header, info, expected[key], where)
        found[key] = info
    if "alpha" not in found:
        raise InputError(f"links file {str(path)!r} has no array 'alpha' (expected shape (D, *lattice.shape))")
    return found


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, path: Path) -> np.ndarray:
    """The checked member as a finite float64 array (never unpickled)."""
    with zf.open(info) as f:
        raw = np.lib.format.read_array(f, allow_pickle=False, max_header_size=_MAX_HEADER)
    values = np.asarray(raw, dtype=float)
    if not np.all(np.isfinite(values)):
        raise InputError(f"links file {str(path)!r}: array {key!r} holds {int(np.sum(~np.isfinite(values)))} NaN/Inf "
                         f"values; expected finite angles")
    return values


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


class U1Links(Module):
    """A U(1) background on the lattice as X_0-powers.

    ``alpha[mu]`` (shape ``(D, *shape)``): spatial link ``U_mu,i = X_0^(alpha_mu,i)`` from site ``i`` to
    ``i + e_mu``; ``alpha0`` (shape ``shape``): temporal link ``U0_i = X_0^(alpha0_i)`` applied once per tick.
    """

    alpha: Any
    alpha0: Any

    @classmethod
    def zero(cls, lattice: Lattice) -> U1Links:
        return cls(np.zeros((lattice.ndim, *lattice.shape)), np.zeros(lattice.shape))

    @classmethod
    def from_potentials(
        cls, lattice: Lattice, dt: float, A: Any = None, A0: Any = None, q: float = 1.0
    ) -> U1Links:
        """Links from the vector potential ``A[mu]`` (at link midpoints) and the scalar potential ``A0`` (at sites).

        ``alpha_mu = 2 q a A_mu / pi``, ``alpha0 = 2 q dt A0 / pi`` (``U -> exp(-i q a A)``, ``U0 -> exp(-i q dt A0)``).
        """
        a = lattice.spacing
        A = np.zeros((lattice.ndim, *lattice.shape)) if A is None else np.broadcast_to(
            np.asarray(A, dtype=float), (lattice.ndim, *lattice.shape)
        )
        A0 = np.zeros(lattice.shape) if A0 is None else np.broadcast_to(np.asarray(A0, dtype=float), lattice.shape)
        return cls(2 * q * a * A / np.pi, 2 * q * dt * A0 / np.pi)

    @classmethod
    def load(cls, path: str | Path, lattice: Lattice) -> U1Links:
        """Read ``alpha`` (``(D, *shape)``) and optional ``alpha0`` (``shape``) from a ``.npz`` file.

        Checked before any array data is decompressed, from the zip directory and each member's ``.npy``
        header: the file is a regular file and a zip archive; it holds only ``alpha`` and ``alpha0``, each
        once; each is real floating point (object arrays, i.e. pickles, are never loaded; complex, integer,
        string and structured arrays are refused), of the lattice's shape, and of exactly the uncompressed
        size its header declares (a compressed "bomb" that would inflate beyond what the lattice needs is
        refused in milliseconds). Then the arrays are read (``allow_pickle=False``) and must be finite.

        Raises :class:`~nnfield.errors.InputError` (one line naming the file and the array) otherwise.
        """
        path = Path(path)
        if not path.exists():
            raise InputError(f"links file {str(path)!r} does not exist; {_HINT}")
        if path.is_dir():
            raise InputError(f"links file {str(path)!r} is a directory; {_HINT}")
        if not path.is_file():
            raise InputError(f"links file {str(path)!r} is not a regular file (a device, pipe or socket); {_HINT}")
        unreadable = (OSError, ValueError, EOFError, zipfile.BadZipFile, NotImplementedError, RuntimeError)
        try:
            with path.open("rb") as fh:
                magic = fh.read(len(np.lib.format.MAGIC_PREFIX))
            if magic == np.lib.format.MAGIC_PREFIX:
                raise InputError(f"links file {str(path)!r} holds a single array, not a .npz archive; {_HINT}")
            with zipfile.ZipFile(path) as zf:
                members = _scan_archive(zf, path, lattice)
                alpha = _read_member(zf, members["alpha"], "alpha", path)
                alpha0 = _read_member(zf, members["alpha0"], "alpha0", path) if "alpha0" in members \
                    else np.zeros(lattice.shape)
        except InputError:
            raise
        except unreadable as exc:
            raise InputError(f"links file {str(path)!r} cannot be read as .npz ({_one_line(exc)}); {_HINT}") from None
        return cls(alpha, alpha0)

    def save(self, path: str | Path) -> None:
        np.savez(path, alpha=np.asarray(self.alpha), alpha0=np.asarray(self.alpha0))

    @property
    def uniform(self) -> bool:
        """True when every link is the same (the network is then translation invariant)."""
        al = np.asarray(self.alpha)
        flat = al.reshape(al.shape[0], -1)
        return bool(np.all(flat == flat[:, :1]) and self.temporal_uniform)

    @property
    def temporal_uniform(self) -> bool:
        """True when every temporal link ``U0_i`` is the same (then ``U0`` commutes with the bias map)."""
        a0 = np.asarray(self.alpha0)
        return bool(np.all(a0 == a0.reshape(-1)[0]))

    def plaquettes(self) -> np.ndarray:
        """Plaquette angles ``P_{mu nu,i} = alpha_mu,i + alpha_nu,i+mu - alpha_mu,i+nu - alpha_nu,i`` (X_0-power units).

        Shape ``(n_pairs, *shape)`` for the pairs ``mu < nu``; gauge invariant modulo 4.
        """
        al = np.asarray(self.alpha)
        D = al.shape[0]
        out = []
        for mu in range(D):
            for nu in range(mu + 1, D):
                out.append(al[mu] + np.roll(al[nu], -1, mu) - np.roll(al[mu], -1, nu) - al[nu])
        return np.stack(out) if out else np.zeros((0, *al.shape[1:]))


# ----------------------------------------------------------------------------------------------------------
# backgrounds
# ----------------------------------------------------------------------------------------------------------
def _finite_links(links: U1Links, param: str, problem: str) -> None:
    """Raise :class:`ParameterError` ``param: expected finite links; problem`` unless every link angle is finite."""
    if not (np.all(np.isfinite(np.asarray(links.alpha))) and np.all(np.isfinite(np.asarray(links.alpha0)))):
        raise ParameterError(param, f"expected finite link angles: {problem}")


def uniform_electric(
    lattice: Lattice, dt: float, E: float, direction: int = 0, q: float = 1.0, center: float | None = None
) -> U1Links:
    """A uniform electric field ``E`` along ``direction`` as the static potential ``A0 = -E (x - center)``.

    The force on a charge ``q`` is ``q E``. On the periodic lattice the potential jumps at the box edge
    (``center`` defaults to the middle): keep packets away from the edge.
    """
    if not 0 <= direction < lattice.ndim:
        raise ParameterError("direction", f"expected an axis 0..{lattice.ndim - 1} of the lattice, got {direction}")
    x = lattice.coordinates()[direction]
    c = lattice.lengths[direction] / 2 if center is None else center
    with np.errstate(over="ignore", invalid="ignore"):
        links = U1Links.from_potentials(lattice, dt, A0=-E * (x - c), q=q)
    _finite_links(links, "E", f"the temporal links 2 q dt E (x - c) / pi overflow float64 (q = {q:g}, dt = {dt:g}, "
                  f"E = {E:g}, box length {lattice.lengths[direction]:g}); use a weaker field or a smaller box")
    return links


def uniform_magnetic(
    lattice: Lattice, n_flux: int, q: float = 1.0, plane: tuple[int, int] = (0, 1)
) -> tuple[U1Links, float]:
    """A uniform magnetic field through the ``plane`` with ``n_flux`` flux quanta through the torus.

    ``q B = 2 pi n_flux / (L_x L_y)`` (flux quantization on the torus). Landau gauge ``A_y = B x`` with the
    boundary twist ``a A_x(x = L_x - a, y) = -B L_x y`` that makes every plaquette carry the same flux
    ``q B a^2``. Returns ``(links, B)``.
    """
    mu, nu = plane
    if lattice.ndim < 2:
        raise ParameterError("lattice", f"a magnetic field needs at least 2 axes, got D = {lattice.ndim}")
    if not q != 0:
        raise ParameterError("q", f"expected a non-zero charge for a magnetic field (the flux quantum is 2 pi / q), "
                             f"got {q:g}")
    a = lattice.spacing
    Lx, Ly = lattice.lengths[mu], lattice.lengths[nu]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        qB = 2 * np.pi * n_flux / (Lx * Ly)
        xs = lattice.coordinates()
        A = np.zeros((lattice.ndim, *lattice.shape))
        A[nu] = (qB / q) * xs[mu]
        edge = np.isclose(xs[mu], Lx - a)
        # the edge links carry the gauge transformation chi = B L_x y that glues x = L_x to x = 0: a A_x = -B L_x y
        A[mu] = np.where(edge, -(qB / q) * Lx * xs[nu] / a, 0.0)
        links = U1Links.from_potentials(lattice, 1.0, A=A, q=q)
    _finite_links(links, "n_flux", f"the links of {n_flux} flux quanta overflow float64 (q B = {qB:g} on a "
                  f"{Lx:g} x {Ly:g} box); use fewer flux quanta")
    return links, qB / q


def random_links(lattice: Lattice, rng: np.random.Generator, scale: float = 0.5) -> U1Links:
    """Random links (for covariance tests)."""
    return U1Links(
        scale * rng.standard_normal((lattice.ndim, *lattice.shape)), scale * rng.standard_normal(lattice.shape)
    )


# ----------------------------------------------------------------------------------------------------------
# gauge transformations
# ----------------------------------------------------------------------------------------------------------
def transform_state(state: State, X0: Any, theta: Any) -> State:
    """``(phi, pi) -> G (phi, pi)`` with ``G_i = X_0^(theta_i)`` (5.1)/(5.2)."""
    G = x0_power(X0, theta)
    return State(apply_local(G, state.phi), apply_local(G, state.pi))


def transform_links(links: U1Links, theta: Any, theta_next: Any = None) -> U1Links:
    """The gauge transform of link variables: ``U_mu,i -> G_i U_mu,i G_{i+mu}^-1``, ``U0_i -> G_i(t+1) U0_i G_i(t)^-1``.

    With ``G_i(t) = X_0^(theta_i(t))`` and ``U = X_0^alpha`` the powers of ``X_0`` add, so the new exponents are
    ``alpha_mu,i + theta_i - theta_{i+mu}`` (periodic) and ``alpha0_i + theta_next_i - theta_i``. Together with
    :func:`transform_state` this is the local U(1) symmetry of the link networks (:func:`link_network`): a tick
    with the transformed links maps ``G(t) s`` to ``G(t+1) step(s)`` to round-off (check ``links`` of
    ``nnfield verify``; ``docs/gauge.md``).

    Args:
        links: the links ``U1Links(alpha, alpha0)``, ``alpha`` of shape ``(D, *lattice.shape)``.
        theta: the gauge function at time ``t``, shape ``lattice.shape`` (in units of ``pi/2``: ``X_0^1`` is a
            quarter turn).
        theta_next: the gauge function at ``t + 1`` (default ``theta``: a time-independent transformation,
            which leaves ``alpha0`` unchanged).

    Returns:
        New :class:`U1Links` (the input is not modified).
    """
    th = np.asarray(theta, dtype=float)
    th1 = th if theta_next is None else np.asarray(theta_next, dtype=float)
    al = np.asarray(links.alpha)
    new = np.stack([al[mu] + th - np.roll(th, -1, mu) for mu in range(al.shape[0])])
    return U1Links(new, np.asarray(links.alpha0) + th1 - th)
