"""Bugs found by a hostile hunt through parameter sweeps and ensembles (session 27).

Each test failed before its fix: a swept ``[output]``/``[parallel]`` key accepted by the Python API (a swept
``output.precision`` ran every member in the first member's precision), a ``[sweep]`` key given both quoted and
as a dotted key (TOML takes both; one list silently replaced the other), and the plot titles of a sweep written
with dotted keys (they named the base value of a swept parameter as if it were the run's)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnfield import ensemble
from nnfield.config import parse_config
from nnfield.errors import ConfigError
from nnfield.io import RunData
from nnfield.plotting import _title

BASE = """\
[theory]
name = "klein-gordon"
mass = 1.0
[lattice]
shape = [16]
spacing = 0.5
[time]
dt = 0.1
steps = 20
[initial]
kind = "random_spectrum"
[output]
every = 5
"""


@pytest.mark.parametrize("sweep", [{"output.precision": ["float64", "float32"]},
                                   {"output.snapshot_every": [0, 10]},
                                   {"parallel.devices": [1, 2]},
                                   {"title.x": [1, 2]}])
def test_the_python_api_refuses_what_a_config_sweep_refuses(sweep):
    """``build_ensemble`` takes the keys of the config's ``[sweep]`` table and no others: the members share one
    compiled program, so its precision and cadences cannot differ between them. Before, the API accepted them
    (only the config table refused them): ``output.precision = ["float64", "float32"]`` built and ran both members
    in float64, and a key of a non-table (``title.x``) raised a bare ``TypeError``."""
    cfg = parse_config(BASE)
    key = next(iter(sweep))
    with pytest.raises(ConfigError, match=rf"^sweep\.{key}: expected a key table\.key of \[theory\], \[lattice\]"):
        ensemble.build_ensemble(cfg, sweep)
    with pytest.raises(ConfigError, match=rf"sweep\.{key}: expected a key table\.key"):  # as the config table says
        parse_config(BASE + f'[sweep]\n"{key}" = {[v for v in sweep[key]]!r}\n'.replace("'", '"'))


@pytest.mark.parametrize("order", ["quoted first", "dotted first"])
def test_a_sweep_key_given_quoted_and_dotted_is_refused(order):
    """``"theory.mass" = [...]`` and ``theory.mass = [...]`` are two TOML keys (one a nested table) naming one
    config key; before, the second silently replaced the first (here a 2-member sweep became a 3-member one)."""
    quoted, dotted = '"theory.mass" = [0.5, 1.0]', "theory.mass = [2.0, 3.0, 4.0]"
    lines = (quoted, dotted) if order == "quoted first" else (dotted, quoted)
    with pytest.raises(ConfigError, match=r"sweep\.theory\.mass: given twice"):
        parse_config(BASE + "[sweep]\n" + "\n".join(lines) + "\n")
    # one form each is still taken, whichever form
    cfg = parse_config(BASE + '[sweep]\n"time.dt" = [0.1, 0.05]\ntheory.mass = [0.5, 1.0]\n')
    assert cfg.sweep == {"time.dt": [0.1, 0.05], "theory.mass": [0.5, 1.0]}


@pytest.mark.parametrize("form", ['"theory.mass" = [0.5, 2.0]\n"time.dt" = [0.1, 0.05]\n',
                                  "theory.mass = [0.5, 2.0]\ntime.dt = [0.1, 0.05]\n",
                                  "[sweep.theory]\nmass = [0.5, 2.0]\n[sweep.time]\ndt = [0.1, 0.05]\n"])
def test_plot_titles_name_swept_parameters_in_every_key_form(form):
    """The plots' title names a swept theory parameter and a swept ``dt`` as swept; before, a sweep written with
    unquoted dotted keys (or ``[sweep.theory]`` tables, which docs/config.md allows) got ``mass = 1.0`` and
    ``dt = 0.1``: the base config's values, which no member has."""
    text = BASE + ("[sweep]\n" + form if not form.startswith("[sweep.") else form)
    parse_config(text)  # a valid config
    attrs = {"config": text, "shape": [16], "spacing": 0.5, "dt": 0.1, "scheme": "leapfrog", "status": "completed"}
    run = RunData(Path("run.h5"), attrs, {}, np.zeros(0, int), np.zeros(0), np.zeros(0, int), np.zeros(0))
    title = _title(run)
    assert "mass swept" in title and "dt swept" in title, title
    assert "mass = 1" not in title and "dt = 0.1" not in title, title
