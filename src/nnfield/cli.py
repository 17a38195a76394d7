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
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from ._cli_analyze import cmd_analyze
from ._cli_common import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    _console,
    _environment_line,
    _error,
    _say,
    _setup_jax,
    _verdict,
)
from ._cli_verify import cmd_verify
from .errors import ConfigError, NNFieldError, NonFiniteError, Terminated, UnstableError
from .signals import exit_at_once

DUAL_MODULE = "nnfield.duality.command"
DEMO_OUT = "nnfield-demo"


# ----------------------------------------------------------------------------------------------------------
# run
# ----------------------------------------------------------------------------------------------------------
def _run_config(cfg: Any, out: str | Path, *, force: bool, allow_unstable: bool, quiet: bool, plot: bool,
                verbose: bool = False, verdict: bool = True) -> int:
    from .runner import execute

    con = _console()
    if not quiet:
        title = f" ({cfg.title})" if cfg.title else ""
        _say(con, f"nnfield run: {cfg.summary()}{title}")
    if verbose:
        _say(con, _environment_line())
    clock0 = _compile_clock() if verbose else None
    t0 = time.perf_counter()
    try:
        res = execute(
            cfg, out, force=force, allow_unstable=allow_unstable, progress=not quiet,
            log=None if quiet else (lambda m: _say(con, m)),
        )
    except NonFiniteError as exc:
        _error(str(exc))
        if verbose:
            _say(con, _stopped_timing_line(time.perf_counter() - t0, clock0))
        if plot and _is_writer():  # the plots of a blow-up are what one looks at first
            _plot_stopped_run(con, Path(out), quiet)
        if verdict:
            _verdict(con, False, f"non-finite values; {exc.kept}")
        return EXIT_FAILED
    try:
        return _after_run(con, cfg, res, time.perf_counter() - t0, clock0, quiet=quiet, plot=plot, verbose=verbose,
                          verdict=verdict)
    except (KeyboardInterrupt, Terminated) as exc:  # the run is complete: say so, not "everything written so far"
        terminated = isinstance(exc, Terminated)
        _error(f"{'terminated (SIGTERM)' if terminated else 'interrupted'} after the run had completed: "
               f"{res.run_file} is complete (status \"completed\"; `nnfield plot` draws it)")
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


def _after_run(con: Any, cfg: Any, res: Any, total: float, clock0: Any, *, quiet: bool, plot: bool, verbose: bool,
               verdict: bool) -> int:
    """The summary, plots and verdict of a completed run (:func:`_run_config`)."""
    if not quiet:
        _say(con, f"done: {res.steps_done} steps to t = {_final_times(res)} in {res.wall_seconds:.2f} s "
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
    if verbose:
        _say(con, _timing_line(res, total, clock0))
    if plot and _is_writer():  # (several processes: process 0 plots)
        from .plotting import plot_run

        files = plot_run(res.out_dir)
        if not quiet:
            _say(con, "plots: " + ", ".join(str(f) for f in files))
    elif not quiet:
        _say(con, f"next: nnfield plot {_shell_word(res.out_dir)}")
    if verdict:
        _run_verdict(con, res)
    return EXIT_OK


def _shell_word(path: str | Path) -> str:
    """``path`` as one word of a shell command line (quoted when it holds spaces or other special characters), for
    the commands a summary suggests: ``next: nnfield plot 'out/my run'`` (it printed ``nnfield plot out/my run``,
    two arguments when pasted)."""
    import shlex

    return shlex.quote(str(path))


def _plot_stopped_run(con: Any, out: Path, quiet: bool) -> None:
    """``--plot`` of a run that stopped on non-finite values: its data up to the last finite sample."""
    import warnings

    from .plotting import plot_run

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the incomplete-run warning: the error line above says it)
        files = plot_run(out)
    if not quiet:
        _say(con, "plots (up to the last finite sample): " + ", ".join(str(f) for f in files))


def _is_writer() -> bool:
    from .parallel import is_writer

    return is_writer()


def _compile_clock() -> dict[str, float]:
    from ._xla import compile_clock

    return compile_clock()


