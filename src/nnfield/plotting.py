"""Plots of runs and analyses (matplotlib, Agg backend; imported lazily by the command line; ``docs/cli.md``).

What :func:`plot_run` writes into a run directory (those that apply):

- ``energy.png`` (:func:`plot_energy`): the conserved quantities the model declared (the run file's
  ``conservation`` verdicts; else the energy-like observables) and ``|Q(t) - Q(0)| / |Q(0)|`` on a log axis
  (floored at 1e-17: an exact invariant shows its round-off level, a blow-up its growth), with the machine
  epsilon of the run's precision dotted (:func:`_machine_epsilon`: 1.19e-7 for a float32 run).
- ``observables.png`` (:func:`plot_observables`): every scalar observable vs time, plain tick labels (no offset
  such as ``1e-12+9.99e-1``), a log axis for a positive quantity spanning more than four decades.
- ``field.png`` (:func:`plot_field`): the last snapshot of the *physical* fields the model draws
  (``AbstractModel.plot_fields``: ``phi``, ``pi`` of a scalar, the density ``|psi|^2`` and current of a spinor),
  decoded from the network state with the model rebuilt from the run's config; a line plot in 1D, an image in
  2D, the central slice ``x_3 = .. = N/2`` in 3D and above. Without a usable config: the raw network state.
- ``spacetime.png`` (:func:`plot_spacetime`, 1D runs): every snapshot as an image over ``(x, t)``.
- ``spectra.png`` (:func:`plot_spectra`, runs with ``[output] spectra``): the ``spectrum_*`` and
  ``occupation`` observables against ``|k|`` (log-log), one curve per sample coloured by time.
- ``field.gif`` (:func:`animate_field`, with ``animate=True``, ``nnfield plot DIR --animate``; 2D and above):
  the first plotted field through all snapshots (Pillow writer).

A ``[sweep]`` run (an ensemble, :mod:`nnfield.ensemble`) gets the same files with one curve per member, labelled
by its swept values: ``energy.png`` one column per declared quantity, ``observables.png`` one panel per
observable, ``field.png`` the last snapshot of up to :data:`MAX_MEMBERS_SHOWN` members (overlaid in 1D, one row
each in 2D and above), each decoded by its own member's model; no space-time diagram or animation.

Every figure is titled with the model and its main parameters; axes are in code units (the units of
``lattice.spacing``; ``c = 1``, so times too).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .io import (
    STATUS_FAILED,
    STATUS_INTERRUPTED,
    STATUS_KILLED,
    STATUS_NONFINITE,
    STATUS_RUNNING,
    RunData,
    load_run,
    relative_drift,
)

ENERGY_NAMES = ("energy", "discrete_energy")
#: the floor of the relative drift on its log axis (below double-precision round-off)
DRIFT_FLOOR = 1e-17
DPI = 100
T_LABEL = "t  (code units, c = 1)"
K_LABEL = "|k|  (1 / code length)"
#: a sweep's field plot shows at most this many members (evenly spaced, the first and the last included)
MAX_MEMBERS_SHOWN = 6
#: a legend names at most this many members (more: colours only, the count in the title)
MAX_LEGEND = 12


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plain_ticks(ax: Any, axis: str = "y") -> None:
    """Tick labels without a shared offset or factor (``1e-12+9.99991316e-1`` becomes ``0.99999131``)."""
    from matplotlib.ticker import ScalarFormatter

    fmt = ScalarFormatter(useOffset=False)
    fmt.set_scientific(True)
    fmt.set_powerlimits((-3, 4))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _config(run: RunData) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(run.config_text) if run.config_text else {}
    except tomllib.TOMLDecodeError:
        return {}


def _swept_keys(cfg: dict[str, Any]) -> set[str]:
    """The ``table.key`` names a config's ``[sweep]`` varies, quoted (``"theory.mass" = [...]``) or as TOML's dotted
    keys (``theory.mass = [...]``, which parse as a nested table)."""
    out: set[str] = set()
    raw = cfg.get("sweep")
    for k, v in (raw.items() if isinstance(raw, dict) else ()):
        if isinstance(v, dict):
            out.update(f"{k}.{sub}" for sub in v)
        else:
            out.add(str(k))
    return out


def _title(run: RunData, what: str = "") -> str:
    """``<theory> (<its parameters>) | <shape>, a = .. | <scheme>, dt = ..`` and ``what`` on a second line."""
    a, cfg = run.attrs, _config(run)
    theory = dict(cfg.get("theory", {}))
    name = theory.pop("name", a.get("theory", a.get("network", "run")))
    swept_keys = _swept_keys(cfg)
    swept = {k.split(".")[-1] for k in swept_keys if k.startswith("theory.")}  # a sweep's members differ in these
    params = ", ".join(f"{k} = {v}" if k not in swept else f"{k} swept" for k, v in theory.items()
                       if not isinstance(v, (list, dict)))
    shape = "x".join(str(int(n)) for n in np.atleast_1d(a.get("shape", [])))
    geo = f"{shape}, a = {a['spacing']:g}" if "spacing" in a else shape
    scheme = f"{a.get('scheme', '')}, dt = {a['dt']:g}" if "dt" in a else str(a.get("scheme", ""))
    if "time.dt" in swept_keys:
        scheme = f"{a.get('scheme', '')}, dt swept"
    head = " | ".join(x for x in (f"{name} ({params})" if params else str(name), geo, scheme) if x)
    if run.status in _INCOMPLETE:  # a figure outlives the warning on stderr: it says so itself
        total = a.get("steps")
        head += f" | INCOMPLETE ({run.status}): ends at step {run.steps_done}" + (f" of {total}" if total else "")
    return f"{head}\n{what}" if what else head


#: the statuses of a run whose data end before its last step (:meth:`nnfield.io.RunData.incomplete_message`)
_INCOMPLETE = (STATUS_KILLED, STATUS_RUNNING, STATUS_INTERRUPTED, STATUS_NONFINITE, STATUS_FAILED)


#: where a title line too wide for its figure is broken: between the parts of :func:`_title`, then its parameters
_BREAKS = (" | ", ", ", " ")


def _fit(fig: Any, text: str, fontsize: float | str, room: float = 0.96) -> str:
    """``text`` with every line wider than ``room`` times the figure's width broken, at its `` | `` separators
    first, then at ``, `` and spaces (a long theory, e.g. a gauged Dirac field with its six parameters, ran off
    both edges of a 7-inch figure). Widths are measured with the figure's own renderer at ``fontsize``; an axes
    title (centred over its axes, not the figure) takes a smaller ``room``."""
    from matplotlib.font_manager import FontProperties

    renderer = fig.canvas.get_renderer()
    prop = FontProperties(size=fontsize)
    limit = room * fig.get_figwidth() * fig.dpi

    def fits(line: str) -> bool:
        return bool(renderer.get_text_width_height_descent(line, prop, ismath=False)[0] <= limit)

    def wrap(line: str, seps: tuple[str, ...]) -> list[str]:
        if fits(line) or not seps:
            return [line]
        sep, finer = seps[0], seps[1:]
        parts = line.split(sep)
        if len(parts) == 1:
            return wrap(line, finer)
        lines, current = [], parts[0]
        for part in parts[1:]:
            if fits(current + sep + part):
                current += sep + part
            else:
                lines.append(current + sep.rstrip())
                current = part
        lines.append(current)
        return [piece for line_ in lines for piece in wrap(line_, finer)]

    return "\n".join(piece for line in text.split("\n") for piece in wrap(line, _BREAKS))


def _suptitle(fig: Any, text: str, fontsize: float = 9) -> None:
    """The figure's title, broken to fit its width (:func:`_fit`)."""
    fig.suptitle(_fit(fig, text, fontsize), fontsize=fontsize)


