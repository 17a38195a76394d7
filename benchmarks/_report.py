"""The one way the benchmark scripts report: a Markdown table printed, and appended to ``--out`` when given."""

from __future__ import annotations


def emit(lines: list[str], out: str | None) -> str:
    """Print ``lines`` (joined, newline-terminated) and append them to the file ``out`` (e.g.
    ``benchmarks/RESULTS.md``) when it is given; returns the text."""
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        with open(out, "a", encoding="utf-8") as fh:
            fh.write(text)
    return text
