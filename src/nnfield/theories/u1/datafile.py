r"""Initial data from a NumPy ``.npz`` file, with Gauss's law imposed by projection (``[initial] kind = "file"``).

The arrays of the file (real floating point, ``shape`` the lattice's, ``D`` its dimension; ``docs/gauge_dynamics.md``):

==================  ==================  =====================================================================
``A`` or ``theta``  ``(D, *shape)``     the gauge potential in physical units, or the link angles
                                        ``theta = a q A`` (exactly one of the two)
``E``               ``(D, *shape)``     the electric field ``E = dA/dt`` (default: zero)
matter              ``(K, *shape)``     the matter's canonical pair, named by the model's
                                        :attr:`~.model.GaugeModel.matter_arrays`: ``phi``, ``pi`` (``K = 2``,
                                        ``Phi = phi_1 + i phi_2``) for scalar QED; ``Q``, ``P`` (the spinor
                                        ``psi = (Q + i P) / sqrt(2)``) for Maxwell-Dirac; each defaults to the
                                        matter's vacuum (``pi``, ``P``: zero)
==================  ==================  =====================================================================

Any other array is refused (a misspelt name would otherwise be ignored silently). The file is checked from its
zip directory and the ``.npy`` headers before any data is decompressed (as a links file,
:meth:`nnfield.theories.gauge.U1Links.load`): no pickles, real floating point only, the lattice's shapes, each
member exactly the size its header declares; then every value must be finite.

Gauss's law (:func:`impose_gauss`): ``"project"`` replaces the longitudinal part of ``E`` by the field of the
matter's charge (:func:`~.gauss.project`: ``E' = E + grad psi`` with ``Lap_a psi = rho - div E``, the backward
divergence of the forward gradient; the transverse part and the uniform ``k = 0`` mode of ``E`` are kept);
``"check"`` keeps the data as given and refuses them when the relative residual (the recorded
``gauss_residual``) exceeds :func:`gauss_tolerance`: :data:`GAUSS_TOLERANCE` in JAX's 64-bit mode; without it the
model computes in float32 (whatever the file's dtype), and the tolerance is :data:`~.gauss.NEUTRAL_EPS` float32
epsilons (7.6e-6), as the projection itself leaves a float32 residual of ~1e-7. ``rho`` is the model's own
charge density; with Maxwell-Dirac it is the network's time-centred charge, which depends on ``E`` (the links at the
half step): the projection is then iterated to a fixed point, and the law is ``div E = rho - <rho>`` (the static
neutralizing background).

:func:`save_initial` writes such a file from physics data or a network state, :func:`save_initial_from_run` from
a snapshot of a finished run (a restart that continues the run).
"""

from __future__ import annotations

import difflib
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np

from ...errors import InputError, ParameterError
from ...state import State
from ..gauge.links import _MAX_HEADER, _check_header, _member_header
from .gauss import NEUTRAL_EPS, project
from .network import ELECTRIC, LINKS, MATTER

#: the largest relative Gauss residual ``gauss = "check"`` accepts in JAX's 64-bit mode (:func:`gauss_tolerance`)
GAUSS_TOLERANCE = 1e-10
#: the values of ``gauss``
GAUSS_MODES = ("project", "check")
_HINT = "write it with nnfield.theories.u1.save_initial or np.savez(path, A=..., E=...)"
#: the model's Gauss residual and charge density of physics data, compiled once per model structure
_RESIDUAL = jax.jit(lambda model, phi, pi: model.gauss_residual(model.encode(phi, pi)))
_CHARGE = jax.jit(lambda model, phi, pi: model.charge_density(model.encode(phi, pi)))


# ----------------------------------------------------------------------------------------------------------
# the layout of a file
# ----------------------------------------------------------------------------------------------------------
def layout(model: Any) -> dict[str, tuple[int, ...]]:
    """``{array name: shape}`` of every array a file for ``model`` may hold (``A`` and ``theta`` are
    alternatives)."""
    lat = model.lattice
    field = (lat.ndim, *lat.shape)
    out = {"A": field, "theta": field, "E": field}
    if model.network.matter is not None:
        phi, _ = _vacuum(model)
        for name in model.matter_arrays:
            out[name] = phi[lat.ndim :].shape
    return out


def computed_eps() -> float:
    """The machine epsilon of the floating dtype JAX computes float64 data in: float64's in JAX's 64-bit mode,
    float32's without it (the model's residual and charge of the file's data are float32 then)."""
    return float(np.finfo(jax.dtypes.canonicalize_dtype(np.float64)).eps)


