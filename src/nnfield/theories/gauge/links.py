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
import numbers
import zipfile
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._checks import show_value
from ..._module import Module
from ...errors import InputError, ParameterError
from ...lattice import Lattice, check_lattice
from ...operators import apply_local
from ...state import State
from ..params import check_number


def _traced(x: Any) -> bool:
    """True for a value traced by ``jax.jit``, ``jax.vmap`` or ``jax.grad`` (its value is not known yet)."""
    return isinstance(x, jax.core.Tracer)


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


#: the 0-d members: how their values are worded in the messages and an example
_SCALAR_KEYS = {
    "dt": ("time step", "np.float64(0.05)", "the positive time step the temporal links were built for"),
    "spacing": ("lattice spacing", "np.float64(0.5)", "the positive lattice spacing the links were built for"),
}
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
    """The members ``alpha`` [, ``alpha0``] [, ``dt``] [, ``spacing``] of the archive, each checked from its header
    (:func:`_check_header`); any other member, or a member twice, is refused."""
    expected = {"alpha": (lattice.ndim, *lattice.shape), "alpha0": tuple(lattice.shape), "dt": (), "spacing": ()}
    found: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if key not in expected:
            raise InputError(f"links file {str(path)!r} holds an unexpected member {info.filename!r}; expected only "
                             f"the arrays 'alpha' [, 'alpha0'] [, 'dt'] [, 'spacing']")
        if key in found:
            raise InputError(f"links file {str(path)!r} holds the array {key!r} twice; expected each array once")
        where = f"links file {str(path)!r}: array {key!r}"
        shape, dtype, header = _member_header(zf, info, where)
        if key in _SCALAR_KEYS:
            values, example, _ = _SCALAR_KEYS[key]
            _check_header(shape, dtype, header, info, (), where, values=values, example=example)
        else:
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
        what = _SCALAR_KEYS[key][2] if key in _SCALAR_KEYS else "finite angles"
        raise InputError(f"links file {str(path)!r}: array {key!r} holds {int(np.sum(~np.isfinite(values)))} NaN/Inf "
                         f"values; expected {what}")
    return values


def _read_scalar(zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], key: str, path: Path) -> float | None:
    """The 0-d member ``key`` (``dt``, ``spacing``) as a positive finite float, or ``None`` when the file lacks it."""
    if key not in members:
        return None
    value = float(_read_member(zf, members[key], key, path))
    if not value > 0:
        raise InputError(f"links file {str(path)!r}: array {key!r} is {value!r}; expected {_SCALAR_KEYS[key][2]}")
    return value


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _spacing_field(value: Any) -> float | None:
    """The recorded spacing as a Python float (a static field: hashable, never traced), or ``None``."""
    if value is None:
        return None
    if _traced(value):
        raise ParameterError("spacing", "expected a concrete lattice spacing, got a traced value (inside jax.jit, "
                             "jax.vmap or jax.grad); the spacing of a lattice is a Python number")
    check_number("spacing", value, positive=True)
    if np.ndim(value) != 0:
        raise ParameterError("spacing", f"expected one number (the lattice spacing), got shape {np.shape(value)}")
    return float(value)


