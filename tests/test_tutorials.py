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


#: grad_through_run is slow (14 s of eager evaluation); quick: test_network.py::test_grad_of_final_energy and
#: test_ensemble.py::test_grad_through_an_ensemble_member_matches_finite_differences check the same gradient
SLOW_TUTORIALS = {"grad_through_run"}


@pytest.mark.parametrize("script", [pytest.param(p, marks=pytest.mark.slow) if p.stem in SLOW_TUTORIALS else p
                                    for p in TUTORIALS], ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(script, tmp_path, monkeypatch, capsys):
    import jax

    monkeypatch.chdir(tmp_path)
    previous = jax.config.read("jax_enable_x64")
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        jax.config.update("jax_enable_x64", previous)
    assert capsys.readouterr().out.strip()  # it printed its results
