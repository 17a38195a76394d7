# %% [markdown]
# # Kinks of the double well
#
# The network `W = B = I` with the loss `H = sum (grad phi)^2 / 2 + sum V(phi)` gives a scalar field with any local
# potential (Sec. 2 of the paper). With the double well `V = lam/4 (phi^2 - v^2)^2` (the broken phase of phi^4) the
# field has two vacua `+-v`, and walls between them: kinks. This tutorial builds that network, checks where its
# small waves live, measures a kink's energy, and collides kinks at several speeds in one compiled program.
#
# From a config the same network is `[theory] name = "phi4"`, `phase = "broken"` (`v = m / sqrt(lam)`), and the
# kinks are `[initial] kind = "kink"`; see `examples/phi4_kink_collision.toml`.

# %%
import math

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp
import numpy as np

from nnfield import Lattice, analysis, initial
from nnfield.state import State
from nnfield.theories import nonlinear as nl

lam, v = 1.0, 1.0
meson = math.sqrt(2 * lam) * v  # sqrt(V''(+-v))
lattice = Lattice((800,), spacing=0.05)  # a box of 40: 28 meson wavelengths
dt = 0.02
model = nl.double_well_model(lattice, lam, v, dt)

# %% [markdown]
# ## Where small waves live
#
# `phi = 0` is the top of the hill (`V''(0) = -lam v^2 < 0`): linearized there, the network grows at every `dt`.
# The potential knows its ground state (`nl.vacuum`), the network carries it (`network.ground`), and the linear
# analysis, the stability gate and `model.dispersion` are taken about it. About `+v` the field is a free field of
# mass `sqrt(2 lam) v`, so the leapfrog's eigenphases are `2 arcsin(omega dt / 2)` with
# `omega^2 = 2 lam v^2 + (4/a^2) sin^2(k a/2)`.

# %%
print("ground state:", nl.vacuum(model.theory.potential), "network.ground:", np.asarray(model.network.ground))
k = np.linspace(0.0, math.pi / lattice.spacing, 5)
omega = np.sqrt(meson**2 + 4 / lattice.spacing**2 * np.sin(k * lattice.spacing / 2) ** 2)
got = analysis.network_dispersion(model.network, [k])[:, 0]
print("network eigenphases / dt:", got)
print("leapfrog closed form:    ", 2 * np.arcsin(omega * dt / 2) / dt)
assert np.allclose(got, 2 * np.arcsin(omega * dt / 2) / dt, rtol=1e-12)

# %% [markdown]
# ## A kink's energy
#
# A periodic box holds no single kink (it joins `-v` to `+v`), so the initial data are a kink and an antikink
# (`initial.phi4_kink_pair`). At rest, far apart, the pair's energy is twice the kink mass
# `M = (2 sqrt 2 / 3) sqrt(lam) v^3`, up to the lattice's `O(a^2)`.

# %%
phi, pi = initial.phi4_kink_pair(lattice, meson, v, velocity=0.0, separation=20.0)
energy = float(model.theory.hamiltonian(phi, pi))
kink_mass = 2 * math.sqrt(2) / 3 * math.sqrt(lam) * v**3
print(f"energy {energy:.6f}, 2 M = {2 * kink_mass:.6f}, relative difference {energy / (2 * kink_mass) - 1:.1e}")
assert abs(energy / (2 * kink_mass) - 1) < (meson * lattice.spacing) ** 2

# %% [markdown]
# ## Collisions, one program for every speed
#
# The network does not depend on the initial data, so `jax.vmap` of `network.advance` runs a batch of pairs, one
# per speed, in one compiled program. Slow pairs are captured into a bion (an oscillating lump at the centre);
# above the critical speed `u_c ~ 0.26` they bounce once and escape (Campbell, Schonfeld and Wingate 1983;
# `scripts/phi4_collisions.py` scans the speeds finely and finds `u_c = 0.2600`). Every pair runs as long as the
# slowest needs (it meets at `t = 10 / u` and has 60 more), so the box is long enough that the escaping walls of
# the fastest never come round the periodic box. We then read the walls (the zero crossings of `phi`).

# %%
speeds = np.array([0.15, 0.3, 0.4])
box = Lattice((1600,), spacing=0.05)  # 80 long
collider = nl.double_well_model(box, lam, v, dt).network
pairs = [initial.phi4_kink_pair(box, meson, v, velocity=float(u), separation=20.0) for u in speeds]
batch = State(jnp.stack([p[0] for p in pairs]), jnp.stack([p[1] for p in pairs]))
steps = round((10 / speeds.min() + 60) / dt)
final = jax.jit(jax.vmap(collider.advance, in_axes=(0, None)), static_argnums=1)(batch, steps)

x = np.arange(box.shape[0]) * box.spacing - 40.0  # measured from the collision point
for u, f in zip(speeds, np.asarray(final.phi[:, 0]), strict=True):
    crossings = np.flatnonzero(np.sign(f[:-1]) * np.sign(f[1:]) < 0)
    half = float(np.max(np.abs(x[crossings]))) if len(crossings) else 0.0
    outcome = "escaped" if half > 6 else "captured"
    print(f"u = {u:.2f}: walls {half:5.2f} from the centre -> {outcome}")
    assert outcome == ("escaped" if u > 0.26 else "captured")
