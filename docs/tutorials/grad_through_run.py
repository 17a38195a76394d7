# %% [markdown]
# # Differentiating through a run with `jax.grad`
#
# The learning step of every network is itself computed by JAX autodiff of the loss. One level up,
# `network.run` (a jitted `lax.scan`) is differentiable as a whole: the gradient of anything measured after a
# run with respect to the parameters of the network or to the initial data is one `jax.grad` away. Here: the
# derivative of the final energy with respect to the mass, checked against central finite differences.

# %%
import jax

jax.config.update("jax_enable_x64", True)  # finite differences need float64 to agree to ~1e-10

import jax.numpy as jnp
import numpy as np

from nnfield import Lattice
from nnfield.theories import klein_gordon as kg

lattice = Lattice((32,), spacing=0.5)
(x,) = lattice.coordinates()
phi0 = np.exp(-((x - 8.0) ** 2))[None]
pi0 = np.zeros_like(phi0)

# %% [markdown]
# ## The quantity: the energy after 100 ticks, as a function of the mass

# %%


def final_energy(m):
    model = kg.model(lattice, m=m, dt=0.1, network="3.8", scheme="leapfrog")
    _, obs = model.network.run(model.encode(phi0, pi0), steps=100, every=100, observer=model.observables)
    return obs["energy"][-1]


# %% [markdown]
# ## `jax.grad` against finite differences
#
# The central difference `(E(m + h) - E(m - h)) / 2h` has an error `O(h^2)` plus round-off `eps E / h`; at
# `h = 1e-5` both are around `1e-10`.

# %%
m0, h = 1.0, 1e-5
grad = float(jax.grad(final_energy)(m0))
fd = float((final_energy(m0 + h) - final_energy(m0 - h)) / (2 * h))
print(f"dE/dm: jax.grad {grad:.12f}, finite differences {fd:.12f}, relative difference {abs(grad - fd) / abs(fd):.1e}")
assert abs(grad - fd) < 1e-8 * abs(fd)

# %% [markdown]
# ## Composing transformations
#
# `jit`, `vmap` and `grad` compose: the derivative at several masses in one compiled program.

# %%
masses = jnp.array([0.5, 1.0, 1.5])
grads = jax.jit(jax.vmap(jax.grad(final_energy)))(masses)
print("dE/dm at m =", np.asarray(masses), ":", np.asarray(grads))
assert np.allclose(grads[1], grad, rtol=1e-12)

# %% [markdown]
# ## Gradient with respect to the initial data
#
# The same works for the state: the gradient of the final energy with respect to `phi(0)` is a field on the
# lattice. The discrete energy (the leapfrog invariant) is conserved exactly, so its gradient through the run
# equals its gradient at `t = 0`: a check that the backward pass runs the network's adjoint correctly.

# %%
model = kg.model(lattice, m=1.0, dt=0.1, network="3.8", scheme="leapfrog")


def final_invariant(phi):
    _, obs = model.network.run(model.encode(phi, pi0), steps=100, every=100, observer=model.discrete_energy)
    return obs[-1]


g_run = jax.grad(final_invariant)(jnp.asarray(phi0))
g_start = jax.grad(lambda phi: model.discrete_energy(model.encode(phi, pi0)))(jnp.asarray(phi0))
print(f"max |grad through the run - grad at t = 0| = {float(jnp.max(jnp.abs(g_run - g_start))):.1e}")
assert jnp.allclose(g_run, g_start, atol=1e-12)

# %% [markdown]
# Reverse-mode differentiation of a `lax.scan` keeps the state of every tick for the backward pass (memory
# grows with `steps`); for long runs wrap the function in `jax.checkpoint` or use forward mode (`jax.jacfwd`)
# for a few parameters.
