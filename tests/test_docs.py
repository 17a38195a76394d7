"""The documentation site builds without a warning (``mkdocs build --strict``: broken links, docstrings the
API reference cannot parse, pages missing from the nav), and its navigation hook adds pages nobody listed."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: a Markdown link (not an image): its target
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """The anchor mkdocs (Python-Markdown's toc) gives a heading."""
    import unicodedata

    s = unicodedata.normalize("NFKD", heading.replace("`", ""))
    s = re.sub(r"[^\w\s-]", "", s).strip().lower()
    return re.sub(r"[-\s]+", "-", s)


def _anchors(page: Path) -> set[str]:
    found, fence = set(), False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and line.startswith("#"):
            found.add(_slug(line.lstrip("#").strip()))
    return found


def broken_links(docs: Path) -> list[str]:
    """Relative links of ``docs/**/*.md`` whose file (or ``#heading`` in a Markdown file) does not exist; a
    tutorial page ``tutorials/NAME.md`` is generated from ``tutorials/NAME.py`` (``docs/_hooks``)."""
    bad = []
    for page in sorted(docs.rglob("*.md")):
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, frag = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            if not dest.exists() and not (dest.suffix == ".md" and dest.with_suffix(".py").exists()):
                bad.append(f"{page.relative_to(docs)}: {target} (no such file)")
            elif frag and dest.suffix == ".md" and dest.exists() and frag not in _anchors(dest):
                bad.append(f"{page.relative_to(docs)}: {target} (no such heading)")
    return bad


def test_docs_links_resolve(tmp_path):
    """Every relative link of the docs reaches a file and heading (quick; ``mkdocs build --strict``, slow, checks
    these and the API reference's docstrings); the checker itself finds a broken file and a broken anchor."""
    assert broken_links(ROOT / "docs") == []
    (tmp_path / "a.md").write_text("# Title\n\nsee [b](b.md), [c](c.md#nowhere), [t](a.md#title)\n")
    (tmp_path / "c.md").write_text("# Somewhere\n")
    assert broken_links(tmp_path) == ["a.md: b.md (no such file)", "a.md: c.md#nowhere (no such heading)"]


@pytest.mark.slow  # (5 s; the quick suite's 3 minutes, session 28: test_docs_links_resolve below guards the links)
def test_docs_site_builds_strict(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT / "src")}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    seconds = time.perf_counter() - t0
    assert proc.returncode == 0, f"mkdocs build --strict failed after {seconds:.0f} s:\n{proc.stdout}\n{proc.stderr}"
    site = tmp_path
    for page in ("index.html", "cli/index.html", "api/core/index.html", "api/theories/index.html",
                 "tutorials/first_field/index.html", "tutorials/grad_through_run/index.html"):
        assert (site / page).is_file(), page
    api = (site / "api" / "core" / "index.html").read_text(encoding="utf-8")
    assert 'id="nnfield.network.run"' in api  # generated from the docstrings
    theories = (site / "api" / "theories" / "index.html").read_text(encoding="utf-8")
    assert 'id="nnfield.theories.gauge.transform_links"' in theories
    assert ":func:" not in theories  # reST roles are shown as code
    tutorial = (site / "tutorials" / "vmap_mass_sweep" / "index.html").read_text(encoding="utf-8")
    assert "Sweeping the mass" in tutorial and "highlight" in tutorial and "vmap" in tutorial


def _hooks():
    spec = importlib.util.spec_from_file_location("nnfield_docs_hooks", ROOT / "docs" / "_hooks" / "nnfield_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_pages_missing_from_the_nav_are_added(tmp_path):
    hooks = _hooks()
    docs = tmp_path / "docs"
    (docs / "tutorials").mkdir(parents=True)
    (docs / "index.md").write_text("# Home\n")
    (docs / "listed.md").write_text("# Listed\n")
    (docs / "spectra.md").write_text("# Spectra of a run\n")
    (docs / "tutorials" / "new_one.py").write_text("# %% [markdown]\n# # New\n")
    config = {"docs_dir": str(docs), "nav": [{"Home": "index.md"}, {"Guide": [{"Listed": "listed.md"}]}]}
    hooks.on_config(config)
    assert config["nav"][-1] == {"More topics": [{"Spectra of a run": "spectra.md"},
                                                 {"new one": "tutorials/new_one.md"}]}


def test_percent_script_to_markdown():
    hooks = _hooks()
    text = "# %% [markdown]\n# # Title\n#\n# Some text.\n\n# %%\nx = 1\n\n# %% [markdown]\n# More.\n"
    md = hooks.percent_to_markdown(text, "t.py")
    assert md.startswith("# Title\n\nSome text.\n\n```python\nx = 1\n```\n\nMore.\n")
    assert "[`docs/tutorials/t.py`](t.py)" in md


def test_every_verify_detail_line_states_a_number():
    """docs/verify.md (written by ``nnfield verify --markdown``): each check's detail gives its measured number."""
    import re

    rows = []
    for line in (ROOT / "docs" / "verify.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 7 and cells[0] not in ("equation",) and not cells[0].startswith("---"):
            rows.append(cells)
    assert len(rows) >= 50
    number = re.compile(r"\d\.\d|\d+e[-+]\d+|\b\d+(\.\d+)?%|= \d+\b")
    missing = [r[0] for r in rows if not number.search(r[6])]
    assert not missing, f"detail lines without a number: {missing}"


def test_config_md_documents_every_theory_key():
    """Every registered theory has a ``### `name = "..."` `` section in docs/config.md that names each of its
    ``[theory]`` keys (a docs audit found five theories' keys missing from the page that promised them)."""
    import re

    from nnfield.theories import load_all, registry

    load_all()
    text = (Path(__file__).resolve().parents[1] / "docs" / "config.md").read_text()
    sections = re.split(r"(?m)^(?=##+ )", text)
    for name, spec in registry.THEORIES.items():
        mine = [sec for sec in sections if sec.startswith("### ") and f'`name = "{name}"`' in sec.splitlines()[0]]
        assert mine, f"docs/config.md has no section for theory {name!r}"
        missing = [key for key in spec.keys if f"`{key}`" not in mine[0]]
        assert not missing, f"docs/config.md, theory {name!r}: keys {missing} not documented"