def _save(fig: Any, path: str | Path, dpi: int | None = None) -> Path:
    out = Path(path)
    with np.errstate(over="ignore", invalid="ignore"):  # log-axis ticks of a blow-up (values near 1e308)
        fig.savefig(out, dpi=dpi or DPI)
    _plt().close(fig)
    return out


# ----------------------------------------------------------------------------------------------------------
# conserved quantities and observables
# ----------------------------------------------------------------------------------------------------------
def _declared(run: RunData) -> list[tuple[str, str]]:
    """``(name, label)`` of the quantities to show as conserved: the run's verdicts (written at its end), else
    what its model declared (written at its start: an interrupted run), else the energies (older files)."""
    verdicts: Any = []
    for key in ("conservation", "conserved"):
        try:
            verdicts = json.loads(str(run.attrs.get(key, "[]")) or "[]")
        except json.JSONDecodeError:
            verdicts = []
        if verdicts:
            break
    # a sweep's verdict is named "<quantity> [worst of N members: ...]"
    base = [(str(v["name"]).split(" [", 1)[0], v) for v in verdicts if isinstance(v, dict) and "name" in v]
    out = [(name, f"{name} ({v.get('kind', '')})") for name, v in base if name in run.observables]
    if out or verdicts:
        return out
    scalar = 1 if sweep_members(run) is None else 2  # (samples,) or, in a sweep, (samples, members)
    names = [n for n in run.observables if "energy" in n and run.observables[n].ndim == scalar]
    names.sort(key=lambda n: (n not in ENERGY_NAMES, n))
    return [(n, n) for n in names]


def _energy_heading(run: RunData, names: list[tuple[str, str]]) -> str:
    """What :func:`plot_energy` shows: the declared conserved quantities (labelled with their kind by
    :func:`_declared`), or, where nothing is declared, the energy observables, which are then not called
    conserved (a model that declares nothing, e.g. an explicit-Euler network; a file older than the
    declarations)."""
    if any(label != name for name, label in names):
        return "declared conserved quantities"
    if "conserved" in run.attrs or "conservation" in run.attrs:
        return "energy observables (the model declares nothing conserved)"
    return "energy observables (the file names no conserved quantities)"


def _machine_epsilon(run: RunData, names: list[str] | None = None) -> float:
    """The relative round-off level of a run's recorded quantities: the machine epsilon of its ``precision``
    (float32: ``2^-23 = 1.19e-7``, float64: ``2^-52 = 2.22e-16``) or of the dtype its observables ``names`` are
    recorded in, whichever is coarser (float64's at least). An exact invariant is conserved to this level, so the
    drift panels of ``energy.png`` mark it (a float32 run's was drawn at float64's epsilon, nine decades below
    where its invariant's round-off lies)."""
    eps = [float(np.finfo(np.float64).eps)]
    try:
        eps.append(float(np.finfo(np.dtype(str(run.attrs.get("precision", "float64")))).eps))
    except (TypeError, ValueError):  # not a floating dtype's name (a damaged or foreign file)
        pass
    for name in names or []:
        dtype = np.asarray(run.observables[name]).dtype
        if np.issubdtype(dtype, np.floating):
            eps.append(float(np.finfo(dtype).eps))
    return max(eps)