def gauss_tolerance(eps: float | None = None) -> float:
    """The largest relative Gauss residual :func:`load_initial` accepts for a residual computed with machine epsilon
    ``eps`` (default :func:`computed_eps`): :data:`GAUSS_TOLERANCE` (float64), or :data:`~.gauss.NEUTRAL_EPS`
    ``eps`` if larger (float32: 7.6e-6; the residual of float32 data satisfying the law is ~1e-7)."""
    return max(GAUSS_TOLERANCE, NEUTRAL_EPS * (computed_eps() if eps is None else float(eps)))


def _vacuum(model: Any) -> tuple[np.ndarray, np.ndarray]:
    """The physics data of the vacuum (no field; the matter's ground state)."""
    phi, pi = model.decode(model.network.zero_state(np.float64))
    return np.asarray(phi, dtype=float), np.asarray(pi, dtype=float)


def _expected(model: Any) -> str:
    matter = model.matter_arrays if model.network.matter is not None else ()
    names = ["'A' or 'theta'", "'E'", *(f"'{n}'" for n in matter)]
    return ", ".join(names)


# ----------------------------------------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------------------------------------
def _check_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, expected: tuple[int, ...], where: str) -> None:
    """A member's declared dtype (real floating point), shape and uncompressed size, before any data is read (the
    links files' checks, :func:`nnfield.theories.gauge.links._check_header`)."""
    shape, dtype, header = _member_header(zf, info, where)
    _check_header(shape, dtype, header, info, expected, where, values="values",
                  example="np.asarray(x, dtype=float) (a complex field is stored as its real components)")


def read_arrays(path: str | Path, model: Any) -> dict[str, np.ndarray]:
    """The checked arrays of an initial-data file for ``model`` (float64; see the module docstring).

    Raises :class:`~nnfield.errors.InputError` (one line naming the file and the array) for a missing,
    unreadable or malformed file, an unknown array name (with the closest expected one), a wrong dtype or shape,
    ``A`` and ``theta`` both or neither, or NaN/Inf values.
    """
    if not str(path).strip():
        raise InputError(f"expected the path of a .npz file, got an empty string; {_HINT}")
    path = Path(path)
    shown = repr(str(path))
    if not path.exists():
        raise InputError(f"initial-data file {shown} does not exist (a relative path is taken from the working "
                         f"directory {str(Path.cwd())!r}); {_HINT}")
    if path.is_dir():
        raise InputError(f"initial-data file {shown} is a directory; {_HINT}")
    if not path.is_file():
        raise InputError(f"initial-data file {shown} is not a regular file (a device, pipe or socket); {_HINT}")
    expected = layout(model)
    unreadable = (OSError, ValueError, EOFError, zipfile.BadZipFile, NotImplementedError, RuntimeError)
    out: dict[str, np.ndarray] = {}
    try:
        with path.open("rb") as fh:
            magic = fh.read(len(np.lib.format.MAGIC_PREFIX))
        if magic == np.lib.format.MAGIC_PREFIX:
            raise InputError(f"initial-data file {shown} holds a single array (np.save), not a .npz archive of "
                             f"named arrays; {_HINT}")
        with zipfile.ZipFile(path) as zf:
            found: dict[str, zipfile.ZipInfo] = {}
            for info in zf.infolist():
                key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                if key not in expected:
                    close = difflib.get_close_matches(key, list(expected), n=1, cutoff=0.5)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    raise InputError(f"initial-data file {shown} holds an unexpected array {key!r}; expected only "
                                     f"{_expected(model)}{hint}")
                if key in found:
                    raise InputError(f"initial-data file {shown} holds the array {key!r} twice; expected each once")
                _check_member(zf, info, expected[key], f"initial-data file {shown}: array {key!r}")
                found[key] = info
            if ("A" in found) == ("theta" in found):
                what = "both 'A' and 'theta'" if "A" in found else "neither 'A' nor 'theta'"
                raise InputError(f"initial-data file {shown} holds {what}; expected exactly one of them: the "
                                 f"potential A or the link angles theta = a q A, each of shape {expected['A']}")
            for key, info in found.items():
                with zf.open(info) as f:
                    raw = np.lib.format.read_array(f, allow_pickle=False, max_header_size=_MAX_HEADER)
                values = np.asarray(raw, dtype=float)
                bad = int(np.sum(~np.isfinite(values)))
                if bad:
                    raise InputError(f"initial-data file {shown}: array {key!r} holds {bad} NaN/Inf values; "
                                     f"expected finite values")
                out[key] = values
    except InputError:
        raise
    except unreadable as exc:
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(f"initial-data file {shown} cannot be read as .npz ({text[:200]}); {_HINT}") from None
    return out


