"""A nearly uniform charge density less its uniform background is neutral to the round-off of the density (session
41, found while timing compiles on 8-site lattices).

Maxwell-Dirac's Gauss projection takes ``rho - <rho>`` (the static neutralizing background). The neutrality check
of the Poisson solve measured ``sum (rho - <rho>)`` against ``sum |rho - <rho>|``; where the density is nearly
uniform (a packet as wide as the box) that difference is round-off everywhere, and ``examples/
maxwell_dirac_packets_1d.toml`` on 8 sites was refused: "a periodic lattice needs a neutral total charge ...
got -8.32667e-17". The scale is now that of ``rho`` itself (``u1.project(..., scale=)``), for the initial kinds and
for data files; a real net charge (no background) is still refused (``tests/test_gauge_file.py``).
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from nnfield.errors import ParameterError
from nnfield.lattice import Lattice
from nnfield.theories.u1 import project


def test_a_nearly_uniform_density_less_its_mean_projects() -> None:
    """``project`` of ``rho - <rho>`` for a density uniform up to 1e-12: refused against its own magnitude, accepted
    against the magnitude of ``rho`` (and Gauss's law then holds to round-off of ``rho``)."""
    lat = Lattice((8,), 0.25)
    rng = np.random.default_rng(3)
    rho = 2.0 + 1e-12 * rng.normal(size=8)
    diff = rho - rho.mean()
    assert abs(np.sum(diff)) > 1e-15 * np.sum(np.abs(diff))  # (the round-off of the difference, not a charge)
    E0 = np.zeros((1, 8))
    with pytest.raises(ParameterError, match="neutral total charge"):
        project(lat, E0, diff)
    E = project(lat, E0, diff, scale=float(np.sum(np.abs(rho))))
    div = (E[0] - np.roll(E[0], 1)) / lat.spacing
    assert np.abs(div - diff).max() <= 1e-14 * np.abs(rho).max()


def test_maxwell_dirac_packets_on_a_box_they_fill_satisfy_gauss_law() -> None:
    """The 1D Maxwell-Dirac example's two packets on 8 sites (width 2 on a box of length 2): built, and the
    network's Gauss residual at round-off."""
    from pathlib import Path

    from nnfield import runner
    from nnfield.config import parse_config

    text = (Path(__file__).resolve().parent.parent / "examples" / "maxwell_dirac_packets_1d.toml").read_text()
    cfg = parse_config(text.replace("shape = [256]", "shape = [8]"))
    assert cfg.lattice.shape == (8,) or list(cfg.lattice.shape) == [8]
    model, state = runner.build(cfg)
    residual = float(jax.jit(model.gauss_residual)(state))
    assert residual <= 1e-13, residual