def plot_energy(run: RunData, path: str | Path, dpi: int | None = None) -> Path | None:
    """The declared conserved quantities and their relative drift on a log axis (``None`` if there are none)."""
    names = _declared(run)
    if not names or run.obs_time.size == 0:
        return None
    members = sweep_members(run)
    if members is not None:
        return _plot_energy_members(run, names, members, path, dpi)
    plt = _plt()
    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, constrained_layout=True)
    t = run.obs_time
    values = [np.asarray(run.observables[name], dtype=float) for name, _ in names]
    _draw(ax0, _scale_for(values), t, values, [label for _, label in names])
    drifts = []
    for name, label in names:
        with np.errstate(over="ignore", invalid="ignore"):
            drift = np.maximum(np.abs(run.relative_drift(name)), DRIFT_FLOOR)
        _log_plot(ax1, t, drift, label=label)
        drifts.append(drift)
    eps = _machine_epsilon(run, [name for name, _ in names])
    _log_limits(ax1, [*drifts, np.array([1e-14, eps])], floor=DRIFT_FLOOR)
    ax0.set_ylabel("Q(t)  (code units)")
    ax0.legend(fontsize=8)
    _suptitle(fig, _title(run, _energy_heading(run, names)))
    ax1.set_ylabel("|Q(t) - Q(0)| / |Q(0)|")
    ax1.set_xlabel(T_LABEL)
    ax1.axhline(eps, color="0.6", lw=0.8, ls=":")  # the round-off level of the run's precision
    ax1.legend(fontsize=8)
    return _save(fig, path, dpi)


def sweep_members(run: RunData) -> list[str] | None:
    """The labels of a sweep's members (``"mass = 0.5, seed = 1"``, from the run's ``sweep`` attribute), or
    ``None`` for a single run."""
    raw = run.attrs.get("sweep")
    if raw is None:
        return None
    try:
        params = json.loads(str(raw))
    except json.JSONDecodeError:
        return None
    if not isinstance(params, list) or not params or not all(isinstance(p, dict) for p in params):
        return None

    def show(v: Any) -> str:
        return f"{v:g}" if isinstance(v, float) else str(v)

    return [", ".join(f"{k.split('.')[-1]} = {show(v)}" for k, v in p.items()) for p in params]


def member_ticks(run: RunData, n: int) -> list[float] | None:
    """Each member's tick (the run's ``member_ticks``: a ``time.dt`` sweep's members differ, and the file's time
    axis is the first member's), or ``None`` when the file does not say."""
    try:
        ticks = json.loads(str(run.attrs.get("member_ticks", "null")))
    except json.JSONDecodeError:
        return None
    return [float(t) for t in ticks] if isinstance(ticks, list) and len(ticks) == n else None


def member_times(run: RunData, n: int) -> list[np.ndarray]:
    """Each member's sample times, ``step x`` its own tick (:func:`member_ticks`), else the file's time axis."""
    ticks = member_ticks(run, n)
    if ticks is None:
        return [run.obs_time] * n
    return [np.asarray(run.obs_step, dtype=float) * tk for tk in ticks]


def _member_series(data: np.ndarray, n: int) -> list[np.ndarray]:
    """The columns of a sweep's ``(samples, members)`` observable."""
    data = np.asarray(data, dtype=float).reshape(data.shape[0], n)
    return [data[:, j] for j in range(n)]


def _legend(ax: Any, members: list[str]) -> None:
    if len(members) <= MAX_LEGEND:
        ax.legend(fontsize=7)


def _plot_energy_members(run: RunData, names: list[tuple[str, str]], members: list[str], path: str | Path,
                         dpi: int | None) -> Path:
    """:func:`plot_energy` of a sweep: a column per declared quantity, a curve per member."""
    plt = _plt()
    n = len(members)
    fig, axes = plt.subplots(2, len(names), figsize=(max(5.2 * len(names), 7.0), 6), sharex=True, squeeze=False,
                             constrained_layout=True)
    times = member_times(run, n)
    eps = _machine_epsilon(run, [name for name, _ in names])
    for col, (name, label) in enumerate(names):
        series = _member_series(run.observables[name], n)
        _draw(axes[0, col], _scale_for(series), times, series, members)
        drifts = []
        for t, y, member in zip(times, series, members, strict=True):
            with np.errstate(over="ignore", invalid="ignore"):
                drift = np.maximum(np.abs(relative_drift(y)), DRIFT_FLOOR)
            _log_plot(axes[1, col], t, drift, label=member)
            drifts.append(drift)
        _log_limits(axes[1, col], [*drifts, np.array([1e-14, eps])], floor=DRIFT_FLOOR)
        axes[1, col].axhline(eps, color="0.6", lw=0.8, ls=":")
        axes[0, col].set_title(label, fontsize=9)
        axes[1, col].set_xlabel(T_LABEL)
    axes[0, 0].set_ylabel("Q(t)  (code units)")
    axes[1, 0].set_ylabel("|Q(t) - Q(0)| / |Q(0)|")
    _legend(axes[0, 0], members)
    _suptitle(fig, _title(run, f"{_energy_heading(run, names)}, {n} members"))
    return _save(fig, path, dpi)