def _timing_line(res: Any, total: float, clock0: dict[str, float] | None = None,
                 clock1: dict[str, float] | None = None) -> str:
    """``-v``: where the time of a run went; with ``clock0`` (a :func:`nnfield._xla.compile_clock` reading at the
    start), also how much of it JAX spent getting compiled programs (:func:`nnfield._xla.describe_compiles`, up to
    the reading ``clock1``, default now)."""
    setup = max(total - res.wall_seconds, 0.0)
    rest = max(res.wall_seconds - res.first_chunk_seconds, 0.0)
    line = (f"timings: set-up (model, initial data, stability analysis, files) {setup:.2f} s; first chunk "
            f"(incl. compilation) {res.first_chunk_seconds:.2f} s; other chunks {rest:.2f} s; total {total:.2f} s")
    return _with_jax_line(line, clock0, clock1)


def _with_jax_line(line: str, clock0: dict[str, float] | None, clock1: dict[str, float] | None = None) -> str:
    """``line`` and, with ``clock0``, the line saying how much of it JAX spent getting compiled programs (up to
    the reading ``clock1``, default now; :func:`nnfield._xla.describe_compiles`)."""
    if clock0 is None:
        return line
    from ._xla import describe_compiles

    return f"{line}\n  of which JAX: {describe_compiles(clock0, _compile_clock() if clock1 is None else clock1)}"


def _stopped_timing_line(total: float, clock0: dict[str, float] | None) -> str:
    """``-v`` for a run that stopped on non-finite values (no result, so no per-chunk split): the total and, with
    ``clock0``, JAX's share of it (as :func:`_timing_line`)."""
    return _with_jax_line(f"timings: total {total:.2f} s until the run stopped on non-finite values", clock0)


def _run_verdict(con: Any, res: Any) -> None:
    """The final line of ``run`` (and ``demo``): steps, conservation verdicts, the run file. ``OK`` when every
    declared conserved quantity behaved as declared and the network is stable at the run's ``dt``, else
    ``WARNING`` (a run with ``--allow-unstable`` of an unstable network, which completed: exit 0)."""
    cons = res.conservation
    bad = [v.name for v in cons if not v.ok]
    unjudged = [v for v in cons if v.ok and not getattr(v, "judged", True)]
    judged = len(cons) - len(unjudged)
    if not cons:
        tally = "nothing declared conserved"
    else:
        tally = f"conservation {judged - len(bad)}/{judged} OK" + (f" (not: {', '.join(bad)})" if bad else "")
        for why in dict.fromkeys(getattr(v, "not_judged_because", "") or "too few samples" for v in unjudged):
            names = [v.name for v in unjudged if (getattr(v, "not_judged_because", "") or "too few samples") == why]
            tally += f", not judged ({why}): {', '.join(names)}"
    stab = getattr(res, "stability", None)
    unstable = stab is not None and not stab.error and not stab.stable
    if unstable:  # run with --allow-unstable: its data hold the growth, whatever the conservation verdicts say
        tally += (f"; the network is UNSTABLE at dt = {stab.dt:g} (max growth per step {stab.max_amplification:.4g}, "
                  "run with --allow-unstable)")
    ok = not bad and not unstable
    _verdict(con, ok, f"{res.steps_done} steps to t = {_final_times(res)}; {tally}; {res.run_file}",
             None if ok else "WARNING")


def _final_times(res: Any) -> str:
    """The time a run reached: ``res.t_final``, or, for a sweep of ``time.dt`` (its members step by different dt),
    the range over the members (``t_final`` is member 0's)."""
    try:
        from .config import load_config

        dts = (load_config(res.config_file).sweep or {}).get("time.dt")
    except Exception:  # noqa: BLE001 - no readable config copy: the run's own time
        dts = None
    if not dts:
        return f"{res.t_final:g}"
    ts = sorted(res.steps_done * float(dt) for dt in dts)
    return f"{ts[0]:g} .. {ts[-1]:g} (the members' dt differ)"


