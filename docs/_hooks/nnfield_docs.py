"""MkDocs hooks of the nnfield site (``mkdocs.yml``: ``hooks``).

- Tutorials: every ``docs/tutorials/NAME.py`` (a jupytext "percent" script: ``# %% [markdown]`` cells of
  ``# ``-commented Markdown and ``# %%`` code cells) becomes the page ``tutorials/NAME.md``: Markdown cells as
  text, code cells as Python blocks. The scripts themselves run as plain Python (``tests/test_tutorials.py``).
- Navigation: a page of ``docs/`` that ``nav`` does not list is appended under "More topics", so a page added
  by another change is built and reachable without editing ``mkdocs.yml``.
- Docstrings: the reST roles of the docstrings (``:func:`x```) are shown as plain code (``x``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

CELL = re.compile(r"^# %%(?P<rest>.*)$")
ROLE = re.compile(r":(?:func|class|mod|meth|data|attr|exc|obj|py:\w+):(?=<code>)")


def percent_to_markdown(text: str, name: str) -> str:
    """The Markdown page of a percent-format script (``name``: the script's file name, linked at the end)."""
    cells: list[tuple[str, list[str]]] = []
    kind, lines = "code", []
    for line in text.splitlines():
        m = CELL.match(line)
        if m:
            if any(s.strip() for s in lines):
                cells.append((kind, lines))
            kind, lines = ("markdown" if "[markdown]" in m.group("rest") else "code"), []
            continue
        lines.append(line)
    if any(s.strip() for s in lines):
        cells.append((kind, lines))
    out: list[str] = []
    for kind, body in cells:
        while body and not body[-1].strip():
            body = body[:-1]
        while body and not body[0].strip():
            body = body[1:]
        if kind == "markdown":
            out.append("\n".join(re.sub(r"^# ?", "", s) for s in body))
        else:
            out.append("```python\n" + "\n".join(body) + "\n```")
    out.append(f"*This page is the script [`docs/tutorials/{name}`]({name}); run it with "
               f"`python docs/tutorials/{name}` (the test suite does).*")
    return "\n\n".join(out) + "\n"


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    docs = Path(config["docs_dir"])
    for script in sorted((docs / "tutorials").glob("*.py")):
        page = f"tutorials/{script.stem}.md"
        if files.get_file_from_path(page) is None:
            files.append(File.generated(config, page, content=percent_to_markdown(
                script.read_text(encoding="utf-8"), script.name)))
    return files


def _listed(nav: Any) -> set[str]:
    out: set[str] = set()
    for item in nav or []:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            out |= _listed(value)
        elif isinstance(value, str):
            out.add(value)
    return out


def on_config(config: Any) -> Any:
    nav = config.get("nav")
    if not nav:
        return config
    docs = Path(config["docs_dir"])
    listed = _listed(nav)
    pages = sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*.md") if not p.name.startswith("_")
                   and "_hooks" not in p.parts)
    pages += [f"tutorials/{p.stem}.md" for p in sorted((docs / "tutorials").glob("*.py"))]
    missing = [p for p in pages if p not in listed and p != "README.md"]
    if missing:
        nav.append({"More topics": [{_title(docs / p, p): p} for p in missing]})
    return config


def _title(path: Path, rel: str) -> str:
    if path.suffix == ".md" and path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return Path(rel).stem.replace("_", " ").replace("-", " ")


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    return ROLE.sub("", html)
