"""``nnfield analyze``: the stability and dispersion report of a configured network."""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

from ._cli_common import (
    EXIT_FAILED,
    EXIT_OK,
    _console,
    _environment_line,
    _error,
    _fmt,
    _jsonable,
    _output_file,
    _say,
    _setup_jax,
    _verdict,
)
from .errors import ConfigError, NotAnalysableError


# ----------------------------------------------------------------------------------------------------------
# analyze
# ----------------------------------------------------------------------------------------------------------
def analyze_config(cfg: Any) -> tuple[dict[str, Any], Any]:
    """The stability/dispersion report of a config as a dict (and the AnalysisReport behind it).

    When the linear analysis cannot be applied (e.g. a network that is not translation invariant) the dict
    has ``stable = None`` and an ``error``, and the report is ``None``.
    """
    import numpy as np

    from . import analysis

    model = cfg.build_model()
    extra = dict(model.analysis_extra())
    common = dict(
        theory=cfg.theory.name, scheme=cfg.time.scheme, steps=cfg.time.steps, shape=list(cfg.lattice.shape),
        spacing=cfg.lattice.spacing, source=cfg.source,
    )
    from .stability import judged_momenta

    # the momenta of the run's stability gate; dt_max on the full Brillouin grid for a large lattice
    m = judged_momenta(cfg.make_lattice(), coarse_grid=False)
    common["modes"] = m.label
    try:
        report = analysis.analyze(model.network, None, model.dispersion, k=m.verdict)
        # dt and dt_max in the config's time.dt (a network's own dt may be a learning rate: network (3.14) learns
        # at rate 1 and advances time.dt per tick), as the stability gate of `nnfield run` reports them
        report.dt = float(cfg.time.dt)
        report.dt_max = float(analysis.largest_stable_dt(lambda dt: cfg.build_model(dt).network, cfg.time.dt,
                                                         k=m.search, coarse_k=m.subset))
    except NotAnalysableError as exc:  # e.g. per-site coefficients; any other exception is a bug and surfaces
        text = str(exc).strip().splitlines()
        d = {"name": model.network.name, "dt": cfg.time.dt, "stable": None, "max_amplification": None,
             "dt_max": None, "fraction_unstable": None, "error": text[0] if text else "", **extra, **common}
        return _jsonable(d), None
    report.extra = extra
    d = report.to_dict()
    with np.errstate(over="ignore"):
        growth = float(np.float64(report.max_amplification) ** cfg.time.steps)
    d.update(growth_over_run=growth, **common)
    return _jsonable(d), report


def _fmt_extra(value: Any, depth: int = 0) -> str:
    """Readable form of an ``analysis_extra`` entry: nested dicts as lines, long lists shortened."""
    import numpy as np

    if isinstance(value, dict):
        pad = "  " * depth
        return "\n".join(f"{pad}{k}: {_fmt_extra(v, depth + 1).lstrip()}" if not isinstance(v, dict)
                         else f"{pad}{k}:\n{_fmt_extra(v, depth + 1)}" for k, v in value.items())
    if isinstance(value, (list, tuple, np.ndarray)):
        flat = np.asarray(value, dtype=object).ravel().tolist() if not isinstance(value, np.ndarray) else \
            value.ravel().tolist()
        items = [_fmt_extra(v) for v in flat]
        shape = np.shape(value) if not any(isinstance(v, (dict, str)) for v in flat) else (len(flat),)
        if len(items) > 8:
            return f"[{', '.join(items[:3])}, ..., {', '.join(items[-2:])}] (shape {tuple(shape)})"
        return "[" + ", ".join(items) + "]"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return _fmt(value)


def _sweep_member(cfg: Any, member: int | None) -> tuple[Any, str]:
    """The member of a ``[sweep]`` config to analyse (``member``, else the first whose network is unstable, else
    the first) and a line saying which."""
    from .ensemble import distinct_networks, member_configs
    from .runner import _stability

    configs, params = member_configs(cfg, cfg.sweep)
    if member is not None:
        if not 0 <= member < len(configs):
            raise ConfigError(f"--member: expected 0 .. {len(configs) - 1} ({len(configs)} members), got {member}")
        why = "as asked"
    else:
        member, why = 0, "every member's network is stable; the first"
        for i in distinct_networks(configs):
            if not _stability(configs[i]).stable:
                member, why = i, "the first unstable member"
                break
    label = ", ".join(f"{k} = {v}" for k, v in params[member].items())
    return configs[member], (f"sweep: {len(configs)} members; analysing member {member} ({label}): {why} "
                             f"(--member I picks another)")


