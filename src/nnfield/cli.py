"""The ``nnfield`` command line: ``run | analyze | verify | plot | demo | dual``.

Exit codes: 0 success; 1 a run failed (non-finite values), checks failed, or an internal step failed;
2 bad input (config, paths, arguments) or a refused run (unstable network, existing output directory);
130 interrupted. Errors are one line on stderr (``nnfield: error: ...``), never a traceback.

Heavy modules (JAX, matplotlib, SymPy) are imported inside the commands, so ``nnfield --help`` is fast.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from ._cli_analyze import cmd_analyze
from ._cli_common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    _console,
    _error,
    _say,
    _setup_jax,
)
from ._cli_verify import cmd_verify
from .errors import ConfigError, NNFieldError, NonFiniteError, Terminated, UnstableError
from .signals import exit_at_once

DUAL_MODULE = "nnfield.duality.command"
DEMO_OUT = "nnfield-demo"


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
        if cfg.sweep:
            _say(con, "  a sweep: run.h5 holds observables (samples, members) and snapshots (snapshots, members, ...); "
                      "the members' values are its attribute `sweep`")
        elif not res.conservation:
            _say(con, "  conserved: nothing is declared conserved by this network")
        for v in res.conservation:
            _say(con, f"  {v.line()}")
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

    if args.coordinator is not None or args.distributed:
        from .parallel import initialize, is_writer

        if args.coordinator is not None and (args.num_processes is None or args.process_id is None):
            raise ConfigError("--coordinator: give --num-processes P and --process-id I with it")
        initialize(args.coordinator, args.num_processes, args.process_id)
        if not is_writer():
            args.quiet = True  # process 0 reports
    if args.resume is not None:
        return _resume(args)
    if args.steps is not None:
        raise ConfigError("--steps: only with --resume DIR (extends a run); for a new run set [time] steps")
    if args.config is None:
        raise ConfigError("give a config file (`nnfield run CONFIG.toml`) or --resume DIR")
    cfg = load_config(args.config)
    if args.devices is not None:
        import dataclasses

        if args.devices < 0:
            raise ConfigError(f"--devices: expected a number of devices (0: all), got {args.devices}")
        cfg = dataclasses.replace(cfg, parallel=dataclasses.replace(cfg.parallel, devices=args.devices))
    out = args.out if args.out is not None else Path("out") / Path(args.config).stem
    if args.dry_run:
        return _dry_run(cfg, out, force=args.force, allow_unstable=args.allow_unstable, quiet=args.quiet)
    return _run_config(cfg, out, force=args.force, allow_unstable=args.allow_unstable, quiet=args.quiet,
                       plot=args.plot)


def _resume(args: argparse.Namespace) -> int:
    """``run --resume DIR [--steps N]``: continue or extend a run from its newest checkpoint."""
    from .errors import NonFiniteError as _NonFinite
    from .runner import resume

    if args.config is not None:
        raise ConfigError(f"--resume {args.resume}: give no config file (the run's own {args.resume}/config.toml "
                          f"is used), got {args.config}")
    if args.dry_run or args.force or args.out is not None:
        which = "--dry-run" if args.dry_run else "--force" if args.force else "--out"
        raise ConfigError(f"{which}: not with --resume (the run continues in its own directory)")
    con = _console()
    try:
        res = resume(args.resume, args.steps, progress=not args.quiet,
                     log=None if args.quiet else (lambda m: _say(con, m)))
    except _NonFinite as exc:
        _error(str(exc))
        return EXIT_FAILED
    if not args.quiet:
        _say(con, f"done: {res.steps_done} steps to t = {res.t_final:g} in {res.wall_seconds:.2f} s")
        for v in res.conservation:
            _say(con, f"  {v.line()}")
        _say(con, f"output: {res.run_file}")
    if args.plot:
        from .plotting import plot_run

        plot_run(res.out_dir)
    return EXIT_OK


def _dry_run(cfg: Any, out: str | Path, *, force: bool, allow_unstable: bool, quiet: bool) -> int:
    """``run --dry-run``: every check of a run (config, output directory, initial data, stability), no steps,
    nothing written."""
    from .runner import prepare

    con = _console()
    log = None if quiet else (lambda m: _say(con, m))
    if not quiet:
        _say(con, f"nnfield run --dry-run: {cfg.summary()}")
    prepare(cfg, out, force=force, allow_unstable=allow_unstable, log=log)
    if not quiet:
        _say(con, f"ok: the run would write {Path(out) / 'run.h5'} (nothing written)")
    return EXIT_OK


# ----------------------------------------------------------------------------------------------------------
# plot
# ----------------------------------------------------------------------------------------------------------
def cmd_plot(args: argparse.Namespace) -> int:
    import warnings

    from .io import find_run_file, load_run
    from .plotting import plot_run

    try:
        find_run_file(args.dir)
        data = load_run(args.dir, snapshots="none", warn=False)
    except FileNotFoundError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except (OSError, KeyError, ValueError) as exc:
        _error(f"{args.dir}: not a readable nnfield run file ({str(exc).splitlines()[0] if str(exc) else exc!r})")
        return EXIT_USAGE
    if data.incomplete_message():
        print(f"nnfield: warning: {data.incomplete_message()}", file=sys.stderr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
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
        res = execute(cfg, out, force=args.force, progress=not args.quiet,
                      log=None if args.quiet else (lambda m: _say(con, "  " + m)))
    except NonFiniteError as exc:
        _error(str(exc))
        return EXIT_FAILED
    files = plot_run(out)
    run = load_run(out, snapshots="none")
    _say(con, f"ran {res.steps_done} steps (t = {res.t_final:g}) of a {'x'.join(map(str, cfg.lattice.shape))} "
              f"network in {time.perf_counter() - t0:.1f} s ({res.site_updates_per_second / 1e6:.3g} M site-updates/s)")
    for v in res.conservation:
        _say(con, f"  {v.name}(0) = {run.observables[v.name][0]:.10g}; {v.line()}")
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
    if not all(callable(vars(mod).get(name)) for name in ("add_arguments", "run")):
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
    parser.add_argument("--no-compilation-cache", action="store_true", help="do not use JAX's persistent "
                        "compilation cache (default: on, in $NNFIELD_CACHE_DIR or ~/.cache/nnfield/jax; also "
                        "NNFIELD_COMPILATION_CACHE=0)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("run", help="run a network from a TOML config", description="Run a network from a TOML "
                       "config into DIR/run.h5 (observables, snapshots, provenance) and DIR/config.toml.")
    p.add_argument("config", nargs="?", help="the TOML config (see docs/config.md and examples/)")
    p.add_argument("--out", metavar="DIR", help="output directory (default: out/<config name>)")
    p.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its newest checkpoint (an "
                   "interrupted or killed run); with --steps N extend a finished one")
    p.add_argument("--steps", type=int, metavar="N", help="with --resume: the new total number of steps")
    p.add_argument("--devices", type=int, metavar="N", help="shard the lattice over N devices (0: all; overrides "
                   "[parallel] devices; see docs/scaling.md)")
    p.add_argument("--distributed", action="store_true", help="join a multi-process run with "
                   "jax.distributed.initialize() reading the SLURM / Open MPI environment")
    p.add_argument("--coordinator", metavar="HOST:PORT", help="join a multi-process run coordinated by process 0 "
                   "at HOST:PORT (with --num-processes and --process-id)")
    p.add_argument("--num-processes", type=int, metavar="P", help="with --coordinator: the number of processes")
    p.add_argument("--process-id", type=int, metavar="I", help="with --coordinator: this process's index, 0..P-1")
    p.add_argument("--force", action="store_true", help="overwrite the run files in an existing output directory")
    p.add_argument("--allow-unstable", action="store_true", help="run even if the stability analysis says the "
                   "network grows without bound")
    p.add_argument("--plot", action="store_true", help="write the PNG plots after the run")
    p.add_argument("--dry-run", action="store_true", help="make every check of a run (config, output directory, "
                   "initial data, stability) and stop before the first step; nothing is written")
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
                       "and plot it.")
    p.add_argument("--out", metavar="DIR", default=DEMO_OUT, help=f"output directory (default: {DEMO_OUT})")
    p.add_argument("--force", action="store_true", help="overwrite the run files of an existing output directory")
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
    commands = ("run", "analyze", "verify", "plot", "demo", "dual")
    if argv and not argv[0].startswith("-") and argv[0] not in commands:
        close = difflib.get_close_matches(argv[0], commands, n=1, cutoff=0.5)
        hint = f"; did you mean `nnfield {close[0]}`?" if close else ""
        _error(f"unknown command {argv[0]!r}{hint} (commands: {', '.join(commands)}; `nnfield --help` explains each)")
        return EXIT_USAGE
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return int(exc.code) if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    if getattr(args, "no_compilation_cache", False):
        os.environ["NNFIELD_COMPILATION_CACHE"] = "0"
    previous = {}
    if _main_thread():  # outside a run (which records signals: nnfield.signals.StopRequests), exit at once
        previous = {sig: signal.signal(sig, exit_at_once) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return int(args.func(args) or EXIT_OK)
    except Terminated:
        _error("terminated (SIGTERM); everything written so far is kept (status \"interrupted\")")
        return EXIT_TERMINATED
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
    except MemoryError:
        _error("out of memory: the run does not fit in this machine's memory; use a smaller lattice or float32")
        return EXIT_USAGE
    except OSError as exc:
        _error(f"{exc}")
        return EXIT_FAILED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def entry() -> None:
    """The ``nnfield`` program: :func:`main`, then exit at once (``os._exit``, output flushed).

    Everything is written and closed by then. A normal interpreter teardown takes time with JAX loaded, resets
    the signal handlers to the operating system's defaults (a SIGTERM then would end a finished run with -15),
    and can crash with XLA computations still in flight (after an interrupt). Once :func:`main` has returned,
    SIGINT and SIGTERM are ignored: the exit code is decided."""
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):  # from the start: one line, exit 130 / 143, no traceback
            signal.signal(sig, exit_at_once)
        code = main()
    except Terminated:  # between commands' own handling (start-up, argument parsing)
        _error("terminated (SIGTERM)")
        code = EXIT_TERMINATED
    except KeyboardInterrupt:
        _error("interrupted")
        code = EXIT_INTERRUPTED
    if _main_thread():
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
