# %% [markdown]
# # Where the paper is wrong, and what nnfield does instead
#
# nnfield implements the paper *as printed* and *corrected* and measures both (the full list is
# [the errata page](../errata.md); every entry is a check of `nnfield verify`). This tutorial reproduces three
# of them from Python in a few seconds: a sign in the weights of (3.8), the unit time step of (3.13)/(3.19),
# and the fermion doublers of the forward-difference bias map (4.24).

# %%
import jax

jax.config.update("jax_enable_x64", True)

import numpy as np

from nnfield import Lattice, analysis, paper
from nnfield.theories import dirac
from nnfield.theories import klein_gordon as kg

# %% [markdown]
# ## 1. The sign of `A` in (3.8)
#
# As printed, `A = -Lap + m^2`; then learning gives `d^2 phi/dt^2 = +(m^2 - Lap) phi`, the opposite sign of the
# Klein-Gordon equation, and every mode grows exponentially. The loss (3.11), differentiated by autodiff, gives
# the corrected `A = Lap - m^2`. `sign="printed"` builds the printed network; the linear analysis of
# `nnfield analyze` (`nnfield.analysis`, from the network's own one-step symbol) tells them apart.

# %%
lattice = Lattice((32, 32), spacing=0.5)
for sign in ("corrected", "printed"):
    net = kg.model(lattice, m=1.0, dt=0.05, scheme="leapfrog", sign=sign).network
    growth = analysis.max_amplification(net)
    print(f"(3.8) {sign:9s}: max growth per step {growth:.6f} ({'stable' if growth <= 1 + 1e-9 else 'unstable'})")

# %% [markdown]
# ## 2. Unit time steps
#
# The paper's networks take unit steps (`dt = 1`, `a = 1`). Network (3.14) is the leapfrog (3.19), stable only
# for `dt < 2 / sqrt(4 D / a^2 + m^2)`; at the paper's `dt = 1` in 3D its worst mode grows by `5 + 2 sqrt 6 =
# 9.899` per step. nnfield keeps `dt` (and `a`) as parameters, refuses unstable runs unless asked
# (`--allow-unstable`) and finds the largest stable step by bisection.

# %%
lat3 = Lattice((8, 8, 8), spacing=1.0)
unit = kg.model(lat3, m=0.0, dt=1.0, network="3.14").network
print(f"(3.19) at dt = 1: growth per step {analysis.max_amplification(unit):.6f} "
      f"(closed form {5 + 2 * np.sqrt(6):.6f})")
dt_max = analysis.largest_stable_dt(lambda dt: kg.model(lat3, m=0.0, dt=dt, network="3.14").network, 0.5)
print(f"largest stable dt: {dt_max:.6f} (closed form 2/sqrt(12) = {2 / np.sqrt(12):.6f})")
assert abs(dt_max - 2 / np.sqrt(12)) < 1e-5

# %% [markdown]
# ## 3. Fermion doublers of the forward-difference bias map (4.24)
#
# The Dirac network's modes see the singular values `sigma(k)` of the bias map's symbol `B(k)`; a zero of
# `B B^T` away from `k = 0` is a doubler, a second light fermion. The paper does not mention them. In 3D the
# forward map (4.24) has zeros on curves of the Brillouin zone (e.g. at `k a / pi = (1/2, -1/2, 0)`); the
# twisted Wilson map that nnfield adds has none. `doubler_analysis` counts the grid momenta where the smallest
# eigenvalue of `B(k) B(k)^T` vanishes, and the zero eigenvalues there.

# %%
lat_d = Lattice((16, 16, 16), spacing=1.0)
for bias in ("forward", "wilson"):
    model = dirac.model(lat_d, m=0.5, dt=0.1, network="stable", bias=bias)
    d = dirac.doubler_analysis(model.network.B, lat_d)  # on the lattice's own momenta (d["grid_source"])
    print(f"{bias:8s}: {d['count']} doubler momenta ({d['zero_eigenvalues']} zero eigenvalues of B B^T) on "
          f"{d['grid_source']}; smallest sigma for |k| >= pi/(2a): {d['min_sigma_away']:.3g}")
assert d["count"] == d["zero_eigenvalues"] == 0  # the Wilson map

# %% [markdown]
# ## The checks behind `nnfield verify`
#
# Each erratum is a registered check with an expected verdict; `nnfield verify` runs them all. One of them
# from Python:

# %%
check = next(c for c in paper.load_checks() if c.equation == "(3.8)")
outcome = check.fn()
print(f"{check.equation} expected {check.expected!r}, measured {outcome.verdict!r}: {outcome.detail}")
assert outcome.verdict == check.expected