#: values drawn on a log axis are clipped to this (matplotlib places ticks decades beyond the limits; near 1e308
#: they overflow)
LOG_CAP = 1e200


def _point(x: Any) -> dict[str, Any]:
    """A marker for a series of one point (a line through one point draws nothing: the one sample of a run stopped
    on non-finite values after step 0, the field of a 1-site lattice), else nothing."""
    return {"marker": "o", "ms": 4} if np.size(x) == 1 else {}


def _log_plot(ax: Any, x: np.ndarray, y: np.ndarray, **kw: Any) -> None:
    """``y`` (positive) on a log axis, clipped to :data:`LOG_CAP`."""
    ax.semilogy(x, np.minimum(y, LOG_CAP), **_point(x), **kw)


def _log_limits(ax: Any, arrays: list[np.ndarray], floor: float = 0.0) -> None:
    """Log-axis limits a factor 3 around the finite positive values (within ``[1e-300, LOG_CAP]``): a blow-up to
    ~1e305 would make matplotlib's autoscaling overflow."""
    vals = np.concatenate([np.ravel(a) for a in arrays]) if arrays else np.zeros(0)
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if not vals.size:
        return
    lo = max(float(vals.min()) / 3, floor / 3 if floor else 1e-300, 1e-300)
    ax.set_ylim(lo, min(max(3 * float(vals.max()), 10 * lo), LOG_CAP))


def _wants_log(v: np.ndarray) -> bool:
    v = v[np.isfinite(v)]
    return bool(v.size and np.all(v > 0) and v.max() / v.min() > 1e4)


def _scale_for(values: list[np.ndarray]) -> str:
    """``"log"`` for positive series spanning more than four decades, ``"symlog"`` for series of both signs
    whose magnitude grows more than 1e4-fold past the first value (a blow-up), else ``"linear"``.

    A blow-up is a growth a linear axis cannot show: besides the first value, samples below 1e-4 of the
    largest magnitude (flat at zero on a linear axis). A series whose first value is a round-off zero
    (``field_y`` of ``examples/maxwell_dirac_field_3d.toml``: 3e-21, then a steady ramp -5e-6, -1.1e-5, ..,
    -3e-5) grows "1e16-fold" past it, and was drawn on a symlog axis with 16 decades between its first two
    samples, a ramp shown as a jump; it is linear, as the same ramp starting at an exact 0 was."""
    v = np.concatenate([np.ravel(x) for x in values]) if values else np.zeros(0)
    v = v[np.isfinite(v)]
    if not v.size:
        return "linear"
    if np.all(v > 0):
        return "log" if v.max() / v.min() > 1e4 else "linear"
    first = max((abs(float(x[np.isfinite(x)][0])) for x in values if np.isfinite(x).any()), default=0.0)
    top = float(np.abs(v).max())
    if not (first > 0 and top > 1e4 * first):
        return "linear"
    later = np.concatenate([np.abs(np.ravel(x)[np.isfinite(np.ravel(x))][1:]) for x in values])
    return "symlog" if later.size and float(later.min()) < 1e-4 * top else "linear"


def _draw(ax: Any, scale: str, x: np.ndarray | list[np.ndarray], ys: list[np.ndarray],
          labels: list[str] | None = None) -> None:
    """The series ``ys`` on ``ax`` with the axis ``scale`` (clipped to +-:data:`LOG_CAP` unless linear); ``x``
    one abscissa for all, or one per series."""
    labels = labels or [None] * len(ys)  # type: ignore[list-item]
    xs = x if isinstance(x, list) else [x] * len(ys)
    for x, y, label in zip(xs, ys, labels, strict=True):
        if scale == "linear":
            ax.plot(x, y, label=label, **_point(x))
        else:
            ax.plot(x, np.clip(y, -LOG_CAP, LOG_CAP), label=label, **_point(x))
    if scale == "linear":
        _plain_ticks(ax)
    elif scale == "log":
        ax.set_yscale("log")
        _log_limits(ax, ys)
    else:
        first = max(abs(float(y[np.isfinite(y)][0])) for y in ys if np.isfinite(y).any())
        ax.set_yscale("symlog", linthresh=first)
        top = max(float(np.nanmax(np.abs(np.clip(y, -LOG_CAP, LOG_CAP)))) for y in ys)
        negative = any(np.nanmin(y) < 0 for y in ys)
        ax.set_ylim(-10 * top if negative else -first, 10 * min(top, LOG_CAP / 10))
        _symlog_ticks(ax, first, 10 * min(top, LOG_CAP / 10), negative)