class U1Links(Module):
    """A U(1) background on the lattice as X_0-powers.

    ``alpha[mu]`` (shape ``(D, *shape)``): spatial link ``U_mu,i = X_0^(alpha_mu,i)`` from site ``i`` to
    ``i + e_mu``; ``alpha0`` (shape ``shape``): temporal link ``U0_i = X_0^(alpha0_i)`` applied once per tick.

    ``dt``: the time step the temporal links were built for (``alpha0 = 2 q dt A0 / pi``), recorded by
    :meth:`from_potentials` with a scalar potential and by :func:`uniform_electric`; ``None`` for static links.
    ``spacing``: the lattice spacing ``a`` the links were built for (``alpha_mu = 2 q a A_mu / pi``, and
    :func:`uniform_electric`'s temporal links follow the coordinates ``x = a i``), recorded by
    :meth:`from_potentials` and :func:`uniform_electric` (a concrete positive number,
    stored as a static field: it is never traced). Both are kept by :func:`transform_links`, :meth:`save` and
    :meth:`load`. The builders (:func:`check_links`, used by :func:`~.networks.link_network`,
    :func:`~.model.model`, :func:`~.model.with_links`, :class:`~.reference.ContinuumReference`) refuse links
    whose ``dt`` differs from the network's (the network applies ``U0`` once per tick, so links of another step
    would scale the potential by ``dt_links / dt``) or whose ``spacing`` differs from the lattice's (the same
    angles on another spacing are another field).

    Links made directly from angles, ``U1Links(alpha, alpha0)``, record neither and so are **not checked**
    against the network's ``dt`` or the lattice's spacing (only their shapes, dtype and finiteness are); give
    them when known: ``U1Links(alpha, alpha0, dt=..., spacing=...)``. The same holds for :meth:`zero`,
    :func:`uniform_magnetic` (whose angles are the same at every spacing), :func:`random_links` and files
    written before these were recorded (``dt``/``spacing`` ``None``).
    """

    alpha: Any
    alpha0: Any
    dt: Any = None
    spacing: Any = eqx.field(static=True, default=None, converter=_spacing_field)

    @classmethod
    def zero(cls, lattice: Lattice) -> U1Links:
        """No field: all angles zero. Records no ``dt`` and no ``spacing``: zero angles are the zero potential at
        every step and spacing, so these links fit any network of the lattice's shape."""
        return cls(np.zeros((lattice.ndim, *lattice.shape)), np.zeros(lattice.shape))

    @classmethod
    def from_potentials(
        cls, lattice: Lattice, dt: float, A: Any = None, A0: Any = None, q: float = 1.0
    ) -> U1Links:
        """Links from the vector potential ``A[mu]`` (at link midpoints) and the scalar potential ``A0`` (at sites).

        ``alpha_mu = 2 q a A_mu / pi``, ``alpha0 = 2 q dt A0 / pi`` (``U -> exp(-i q a A)``, ``U0 -> exp(-i q dt A0)``).
        The links record ``lattice.spacing`` (the builders refuse them on a lattice of another spacing). With
        ``A0`` they record ``dt`` (the builders refuse them for another step); without it they are static and
        ``dt`` is not used. ``dt``, ``q`` and ``A0`` may be traced (``jax.jit``, ``vmap``, ``grad``):
        ``alpha0`` is then a JAX array; ``A`` (the spatial links) must be concrete.
        """
        check_lattice(lattice)
        check_number("q", q)
        a = lattice.spacing
        A = np.zeros((lattice.ndim, *lattice.shape)) if A is None else np.broadcast_to(
            np.asarray(A, dtype=float), (lattice.ndim, *lattice.shape)
        )
        if A0 is None:
            return cls(2 * q * a * A / np.pi, np.zeros(lattice.shape), spacing=a)
        check_number("dt", dt, positive=True)
        if _traced(A0) or _traced(dt) or _traced(q):
            alpha0 = 2 * q * dt * jnp.broadcast_to(jnp.asarray(A0, dtype=float), lattice.shape) / np.pi
        else:
            alpha0 = 2 * q * dt * np.broadcast_to(np.asarray(A0, dtype=float), lattice.shape) / np.pi
        return cls(2 * q * a * A / np.pi, alpha0, dt, spacing=a)

    @classmethod
    def load(cls, path: str | Path, lattice: Lattice) -> U1Links:
        """Read ``alpha`` (``(D, *shape)``), optional ``alpha0`` (``shape``), optional ``dt`` (0-d: the step the
        temporal links were built for) and optional ``spacing`` (0-d: the lattice spacing they were built for),
        both written by :meth:`save`, from a ``.npz`` file. A file without ``dt`` or ``spacing`` (e.g. written
        before they were recorded) loads with ``None`` there and is not checked against the network's step or
        the lattice's spacing; one with them is refused by the builders for another step or spacing.

        Checked before any array data is decompressed, from the zip directory and each member's ``.npy``
        header: the file is a regular file and a zip archive; it holds only ``alpha``, ``alpha0``, ``dt`` and
        ``spacing``, each once; each is real floating point (object arrays, i.e. pickles, are never loaded;
        complex, integer, string and structured arrays are refused), of the lattice's shape (0-d for ``dt`` and
        ``spacing``), and of exactly the uncompressed size its header declares (a compressed "bomb" that would
        inflate beyond what the lattice needs is refused in milliseconds). Then the arrays are read
        (``allow_pickle=False``) and must be finite; ``dt`` and ``spacing`` positive.

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
                dt = _read_scalar(zf, members, "dt", path)
                spacing = _read_scalar(zf, members, "spacing", path)
        except InputError:
            raise
        except unreadable as exc:
            raise InputError(f"links file {str(path)!r} cannot be read as .npz ({_one_line(exc)}); {_HINT}") from None
        return cls(alpha, alpha0, dt, spacing=spacing)

    def save(self, path: str | Path) -> None:
        """Write ``alpha``, ``alpha0`` and, when recorded, ``dt`` and ``spacing`` to a ``.npz`` file (read by
        :meth:`load`)."""
        arrays = {"alpha": np.asarray(self.alpha), "alpha0": np.asarray(self.alpha0)}
        if self.dt is not None:
            arrays["dt"] = np.asarray(self.dt, dtype=float)
        if self.spacing is not None:
            arrays["spacing"] = np.asarray(self.spacing, dtype=float)
        np.savez(path, **arrays)

    @property
    def uniform(self) -> bool:
        """True when every link is the same (the network is then translation invariant); False for traced links
        (their values are not known)."""
        if _traced(self.alpha) or _traced(self.alpha0):
            return False
        al = np.asarray(self.alpha)
        flat = al.reshape(al.shape[0], -1)
        return bool(np.all(flat == flat[:, :1]) and self.temporal_uniform)

    @property
    def temporal_uniform(self) -> bool:
        """True when every temporal link ``U0_i`` is the same (then ``U0`` commutes with the bias map); False for
        traced links (their values are not known)."""
        if _traced(self.alpha0):
            return False
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
    """Raise :class:`ParameterError` ``param: expected finite links; problem`` unless every link angle is finite
    (traced angles are not checked: their values are not known)."""
    for angles in (links.alpha, links.alpha0):
        if not _traced(angles) and not np.all(np.isfinite(np.asarray(angles))):
            raise ParameterError(param, f"expected finite link angles: {problem}")


def _axis(name: str, value: Any, lattice: Lattice) -> int:
    """``value`` as an axis ``0..D-1`` of ``lattice`` (an ``int`` or NumPy integer; not a bool), else a
    :class:`ParameterError` naming ``name``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise ParameterError(name, f"expected an axis 0..{lattice.ndim - 1} of the lattice (an integer), got "
                             f"{value!r} ({type(value).__name__})")
    if not 0 <= int(value) < lattice.ndim:
        raise ParameterError(name, f"expected an axis 0..{lattice.ndim - 1} of the lattice, got {int(value)}")
    return int(value)


