"""Shared pieces of the command line: exit codes, consoles, one-line errors, JSON conversion."""

from __future__ import annotations

import math
import sys
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a command killed by a closed pipe returns


# ----------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------
def _console(stderr: bool = False) -> Any:
    """A rich console; 120 columns when writing to a file or pipe (rich would assume 80)."""
    import os

    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:  # rich's default exits (1) at once: a run would be lost mid-way
            self.quiet = True
            if self.stderr:
                raise SystemExit(EXIT_BROKEN_PIPE)
            stdout_closed()

    con = _Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not con.is_terminal and "COLUMNS" not in os.environ:
        con = _Console(stderr=stderr, highlight=False, soft_wrap=True, width=120)
    return con


def _output_file(option: str, path: Any, image: bool = False) -> Any:
    """The file an option names to be written, checked before any work (``ConfigError``, one line, exit 2): not a
    directory, its directory existing and writable, for an ``image`` a format matplotlib writes (no suffix: PNG,
    ``.png`` added, as matplotlib does; ``.pgf`` only with the TeX program matplotlib runs to write it). Returns
    the path that will be written."""
    import os
    from pathlib import Path

    from .errors import ConfigError

    out = Path(path)
    if image:
        suffix = out.suffix.lower().lstrip(".")
        if not suffix:
            out = out.with_name(out.name + ".png")
        else:
            from matplotlib.backend_bases import FigureCanvasBase

            formats = FigureCanvasBase.get_supported_filetypes()
            if suffix not in formats:
                raise ConfigError(f"{option} {path}: matplotlib cannot write .{suffix}; use one of "
                                  f"{', '.join('.' + f for f in sorted(formats))} (e.g. {out.with_suffix('.png')})")
            if suffix == "pgf":  # matplotlib's PGF backend measures its text with a TeX program, run at the save
                import shutil

                import matplotlib

                tex = str(matplotlib.rcParams["pgf.texsystem"])
                if shutil.which(tex) is None:
                    raise ConfigError(f"{option} {path}: matplotlib writes .pgf with {tex}, which is not installed "
                                      f"(not on PATH); install it, or use .pdf or .svg (e.g. "
                                      f"{out.with_suffix('.pdf')})")
    if out.is_dir():
        raise ConfigError(f"{option} {path}: is a directory; give a file name")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(f"{option} {path}: the directory {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise ConfigError(f"{option} {path}: cannot write there (permission denied); choose another path")
    return out


def _say(console: Any, msg: str, style: str | None = None) -> None:
    """Print one message; a reader that closed stdout (``nnfield run ... | head -1``) does not stop the command:
    the rest of its output is dropped (:func:`stdout_closed`) and a run goes on to write its files."""
    try:
        console.print(msg, markup=False, style=style)
    except BrokenPipeError:
        if console.stderr:
            raise
        stdout_closed()


_STDOUT_CLOSED = False


def stdout_closed(note: bool = True) -> None:
    """Stdout's reader has gone (EPIPE): point stdout at ``/dev/null`` (the writes still pending, and Python's
    flush at exit, then go nowhere instead of raising) and, with ``note``, say so once on stderr."""
    global _STDOUT_CLOSED
    import os

    if not _STDOUT_CLOSED:
        _STDOUT_CLOSED = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
        if note:
            print("nnfield: note: stdout was closed; the rest of the output is dropped (the command goes on)",
                  file=sys.stderr)


def _verdict(console: Any, ok: bool, text: str, word: str | None = None) -> None:
    """The last line of a command, printed even with ``-q``: ``verdict: OK: ...`` or ``verdict: FAILED: ...``
    (``word`` replaces OK/FAILED, e.g. ``stable``)."""
    word = word or ("OK" if ok else "FAILED")
    _say(console, f"verdict: {word}: {text}", style="green" if ok else "bold red")


def _environment_line() -> str:
    """``-v``: versions, the JAX backend and devices, precision and the compilation cache."""
    import jax

    from . import __version__

    devices = jax.devices()
    cache = compilation_cache_dir()
    x64 = "float64 enabled" if jax.config.read("jax_enable_x64") else "float32 only"
    return (f"environment: nnfield {__version__}, JAX {jax.__version__}, backend {jax.default_backend()} "
            f"({len(devices)} device{'s' if len(devices) != 1 else ''}: {devices[0].device_kind}), {x64}, "
            f"compilation cache {cache if cache is not None else 'off'}")


def _error(msg: str) -> None:
    """One line per problem on stderr (a config with several problems reports each on its own line)."""
    for line in str(msg).splitlines() or [""]:
        print(f"nnfield: error: {line}", file=sys.stderr)


def _setup_jax() -> None:
    """float64 available everywhere (``precision = "float32"`` runs cast their arrays); before any array.
    And JAX's persistent compilation cache (:func:`compilation_cache_dir`), unless switched off."""
    import jax

    jax.config.update("jax_enable_x64", True)
    cache = compilation_cache_dir()
    if cache is not None and not _usable_cache_dir(cache):
        print(f"nnfield: note: the compilation cache {cache} cannot be written; running without it "
              f"(set NNFIELD_CACHE_DIR to a writable directory)", file=sys.stderr)
        cache = None
    if cache is not None:
        jax.config.update("jax_compilation_cache_dir", str(cache))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def _usable_cache_dir(cache: Any) -> bool:
    """Whether the cache directory can be created and written (JAX warns once per program otherwise): created
    if missing (as JAX would) and probed with a temporary file."""
    import tempfile
    from pathlib import Path

    try:
        Path(cache).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=cache):
            pass
    except OSError:
        return False
    return True


def compilation_cache_dir() -> Any:
    """Where the ``nnfield`` command keeps compiled programs across runs (JAX's persistent compilation cache):
    ``$NNFIELD_CACHE_DIR``, else ``$XDG_CACHE_HOME/nnfield/jax`` (``~/.cache/nnfield/jax``). ``None`` (off)
    when ``NNFIELD_COMPILATION_CACHE=0`` or the option ``--no-compilation-cache`` was given."""
    import os
    from pathlib import Path

    if os.environ.get("NNFIELD_COMPILATION_CACHE", "1").strip().lower() in ("0", "off", "false", "no"):
        return None
    if os.environ.get("NNFIELD_CACHE_DIR"):
        return Path(os.environ["NNFIELD_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nnfield" / "jax"


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
    if type(x).__module__.startswith("jax"):  # a JAX array
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