def _symlog_ticks(ax: Any, linthresh: float, top: float, negative: bool, most: int = 5) -> None:
    """Ticks of a symlog axis: 0 and ``+-10^e`` at every ``s``-th decade above ``linthresh`` (at most ``most`` per
    sign), no minor ticks. Matplotlib's own ticks include ``+-linthresh``, which over hundreds of decades (a
    blow-up) lie a pixel from 0, and the three labels were printed on top of each other."""
    from matplotlib.ticker import FixedLocator, NullLocator

    lo_e = math.floor(math.log10(linthresh))
    hi_e = math.floor(math.log10(top))
    step = max(1, math.ceil((hi_e - lo_e) / most))
    pos = [10.0**e for e in range(lo_e + step, hi_e + 1, step)]
    ax.yaxis.set_major_locator(FixedLocator(sorted([0.0, *pos, *([-p for p in pos] if negative else [])])))
    ax.yaxis.set_minor_locator(NullLocator())


def plot_observables(run: RunData, path: str | Path, dpi: int | None = None) -> Path | None:
    """One panel per scalar observable vs time (``None`` if there are none)."""
    members = sweep_members(run)
    if members is None:
        names = [n for n, v in run.observables.items() if v.ndim == 1]
    else:
        names = [n for n, v in run.observables.items() if v.ndim == 2 and v.shape[1] == len(members)]
    if not names or run.obs_time.size == 0:
        return None
    plt = _plt()
    ncol = min(3, len(names))
    nrow = -(-len(names) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3 * nrow + 0.5), squeeze=False,
                             constrained_layout=True)
    for ax, name in zip(axes.flat, names, strict=False):
        v = np.asarray(run.observables[name], dtype=float)
        series = [v] if members is None else _member_series(v, len(members))
        times = run.obs_time if members is None else member_times(run, len(members))
        _draw(ax, _scale_for(series), times, series, members)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(T_LABEL, fontsize=8)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    if members is not None:
        _legend(axes.flat[0], members)
    what = "observables" if members is None else f"observables, {len(members)} members"
    _suptitle(fig, _title(run, what))
    return _save(fig, path, dpi)


# ----------------------------------------------------------------------------------------------------------
# fields: decoded by the model of the run's config
# ----------------------------------------------------------------------------------------------------------
def _raw_fields(run: RunData, i: int, member: int | None = None) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name, snaps in run.fields.items():
        f = snaps[i] if member is None else snaps[i][member]
        for a in range(f.shape[0]):
            out[name if f.shape[0] == 1 else f"{name}[{a}]"] = f[a]
    return out


def decoder(run: RunData, member: int | None = None) -> tuple[Callable[[int], dict[str, np.ndarray]], str]:
    """``(fields(i), what)``: the physical fields of snapshot ``i`` (``AbstractModel.plot_fields`` of the model
    rebuilt from the run's config) and a word for the title; the raw network state where no model can be
    built (no config in the file, an unknown theory). With ``member``, of that member of a sweep (its own
    config's model, its slice of the snapshots)."""
    raw = (lambda i: _raw_fields(run, i, member)), "network state"
    if not run.config_text or not run.fields:
        return raw
    import jax

    from .config import parse_config
    from .errors import NNFieldError
    from .state import State, field_items

    def pick(a: np.ndarray, i: int) -> np.ndarray:
        return a[i] if member is None else a[i][member]

    try:
        cfg = parse_config(run.config_text, source=str(run.path))
        if member is not None:
            from .ensemble import member_configs

            cfg = member_configs(cfg, cfg.sweep)[0][member]
        model = cfg.build_model()
        if set(run.fields) == {"phi", "pi"}:
            def state_of(i: int) -> Any:
                return State(pick(run.fields["phi"], i), pick(run.fields["pi"], i))
        else:  # a state of several fields: the structure of the model's initial state
            from .runner import build

            template = build(cfg)[1]
            names = list(field_items(template))
            treedef = jax.tree_util.tree_structure(template)

            def state_of(i: int) -> Any:
                return jax.tree_util.tree_unflatten(treedef, [pick(run.fields[n], i) for n in names])
        draw = jax.jit(lambda s: model.plot_fields(s))  # (not the bound method: nnfield.runner._spectral_shapes)
        order = list(model.plot_fields(state_of(0)))  # the model's order (a jitted dict comes back sorted)
    except (NNFieldError, KeyError, ValueError, TypeError):
        return raw

    def fields(i: int) -> dict[str, np.ndarray]:
        out = draw(state_of(i))
        return {k: np.asarray(out[k]) for k in order}

    return fields, "physical fields"