def cmd_run(args: argparse.Namespace) -> int:
    _setup_jax()
    from .config import load_config

    _check_distributed_args(args)
    if args.coordinator is not None or args.distributed:
        from .parallel import initialize, is_writer

        try:
            initialize(args.coordinator, args.num_processes, args.process_id)
        except (ValueError, IndexError, RuntimeError) as exc:  # JAX's own refusal (e.g. no SLURM/MPI environment)
            how = "--distributed" if args.distributed else f"--coordinator {args.coordinator}"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"{how}: cannot join the multi-process run ({first}); see docs/scaling.md") from None
        if not is_writer():
            args.quiet, args.verbose, args.verdict = True, False, False  # process 0 reports, verdict included
    if args.resume is not None:
        _agreed_start(args, lambda: _check_resume_args(args))
        return _resume(args)

    def plan() -> Any:
        if args.steps is not None:
            raise ConfigError("--steps: only with --resume DIR (extends a run); for a new run set [time] steps")
        if args.config is None:
            raise ConfigError("give a config file (`nnfield run CONFIG.toml`) or --resume DIR")
        cfg = load_config(args.config)
        if args.devices is not None and args.devices < 0:
            raise ConfigError(f"--devices: expected a number of devices (0: all), got {args.devices}")
        overrides = {k: v for k, v in (("devices", args.devices), ("halo", getattr(args, "halo", None)))
                     if v is not None}
        if overrides:  # --devices, --halo over [parallel]
            import dataclasses

            cfg = dataclasses.replace(cfg, parallel=dataclasses.replace(cfg.parallel, **overrides))
        return cfg

    cfg = _agreed_start(args, plan)
    out = args.out if args.out is not None else Path("out") / Path(args.config).stem
    if args.dry_run:
        return _dry_run(cfg, out, force=args.force, allow_unstable=args.allow_unstable, quiet=args.quiet,
                        verdict=getattr(args, "verdict", True), verbose=args.verbose)
    return _run_config(cfg, out, force=args.force, allow_unstable=args.allow_unstable, quiet=args.quiet,
                       plot=args.plot, verbose=args.verbose, verdict=getattr(args, "verdict", True))


def _agreed_start(args: argparse.Namespace, plan: Callable[[], Any]) -> Any:
    """``plan()`` (reading and checking the config and options), agreed by every process of a multi-process run.

    A process whose ``plan`` fails (its config file missing on its node, a bad option) used to exit in one line
    while the others waited in the run's first collective until JAX's timeout (minutes): now every process meets
    here (:func:`nnfield.parallel.processes_that`, one collective) and the others refuse in one line too, naming
    the processes that could not start. In a single process, ``plan()`` alone."""
    if not (args.coordinator is not None or args.distributed):
        return plan()
    from .parallel import named_processes, processes_that

    try:
        out = plan()
    except Exception:
        processes_that(True)
        raise
    failed = processes_that(False)
    if failed:
        import jax

        raise ConfigError(f"{named_processes(failed)} of this {jax.process_count()}-process run could not start (its "
                          f"own error says why, e.g. a config file missing on its node, or a bad option); nothing "
                          f"was run")
    return out


def _check_distributed_args(args: argparse.Namespace) -> None:
    """The multi-process options, checked before JAX sees them (its own refusals are tracebacks)."""
    coord, n, i = args.coordinator, args.num_processes, args.process_id
    if coord is None:
        if n is not None or i is not None:
            which = "--num-processes" if n is not None else "--process-id"
            raise ConfigError(f"{which}: only with --coordinator HOST:PORT (under SLURM / Open MPI: --distributed)")
        return
    if args.distributed:
        raise ConfigError("--distributed and --coordinator: choose one (--distributed reads SLURM / Open MPI)")
    if n is None or i is None:
        raise ConfigError("--coordinator: give --num-processes P and --process-id I with it")
    host, _, port = coord.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--coordinator: expected HOST:PORT with a port 1..65535 (e.g. localhost:12345), "
                          f"got {coord!r}")
    if n < 1:
        raise ConfigError(f"--num-processes: expected at least 1, got {n}")
    if not 0 <= i < n:
        raise ConfigError(f"--process-id: expected 0..{n - 1} (--num-processes {n}), got {i}")


def _check_resume_args(args: argparse.Namespace) -> None:
    """The options ``run --resume DIR`` refuses (before any collective of a multi-process run)."""
    if args.config is not None:
        raise ConfigError(f"--resume {args.resume}: give no config file (the run's own {args.resume}/config.toml "
                          f"is used), got {args.config}")
    if args.dry_run or args.force or args.out is not None:
        which = "--dry-run" if args.dry_run else "--force" if args.force else "--out"
        raise ConfigError(f"{which}: not with --resume (the run continues in its own directory)")
    if args.devices is not None and args.devices < 0:
        raise ConfigError(f"--devices: expected a number of devices (0: all), got {args.devices}")


