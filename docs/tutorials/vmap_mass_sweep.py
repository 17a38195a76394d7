# %% [markdown]
# # Sweeping the mass with `jax.vmap`
#
# A network is a PyTree (an equinox module) and `network.run` is a pure function of it, so JAX's
# transformations go through a whole run. Here `jax.vmap` runs one network per mass in a single compiled
# program, and the result is compared with the closed-form frequency of the leapfrog network.

# %%
import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp
import numpy as np

from nnfield import Lattice
from nnfield.theories import klein_gordon as kg

lattice = Lattice((16,), spacing=0.5)
dt, steps = 0.2, 100

# %% [markdown]
# ## One run as a function of the mass
#
# A uniform field `phi = 1`, `pi = 0` only has the `k = 0` mode, so the Klein-Gordon field oscillates as
# `cos(m t)`. The observer records `phi` at one site every tick. The model is built *inside* the function: the
# mass becomes a traced value in the network's coefficients and loss.

# %%
phi0 = np.ones((1, 16))
pi0 = np.zeros((1, 16))


def trajectory(m):
    model = kg.model(lattice, m=m, dt=dt, network="3.8", scheme="leapfrog")
    _, phi_site0 = model.network.run(model.encode(phi0, pi0), steps=steps, every=1,
                                     observer=lambda s: s.phi[0, 0])
    return phi_site0


masses = jnp.linspace(0.5, 3.0, 6)
phis = jax.jit(jax.vmap(trajectory))(masses)  # shape (masses, samples): one compiled program for all masses
print(phis.shape)

# %% [markdown]
# ## Against the closed forms
#
# The leapfrog network oscillates at `Omega = (2/dt) arcsin(m dt/2)` exactly (the discrete dispersion of a
# leapfrog integrator; check `(3.19) dispersion` of `nnfield verify`), close to the continuum `m` when `m dt` is
# small. The observer sees the state after each tick, so sample `j` is at `t = (j + 1) dt`.

# %%
t = dt * np.arange(1, steps + 1)
for m, phi in zip(np.asarray(masses), np.asarray(phis), strict=True):
    omega_leapfrog = 2 / dt * np.arcsin(m * dt / 2)
    dev_leapfrog = np.max(np.abs(phi - np.cos(omega_leapfrog * t)))
    dev_continuum = np.max(np.abs(phi - np.cos(m * t)))
    print(f"m = {m:.1f}: Omega = {omega_leapfrog:.5f}; max |phi - cos(Omega t)| = {dev_leapfrog:.1e}, "
          f"max |phi - cos(m t)| = {dev_continuum:.1e}")
    assert dev_leapfrog < 1e-10

# %% [markdown]
# ## Sweeps from a config
#
# The same from a TOML config is a `[sweep]` table (`"theory.mass" = [0.5, 1.0, 1.5]`, see
# [the configuration](../config.md)); `nnfield run` then advances every member with one
# `jax.jit(jax.vmap(...))` (`nnfield.ensemble.build_ensemble` and `run_ensemble` from Python).