def _integer(name: str, value: Any) -> int:
    """``value`` as an ``int``: an ``int``, a NumPy integer or an integral float (``2.0``); else a
    :class:`ParameterError` naming ``name`` (a bool, a string, a fraction, NaN, a traced value)."""
    if not _traced(value) and np.ndim(value) == 0 and getattr(value, "dtype", None) is not None \
            and not isinstance(value, np.generic):
        value = np.asarray(value)[()]  # a concrete 0-d (JAX or NumPy) array: its NumPy scalar
    if isinstance(value, bool | np.bool_):
        raise ParameterError(name, f"expected an integer, got {value!r} (bool)")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        x = float(value)
        if math.isfinite(x) and x.is_integer():
            return int(x)
        raise ParameterError(name, f"expected an integer, got {value!r}")
    if _traced(value):
        raise ParameterError(name, "expected a concrete integer, got a traced value (inside jax.jit, jax.vmap or "
                             "jax.grad); build the links outside the transformation")
    raise ParameterError(name, f"expected an integer, got {value!r} ({type(value).__name__})")


def _concrete_float(x: Any) -> float | None:
    """``x`` as a float when it is a concrete scalar; ``None`` when traced or not a scalar (a batch)."""
    if x is None or _traced(x) or np.ndim(x) != 0:
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def check_links(links: Any, lattice: Lattice, dt: Any = None, name: str = "links") -> U1Links:
    """``links`` checked for a network on ``lattice`` with step ``dt``: ``None`` gives the zero links.

    Raises :class:`~nnfield.errors.ParameterError` naming ``name`` unless ``links`` is a :class:`U1Links` with
    real ``alpha`` of shape ``(D, *lattice.shape)`` and ``alpha0`` of shape ``lattice.shape``, finite where
    concrete, the spatial links not traced (they are folded into the bias map's coefficients), built for
    ``dt`` when they record a step (:attr:`U1Links.dt`) and for ``lattice.spacing`` when they record a spacing
    (:attr:`U1Links.spacing`), each compared to 1e-12 relative. The dt comparison is skipped when either step is
    traced (inside ``jax.jit``, ``jax.vmap``, ``jax.grad``: its value is not known); either comparison is skipped
    when the links do not record the value (links made from raw angles, :meth:`U1Links.zero`,
    :func:`uniform_magnetic`, :func:`random_links`, static links for ``dt``, old files).
    """
    if links is None:
        return U1Links.zero(lattice)
    if not isinstance(links, U1Links):
        raise ParameterError(name, f"expected U1Links (e.g. gauge.uniform_electric(lattice, dt, E), "
                             f"gauge.U1Links.load(path, lattice)) or None, got {show_value(links)}")
    want = {"alpha": (lattice.ndim, *lattice.shape), "alpha0": tuple(lattice.shape)}
    for key, shape in want.items():
        value = getattr(links, key)
        got = tuple(np.shape(value))
        if got != shape:
            raise ParameterError(name, f"{key} has shape {got}, but this lattice {tuple(lattice.shape)} (D = "
                                 f"{lattice.ndim}) needs {shape}; build the links on the network's lattice")
        kind = np.result_type(value).kind if not _traced(value) else value.dtype.kind
        if kind not in "iuf":
            raise ParameterError(name, f"{key} has dtype {np.result_type(value)}; expected real angles "
                                 f"(X_0 powers)")
        if not _traced(value) and not np.all(np.isfinite(np.asarray(value))):
            raise ParameterError(name, f"{key} holds {int(np.sum(~np.isfinite(np.asarray(value))))} NaN/Inf "
                                 f"angles; expected finite angles")
    if _traced(links.alpha):
        raise ParameterError(name, "the spatial links alpha are traced (inside jax.jit, jax.vmap or jax.grad); they "
                             "must be concrete (only alpha0 and dt may be traced)")
    built, here = _concrete_float(links.dt), _concrete_float(dt)
    if built is not None and here is not None and not math.isclose(built, here, rel_tol=1e-12, abs_tol=0.0):
        raise ParameterError(name, f"built for dt = {built!r}, but the network's dt = {here!r}: the temporal links "
                             f"hold 2 q dt A0 / pi, so the potential would act {built / here:g} times as strongly; "
                             f"build them with the same dt (e.g. uniform_electric(lattice, {here!r}, E))")
    if links.spacing is not None and not math.isclose(links.spacing, lattice.spacing, rel_tol=1e-12, abs_tol=0.0):
        raise ParameterError(name, f"built for spacing = {links.spacing!r}, but the lattice's spacing = "
                             f"{lattice.spacing!r}: the link angles hold 2 q a A / pi (and an electric field's "
                             f"temporal links the coordinates a i), so they are another field on this lattice; "
                             f"build them on the network's lattice (e.g. uniform_electric(lattice, dt, E))")
    return links