def _resume(args: argparse.Namespace) -> int:
    """``run --resume DIR [--steps N]``: continue or extend a run from its newest checkpoint (the options
    checked by :func:`_check_resume_args` first)."""
    from .errors import NonFiniteError as _NonFinite
    from .runner import resume

    con = _console()
    if args.verbose:
        _say(con, _environment_line())
    clock0 = _compile_clock() if args.verbose else None
    t0 = time.perf_counter()
    try:
        res = resume(args.resume, args.steps, progress=not args.quiet,
                     log=None if args.quiet else (lambda m: _say(con, m)), devices=args.devices,
                     halo=getattr(args, "halo", None))
    except _NonFinite as exc:
        _error(str(exc))
        if args.verbose:
            _say(con, _stopped_timing_line(time.perf_counter() - t0, clock0))
        if args.plot and _is_writer():  # as `run --plot`: the plots of a blow-up are what one looks at first
            _plot_stopped_run(con, Path(args.resume), args.quiet)
        if getattr(args, "verdict", True):
            _verdict(con, False, f"non-finite values; {exc.kept}")
        return EXIT_FAILED
    if not args.quiet:
        _say(con, f"done: {res.steps_done} steps to t = {res.t_final:g} in {res.wall_seconds:.2f} s")
        for v in res.conservation:
            _say(con, f"  {v.line()}")
        _say(con, f"output: {res.run_file}")
    if args.verbose:
        _say(con, _timing_line(res, time.perf_counter() - t0, clock0))
    if args.plot and _is_writer():  # (several processes: process 0 plots)
        from .plotting import plot_run

        files = plot_run(res.out_dir)
        if not args.quiet:
            _say(con, "plots: " + ", ".join(str(f) for f in files))
    if getattr(args, "verdict", True):
        _run_verdict(con, res)
    return EXIT_OK


def _dry_run(cfg: Any, out: str | Path, *, force: bool, allow_unstable: bool, quiet: bool, verdict: bool = True,
             verbose: bool = False) -> int:
    """``run --dry-run``: every check of a run (config, output directory, initial data, stability), no steps,
    nothing written; then the memory estimate (host peak by part, and each device's share). ``verbose`` (``-v``):
    also the environment and how long the checks took (it was ignored)."""
    from .runner import prepare

    con = _console()
    log = None if quiet else (lambda m: _say(con, m))
    if not quiet:
        _say(con, f"nnfield run --dry-run: {cfg.summary()}")
    if verbose:
        _say(con, _environment_line())
    clock0 = _compile_clock() if verbose else None
    t0 = time.perf_counter()
    if cfg.sweep:  # every member's config and model, every distinct network's stability
        from .ensemble import check_sweep

        check_sweep(cfg, out, force=force, allow_unstable=allow_unstable, log=log)
    else:
        prepare(cfg, out, force=force, allow_unstable=allow_unstable, log=log)
    if not quiet:
        import math

        from .parallel import device_count
        from .resources import describe_memory

        members = math.prod(len(v) for v in cfg.sweep.values()) if cfg.sweep else 1
        _say(con, describe_memory(cfg, members, device_count(cfg.parallel.devices)))
    if verbose:
        _say(con, _with_jax_line(f"timings: checks (config, output directory, model, initial data, stability) "
                                 f"{time.perf_counter() - t0:.2f} s", clock0))
    if verdict:  # (several processes: process 0 reports)
        _verdict(con, True, f"every check of the run passed; it would write {Path(out) / 'run.h5'} (nothing written)")
    return EXIT_OK