def assemble(model: Any, arrays: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Packed physics data ``phi = (A, matter phi)``, ``pi = (E, matter pi)`` from checked arrays (``A`` from
    ``theta / (q a)`` when the links are given; ``E`` zero and the matter's vacuum where absent)."""
    lat = model.lattice
    D = lat.ndim
    vac_phi, vac_pi = _vacuum(model)
    if "A" in arrays:
        A = np.asarray(arrays["A"], dtype=float)
    else:
        A = np.asarray(arrays["theta"], dtype=float) / (float(model.network.charge) * lat.spacing)
    E = np.asarray(arrays["E"], dtype=float) if "E" in arrays else np.zeros_like(A)
    if model.network.matter is None:
        return A, E
    name_phi, name_pi = model.matter_arrays
    m_phi = np.asarray(arrays[name_phi], dtype=float) if name_phi in arrays else vac_phi[D:]
    m_pi = np.asarray(arrays[name_pi], dtype=float) if name_pi in arrays else vac_pi[D:]
    return np.concatenate([A, m_phi]), np.concatenate([E, m_pi])


# ----------------------------------------------------------------------------------------------------------
# Gauss's law
# ----------------------------------------------------------------------------------------------------------
def residual(model: Any, phi: Any, pi: Any) -> float:
    """The relative Gauss residual of physics data: the observable ``gauss_residual`` a run records
    (:meth:`~.model.GaugeModel.gauss_residual`)."""
    return float(_RESIDUAL(model, np.asarray(phi, dtype=float), np.asarray(pi, dtype=float)))


def impose_gauss(model: Any, phi: Any, pi: Any, iterations: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """``(phi, pi)`` with ``E`` projected onto Gauss's law (see the module docstring); the links and the matter
    unchanged.

    The charge is the model's, computed in the dtype JAX has (float32 without its 64-bit mode): the neutrality
    check and the fixed-point iteration's stop allow that dtype's round-off.

    Raises :class:`~nnfield.errors.InputError` when the matter carries a net charge (a periodic lattice holds
    none; not for a model with a neutralizing background). A projection that does not reach round-off is returned as
    it is: :func:`load_initial` refuses its residual (``gauss_tolerance``).
    """
    lat = model.lattice
    D = lat.ndim
    phi, pi = np.asarray(phi, dtype=float), np.asarray(pi, dtype=float)
    E_data, matter_pi = pi[:D], pi[D:]

    def rho_of(E: np.ndarray) -> tuple[np.ndarray, float]:
        """The charge density the projection takes, and the scale of its round-off (``sum |rho|``)."""
        rho = np.asarray(_CHARGE(model, phi, np.concatenate([E, matter_pi])))  # in JAX's dtype: float32 or float64
        scale = float(np.sum(np.abs(rho)))
        if model.neutralizing_background:  # the background subtracted in float64: neutral to ~1e-16 of sum |rho|
            rho = rho.astype(float)
            return rho - rho.mean(), scale
        return rho, scale  # its own dtype: the neutrality check of the projection allows its round-off

    E = E_data
    tiny = np.finfo(float).tiny
    eps = computed_eps()
    for _ in range(max(int(iterations), 1)):
        rho, scale = rho_of(E)
        try:
            E_new = project(lat, E_data, rho, scale=scale)
        except ParameterError:  # a net charge: the Poisson solve's neutrality check
            total = float(np.sum(rho)) * lat.cell_volume
            raise InputError(
                f"the matter ({', '.join(repr(n) for n in model.matter_arrays)}) carries the net charge "
                f"{total:.6g} (a^D sum rho); a periodic lattice holds none (Gauss's law at k = 0): add an opposite "
                f"charge, or remove the uniform rotation of the field that carries it"
            ) from None
        delta = float(np.max(np.abs(E_new - E)))
        E = E_new
        if delta <= 4 * eps * max(float(np.max(np.abs(E))), tiny):
            break
    return phi, np.concatenate([E, matter_pi])


def load_initial(path: str | Path, model: Any, gauss: str = "project") -> tuple[np.ndarray, np.ndarray]:
    """Physics data ``(phi, pi)`` of ``model`` from an initial-data file (:func:`read_arrays`), with Gauss's
    law imposed (``gauss = "project"``, :func:`impose_gauss`) or checked (``"check"``).

    The data are returned in float64 whatever the file's floating dtype (a float32 file's values exactly); the
    residual is the model's, computed in the dtype JAX has (float32 without its 64-bit mode), and checked against
    :func:`gauss_tolerance` of that dtype.

    Raises :class:`~nnfield.errors.InputError` for a bad file (see :func:`read_arrays`) and
    :class:`~nnfield.errors.ParameterError` (``gauss``) for an unknown mode, or data that violate Gauss's law by
    more than :func:`gauss_tolerance` (relative; the message gives the measured residual).
    """
    if gauss not in GAUSS_MODES:
        raise ParameterError("gauss", f'expected "project" or "check", got {gauss!r}')
    phi, pi = assemble(model, read_arrays(path, model))
    if gauss == "project":
        phi, pi = impose_gauss(model, phi, pi)
    r = residual(model, phi, pi)
    tol = gauss_tolerance()
    if not r <= tol:
        if gauss == "check":
            raise ParameterError("gauss", f"the data of {str(path)!r} violate Gauss's law: relative residual {r:.3e} "
                                          f"(max |div E - rho| over the largest term at a site) > {tol:g}; "
                                          f'set gauss = "project" to replace the longitudinal part of E by the field '
                                          f"of the charge, or correct E")
        raise InputError(f"initial-data file {str(path)!r}: the projection onto Gauss's law left a relative residual "
                         f"{r:.3e} > {tol:g} (the fields are too large for the fixed-point iteration of "
                         f"the time-centred charge); reduce the fields or the charge")
    return phi, pi


# ----------------------------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------------------------
def save_initial(path: str | Path, model: Any, phi: Any = None, pi: Any = None, *,
                 state: Mapping[str, Any] | None = None) -> Path:
    """Write an initial-data file for ``model``: ``A``, ``E`` and the matter's arrays, from packed physics data
    ``(phi, pi)`` (what initial conditions return) or from a network ``state`` (decoded by the model).

    Returns the path written (NumPy appends ``.npz`` when missing). Physics data are stored exactly, in their
    own floating precision (float32 data as float32, anything else as float64),
    so :func:`load_initial` with ``gauss = "check"`` gives them back bit for bit (as float64).
    """
    if state is not None:
        if phi is not None or pi is not None:
            raise ParameterError("state", "expected either physics data (phi, pi) or a network state, got both")
        phi, pi = model.decode(dict(state))
    if phi is None or pi is None:
        raise ParameterError("phi", "expected physics data (phi, pi) (e.g. from an initial condition) or state=")
    D = model.lattice.ndim
    phi, pi = np.asarray(phi), np.asarray(pi)
    # stored in the data's own floating precision (float32 data as float32: exact, half the file); integer or
    # other input as float64
    dtype = np.result_type(phi, pi)
    dtype = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)
    phi, pi = phi.astype(dtype, copy=False), pi.astype(dtype, copy=False)
    want = layout(model)["A"]
    if phi.shape[1:] != want[1:] or phi.shape[0] < D or pi.shape != phi.shape:
        raise ParameterError("phi", f"expected packed physics data of shape (K, *{want[1:]}) with K >= {D} each, "
                                    f"got phi {phi.shape} and pi {pi.shape}")
    arrays = {"A": phi[:D], "E": pi[:D]}
    if model.network.matter is not None:
        name_phi, name_pi = model.matter_arrays
        arrays[name_phi], arrays[name_pi] = phi[D:], pi[D:]
    out = Path(path)
    out = out if out.suffix == ".npz" else out.with_name(out.name + ".npz")
    np.savez(out, **arrays)
    return out


def snapshot_state(fields: Mapping[str, Any], index: int = -1) -> dict[str, Any]:
    """The network state of one snapshot of a run (``fields`` as :func:`nnfield.io.load_run` reads them: ``links``,
    ``electric`` [, ``matter.phi``, ``matter.pi``], each ``(snapshots, components, *shape)``)."""
    missing = [k for k in (LINKS, ELECTRIC) if k not in fields]
    if missing:
        raise ParameterError("fields", f"expected the snapshots of a dynamical U(1) run (links, electric), got "
                                       f"{sorted(fields)}")
    state: dict[str, Any] = {k: np.asarray(fields[k][index], dtype=float) for k in (LINKS, ELECTRIC)}
    if f"{MATTER}.phi" in fields:
        state[MATTER] = State(np.asarray(fields[f"{MATTER}.phi"][index], dtype=float),
                              np.asarray(fields[f"{MATTER}.pi"][index], dtype=float))
    return state


def save_initial_from_run(path: str | Path, run: str | Path, index: int = -1) -> Path:
    """Write an initial-data file from snapshot ``index`` (default: the last, the final state) of the run in the
    directory (or ``run.h5``) ``run``: the model is rebuilt from the run's own config. Start the new run with
    ``[initial] kind = "file"``; a float32 run's snapshot needs ``gauss = "project"`` (its residual is ~1e-7)."""
    from ...config import parse_config
    from ...io import load_run

    data = load_run(run, snapshots="last" if index == -1 else "all")
    if not len(data.snap_step):
        raise InputError(f"run {str(run)!r} holds no snapshot to start from")
    model = parse_config(data.config_text, source=str(data.path)).build_model()
    return save_initial(path, model, state=snapshot_state(data.fields, index))


__all__ = ["GAUSS_MODES", "GAUSS_TOLERANCE", "assemble", "computed_eps", "gauss_tolerance", "impose_gauss", "layout",
           "load_initial", "read_arrays", "residual", "save_initial", "save_initial_from_run", "snapshot_state"]
