"""The ``nnfield`` command line: ``run | analyze | verify | plot | demo | dual``.

Exit codes: 0 success; 1 a run failed (non-finite values), checks failed, or an internal step failed;
2 bad input (config, paths, arguments) or a refused run (unstable network, existing output directory);
130 interrupted. Errors are one line on stderr (``nnfield: error: ...``), never a traceback.

Heavy modules (JAX, matplotlib, SymPy) are imported inside the commands, so ``nnfield --help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .errors import ConfigError, NNFieldError, NonFiniteError, UnstableError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

DUAL_MODULE = "nnfield.duality.command"
DEMO_OUT = "nnfield-demo"


# ----------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------
def _console(stderr: bool = False) -> Any:
    """A rich console; 120 columns when writing to a file or pipe (rich would assume 80)."""
    import os

    from rich.console import Console

    con = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not con.is_terminal and "COLUMNS" not in os.environ:
        con = Console(stderr=stderr, highlight=False, soft_wrap=True, width=120)
    return con


def _say(console: Any, msg: str, style: str | None = None) -> None:
    console.print(msg, markup=False, style=style)


def _error(msg: str) -> None:
    print(f"nnfield: error: {msg}", file=sys.stderr)


def _setup_jax() -> None:
    """float64 available everywhere (``precision = "float32"`` runs cast their arrays); before any array."""
    import jax

    jax.config.update("jax_enable_x64", True)


def _jsonable(x: Any) -> Any:
    import numpy as np

    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else None
    if isinstance(x, complex):
        return [_jsonable(x.real), _jsonable(x.imag)]
    if hasattr(x, "shape") and hasattr(x, "dtype"):  # a JAX array
        return _jsonable(np.asarray(x))
    return x


def _fmt(x: Any) -> str:
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf"
        return f"{x:.10g}"
    return str(x)


# ----------------------------------------------------------------------------------------------------------
# run
# ----------------------------------------------------------------------------------------------------------
def _run_config(cfg: Any, out: str | Path, *, force: bool, allow_unstable: bool, quiet: bool, plot: bool) -> int:
    from .runner import execute

    con = _console()
    if not quiet:
        title = f" ({cfg.title})" if cfg.title else ""
        _say(con, f"nnfield run: {cfg.summary()}{title}")
    try:
        res = execute(
            cfg, out, force=force, allow_unstable=allow_unstable, progress=not quiet,
            log=None if quiet else (lambda m: _say(con, m)),
        )
    except NonFiniteError as exc:
        _error(str(exc))
        return EXIT_FAILED
    if not quiet:
        _say(con, f"done: {res.steps_done} steps to t = {res.t_final:g} in {res.wall_seconds:.2f} s "
                  f"(first chunk incl. compilation {res.first_chunk_seconds:.2f} s; "
                  f"{res.site_updates_per_second / 1e6:.3g} M site-updates/s; chunks of {res.chunk} steps)")
        for name, d in res.drift.items():
            _say(con, f"  max relative drift of {name}: {d:.3e}")
        _say(con, f"output: {res.run_file}  (config copy: {res.config_file})")
    if plot:
        from .plotting import plot_run

        files = plot_run(res.out_dir)
        if not quiet:
            _say(con, "plots: " + ", ".join(str(f) for f in files))
    elif not quiet:
        _say(con, f"next: nnfield plot {res.out_dir}")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    _setup_jax()
    from .config import load_config

    cfg = load_config(args.config)
    out = args.out if args.out is not None else Path("out") / Path(args.config).stem
    return _run_config(cfg, out, force=args.force, allow_unstable=args.allow_unstable, quiet=args.quiet,
                       plot=args.plot)


# ----------------------------------------------------------------------------------------------------------
# analyze
# ----------------------------------------------------------------------------------------------------------
def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def analyze_config(cfg: Any) -> tuple[dict[str, Any], Any]:
    """The stability/dispersion report of a config as a dict (and the AnalysisReport behind it).

    When the linear analysis cannot be applied (e.g. a network that is not translation invariant) the dict
    has ``stable = None`` and an ``error``, and the report is ``None``.
    """
    import numpy as np

    from . import analysis

    model = cfg.build_model()
    extra = dict(model.analysis_extra()) if hasattr(model, "analysis_extra") else {}
    common = dict(
        theory=cfg.theory.name, scheme=cfg.time.scheme, steps=cfg.time.steps, shape=list(cfg.lattice.shape),
        spacing=cfg.lattice.spacing, source=cfg.source,
    )
    theory = getattr(model, "theory", None)
    omega_theory = getattr(theory, "dispersion", None)
    try:
        report = analysis.analyze(model.network, None, omega_theory)
        report.dt_max = float(analysis.largest_stable_dt(lambda dt: cfg.build_model(dt).network, cfg.time.dt))
    except (ConfigError, KeyboardInterrupt):
        raise
    except Exception as exc:  # the linear analysis needs a translation-invariant network
        name = str(getattr(model.network, "name", type(model.network).__name__))
        d = {"name": name, "dt": cfg.time.dt, "stable": None, "max_amplification": None, "dt_max": None,
             "fraction_unstable": None, "error": _first_line(exc), **extra, **common}
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


def cmd_analyze(args: argparse.Namespace) -> int:
    _setup_jax()
    from .config import load_config

    cfg = load_config(args.config)
    d, report = analyze_config(cfg)
    if report is None:
        _error(f"the linear stability analysis is not available for {d['name']} (it needs a translation-invariant "
               f"network): {d['error']}")
    if args.plot and report is not None:
        from .plotting import plot_dispersion

        verdict = "stable" if report.stable else f"unstable, max growth {report.max_amplification:.4g}/step"
        plot_dispersion(report.k_path, report.omega_network, report.omega_theory, args.plot,
                        title=f"{report.name}, tick = {report.tick:g} ({verdict})")
    if args.json:
        print(json.dumps(d, indent=2))
        return EXIT_OK if report is not None else EXIT_FAILED
    from rich.table import Table
    from rich.text import Text

    con = _console()
    table = Table(title=Text(f"nnfield analyze: {cfg.source}"), show_header=True)
    table.add_column("quantity")
    table.add_column("value", overflow="fold")
    rows: list[tuple[str, Any]] = [
        ("network", d["name"]),
        ("theory", d["theory"]),
        ("scheme", d["scheme"]),
        ("lattice", f"{'x'.join(map(str, d['shape']))}, a = {d['spacing']:g}"),
    ]
    if report is not None:
        rows += [
            ("stable", bool(d["stable"])),
            ("max amplification per step", report.max_amplification),
            (f"growth over {d['steps']} steps", d["growth_over_run"] if d["growth_over_run"] is not None else math.inf),
            ("dt", report.dt),
            ("tick (time per step)", report.tick),
            ("dt_max (largest stable dt)", report.dt_max),
            ("fraction of unstable modes", report.fraction_unstable),
        ]
        extra = report.extra
    else:
        rows += [("stable", "not analysed"), ("dt", cfg.time.dt)]
        extra = {k: v for k, v in d.items() if k not in ("name", "dt", "stable", "max_amplification", "dt_max",
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
        _say(con, f"dispersion plot: {args.plot}")
    return EXIT_OK if report is not None else EXIT_FAILED


# ----------------------------------------------------------------------------------------------------------
# verify
# ----------------------------------------------------------------------------------------------------------
def cmd_verify(args: argparse.Namespace) -> int:
    _setup_jax()
    from rich.table import Table
    from rich.text import Text

    from .paper import run_checks

    con = _console()
    t0 = time.perf_counter()
    with con.status("running the paper's checks") as status:
        results = run_checks(args.section, progress=lambda c: status.update(f"checking {c.equation} {c.title}"))
    wall = time.perf_counter() - t0
    if not results:
        where = f" for section {args.section}" if args.section is not None else ""
        _error(f"no checks are registered{where}; nothing was verified")
        return EXIT_FAILED
    from rich import box

    table = Table(title="nnfield verify: Vanchurin, arXiv:2411.08138", box=box.SIMPLE_HEAD)
    table.add_column("equation", no_wrap=True)
    table.add_column("title", ratio=1)
    table.add_column("expected", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("measured", no_wrap=True, justify="right")
    table.add_column("s", no_wrap=True, justify="right")
    table.add_column("result", no_wrap=True)
    for r in results:
        m = r.outcome.measured
        cells = (r.check.equation, r.check.title, r.check.expected, r.outcome.verdict,
                 f"{m:.3e}" if math.isfinite(m) else str(m), f"{r.seconds:.2f}", "PASS" if r.passed else "FAIL")
        table.add_row(*(Text(c) for c in cells), style=None if r.passed else "red")
    con.print(table)
    for r in results:
        if (args.details or not r.passed) and r.outcome.detail:
            _say(con, f"{r.check.equation} [{'PASS' if r.passed else 'FAIL'}]: {r.outcome.detail}",
                 style=None if r.passed else "red")
    n_pass = sum(r.passed for r in results)
    ok = n_pass == len(results)
    _say(con, f"{n_pass}/{len(results)} checks pass in {wall:.1f} s", style="green" if ok else "bold red")
    if args.json:
        payload = {"passed": ok, "n_checks": len(results), "n_passed": n_pass,
                   "results": [_jsonable(r.as_dict()) for r in results]}
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        _say(con, f"results: {args.json}")
    if args.markdown:
        Path(args.markdown).write_text(_verify_markdown(results, n_pass, wall), encoding="utf-8")
        _say(con, f"report: {args.markdown}")
    return EXIT_OK if ok else EXIT_FAILED


def _verify_markdown(results: list[Any], n_pass: int, wall: float) -> str:
    """The verify table as Markdown (for docs/verify.md), with every check's detail line."""
    from . import __version__

    lines = [
        "# nnfield verify",
        "",
        f"Generated by `nnfield verify --markdown docs/verify.md` (nnfield {__version__}): "
        f"{n_pass}/{len(results)} checks pass in {wall:.1f} s.",
        "Verdicts: exact (holds to round-off), continuum (holds as dt, a -> 0; measured: the order),",
        "erratum (printed form fails, corrected form verified), unstable (printed unit-step scheme grows;",
        "measured: growth per step), condition (a condition the paper omits or needs; measured: violation).",
        "",
        "| equation | check | expected | verdict | measured | result | detail |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        m = r.outcome.measured
        cells = [r.check.equation, r.check.title, r.check.expected, r.outcome.verdict,
                 f"{m:.3e}" if math.isfinite(m) else str(m), "PASS" if r.passed else "FAIL", r.outcome.detail]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------------------
# plot
# ----------------------------------------------------------------------------------------------------------
def cmd_plot(args: argparse.Namespace) -> int:
    from .io import find_run_file
    from .plotting import plot_run

    try:
        find_run_file(args.dir)
    except FileNotFoundError as exc:
        _error(str(exc))
        return EXIT_USAGE
    files = plot_run(args.dir, args.out)
    con = _console()
    for f in files:
        _say(con, str(f))
    return EXIT_OK


# ----------------------------------------------------------------------------------------------------------
# demo
# ----------------------------------------------------------------------------------------------------------
def demo_config_text() -> str:
    """The built-in demo config (package data ``nnfield/data/demo.toml``)."""
    from importlib import resources

    return resources.files("nnfield").joinpath("data", "demo.toml").read_text(encoding="utf-8")


def cmd_demo(args: argparse.Namespace) -> int:
    _setup_jax()
    from .config import parse_config
    from .io import load_run
    from .plotting import plot_run
    from .runner import execute

    con = _console()
    cfg = parse_config(demo_config_text(), source="<nnfield demo>")
    out = Path(args.out)
    t0 = time.perf_counter()
    if not args.quiet:
        _say(con, f"nnfield demo: {cfg.title}")
        _say(con, f"  {cfg.summary()}")
    try:
        res = execute(cfg, out, force=True, progress=not args.quiet,
                      log=None if args.quiet else (lambda m: _say(con, "  " + m)))
    except NonFiniteError as exc:
        _error(str(exc))
        return EXIT_FAILED
    files = plot_run(out)
    run = load_run(out, snapshots="none")
    _say(con, f"ran {res.steps_done} steps (t = {res.t_final:g}) of a {'x'.join(map(str, cfg.lattice.shape))} "
              f"network in {time.perf_counter() - t0:.1f} s ({res.site_updates_per_second / 1e6:.3g} M site-updates/s)")
    for name in ("energy", "discrete_energy"):
        if name in run.observables:
            _say(con, f"  {name}: E(0) = {run.observables[name][0]:.10g}, max relative drift "
                      f"{run.max_relative_drift(name):.2e}")
    _say(con, f"  data:  {res.run_file}  (config: {res.config_file})")
    _say(con, "  plots: " + ", ".join(str(f) for f in files))
    _say(con, "  next:  nnfield run examples/kg_1d_packet.toml --out out/kg1d  |  nnfield verify")
    return EXIT_OK


# ----------------------------------------------------------------------------------------------------------
# dual (lazily imported from nnfield.duality.command)
# ----------------------------------------------------------------------------------------------------------
def _load_dual() -> tuple[Any, str]:
    try:
        mod = importlib.import_module(DUAL_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name in ("nnfield.duality", DUAL_MODULE):
            return None, f"{DUAL_MODULE} is not part of this installation"
        return None, f"a dependency is missing ({exc})"
    except ImportError as exc:
        return None, f"cannot import {DUAL_MODULE} ({exc})"
    if not (hasattr(mod, "add_arguments") and hasattr(mod, "run")):
        return None, f"{DUAL_MODULE} lacks add_arguments/run"
    return mod, ""


def _dual_unavailable(reason: str) -> Any:
    def handler(args: argparse.Namespace) -> int:
        del args
        _error(f"`nnfield dual` is not available: {reason}")
        return EXIT_USAGE

    return handler


# ----------------------------------------------------------------------------------------------------------
# parser and entry point
# ----------------------------------------------------------------------------------------------------------
def build_parser(dual: tuple[Any, str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; ``dual`` is the loaded ``(module, reason)`` when ``nnfield dual`` is invoked."""
    parser = argparse.ArgumentParser(
        prog="nnfield",
        description="Emergent field theories from neural networks (Vanchurin, arXiv:2411.08138): run, analyse "
        "and verify networks whose activation and learning dynamics are classical fields.",
        epilog="Exit codes: 0 ok; 1 run failed, non-finite values or checks failed; 2 bad input or refused. "
        "Docs: docs/cli.md, docs/config.md.",
    )
    parser.add_argument("--version", action="version", version=f"nnfield {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("run", help="run a network from a TOML config", description="Run a network from a TOML "
                       "config into DIR/run.h5 (observables, snapshots, provenance) and DIR/config.toml.")
    p.add_argument("config", help="the TOML config (see docs/config.md and examples/)")
    p.add_argument("--out", metavar="DIR", help="output directory (default: out/<config name>)")
    p.add_argument("--force", action="store_true", help="overwrite the run files in an existing output directory")
    p.add_argument("--allow-unstable", action="store_true", help="run even if the stability analysis says the "
                   "network grows without bound")
    p.add_argument("--plot", action="store_true", help="write the PNG plots after the run")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("analyze", help="stability, largest stable dt and dispersion of a configured network",
                       description="Linear stability and dispersion of the configured network from its own "
                       "one-step Fourier symbol (impulse responses of its step).")
    p.add_argument("config", help="the TOML config")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    p.add_argument("--plot", metavar="FILE", help="write omega(k) of the network vs the theory to this PNG")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("verify", help="check the paper's equations one by one",
                       description="Run the registered checks of the paper's equations (exact / continuum / "
                       "erratum / unstable / condition); exit 0 only if every verdict is the expected one.")
    p.add_argument("--section", type=int, choices=(2, 3, 4, 5), help="only this section of the paper")
    p.add_argument("--json", metavar="FILE", help="also write the results to this JSON file")
    p.add_argument("--markdown", metavar="FILE", help="also write a Markdown report (e.g. docs/verify.md)")
    p.add_argument("-v", "--details", action="store_true", help="print every check's detail line (failures "
                   "always are)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("plot", help="PNG plots of a run directory",
                       description="energy.png (energy and relative drift), observables.png, field.png (last "
                       "snapshot of the network state).")
    p.add_argument("dir", help="a run directory (or its run.h5)")
    p.add_argument("--out", metavar="DIR", help="where to write the PNGs (default: the run directory)")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("demo", help="a small built-in run end to end, with plots",
                       description="Run the built-in demo (2D Klein-Gordon Gaussian packet, leapfrog network) "
                       "and plot it. The output directory is overwritten.")
    p.add_argument("--out", metavar="DIR", default=DEMO_OUT, help=f"output directory (default: {DEMO_OUT})")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_demo)

    help_dual = "Hamiltonian <-> loss duality of Sec. 2 (symbolic)"
    if dual is not None and dual[0] is not None:
        p = sub.add_parser("dual", help=help_dual, description=(dual[0].__doc__ or help_dual).strip().split("\n")[0])
        dual[0].add_arguments(p)
        p.set_defaults(func=dual[0].run)
    else:  # listed for --help; `nnfield dual ...` itself is dispatched in main()
        p = sub.add_parser("dual", help=help_dual, add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=_dual_unavailable(dual[1] if dual is not None else "not loaded"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nnfield`` script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    dual = _load_dual() if argv[:1] == ["dual"] else None
    if dual is not None and dual[0] is None:  # before argparse, which would reject the module's options
        return _dual_unavailable(dual[1])(argparse.Namespace())
    parser = build_parser(dual)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return int(exc.code) if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    try:
        return int(args.func(args) or EXIT_OK)
    except (ConfigError, UnstableError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    except NonFiniteError as exc:
        _error(str(exc))
        return EXIT_FAILED
    except NNFieldError as exc:
        _error(str(exc))
        return EXIT_USAGE if isinstance(exc, ValueError) else EXIT_FAILED
    except KeyboardInterrupt:
        _error("interrupted; everything written so far is kept")
        return EXIT_INTERRUPTED
    except OSError as exc:
        _error(f"{exc}")
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