def uniform_electric(
    lattice: Lattice, dt: float, E: float, direction: int = 0, q: float = 1.0, center: float | None = None
) -> U1Links:
    """A uniform electric field ``E`` along ``direction`` as the static potential ``A0 = -E (x - center)``.

    The force on a charge ``q`` is ``q E``. On the periodic lattice the potential jumps at the box edge
    (``center`` defaults to the middle): keep packets away from the edge. The links record ``dt`` (a finite
    ``dt > 0``) and ``lattice.spacing``: a network with another step, or on a lattice of another spacing,
    refuses them. ``dt``, ``E`` and ``q`` may be traced (``jax.jit``,
    ``jax.vmap``, ``jax.grad``).
    """
    check_lattice(lattice)
    check_number("dt", dt, positive=True)
    check_number("E", E)
    check_number("q", q)
    direction = _axis("direction", direction, lattice)
    if center is not None:
        check_number("center", center)
    x = lattice.coordinates()[direction]
    c = lattice.lengths[direction] / 2 if center is None else center
    with np.errstate(over="ignore", invalid="ignore"):
        links = U1Links.from_potentials(lattice, dt, A0=-E * (x - c), q=q)
    if not any(_traced(v) for v in (dt, E, q)):
        _finite_links(links, "E", f"the temporal links 2 q dt E (x - c) / pi overflow float64 (q = {q:g}, dt = "
                      f"{dt:g}, E = {E:g}, box length {lattice.lengths[direction]:g}); use a weaker field or a "
                      f"smaller box")
    return links