def _slice2d(f: np.ndarray) -> np.ndarray:
    while f.ndim > 2:
        f = f[..., f.shape[-1] // 2]
    return f


def _image(fig: Any, ax: Any, img: np.ndarray, spacing: float, diverging: bool, lim: float | None = None) -> Any:
    nx, ny = img.shape
    if diverging:
        lim = lim or float(np.abs(img).max()) or 1.0
        kw = {"cmap": "RdBu_r", "vmin": -lim, "vmax": lim}
    else:
        kw = {"cmap": "magma", "vmin": 0.0, "vmax": lim or float(img.max()) or 1.0}
    # site i sits at x = i a (``Lattice.coords``): its pixel is the cell [(i - 1/2) a, (i + 1/2) a]
    im = ax.imshow(img.T, origin="lower", extent=(-spacing / 2, (nx - 0.5) * spacing, -spacing / 2,
                                                  (ny - 0.5) * spacing), **kw)
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_xlabel("x1  (code units)")
    ax.set_ylabel("x2  (code units)")
    return im


def plot_field(run: RunData, path: str | Path, index: int = -1,
               fields_of: tuple[Callable[[int], dict[str, np.ndarray]], str] | None = None, dpi: int | None = None
               ) -> Path | None:
    """Snapshot ``index`` (default: the last) of the physical fields, one panel each."""
    if not run.fields or run.snap_step.size == 0:
        return None
    members = sweep_members(run)
    if members is not None:
        return _plot_field_members(run, path, index, members, dpi)
    fields_fn, what = fields_of or decoder(run)
    n = run.snap_step.size
    i = index % n
    fields = fields_fn(i)
    if not fields:
        return None
    plt = _plt()
    t = float(run.snap_time[i])
    spacing = float(run.attrs.get("spacing", 1.0))
    ncol = 2 if len(fields) > 1 else 1
    nrow = -(-len(fields) // ncol)
    ndim = next(iter(fields.values())).ndim
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.5 * ncol, 3.6 * nrow + 0.7), squeeze=False,
                             constrained_layout=True)
    for ax, (label, f) in zip(axes.flat, fields.items(), strict=False):
        if ndim == 1:
            ax.plot(spacing * np.arange(f.shape[0]), f, **_point(f))
            ax.set_xlabel("x  (code units)")
            ax.set_ylabel(label)
            _plain_ticks(ax)
        else:
            _image(fig, ax, _slice2d(f), spacing, diverging=bool(np.min(f) < 0))
            if ndim > 2:
                label += "  (slice x3.. = N/2)"
        ax.set_title(label, fontsize=9)
    for ax in list(axes.flat)[len(fields) :]:
        ax.set_visible(False)
    _suptitle(fig, _title(run, f"{what} at t = {t:g}"))
    return _save(fig, path, dpi)


def shown_members(n: int, most: int = MAX_MEMBERS_SHOWN) -> list[int]:
    """At most ``most`` of ``n`` members, evenly spaced, the first and the last included."""
    return sorted({int(j) for j in np.linspace(0, n - 1, min(n, most)).round()})


def _plot_field_members(run: RunData, path: str | Path, index: int, members: list[str], dpi: int | None
                        ) -> Path | None:
    """:func:`plot_field` of a sweep: the members of :func:`shown_members` (each decoded by its own config's
    model), overlaid in 1D, one row each in 2D and above (at most 4 rows, 3 fields)."""
    i = index % run.snap_step.size
    ndim = next(iter(run.fields.values())).ndim - 3  # (snapshots, members, K, *shape)
    decoded = [(j, decoder(run, j)) for j in shown_members(len(members), MAX_MEMBERS_SHOWN if ndim == 1 else 4)]
    frames = [(j, fn(i), what) for j, (fn, what) in decoded]
    names = list(frames[0][1])
    if not names:
        return None
    plt = _plt()
    spacing = float(run.attrs.get("spacing", 1.0))
    what = frames[0][2]
    shown = f"{len(frames)} of {len(members)} members" if len(frames) < len(members) else f"{len(members)} members"
    step = int(run.snap_step[i])
    ticks = member_ticks(run, len(members))
    if ticks is not None and len(set(ticks)) > 1:  # a dt sweep: the same step is a different time per member
        when = f"step {step}"
        members = [f"{m}, t = {step * tk:g}" for m, tk in zip(members, ticks, strict=True)]
    else:
        when = f"t = {float(run.snap_time[i]):g}"
    if ndim == 1:
        ncol = 2 if len(names) > 1 else 1
        nrow = -(-len(names) // ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(5.5 * ncol, 3.6 * nrow + 0.7), squeeze=False,
                                 constrained_layout=True)
        for ax, name in zip(axes.flat, names, strict=False):
            for j, fields, _ in frames:
                ax.plot(spacing * np.arange(fields[name].shape[0]), fields[name], label=members[j],
                        **_point(fields[name]))
            ax.set_xlabel("x  (code units)")
            ax.set_ylabel(name)
            ax.set_title(name, fontsize=9)
            _plain_ticks(ax)
        for ax in list(axes.flat)[len(names) :]:
            ax.set_visible(False)
        _legend(axes.flat[0], [members[j] for j, _, _ in frames])
    else:
        names = names[:3]
        fig, axes = plt.subplots(len(frames), len(names), figsize=(4.6 * len(names), 3.6 * len(frames) + 0.7),
                                 squeeze=False, constrained_layout=True)
        for row, (j, fields, _) in enumerate(frames):
            for col, name in enumerate(names):
                f = fields[name]
                _image(fig, axes[row, col], _slice2d(f), spacing, diverging=bool(np.min(f) < 0))
                slice_note = "  (slice x3.. = N/2)" if ndim > 2 else ""
                axes[row, col].set_title(f"{name}{slice_note}: {members[j]}", fontsize=8)
    _suptitle(fig, _title(run, f"{what} at {when}, {shown}"))
    return _save(fig, path, dpi)


