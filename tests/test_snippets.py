"""Every code snippet of README.md and docs/**/*.md works.

- Each ```python block is executed (in a fresh namespace, in a temporary working directory that has the
  repository's ``examples/``). A block that is a fragment on purpose starts with the line ``# snippet: skip``
  (and says why); use it sparingly. A block that starts with ``# snippet: slow`` (a measurement of minutes) runs
  under ``-m slow``.
- Each ``nnfield ...`` command of a ```bash, ```sh or plain ``` block is parsed by the real argument parser
  (so a renamed command or option fails here), and the example configs it names exist.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = "# snippet: skip"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```(?P<lang>\w*)[^\n]*\n(?P<body>.*?)^```", re.S | re.M)


def _blocks(langs: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            if m.group("lang") in langs:
                line = text[: m.start()].count("\n") + 1
                out.append((f"{path.relative_to(ROOT)}:{line}", m.group("body")))
    return out


PYTHON = _blocks(("python", "py"))


def test_snippets_are_found():
    where = {w.split(":")[0] for w, _ in PYTHON}
    assert {"README.md", "docs/cli.md", "docs/performance.md", "docs/gauge.md"} <= where


SLOW = "# snippet: slow"


def _param(where: str, code: str) -> object:
    """A block that starts with ``# snippet: slow`` (a measurement taking minutes) runs under ``-m slow``."""
    return pytest.param(where, code, id=where, marks=pytest.mark.slow if code.lstrip().startswith(SLOW) else ())


@pytest.mark.parametrize("where,code", [_param(w, c) for w, c in PYTHON])
def test_python_snippet_runs(where, code, tmp_path, monkeypatch, capsys):
    if code.lstrip().startswith(SKIP):
        pytest.skip(code.lstrip().splitlines()[0])
    import jax

    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    previous = jax.config.read("jax_enable_x64")
    try:
        exec(compile(code, where, "exec"), {"__name__": "__main__"})
    finally:
        jax.config.update("jax_enable_x64", previous)
    capsys.readouterr()


def _commands() -> list[tuple[str, list[str]]]:
    """``(where, argv)`` of every ``nnfield`` invocation in shell blocks (``nnfield``, ``.venv/bin/nnfield``,
    ``python -m nnfield``), cut at ``&&``, ``|``, ``;`` and ``&``; usage synopses (``[...]``, ``...``) skipped."""
    out = []
    for where, body in _blocks(("bash", "sh", "console", "shell", "")):
        for line in body.splitlines():
            try:
                tokens = shlex.split(line, comments=True)
            except ValueError:
                continue
            for i, tok in enumerate(tokens):
                if tok.split("/")[-1] == "nnfield" and (i == 0 or tokens[i - 1] in ("-m", "srun", "&&", ";")
                                                         or "/" in tok):
                    rest = []
                    for t in tokens[i + 1:]:
                        if t in ("&&", "|", ";", "&", "||"):
                            break
                        rest.append(t.rstrip("&;"))
                    if rest and not any(t.startswith("[") or t in ("...", "COMMAND") for t in rest):
                        out.append((where, rest))
    return out


COMMANDS = _commands()


def test_commands_are_found():
    assert any(argv[0] == "demo" for _, argv in COMMANDS)
    assert any(argv[0] == "run" and "--distributed" in argv for _, argv in COMMANDS)


@pytest.mark.parametrize("where,argv", COMMANDS, ids=[f"{w} {' '.join(a)}" for w, a in COMMANDS])
def test_shell_command_parses(where, argv):
    from nnfield.cli import _load_dual, build_parser

    parser = build_parser(_load_dual() if argv[0] == "dual" else None)
    try:
        parser.parse_args(argv)
    except SystemExit as exc:  # argparse reports the problem on stderr
        pytest.fail(f"{where}: `nnfield {' '.join(argv)}` does not parse (exit {exc.code})")
    for tok in argv:
        if tok.startswith("examples/"):
            assert (ROOT / tok).exists(), f"{where}: {tok} does not exist"