def uniform_magnetic(
    lattice: Lattice, n_flux: int, q: float = 1.0, plane: tuple[int, int] = (0, 1)
) -> tuple[U1Links, float]:
    """A uniform magnetic field through the ``plane`` with ``n_flux`` flux quanta through the torus.

    ``q B = 2 pi n_flux / (L_x L_y)`` (flux quantization on the torus). Landau gauge ``A_y = B x`` with the
    boundary twist ``a A_x(x = L_x - a, y) = -B L_x y`` that makes every plaquette carry the same flux
    ``q B a^2``. Returns ``(links, B)``.

    ``n_flux``: an integer (``int``, NumPy integer or an integral float such as ``2.0``: a fractional flux is not
    quantized on the torus and leaves one plaquette with a different flux); ``q``: a finite non-zero number;
    ``plane``: two distinct axes ``0..D-1`` of the lattice. The links are static (no temporal links, no ``dt``)
    and record no spacing: their angles, ``alpha_nu = 4 n_flux i_mu / (N_mu N_nu)`` with the edge twist
    ``alpha_mu = -4 n_flux i_nu / N_nu`` (the flux ``q B a^2 = 2 pi n_flux / (N_mu N_nu)`` through every
    plaquette), depend on the lattice's shape only. On a lattice of the same shape and another spacing they are
    the same ``n_flux`` quanta (whose ``B`` is that box's, ``2 pi n_flux / (q L_mu L_nu)``), exactly the angles
    this function builds there, so the builders take them at any spacing (as :meth:`U1Links.zero`).
    """
    check_lattice(lattice)
    if lattice.ndim < 2:
        raise ParameterError("lattice", f"a magnetic field needs at least 2 axes, got D = {lattice.ndim}")
    n_flux = _integer("n_flux", n_flux)
    check_number("q", q)
    if _traced(q):
        raise ParameterError("q", "expected a concrete charge, got a traced value (inside jax.jit, jax.vmap or "
                             "jax.grad): the links of a magnetic field are built with NumPy; build them outside")
    if not q != 0:
        raise ParameterError("q", f"expected a non-zero charge for a magnetic field (the flux quantum is 2 pi / q), "
                             f"got {q:g}")
    if isinstance(plane, str) or not isinstance(plane, tuple | list) or len(plane) != 2:
        raise ParameterError("plane", f"expected two distinct axes (mu, nu) of the lattice, e.g. (0, 1), got "
                             f"{plane!r}")
    mu, nu = (_axis("plane", axis, lattice) for axis in plane)
    if mu == nu:
        raise ParameterError("plane", f"expected two distinct axes of the lattice, got {tuple(plane)!r}")
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
    links = U1Links(links.alpha, links.alpha0)  # no spacing: the same angles at every spacing (the docstring)
    _finite_links(links, "n_flux", f"the links of {n_flux} flux quanta overflow float64 (q B = {qB:g} on a "
                  f"{Lx:g} x {Ly:g} box); use fewer flux quanta")
    return links, qB / q


def random_links(lattice: Lattice, rng: np.random.Generator, scale: float = 0.5) -> U1Links:
    """Random links (for covariance tests): angles, not a physical potential, so they record no ``dt`` and no
    ``spacing`` (not checked against either)."""
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
        New :class:`U1Links` (the input is not modified) recording the same ``dt`` and ``spacing``. Each part is
        computed with NumPy when its inputs are concrete and with ``jax.numpy`` when one of them is traced (inside
        ``jax.jit``, ``jax.vmap``, ``jax.grad``): the spatial links from ``alpha`` and ``theta``, the temporal
        links from ``alpha0``, ``theta`` and ``theta_next``. So links with a traced ``alpha0`` (e.g. built from a
        traced ``dt``) and a concrete ``theta`` keep concrete spatial links, as the builders need
        (:func:`check_links`).
    """
    spatial = (links.alpha, theta)
    temporal = (links.alpha0, theta, theta_next)
    xs = jnp if any(_traced(x) for x in spatial) else np
    xt = jnp if any(_traced(x) for x in temporal) else np
    th = xs.asarray(theta, dtype=float)
    al = xs.asarray(links.alpha)
    new = xs.stack([al[mu] + th - xs.roll(th, -1, mu) for mu in range(al.shape[0])])
    th0 = xt.asarray(theta, dtype=float)
    th1 = th0 if theta_next is None else xt.asarray(theta_next, dtype=float)
    return U1Links(new, xt.asarray(links.alpha0) + th1 - th0, links.dt, spacing=links.spacing)