# ----------------------------------------------------------------------------------------------------------
# plot
# ----------------------------------------------------------------------------------------------------------
def cmd_plot(args: argparse.Namespace) -> int:
    import warnings

    from .io import NotARunFileError, find_run_file, load_run
    from .plotting import plot_run

    # float64 as for a run: the fields are decoded by the run's model, rebuilt from its config (a float64 config
    # is refused in JAX's 32-bit mode, and the plots then fell back to the raw network state)
    _setup_jax()
    if args.out is not None:
        from .outdir import check_writable_dir

        check_writable_dir(args.out)
    try:
        find_run_file(args.dir)
        data = load_run(args.dir, snapshots="none", warn=False)
    except (FileNotFoundError, NotARunFileError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    except (OSError, KeyError, ValueError) as exc:
        _error(f"{args.dir}: not a readable nnfield run file ({str(exc).splitlines()[0] if str(exc) else exc!r})")
        return EXIT_USAGE
    if args.out is None and not os.access(data.path.parent, os.W_OK | os.X_OK):  # (a colleague's run, read-only)
        raise ConfigError(f"{data.path.parent}: cannot write the plots into the run directory (permission denied); "
                          f"give --out DIR")
    if data.incomplete_message():
        print(f"nnfield: warning: {data.incomplete_message()}", file=sys.stderr)
    con = _console()
    if args.verbose:  # (the fields are decoded by the run's model, rebuilt and jitted here)
        _say(con, _environment_line())
    clock0 = _compile_clock() if args.verbose else None
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("ignore", category=RuntimeWarning)  # overflow of a blow-up's values in the casts
        try:
            files = plot_run(args.dir, args.out, animate=args.animate)
        except NotARunFileError as exc:  # a damaged dataset (its checksum fails) among the snapshots
            _error(str(exc))
            return EXIT_USAGE
    if not args.quiet:
        for f in files:
            _say(con, str(f))
    if args.verbose:
        _say(con, _with_jax_line(f"timings: plots (reading the run, decoding its fields, drawing) "
                                 f"{time.perf_counter() - t0:.2f} s", clock0))
    where = Path(files[0]).parent if files else Path(args.out or args.dir)
    _verdict(con, True, f"{len(files)} plot{'s' if len(files) != 1 else ''} in {where}")
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
    from .outdir import check_output_dir
    from .plotting import plot_run
    from .runner import execute

    con = _console()
    cfg = parse_config(demo_config_text(), source="<nnfield demo>")
    out = check_output_dir(args.out, args.force)  # refused before the demo's header is printed
    t0 = time.perf_counter()
    if not args.quiet:
        _say(con, f"nnfield demo: {cfg.title}")
        _say(con, f"  {cfg.summary()}")
    if args.verbose:
        _say(con, _environment_line())
    clock0 = _compile_clock() if args.verbose else None
    try:
        res = execute(cfg, out, force=args.force, progress=not args.quiet,
                      log=None if args.quiet else (lambda m: _say(con, "  " + m)))
    except NonFiniteError as exc:
        _error(str(exc))
        if args.verbose:
            _say(con, _stopped_timing_line(time.perf_counter() - t0, clock0))
        _verdict(con, False, "non-finite values")
        return EXIT_FAILED
    ran, clock1 = time.perf_counter() - t0, _compile_clock() if args.verbose else None  # (before the plots)
    t_plots = time.perf_counter()
    files = plot_run(out)
    run = load_run(out, snapshots="none")
    plots = time.perf_counter() - t_plots
    if not args.quiet:
        _say(con, f"ran {res.steps_done} steps (t = {res.t_final:g}) of a {'x'.join(map(str, cfg.lattice.shape))} "
                  f"network in {ran:.1f} s ({res.site_updates_per_second / 1e6:.3g} M site-updates/s); plots "
                  f"{plots:.1f} s")
        for v in res.conservation:
            _say(con, f"  {v.name}(0) = {run.observables[v.name][0]:.10g}; {v.line()}")
        _say(con, f"  data:  {res.run_file}  (config: {res.config_file})")
        _say(con, "  plots: " + ", ".join(str(f) for f in files))
        # (its own config, which exists wherever nnfield is installed; examples/ exists only in a clone)
        _say(con, f"  next:  edit {res.config_file}, then nnfield run {_shell_word(res.config_file)} --out NEW_DIR  |  "
                  "nnfield verify")
    if args.verbose:
        _say(con, _timing_line(res, ran, clock0, clock1))
    _run_verdict(con, res)
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
COMMANDS = ("run", "analyze", "verify", "plot", "demo", "dual")


def _add_verbosity(p: argparse.ArgumentParser, top: bool = False, verbose_help: str | None = None,
                   quiet_help: str | None = None) -> None:
    """``-q/--quiet`` and ``-v/--verbose``, accepted before the command (``nnfield -q run ...``) and after it.

    The command's copies default to ``SUPPRESS`` so that they do not overwrite the global ones."""
    default: Any = False if top else argparse.SUPPRESS
    p.add_argument("-q", "--quiet", action="store_true", default=default,
                   help=quiet_help or "print only errors and the final verdict line")
    p.add_argument("-v", "--verbose", action="store_true", default=default,
                   help=verbose_help or "print more: versions, backend and devices, timings")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other error of the command line.

    argparse prints the whole usage (seven lines for ``nnfield run``) above ``invalid int value: 'abc'``; the
    usage is one ``--help`` away, which the line names. Subcommand parsers inherit the class
    (``add_subparsers``' default ``parser_class``)."""

    def error(self, message: str):  # type: ignore[override]
        _error(f"{self.prog}: {message} (`{self.prog} --help` lists the options)")
        raise SystemExit(EXIT_USAGE)


def build_parser(dual: tuple[Any, str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; ``dual`` is the loaded ``(module, reason)`` when ``nnfield dual`` is invoked."""
    parser = _Parser(
        prog="nnfield",
        description="Emergent field theories from neural networks (Vanchurin, arXiv:2411.08138): run, analyse "
        "and verify networks whose activation and learning dynamics are classical fields.",
        epilog="Exit codes: 0 ok; 1 run failed, non-finite values or checks failed; 2 bad input or refused. "
        "Docs: docs/cli.md, docs/config.md.",
    )
    parser.add_argument("--version", action="version", version=f"nnfield {__version__}")
    _add_verbosity(parser, top=True)
    parser.add_argument("--no-compilation-cache", action="store_true", help="do not use JAX's persistent "
                        "compilation cache nor the stability verdicts kept in it (default: on, in "
                        "$NNFIELD_CACHE_DIR or ~/.cache/nnfield/jax; also NNFIELD_COMPILATION_CACHE=0)")
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
    p.add_argument("--halo", action=argparse.BooleanOptionalAction, default=None, help="exchange each device's "
                   "ghost rows once per tick instead of once per shifted read (overrides [parallel] halo; checked "
                   "against XLA's partitioning before the run; docs/scaling.md)")
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
    _add_verbosity(p, quiet_help="no progress bar or summary: only errors and the final verdict line")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("analyze", help="stability, largest stable dt and dispersion of a configured network",
                       description="Linear stability and dispersion of the configured network from its own "
                       "one-step Fourier symbol (impulse responses of its step).")
    p.add_argument("config", help="the TOML config")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    p.add_argument("--plot", metavar="FILE", help="write omega(k) of the network vs the theory to this PNG")
    p.add_argument("--member", type=int, metavar="I", default=None,
                   help="a [sweep] config: analyse member I (counted from 0, in the order of the run file's "
                        "`sweep` attribute; default: the first unstable member, else the first)")
    _add_verbosity(p, quiet_help="no table: only errors and the final verdict line")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("verify", help="check the paper's equations one by one",
                       description="Run the registered checks of the paper's equations (exact / continuum / "
                       "erratum / unstable / condition); exit 0 only if every verdict is the expected one.")
    p.add_argument("--section", type=_section, choices=(2, 3, 4, 5, "B"),
                   help="only this section of the paper (2-5), or B: the checks beyond the paper")
    p.add_argument("--json", metavar="FILE", help="also write the results to this JSON file")
    p.add_argument("--markdown", metavar="FILE", help="also write a Markdown report (e.g. docs/verify.md)")
    p.add_argument("--details", dest="verbose", action="store_true", default=argparse.SUPPRESS,
                   help="the same as -v")
    _add_verbosity(p, verbose_help="print every check's detail line (failures always are)",
                   quiet_help="no table: only the failed checks and the final verdict line")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("plot", help="PNG plots of a run directory",
                       description="energy.png (declared conserved quantities, relative drift on a log axis), "
                       "observables.png, field.png (last snapshot of the physical fields: phi, pi; |psi|^2 and "
                       "current for Dirac), spacetime.png (1D), spectra.png (runs with [output] spectra).")
    p.add_argument("dir", help="a run directory (or its run.h5)")
    p.add_argument("--out", metavar="DIR", help="where to write the PNGs (default: the run directory)")
    p.add_argument("--animate", action="store_true", help="also write field.gif: the field of a 2D (or 3D: central "
                   "slice) run through every snapshot")
    _add_verbosity(p, quiet_help="do not list the files: only errors and the final verdict line")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("demo", help="a small built-in run end to end, with plots",
                       description="Run the built-in demo (2D Klein-Gordon Gaussian packet, leapfrog network) "
                       "and plot it.")
    p.add_argument("--out", metavar="DIR", default=DEMO_OUT, help=f"output directory (default: {DEMO_OUT})")
    p.add_argument("--force", action="store_true", help="overwrite the run files of an existing output directory")
    _add_verbosity(p, quiet_help="no progress bar or summary: only errors and the final verdict line")
    p.set_defaults(func=cmd_demo)

    help_dual = "Hamiltonian <-> loss duality of Sec. 2 (symbolic)"
    if dual is not None and dual[0] is not None:
        mod = dual[0]
        p = sub.add_parser("dual", help=help_dual, formatter_class=argparse.RawDescriptionHelpFormatter,
                           description=textwrap.fill(_plain(getattr(mod, "DESCRIPTION", None) or (
                               mod.__doc__ or help_dual).strip().split("\n")[0]), 88),
                           epilog=_plain(getattr(mod, "EPILOG", "")) or None)
        mod.add_arguments(p)
        _add_verbosity(p, verbose_help="also print how long the symbolic work took (on stderr)",
                       quiet_help="accepted for symmetry; the result is the output")
        p.set_defaults(func=_dual_runner(mod))
    else:  # listed for --help; `nnfield dual ...` itself is dispatched in main()
        p = sub.add_parser("dual", help=help_dual, add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=_dual_unavailable(dual[1] if dual is not None else "not loaded"))
    return parser


def _plain(text: str) -> str:
    """Help text without reST markup: ``code`` and :role:`name` become plain words."""
    import re

    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text)
    return text.replace("``", "")


def _dual_runner(mod: Any) -> Any:
    def handler(args: argparse.Namespace) -> int:
        t0 = time.perf_counter()
        code = int(mod.run(args) or 0)
        if args.verbose:
            print(f"nnfield dual: {time.perf_counter() - t0:.2f} s", file=sys.stderr)
        return code

    return handler


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _unknown_command(argv: list[str]) -> str | None:
    """The first word that should be a command and is not one (global options skipped), or None."""
    for tok in argv:
        if tok in ("--", "-h", "--help", "--version"):
            return None
        if tok.startswith("-"):
            continue
        return None if tok in COMMANDS else tok
    return None


def _option_strings(parser: argparse.ArgumentParser, command: str | None) -> list[str]:
    opts = [o for a in parser._actions for o in a.option_strings]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            opts += [o for a in action.choices[command]._actions for o in a.option_strings]
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nnfield`` script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    word = _unknown_command(argv)
    if word is not None:
        close = difflib.get_close_matches(word, COMMANDS, n=1, cutoff=0.5)
        hint = f"; did you mean `nnfield {close[0]}`?" if close else ""
        _error(f"unknown command {word!r}{hint} (commands: {', '.join(COMMANDS)}; `nnfield --help` explains each)")
        return EXIT_USAGE
    command = next((t for t in argv if not t.startswith("-")), None)
    dual = _load_dual() if command == "dual" else None
    if dual is not None and dual[0] is None:  # before argparse, which would reject the module's options
        return _dual_unavailable(dual[1])(argparse.Namespace())
    parser = build_parser(dual)
    known = _option_strings(parser, command)
    for tok in argv:  # a mistyped long option, before argparse reports a consequence (a missing required one)
        if tok == "--":
            break
        name = tok.split("=")[0]
        if name.startswith("--") and not any(o.startswith(name) for o in known):
            sub = f"nnfield {command}" if command in COMMANDS else "nnfield"
            _error(f"{sub}: unrecognized argument {name}{_suggest(name, known)} (`{sub} --help` lists the options)")
            return EXIT_USAGE
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            unknown = extra[0]
            sub = f"nnfield {command}" if command in COMMANDS else "nnfield"
            if unknown.split("=")[0] in _option_strings(parser, None):  # a global option after the command
                _error(f"{unknown.split('=')[0]} is an option of `nnfield` itself: put it before the command "
                       f"(`nnfield {unknown} {command} ...`)")
                return EXIT_USAGE
            hint = _suggest(unknown.split("=")[0], _option_strings(parser, command)) if unknown.startswith("-") \
                else ""
            _error(f"{sub}: unrecognized argument{'s' if len(extra) > 1 else ''} {' '.join(extra)}{hint} "
                   f"(`{sub} --help` lists the options)")
            return EXIT_USAGE
    except SystemExit as exc:  # --help, --version, usage errors
        return int(exc.code) if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    if args.quiet and args.verbose:
        _error("-q/--quiet and -v/--verbose: choose one")
        return EXIT_USAGE
    empty = _empty_path(args)
    if empty is not None:
        _error(empty)
        return EXIT_USAGE
    if getattr(args, "no_compilation_cache", False):
        os.environ["NNFIELD_COMPILATION_CACHE"] = "0"
    _startup_imports(args)
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
    except BrokenPipeError:  # stdout's reader has gone (e.g. `nnfield analyze --json | head -1`): as a pipe does
        from ._cli_common import stdout_closed

        stdout_closed(note=False)
        return EXIT_BROKEN_PIPE
    except MemoryError:
        _error("out of memory: the run does not fit in this machine's memory; use a smaller lattice or float32")
        return EXIT_USAGE
    except OSError as exc:
        _error(f"{exc}")
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - re-raised unless a lost peer of a multi-process run or XLA's OOM
        exhausted = _device_out_of_memory(exc)
        if exhausted is not None:
            _error(exhausted)
            return EXIT_USAGE
        lost = _lost_peer(exc)
        if lost is None:
            raise
        _error(lost)
        return EXIT_FAILED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


#: the arguments that name a file or directory: (attribute, name in the error line, what to give instead)
PATH_ARGUMENTS = (("config", "CONFIG", "the TOML config file"), ("dir", "DIR", "the run directory (or its run.h5)"),
                  ("out", "--out", "a directory, or omit --out"), ("resume", "--resume", "the run directory"),
                  ("json", "--json", "a file name, or omit --json"),
                  ("markdown", "--markdown", "a file name, or omit --markdown"),
                  ("plot", "--plot", "a file name, or omit --plot"))


def _empty_path(args: argparse.Namespace) -> str | None:
    """The error line for a path argument given as an empty string (``--out "$OUTDIR"`` with the variable unset),
    else ``None``. An empty ``--out`` was the current directory, where ``run --force`` removes every ``*.png``;
    an empty ``--json``, ``--markdown`` or ``analyze --plot`` wrote nothing, without a word."""
    for attr, name, instead in PATH_ARGUMENTS:
        value = getattr(args, attr, None)
        if isinstance(value, str) and not value.strip():  # (a flag of the same name is a bool)
            return f"{name}: an empty path (an unset shell variable?); give {instead}"
    return None


def _device_out_of_memory(exc: BaseException) -> str | None:
    """The one line for XLA's out-of-memory error (``RESOURCE_EXHAUSTED``: a buffer the compiled program needs did
    not fit on its device, e.g. a GPU whose free memory the memory guard's estimate overrated), else ``None``.
    Before session 34 it ended the command with JAX's traceback."""
    jax = sys.modules.get("jax")
    if jax is None or not isinstance(exc, jax.errors.JaxRuntimeError) or "RESOURCE_EXHAUSTED" not in str(exc):
        return None
    first = str(exc).strip().splitlines()[0]
    return (f"out of memory on the device ({first[:200]}): the run does not fit in its memory; use more devices "
            f"([parallel] devices, docs/scaling.md), a smaller lattice or float32; everything written so far is kept")


def _lost_peer(exc: BaseException) -> str | None:
    """The one line for a collective of a multi-process run that failed because another process is gone (killed,
    out of memory, its node lost: the collectives' transport reports the connection closed), else ``None``."""
    par = sys.modules.get("nnfield.parallel")
    if par is None or not par._INITIALIZED or not par.multi_process():
        return None
    import jax

    text = str(exc)  # (the transports' words: an out-of-memory error of this process is not a lost peer)
    if not any(word in text for word in ("Gloo", "NCCL", "by peer", "Connection", "DEADLINE_EXCEEDED", "UNAVAILABLE")):
        return None
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return (f"a collective with the other processes failed ({first[:200]}): another process of this "
            f"{jax.process_count()}-process run stopped (killed, out of memory, its node lost?); the run file keeps "
            f"every completed chunk, and `nnfield run --resume DIR` in every process continues from the newest "
            f"checkpoint")


def _section(text: str) -> int | str:
    """``--section``: a paper section number, or ``B`` (beyond the paper)."""
    return int(text) if text.isdigit() else text.upper()


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _startup_imports(args: argparse.Namespace) -> None:
    """Import what a run needs (JAX, equinox, pydantic, the runner) while the ``nnfield`` program's start-up keeps
    the garbage collector paused, then resume it (:func:`nnfield._entry.startup_done`). Importing does not touch
    a device: ``_setup_jax`` and ``jax.distributed`` still come first."""
    from ._entry import lazy_jax_extend, startup_done

    try:
        if args.func in (cmd_run, cmd_demo):
            lazy_jax_extend()
            from . import runner  # noqa: F401
        if args.func is cmd_demo:
            from . import plotting  # noqa: F401
    finally:
        startup_done()


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
        if "nnfield.parallel" in sys.modules:  # a multi-process run: leave it together (parallel.finish)
            sys.modules["nnfield.parallel"].finish(code == EXIT_OK)
    finally:
        os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