def cmd_analyze(args: argparse.Namespace) -> int:
    _setup_jax()
    from .config import load_config

    quiet, verbose = getattr(args, "quiet", False), getattr(args, "verbose", False)
    cfg = load_config(args.config)
    plot_path = _output_file("--plot", args.plot, image=True) if args.plot else None
    member = getattr(args, "member", None)
    if cfg.sweep:
        cfg, note = _sweep_member(cfg, member)
        if not quiet and not args.json:
            _say(_console(), note)
    elif member is not None:
        raise ConfigError(f"--member: {cfg.source} has no [sweep] table; delete --member")
    t0 = time.perf_counter()
    d, report = analyze_config(cfg)
    seconds = time.perf_counter() - t0
    if report is None:
        no_plot = f"; no dispersion plot written ({args.plot})" if args.plot else ""
        _error(f"the linear stability analysis is not available for {d['name']} (it needs a translation-invariant "
               f"network): {d['error']}{no_plot}")
    if args.plot and report is not None:
        from .plotting import plot_dispersion

        verdict = "stable" if report.stable else f"unstable, max growth {report.max_amplification:.4g}/step"
        plot_dispersion(report.k_path, report.omega_network, report.omega_theory, plot_path,
                        title=f"{report.name}, tick = {report.tick:g} ({verdict})", k_lattice=report.k_lattice,
                        omega_lattice=report.omega_lattice)
    if args.json:
        print(json.dumps(d, indent=2))
        return EXIT_OK if report is not None else EXIT_FAILED
    from rich.table import Table
    from rich.text import Text

    con = _console()
    if verbose:
        _say(con, _environment_line())
        _say(con, f"timings: analysis (impulse responses, symbol, dt_max bisection, extras) {seconds:.2f} s")
    if quiet:
        _analyze_verdict(con, d, report)
        return EXIT_OK if report is not None else EXIT_FAILED
    table = Table(title=Text(f"nnfield analyze: {cfg.source}"), show_header=True)
    table.add_column("quantity")
    table.add_column("value", overflow="fold")
    rows: list[tuple[str, Any]] = [
        ("network", d["name"]),
        ("theory", d["theory"]),
        ("scheme", d["scheme"]),
        ("lattice", f"{'x'.join(map(str, d['shape']))}, a = {d['spacing']:g}"),
        ("momenta judged", d["modes"]),
    ]
    if report is not None:
        rows += [
            ("stable", bool(d["stable"])),
            ("max amplification per step", report.max_amplification),
            (f"growth over {d['steps']} steps", d["growth_over_run"] if d["growth_over_run"] is not None else math.inf),
            ("dt", report.dt),
            ("tick (time per step)", report.tick),
            ("dt_max (largest stable dt)", report.dt_max if 0.0 < report.dt_max < math.inf
             else _fmt_dt_max(report.dt_max)),
            ("fraction of unstable modes", report.fraction_unstable),
        ]
        extra = report.extra
    else:
        rows += [("stable", "not analysed"), ("dt", cfg.time.dt)]
        extra = {k: v for k, v in d.items() if k not in ("name", "dt", "stable", "max_amplification", "dt_max", "modes",
                                                       "fraction_unstable", "error", "theory", "scheme", "steps",
                                                       "shape", "spacing", "source")}
    for name, value in rows:
        style = None
        if name == "stable":
            style = "green" if value is True else "bold red"
        table.add_row(Text(name), Text(_fmt(value)), style=style)
    for name, value in extra.items():
        table.add_row(Text(str(name)), Text(_fmt_extra(value)))
    con.print(table)
    if args.plot and report is not None:
        _say(con, f"dispersion plot: {plot_path}")
    _analyze_verdict(con, d, report)
    return EXIT_OK if report is not None else EXIT_FAILED


def _fmt_dt_max(dt_max: float | None) -> str:
    """``dt_max`` for the verdict; the ends of the search (:func:`nnfield.analysis.largest_stable_dt` probes
    ``dt / 100 .. 100 dt``) said as such: 0 means no probed dt was stable, not that none is."""
    if dt_max is None or math.isnan(dt_max):
        return "unknown"
    if math.isinf(dt_max):
        return "inf (stable at every dt tried: dt / 100 to 100 dt)"
    if dt_max == 0.0:
        return "0 (unstable at every dt tried: dt / 100 to 100 dt)"
    return f"{dt_max:.6g}"


def _analyze_verdict(con: Any, d: dict[str, Any], report: Any) -> None:
    """``verdict: stable: ...``, ``verdict: unstable: ...`` or ``verdict: not analysed: ...``."""
    if report is None:
        _verdict(con, False, "no Fourier symbol (not translation invariant); see the line above", "not analysed")
        return
    dt_max = _fmt_dt_max(report.dt_max)
    text = (f"max amplification {report.max_amplification:.6g} per step at dt = {report.dt:g} "
            f"({100 * report.fraction_unstable:.3g}% of modes grow, on {d['modes']}); largest stable dt {dt_max}")
    _verdict(con, bool(report.stable), text, "stable" if report.stable else "unstable")
