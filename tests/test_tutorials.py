"""Every tutorial of ``docs/tutorials/`` runs as a plain script (each asserts its own numbers).

They are part of the documentation site (rendered by ``docs/_hooks/nnfield_docs.py``) and take a few seconds
each on small lattices, so all run in the quick suite.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).resolve().parents[1] / "docs" / "tutorials").glob("*.py"))


def test_the_four_tutorials_exist():
    assert {p.stem for p in TUTORIALS} >= {"first_field", "vmap_mass_sweep", "grad_through_run", "paper_errata"}


@pytest.mark.parametrize("script", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(script, tmp_path, monkeypatch, capsys):
    import jax

    monkeypatch.chdir(tmp_path)
    previous = jax.config.read("jax_enable_x64")
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        jax.config.update("jax_enable_x64", previous)
    assert capsys.readouterr().out.strip()  # it printed its results