def plot_spacetime(run: RunData, path: str | Path,
                   fields_of: tuple[Callable[[int], dict[str, np.ndarray]], str] | None = None, dpi: int | None = None
                   ) -> Path | None:
    """1D runs: each plotted field over ``(x, t)`` from every snapshot (``None`` otherwise, or with < 2)."""
    n = run.snap_step.size
    if not run.fields or n < 2 or sweep_members(run) is not None:
        return None
    fields_fn, what = fields_of or decoder(run)
    frames = [fields_fn(i) for i in range(n)]
    if not frames[0] or next(iter(frames[0].values())).ndim != 1:
        return None
    plt = _plt()
    names = list(frames[0])[:4]
    spacing = float(run.attrs.get("spacing", 1.0))
    t = np.asarray(run.snap_time, dtype=float)
    fig, axes = plt.subplots(1, len(names), figsize=(4.6 * len(names), 4.6), squeeze=False, constrained_layout=True)
    for ax, name in zip(axes.flat, names, strict=True):
        data = np.stack([fr[name] for fr in frames])  # (snapshots, x)
        nx = data.shape[1]
        diverging = bool(data.min() < 0)
        lim = float(np.abs(data).max()) or 1.0
        kw = {"cmap": "RdBu_r", "vmin": -lim, "vmax": lim} if diverging else {"cmap": "magma", "vmin": 0, "vmax": lim}
        im = ax.pcolormesh(spacing * (np.arange(nx + 1) - 0.5), _edges(t), data, shading="flat", **kw)  # cells
        fig.colorbar(im, ax=ax, shrink=0.85)
        ax.set_xlabel("x  (code units)")
        ax.set_ylabel(T_LABEL)
        ax.set_title(name, fontsize=9)
    _suptitle(fig, _title(run, f"space-time diagram of the {what} ({n} snapshots)"))
    return _save(fig, path, dpi)


def _edges(t: np.ndarray) -> np.ndarray:
    if t.size == 1:
        return np.array([t[0] - 0.5, t[0] + 0.5])
    mid = 0.5 * (t[1:] + t[:-1])
    return np.concatenate([[t[0] - (mid[0] - t[0])], mid, [t[-1] + (t[-1] - mid[-1])]])


def animate_field(run: RunData, path: str | Path, fps: int = 8,
                  fields_of: tuple[Callable[[int], dict[str, np.ndarray]], str] | None = None) -> Path | None:
    """A GIF of the first plotted field through every snapshot (2D and above; ``None`` otherwise)."""
    n = run.snap_step.size
    if not run.fields or n < 2 or sweep_members(run) is not None:
        return None
    fields_fn, what = fields_of or decoder(run)
    frames = [fields_fn(i) for i in range(n)]
    if not frames[0] or next(iter(frames[0].values())).ndim < 2:
        return None
    from matplotlib.animation import PillowWriter

    plt = _plt()
    name = next(iter(frames[0]))
    imgs = [_slice2d(fr[name]) for fr in frames]
    diverging = bool(min(float(im.min()) for im in imgs) < 0)
    lim = max(float(np.abs(im).max()) for im in imgs) or 1.0
    spacing = float(run.attrs.get("spacing", 1.0))
    fig, ax = plt.subplots(figsize=(5.2, 4.4), constrained_layout=True)
    im = _image(fig, ax, imgs[0], spacing, diverging, lim)
    out = Path(path)
    writer = PillowWriter(fps=fps)
    with writer.saving(fig, str(out), dpi=80):
        for i, img in enumerate(imgs):
            im.set_data(img.T)
            ax.set_title(_fit(fig, _title(run, f"{name} ({what}) at t = {float(run.snap_time[i]):g}"), 7, room=0.8),
                         fontsize=7)
            writer.grab_frame()
    plt.close(fig)
    return out


# ----------------------------------------------------------------------------------------------------------
# spectra
# ----------------------------------------------------------------------------------------------------------
def plot_spectra(run: RunData, path: str | Path, max_curves: int = 40, dpi: int | None = None) -> Path | None:
    """The recorded spectra (``spectrum_*``, ``occupation``) against ``|k|`` on log-log axes, one curve per
    sample coloured by time (at most ``max_curves``, evenly spaced); ``None`` if the run has none."""
    from .spectra import OCCUPATION, SPECTRUM_K, SPECTRUM_MODES, SPECTRUM_PREFIX

    names = sorted((n for n in run.observables if n.startswith(SPECTRUM_PREFIX) or n == OCCUPATION),
                   key=lambda n: (n == OCCUPATION, n))
    if not names or SPECTRUM_K not in run.attrs or run.obs_time.size == 0:
        return None
    k = np.asarray(run.attrs[SPECTRUM_K], dtype=float)
    keep = k > 0
    plt = _plt()
    from matplotlib import cm, colors
    from matplotlib.ticker import NullFormatter

    t = np.asarray(run.obs_time, dtype=float)
    rows = np.unique(np.linspace(0, t.size - 1, min(max_curves, t.size)).round().astype(int))
    members = sweep_members(run)
    # a sweep: one row of panels per shown member (its samples are (samples, members, bins)), else one row
    shown: list[int | None] = [None] if members is None else list(shown_members(len(members), 4))
    times = [t] if members is None else [member_times(run, len(members))[j] for j in shown]  # type: ignore[index]
    lo = min(float(x[0]) for x in times)
    hi = max(float(x[-1]) for x in times)
    norm = colors.Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1)
    cmap = cm.viridis
    fig, axes = plt.subplots(len(shown), len(names), figsize=(4.8 * len(names), 4.2 * len(shown)), squeeze=False,
                             constrained_layout=True)
    for row, (j, tj) in enumerate(zip(shown, times, strict=True)):
        for ax, name in zip(axes[row], names, strict=True):
            data = np.asarray(run.observables[name], dtype=float)
            if j is not None:
                data = data[:, j]
            for r in rows:
                y = data[r, keep]
                ok = np.isfinite(y) & (y > 0)
                ax.loglog(k[keep][ok], np.minimum(y[ok], LOG_CAP), color=cmap(norm(tj[r])), lw=0.9,
                          **_point(k[keep][ok]))
            _log_limits(ax, [data[rows][:, keep]])
            ax.xaxis.set_minor_formatter(NullFormatter())  # crowded labels where |k| spans about a decade
            ax.set_xlabel(K_LABEL)
            field = name[len(SPECTRUM_PREFIX):]
            ax.set_ylabel("n_k (mean per mode)" if name == OCCUPATION else f"P(k) = |f_k|^2 / V  ({field})")
            ax.set_title(name if j is None or members is None else f"{name}: {members[j]}", fontsize=9)
    fig.colorbar(cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes.ravel().tolist(), label=T_LABEL, shrink=0.9)
    modes = run.attrs.get(SPECTRUM_MODES)
    extra = f", {int(np.sum(modes))} modes in {k.size} shells" if modes is not None else ""
    if members is not None:
        extra += f", {len(shown)} of {len(members)}" if len(shown) < len(members) else f", {len(members)}"
        extra += " members"
    _suptitle(fig, _title(run, f"angle-averaged spectra{extra} (k = 0 not shown)"))
    return _save(fig, path, dpi)


