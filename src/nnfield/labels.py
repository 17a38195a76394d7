"""netCDF-4/CF labels of the run file: dimension scales, coordinate variables, ``units`` and ``long_name``.

A run file labelled by :func:`label_file` opens with ``xarray.open_dataset(path, group="snapshots",
engine="h5netcdf")`` (or ``"observables"``) as labelled data: every dataset of a group names its dimensions
through HDF5 dimension scales, the netCDF-4 way, and carries CF ``long_name`` and ``units`` attributes.

Dimensions (each group is a netCDF group, so ``time`` is a dimension of each, of its own length)::

    /observables   time (samples; coordinate: time), member (ensembles), k (the |k| bins of the spectra,
                   ``docs/spectra.md``; coordinate: the bin centres), <name>_dim<i> (extra axes of another
                   array observable); ``step`` is a variable on ``time``
    /snapshots     time (snapshots; coordinate: time), member (ensembles), component (the neuron type a,
                   0..K-1), x, y, z (coordinates: lattice positions ``i * spacing``); ``step`` on ``time``
    /              commit_entry (the 3 entries of the commit record), final_byte (the bytes of /final, growing),
                   commit_tails_entry (2 per checksummed dataset: /commit_tails, io.COMMIT_TAILS)

Units: the config's numbers are in natural units (c = hbar = 1) of one length unit, written ``L`` here: the
unit of ``[lattice] spacing`` and ``[time] dt``. Positions and times are in ``L``, energies and momenta in
``1/L``, charges, indices and counts are dimensionless (``"1"``); a field's unit is its canonical dimension
(a scalar in D space dimensions: ``L^((1-D)/2)``, a spinor: ``L^(-D/2)``). Names and formulas of the
observables: ``docs/observables.md`` (this module is the table's source, :data:`OBSERVABLES`).

All labels are attributes, so they are written when the datasets are created, before the writer switches to
SWMR mode (``io.RunWriter``); :func:`label_file` labels whatever is not yet labelled and can run again.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import h5py
import numpy as np

#: root attribute stating the unit convention
UNITS_CONVENTION = ("natural units, c = hbar = 1; L is the length unit of the config (the unit of [lattice] "
                    "spacing and [time] dt); '1' is dimensionless")
AXES = "xyz"
TIME_DIM = "time"
COMPONENT = "component"
MEMBER = "member"
COMMIT_DIM = "commit_entry"
#: the dimension of the spectra's |k| bins (observables ``spectrum_*``, ``occupation``; ``nnfield.spectra``)
K_DIM = "k"
FINAL_DIM = "final_byte"
ROOT_LONG_NAMES = {
    "commit": "commit record: [steps done, observable samples, snapshots] of the last completed chunk (-1: none)",
    "final": "final attributes of the run (status, steps done, timings, conservation verdicts) as UTF-8 JSON",
    "commit_tails": "[rows, CRC-32 of the rows in its last chunk] of each dataset named in the attribute "
                    "'datasets', at the last commit",
}
#: the CF ``coordinates`` attribute of every data variable: ``step`` is an auxiliary coordinate along ``time``
STEP_COORDINATE = "step"
#: the netCDF-4 mark of a dimension without a coordinate variable (the dataset only names the dimension)
PURE_DIM = "This is a netCDF dimension but not a netCDF variable."


def axis_name(mu: int, ndim: int) -> str:
    """``x``, ``y``, ``z`` for lattice axes 0, 1, 2 (``x0``, ``x1``, ... beyond three dimensions)."""
    return AXES[mu] if ndim <= 3 else f"x{mu}"


def unit(power: Fraction | int | None) -> str | None:
    """The unit ``L^power`` as written in the ``units`` attribute: ``"1"``, ``"L"``, ``"1/L"``, ``"L^(-1/2)"``."""
    if power is None:
        return None
    p = Fraction(power)
    if p == 0:
        return "1"
    if p == 1:
        return "L"
    if p == -1:
        return "1/L"
    return f"L^({p})"


# ----------------------------------------------------------------------------------------------------------
# what each quantity is
# ----------------------------------------------------------------------------------------------------------
SCALAR_THEORIES = ("klein-gordon", "phi4", "sine-gordon")
SPINOR_THEORIES = ("dirac", "gauged-dirac")
#: theories whose state is several named fields: links, electric [, matter.phi, matter.pi]
GAUGE_DYNAMICS_THEORIES = ("maxwell", "scalar-qed", "maxwell-dirac")


def field_power(theory: str, network: str, field: str, D: int) -> Fraction | None:
    """The length power of a stored network field (``None``: not known for this theory)."""
    if theory in GAUGE_DYNAMICS_THEORIES:  # several named fields (theories/u1, docs/gauge_dynamics.md)
        if field == "links":
            return Fraction(0)  # theta = a q A
        if field == "electric":
            return Fraction(-1 - D, 2)  # E = dA/dt, A of dimension L^((1-D)/2)
        if field in ("matter.phi", "matter.pi"):
            field = field.removeprefix("matter.")
            theory = "dirac" if theory == "maxwell-dirac" else "klein-gordon"
            network = ""
    if theory in SPINOR_THEORIES and field in ("phi", "pi"):
        return Fraction(-D, 2)  # phi, pi: real and imaginary parts of psi, a^D sum |psi|^2 is a number
    if theory in SCALAR_THEORIES and field == "phi":
        return Fraction(1 - D, 2)
    if theory in SCALAR_THEORIES and field == "pi":
        # network (3.14) stores pi = -phi(t - dt); the others the momentum d phi / dt
        return Fraction(1 - D, 2) if "3.14" in network else Fraction(-1 - D, 2)
    return None


FIELD_LONG_NAMES = {
    "phi": "non-trainable neuron states phi (activation dynamics)",
    "pi": "trainable variables pi (learning dynamics)",
    "links": "link angles theta = a q A (trainable weights of the gauge field)",
    "electric": "electric field E (the momentum buffer of the links' learning)",
    "matter.phi": "matter: non-trainable neuron states phi (activation dynamics)",
    "matter.pi": "matter: trainable variables pi (learning dynamics)",
}


@dataclasses.dataclass(frozen=True)
class Observable:
    """One row of the observables table (``docs/observables.md``).

    ``power``: the length power of its unit; ``"field"`` (the unit of ``phi``) or ``"spinor"`` (``L^(-D/2)``)
    for the theory-dependent ones.
    """

    name: str
    long_name: str
    formula: str
    power: int | str
    theories: tuple[str, ...]


#: every observable a shipped theory records; ``<mu>`` stands for x, y, z
OBSERVABLES: tuple[Observable, ...] = (
    Observable("energy", "energy (the theory's lattice Hamiltonian)",
               "scalars: a^D sum [pi^2/2 + (grad phi)^2/2 + V(phi)]; spinors: a^D sum psi^dagger H psi; gauge "
               "theories: the Kogut-Susskind Hamiltonian", -1,
               ("klein-gordon", "phi4", "sine-gordon", "dirac", "gauged-dirac", *GAUGE_DYNAMICS_THEORIES)),
    Observable("discrete_energy", "leapfrog energy of the network (its exact invariant for Klein-Gordon and V = 0)",
               "a^D sum [|phi' - phi|^2/(2 dt^2) + grad phi'.grad phi/2 + (V(phi) + V(phi'))/2], phi' = next phi "
               "(Klein-Gordon: m^2 phi' phi/2 in place of (V(phi) + V(phi'))/2)",
               -1, ("klein-gordon", "phi4", "sine-gordon")),
    Observable("phi_rms", "root mean square of the field phi", "sqrt(mean phi^2)", "field",
               ("klein-gordon", "phi4", "sine-gordon")),
    Observable("phi_max", "largest |phi| on the lattice", "max |phi|", "field",
               ("klein-gordon", "phi4", "sine-gordon")),
    Observable("phi_mean", "lattice mean of the field phi", "mean phi", "field", ("phi4", "sine-gordon")),
    Observable("charge", "charge (norm of the spinor)", "a^D sum |psi|^2 = a^D sum (phi^2 + pi^2)", 0,
               ("dirac", "gauged-dirac")),
    Observable("invariant", "exact invariant of the stable network (a modified charge)",
               "a^D I, I = |phi|^2 + |pi|^2 + dt phi.((1 - tan(m dt/2) X_0) B pi); paper network: the charge", 0,
               ("dirac",)),
    Observable("psi_max", "largest |psi| on the lattice", "max sqrt(sum_a |psi_a|^2)", "spinor", ("dirac",)),
    Observable("current_<mu>", "current along <mu>", "a^D sum psi^dagger alpha_<mu> psi", 0, ("dirac",)),
    Observable("position_<mu>", "mean position along <mu> of the density |psi|^2",
               "sum x_<mu> |psi|^2 / sum |psi|^2 (x in [0, L_<mu>))", 1, ("dirac", "gauged-dirac", "maxwell-dirac")),
    Observable("momentum_<mu>", "kinetic momentum per unit charge along <mu>",
               "<psi, -i D_<mu> psi> / <psi, psi>, D the covariant central difference", -1, ("gauged-dirac",)),
    Observable("wavenumber_<mu>", "mean canonical lattice momentum along <mu>",
               "sum_k k_<mu> |psi_k|^2 / sum_k |psi_k|^2 (FFT, k in [-pi/a, pi/a))", -1, ("gauged-dirac",)),
    Observable("plaquette", "mean plaquette of the background links", "mean cos(pi P / 2)", 0, ("gauged-dirac",)),
    # the spectra ([output] spectra = true; nnfield.spectra, docs/spectra.md): one value per |k| bin
    # the dynamical U(1) gauge theories (theories/u1, docs/gauge_dynamics.md, docs/maxwell_dirac.md)
    Observable("energy_electric", "electric energy", "a^D sum E^2/2", -1, GAUGE_DYNAMICS_THEORIES),
    Observable("energy_magnetic", "magnetic energy", "a^D sum_plaquettes (1 - cos P)/(q^2 a^4)", -1,
               GAUGE_DYNAMICS_THEORIES),
    Observable("energy_matter", "energy of the matter (with its hopping through the links)",
               "a^D sum (matter energy density)", -1, ("scalar-qed", "maxwell-dirac")),
    Observable("gauss_residual", "relative violation of Gauss's law",
               "max |div E - rho| / (the charge scale of the terms; docs/gauge_dynamics.md)", 0,
               GAUGE_DYNAMICS_THEORIES),
    Observable("charge", "total charge (Noether charge of the matter's U(1))", "a^D sum rho", "u1_charge",
               GAUGE_DYNAMICS_THEORIES),
    Observable("charge_plain", "charge q a^D sum |psi|^2 (not the network's conserved form)",
               "q a^D sum (|phi|^2 + |pi|^2)", "u1_charge", ("maxwell-dirac",)),
    Observable("plaquette", "mean plaquette", "mean cos P, P = theta_mu(x) + theta_nu(x+mu) - ...", 0,
               ("maxwell", "scalar-qed", "maxwell-dirac")),
    Observable("flux", "magnetic flux through the torus (2D; a multiple of 2 pi/q)", "a^2 sum B", "u1_flux",
               ("maxwell", "scalar-qed", "maxwell-dirac")),
    Observable("phi_abs2_mean", "lattice mean of |phi|^2", "mean (phi_1^2 + phi_2^2)/2", "field2", ("scalar-qed",)),
    Observable("phi_abs_min", "smallest |phi| on the lattice (a vortex core: 0)", "min sqrt((phi_1^2 + phi_2^2)/2)",
               "field", ("scalar-qed",)),
    Observable("momentum_<mu>", "total momentum along <mu> (matter, field and the static background)",
               "docs/maxwell_dirac.md", -1, ("maxwell-dirac",)),
    Observable("momentum_matter_<mu>", "momentum of the matter along <mu>", "docs/maxwell_dirac.md", -1,
               ("maxwell-dirac",)),
    Observable("field_<mu>", "uniform (k = 0) electric field along <mu>", "mean E_<mu>", "electric",
               ("maxwell-dirac",)),
    Observable("spectrum_phi", "angle-averaged power spectrum of phi", "mean over the shell of |a^D fft phi|^2 / V",
               1, ("klein-gordon", "phi4", "sine-gordon")),
    Observable("spectrum_pi", "angle-averaged power spectrum of pi = d phi/dt",
               "mean over the shell of |a^D fft pi|^2 / V", -1, ("klein-gordon", "phi4", "sine-gordon")),
    Observable("occupation", "occupation numbers n_k (vacuum: 1/2)",
               "mean over the shell of (omega_k P_phi + P_pi / omega_k) / 2, omega_k the lattice dispersion", 0,
               ("klein-gordon", "phi4", "sine-gordon")),
    Observable("spectrum_psi", "angle-averaged power spectrum of the spinor",
               "mean over the shell of sum_a |a^D fft psi_a|^2 / V", 0, ("dirac",)),
    Observable("spectrum_psi_positive", "power spectrum of the positive-energy part of the spinor",
               "mean over the shell of |P_+(k) a^D fft psi|^2 / V, P_+ the projector of the lattice H(k)", 0,
               ("dirac",)),
    Observable("spectrum_psi_negative", "power spectrum of the negative-energy part of the spinor",
               "mean over the shell of |P_-(k) a^D fft psi|^2 / V", 0, ("dirac",)),
    # the gauge theories record the spectra of gauge-invariant fields only (their links and charged matter are not)
    Observable("spectrum_E", "angle-averaged power spectrum of the electric field",
               "mean over the shell of sum_mu |a^D fft E_mu|^2 / V", -1, GAUGE_DYNAMICS_THEORIES),
    Observable("spectrum_B", "angle-averaged power spectrum of the magnetic field",
               "mean over the shell of sum_planes |a^D fft B|^2 / V, B = wrap(P) / (q a^2)", -1,
               GAUGE_DYNAMICS_THEORIES),
    Observable("spectrum_rho", "angle-averaged power spectrum of the charge density",
               "mean over the shell of |a^D fft rho|^2 / V", -3, ("scalar-qed", "maxwell-dirac")),  # maxwell: no rho
    Observable("spectrum_rho", "angle-averaged power spectrum of the density |psi|^2 (gauge invariant)",
               "mean over the shell of |a^D fft |psi|^2|^2 / V", "density_spectrum", ("gauged-dirac",)),
)


def is_spectrum(name: str) -> bool:
    """Whether an observable is a spectrum over the ``|k|`` bins (its last axis is the dimension ``k``)."""
    return name.startswith("spectrum_") or name == "occupation"

#: old observable names and the names that replaced them (files written before keep loading)
OBSERVABLE_ALIASES: dict[str, str] = {f"mean_{c}": f"position_{c}" for c in AXES}


def describe_observable(name: str, theory: str | None = None) -> Observable | None:
    """The table row of an observable name (``position_x`` -> the ``position_<mu>`` row), else ``None``; where
    theories use one name for different quantities (``charge``), the row of ``theory`` first."""
    name = OBSERVABLE_ALIASES.get(name, name)
    rows = [row for row in OBSERVABLES if row.name == name or (
        row.name.endswith("_<mu>") and name.startswith(row.name[:-4]) and name[len(row.name) - 4:] in AXES)]
    return next((row for row in rows if theory in row.theories), rows[0] if rows else None)


def observable_attrs(name: str, theory: str, network: str, D: int) -> dict[str, str]:
    """``long_name`` and ``units`` of an observable (only ``long_name`` = its name when not in the table)."""
    row = describe_observable(name, theory)
    if row is None:
        return {"long_name": name}
    c = name.rsplit("_", 1)[-1]
    long_name = row.long_name.replace("<mu>", c)
    gauge = theory in GAUGE_DYNAMICS_THEORIES
    power: Fraction | None
    if row.power == "field":
        power = Fraction(1 - D, 2) if gauge else field_power(theory, network, "phi", D)
    elif row.power == "field2":
        power = Fraction(1 - D)
    elif row.power == "electric":
        power = Fraction(-1 - D, 2)
    elif row.power == "u1_charge":  # q has the length power (D - 3)/2; a^D sum rho = a^D sum div E likewise
        power = Fraction(D - 3, 2)
    elif row.power == "u1_flux":  # a multiple of 2 pi / q
        power = Fraction(3 - D, 2)
    elif row.power == "spinor":
        power = Fraction(-D, 2)
    elif row.power == "density_spectrum":  # |psi|^2 has the power -D, its spectrum |rho_k|^2 / V -2D + D
        power = Fraction(-D)
    else:
        power = Fraction(int(row.power))
    out = {"long_name": long_name, "formula": row.formula.replace("<mu>", c)}
    u = unit(power)
    if u is not None:
        out["units"] = u
    return out


# ----------------------------------------------------------------------------------------------------------
# labelling a file
# ----------------------------------------------------------------------------------------------------------
def is_coordinate(ds: Any) -> bool:
    """Whether a dataset is a dimension scale (a coordinate variable or a bare netCDF dimension)."""
    return isinstance(ds, h5py.Dataset) and bool(h5py.h5ds.is_scale(ds.id))


def _text(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        return v.item()
    return v


@dataclasses.dataclass(frozen=True)
class Geometry:
    """What the labels need from the root attributes (``shape``, ``spacing``, ``K``, ``members``, theory)."""

    shape: tuple[int, ...] | None
    spacing: float | None
    K: int | None
    members: int | None
    theory: str
    network: str
    #: the bin centres of the spectra (root attribute ``spectrum_k``), if the run records spectra
    spectrum_k: tuple[float, ...] | None = None

    @classmethod
    def of(cls, attrs: Mapping[str, Any]) -> Geometry:
        a = {k: _text(v) for k, v in attrs.items()}
        shape = a.get("shape")
        spacing = a.get("spacing")
        return cls(
            tuple(int(n) for n in np.asarray(shape).reshape(-1)) if shape is not None else None,
            float(spacing) if isinstance(spacing, (int, float)) else None,
            int(a["K"]) if isinstance(a.get("K"), (int, np.integer)) else None,
            int(a["members"]) if isinstance(a.get("members"), (int, np.integer)) else None,
            str(a.get("theory", "")), str(a.get("network", "")),
            tuple(float(x) for x in np.asarray(a["spectrum_k"]).reshape(-1)) if "spectrum_k" in a else None,
        )


def lattice_ndim(shape: tuple[int, ...], geo: Geometry) -> int:
    """The number of lattice axes of a snapshot dataset (from the root attribute ``shape``, else all but two)."""
    if geo.shape is not None and len(shape) >= len(geo.shape) + 2:
        return len(geo.shape)
    return max(len(shape) - 2, 0)


#: the named fields of the gauge theories that live on links: their component axis is the direction ``mu``
LINK_FIELDS = ("links", "electric")


def field_dims(name: str, shape: tuple[int, ...], geo: Geometry, component_size: int | None) -> list[str]:
    """Dimension names of a snapshot dataset ``(snapshots, [member,] components, *lattice)``."""
    D = lattice_ndim(shape, geo)
    lead = len(shape) - D - 1  # the axes before the lattice: time, [member], component
    dims = [TIME_DIM]
    for i in range(1, lead):
        dims.append(MEMBER if i == 1 and geo.members else f"{name}_dim{i}")
    if lead >= 1:
        k = shape[lead]
        # a link field's axis is the direction mu, never the neuron type (maxwell's K equals its D directions)
        dims.append(COMPONENT if component_size in (None, k) and name not in LINK_FIELDS else f"{name}_component")
    dims += [axis_name(mu, D) for mu in range(D)]
    return dims


def observable_dims(name: str, shape: tuple[int, ...], geo: Geometry) -> list[str]:
    """Dimension names of an observable ``(samples, [member,] ...)``."""
    dims = [TIME_DIM]
    for i in range(1, len(shape)):
        if i == 1 and geo.members and shape[1] == geo.members:
            dims.append(MEMBER)
        elif i == len(shape) - 1 and is_spectrum(name) and geo.spectrum_k is not None \
                and len(geo.spectrum_k) == shape[i]:
            dims.append(K_DIM)
        else:
            dims.append(f"{name}_dim{i}")
    return dims


def coordinate(dim: str, size: int, geo: Geometry, D: int) -> tuple[np.ndarray | None, dict[str, str]]:
    """The values and attributes of the coordinate variable of dimension ``dim`` (``None``: a bare dimension)."""
    axes = [axis_name(mu, D) for mu in range(D)]
    if dim == COMPONENT:
        return np.arange(size, dtype=np.int64), {"long_name": "field component (neuron type a)", "units": "1"}
    if dim.endswith("_component"):  # a named field of a several-field state (docs/data.md)
        field = dim[: -len("_component")]
        what = (f"lattice direction mu of the link field {field} (its value on the link from x to x + mu)"
                if field in LINK_FIELDS else f"component of the field {field} (neuron type a)")
        return np.arange(size, dtype=np.int64), {"long_name": what, "units": "1"}
    if dim == K_DIM and geo.spectrum_k is not None:
        return np.asarray(geo.spectrum_k, dtype=np.float64), {
            "long_name": "|k| bin centre: mean |k| of the modes of each shell (docs/spectra.md)", "units": "1/L"}
    if dim == MEMBER:
        return np.arange(size, dtype=np.int64), {"long_name": "ensemble member (its parameters: root attribute "
                                                              "sweep)", "units": "1"}
    if dim in axes:
        mu = axes.index(dim)
        a = geo.spacing if geo.spacing is not None else 1.0
        attrs = {"long_name": f"lattice position along axis {mu} ({dim})",
                 "units": "L" if geo.spacing is not None else "1"}
        if D <= 3:
            attrs["axis"] = dim.upper()
        return a * np.arange(size, dtype=np.float64), attrs
    return None, {}


def _scale(grp: h5py.Group, dim: str, size: int, geo: Geometry, D: int) -> h5py.Dataset:
    """The dimension scale ``dim`` of ``grp`` (created when missing: a coordinate variable or a bare dimension)."""
    if dim in grp:
        return grp[dim]
    values, attrs = coordinate(dim, size, geo, D)
    if values is None:  # a dimension without coordinate values (netCDF-4's mark in the scale's NAME)
        ds = grp.create_dataset(dim, shape=(size,), dtype=np.float32)
        ds.make_scale(f"{PURE_DIM}{size:10d}")
        return ds
    ds = grp.create_dataset(dim, data=values)
    ds.make_scale(dim)
    ds.attrs.update(attrs)
    return ds


def _attach(grp: h5py.Group, ds: h5py.Dataset, dims: list[str], geo: Geometry, D: int) -> None:
    for i, dim in enumerate(dims):
        if len(ds.dims[i]):
            continue
        scale = grp[dim] if dim == TIME_DIM else _scale(grp, dim, ds.shape[i], geo, D)
        if scale.shape[0] != ds.shape[i] and dim != TIME_DIM:
            raise ValueError(f"{ds.name}: axis {i} ({dim}) has {ds.shape[i]} entries, the dimension {scale.shape[0]}")
        ds.dims[i].attach_scale(scale)


def _label_time(grp: h5py.Group, what: str) -> None:
    from .io import STEP, TIME

    time = grp[TIME]
    if not is_coordinate(time):
        time.make_scale(TIME_DIM)
        time.attrs.update(time_attrs(what))
    step = grp[STEP]
    if not len(step.dims[0]):
        step.dims[0].attach_scale(time)
        step.attrs.update(step_attrs(what))


def time_attrs(what: str) -> dict[str, str]:
    return {"long_name": f"physical time of each {what} (step * tick)", "units": "L", "axis": "T"}


def step_attrs(what: str) -> dict[str, str]:
    return {"long_name": f"network step (tick index) of each {what}", "units": "1"}


def field_attrs(name: str, geo: Geometry, D: int) -> dict[str, str]:
    """``long_name`` and (where known) ``units`` of a snapshot field."""
    out = {"long_name": FIELD_LONG_NAMES.get(name, f"network field {name}")}
    u = unit(field_power(geo.theory, geo.network, name, D))
    if u is not None:
        out["units"] = u
    return out


def label_group(h5: h5py.File, group: str, attrs: Mapping[str, Any] | None = None) -> None:
    """Label every dataset of ``/observables`` or ``/snapshots`` that is not labelled yet (before SWMR)."""
    from .io import OBSERVABLES, SNAPSHOTS, STEP, TIME

    geo = Geometry.of(h5.attrs if attrs is None else attrs)
    grp = h5[group]
    if TIME not in grp or STEP not in grp:
        return
    _label_time(grp, "sample" if group == OBSERVABLES else "snapshot")
    names = [n for n in grp if n not in (STEP, TIME) and not is_coordinate(grp[n])]
    component_size = geo.K
    for name in names:
        ds = grp[name]
        if group == SNAPSHOTS:
            dims = field_dims(name, ds.shape, geo, component_size)
            D = lattice_ndim(ds.shape, geo)
            _attach(grp, ds, dims, geo, D)
            if "long_name" not in ds.attrs:
                ds.attrs.update(field_attrs(name, geo, D))
                ds.attrs["coordinates"] = STEP_COORDINATE
        else:
            D = len(geo.shape) if geo.shape is not None else 0
            _attach(grp, ds, observable_dims(name, ds.shape, geo), geo, D)
            if "long_name" not in ds.attrs:
                ds.attrs.update(observable_attrs(name, geo.theory, geo.network, D))
                ds.attrs["coordinates"] = STEP_COORDINATE


def label_root(h5: h5py.File) -> None:
    """Name the dimension of each unlabelled one-dimensional root dataset (``/commit``; also a resizable one)."""
    for name in list(h5):
        ds = h5[name]
        if not isinstance(ds, h5py.Dataset) or is_coordinate(ds) or ds.ndim != 1 or len(ds.dims[0]):
            continue
        dim = {"commit": COMMIT_DIM, "final": FINAL_DIM}.get(name, f"{name}_entry")
        if dim not in h5:
            resizable = ds.maxshape[0] is None
            scale = h5.create_dataset(dim, shape=ds.shape, maxshape=ds.maxshape, dtype=np.float32,
                                      chunks=(1024,) if resizable else None)
            scale.make_scale(f"{PURE_DIM}{ds.shape[0]:10d}")
        ds.dims[0].attach_scale(h5[dim])
        if name in ROOT_LONG_NAMES and "long_name" not in ds.attrs:
            ds.attrs["long_name"] = ROOT_LONG_NAMES[name]
            ds.attrs["units"] = "1"


def detach(ds: h5py.Dataset) -> None:
    """Detach every dimension scale from ``ds`` (before deleting it: no dangling reference in the scales)."""
    for axis in ds.dims:
        for scale in list(axis.values()):
            axis.detach_scale(scale)


def label_file(h5: h5py.File, attrs: Mapping[str, Any] | None = None) -> None:
    """Label the whole run file (idempotent; call before SWMR writing: labels are attributes)."""
    from .io import OBSERVABLES, SNAPSHOTS

    if attrs is None:
        attrs = dict(h5.attrs)  # read once (each read of the root's ~70 attributes through h5py: ~4 ms)
    for group in (OBSERVABLES, SNAPSHOTS):
        if group in h5:
            label_group(h5, group, attrs)
    label_root(h5)
    if "units_convention" not in h5.attrs:
        h5.attrs["units_convention"] = UNITS_CONVENTION


#: attributes that belong to HDF5's dimension-scale bookkeeping (object references into one file: never copied)
SCALE_ATTRS = frozenset({"CLASS", "NAME", "DIMENSION_LIST", "REFERENCE_LIST", "_Netcdf4Dimid", "_Netcdf4Coordinates"})
#: attributes that xarray turns into structure (not copied into an xarray variable's ``attrs``)
XARRAY_ATTRS = SCALE_ATTRS | {"coordinates"}


def copy_attrs(src: h5py.Dataset, dst: h5py.Dataset) -> None:
    """Copy a dataset's own attributes (``units``, ``long_name``, ...) but not its dimension-scale bookkeeping
    (:func:`label_file` attaches the dimensions of the copy anew)."""
    for key, value in src.attrs.items():
        if key not in SCALE_ATTRS:
            dst.attrs[key] = value


def warn_renamed(old: str, new: str, stacklevel: int = 3) -> None:
    warnings.warn(f"the observable {old!r} is now called {new!r} (same quantity); use {new!r}",
                  DeprecationWarning, stacklevel=stacklevel)
