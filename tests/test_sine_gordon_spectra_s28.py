"""A twisted (kink) sine-Gordon field records the spectrum of its periodic part (session 28).

The stored period of the lifted field jumps by the twist ``2 pi / b`` at the boundary: its spectrum was that seam's
(``P_phi ~ 1/k^2``; occupation 1.2e-2 per mode at the zone edge for the shipped kink), not the smooth kink's.
``spectral_fields`` now records ``phi - twist i_0 / N_0``, periodic and as smooth as the kink.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from nnfield import runner
from nnfield.config import load_config

jax.config.update("jax_enable_x64", True)
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sine_gordon_kink.toml"


def test_the_kink_spectrum_is_the_smooth_periodic_part():
    model, state = runner.build(load_config(EXAMPLE))
    twist = model.theory.twist
    raw = np.asarray(model.decode(state)[0][0])
    rec = np.asarray(model.spectral_fields(state)["phi"][0])
    n = raw.shape[0]
    np.testing.assert_allclose(rec, raw - twist * np.arange(n) / n, rtol=0, atol=1e-15 * twist)
    # periodic: the step across the boundary is like every other step (the raw field jumps by the twist there)
    steps = np.diff(np.concatenate([rec, rec[:1]]))
    assert abs(steps[-1]) <= np.abs(steps[:-1]).max()
    assert abs(raw[0] - raw[-1]) > 0.9 * twist
    # and its spectrum decays: at the zone edge below 1e-12 of the peak, where the seam's 1/k^2 left 8e-6
    power = {name: np.abs(np.fft.rfft(x)) ** 2 for name, x in (("raw", raw), ("rec", rec))}
    assert power["raw"][-1] / power["raw"][1:].max() > 1e-6
    assert power["rec"][-1] / power["rec"][1:].max() < 1e-12