# ----------------------------------------------------------------------------------------------------------
# all plots of a run
# ----------------------------------------------------------------------------------------------------------
def plot_run(run_dir: str | Path, out_dir: str | Path | None = None, animate: bool = False, dpi: int | None = None,
             prefix: str = "") -> list[Path]:
    """All plots of a run directory (see the module docstring): ``energy.png``, ``observables.png``,
    ``field.png``, ``spacetime.png``, ``spectra.png`` and, with ``animate``, ``field.gif`` (those that apply;
    each name preceded by ``prefix``)."""
    run = load_run(run_dir, snapshots="none", warn=False)
    ndim = len(np.atleast_1d(run.attrs.get("shape", [])))
    sweep = sweep_members(run) is not None
    # every snapshot for a 1D space-time diagram or an animation, else only the last one (a sweep: the last)
    run = load_run(run_dir, snapshots="all" if (ndim == 1 or animate) and not sweep else "last", warn=False)
    target = Path(out_dir) if out_dir is not None else run.path.parent
    target.mkdir(parents=True, exist_ok=True)
    fields_of = None if sweep else decoder(run)
    made = [
        plot_energy(run, target / f"{prefix}energy.png", dpi),
        plot_observables(run, target / f"{prefix}observables.png", dpi),
        plot_field(run, target / f"{prefix}field.png", fields_of=fields_of, dpi=dpi),
        plot_spacetime(run, target / f"{prefix}spacetime.png", fields_of=fields_of, dpi=dpi) if ndim == 1 else None,
        plot_spectra(run, target / f"{prefix}spectra.png", dpi=dpi),
        animate_field(run, target / f"{prefix}field.gif", fields_of=fields_of) if animate else None,
    ]
    return [p for p in made if p is not None]


def plot_dispersion(
    k: np.ndarray, omega_network: np.ndarray, omega_theory: np.ndarray | None, path: str | Path, title: str = "",
    k_lattice: np.ndarray | None = None, omega_lattice: np.ndarray | None = None,
) -> Path:
    """``Omega(k)`` of the network (every distinct branch) vs the theory's ``omega(k)``; with ``k_lattice``, the
    network's ``Omega`` at the lattice's own momenta ringed (the modes a run on it has), for up to 64 of them."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.5), constrained_layout=True)
    om = np.asarray(omega_network)
    om = om.reshape(om.shape[0], -1)
    branches: list[np.ndarray] = []
    for j in range(om.shape[1]):
        if not any(np.allclose(om[:, j], b, rtol=1e-9, atol=1e-12) for b in branches):
            branches.append(om[:, j])
    for j, b in enumerate(branches):
        ax.plot(k, b, "o", ms=3, color="C0", label="network (one-step symbol)" if j == 0 else None)
    if k_lattice is not None and omega_lattice is not None and 0 < len(k_lattice) <= 64:
        ol = np.asarray(omega_lattice).reshape(len(k_lattice), -1)
        for j in range(ol.shape[1]):
            ax.plot(k_lattice, ol[:, j], "o", ms=8, mfc="none", color="C2",
                    label=f"the lattice's own k ({len(k_lattice)})" if j == 0 else None)
    if omega_theory is not None:
        ot = np.asarray(omega_theory).reshape(len(k), -1)
        for j in range(ot.shape[1]):
            ax.plot(k, ot[:, j], "-", color="C1", label="theory omega(k)" if j == 0 else None)
    ax.set_xlabel("k_x  (1 / code length; k = (k_x, 0, ..))")
    ax.set_ylabel("omega  (1 / code time)")
    _plain_ticks(ax)
    ax.set_title(_fit(fig, title, "large", room=0.86), fontsize="large")
    ax.legend()
    return _save(fig, path)


__all__ = [
    "animate_field", "decoder", "plot_dispersion", "plot_energy", "plot_field", "plot_observables", "plot_run",
    "plot_spacetime", "plot_spectra",
]
