# %% [markdown]
# # A first emergent field
#
# A network on a periodic lattice has non-trainable states `phi` and trainable variables `pi`. Its
# *activation* dynamics `phi <- phi + dt ((W - I) phi + B pi)` and its *learning* dynamics (gradient descent
# on a loss `H(phi, pi)`, computed by JAX autodiff) together form one tick. For the weights and loss of the
# paper's Sec. 3 (network (3.8), loss (3.11)) these two updates *are* the Klein-Gordon equation
# `d^2 phi/dt^2 = Lap phi - m^2 phi` on the lattice. This tutorial builds that network, runs it, and compares
# the result with the independent physics side (the exact lattice solution).

# %%
import jax

jax.config.update("jax_enable_x64", True)  # float64: conservation is then visible down to round-off

import numpy as np

import nnfield
from nnfield import Lattice
from nnfield.theories import klein_gordon as kg

# %% [markdown]
# ## The network and its physics side
#
# `kg.model` returns a *model*: the network (`model.network`, an `AbstractNetwork` with `step`, `run`, `dt`)
# together with the physics side (`model.theory`, a `KleinGordon` with its Hamiltonian and exact solution).
# `scheme="leapfrog"` orders the two updates symmetrically (half a learning step, an activation step, half a
# learning step), which makes the network a second-order, time-reversible integrator.

# %%
lattice = Lattice((128,), spacing=0.25)  # 128 sites, box length 32
model = kg.model(lattice, m=1.0, dt=0.1, network="3.8", scheme="leapfrog")
print(model.network.name, "| dt =", model.network.dt)
print("declared conserved:", [(c.name, c.kind) for c in model.conserved()])

# %% [markdown]
# ## Is it stable at this dt?
#
# `network.run` does not check; `nnfield run` refuses an unstable network with the same verdict that
# `nnfield.network_stability` gives here: the largest growth factor per step of the network's one-step Fourier
# symbol over the lattice's own 128 momenta, and the largest stable dt (a bisection that rebuilds the network
# with the factory). For this leapfrog the bound is `omega_max dt <= 2`, `omega_max^2 = m^2 + 4 / a^2`.

# %%
stab = nnfield.network_stability(model.network, lambda dt: kg.model(lattice, m=1.0, dt=dt).network)
print(stab.describe())
assert stab.stable and abs(stab.dt_max - 2 / np.sqrt(1.0 + 4 / 0.25**2)) < 1e-5

# %% [markdown]
# ## Initial data: a Gaussian packet at rest
#
# The network state is a `State(phi, pi)` of arrays shaped `(components, *lattice.shape)`; `model.encode`
# turns the physical field and its momentum into it.

# %%
(x,) = lattice.coordinates()
phi0 = np.exp(-((x - 16.0) ** 2) / 2.0)[None]  # shape (1, 128)
pi0 = np.zeros_like(phi0)
state0 = model.encode(phi0, pi0)

# %% [markdown]
# ## Run it
#
# `network.run` advances `steps` ticks in one jitted `lax.scan`, calling the observer every `every` ticks
# inside the scan. The observables of the model include the lattice energy (3.5) and the leapfrog invariant.

# %%
steps = 200
state, obs = model.network.run(state0, steps=steps, every=10, observer=model.observables)
energy, invariant = np.asarray(obs["energy"]), np.asarray(obs["discrete_energy"])
print(f"energy (3.5):      relative oscillation {np.ptp(energy) / energy[0]:.2e}")
print(f"discrete energy:   relative drift       {np.max(np.abs(invariant / invariant[0] - 1)):.2e}")
assert np.max(np.abs(invariant / invariant[0] - 1)) < 1e-12  # an exact invariant, conserved to round-off

# %% [markdown]
# ## Compare with the physics side
#
# The physics side knows nothing about networks: `KleinGordon.exact` propagates each Fourier mode with the
# lattice dispersion `omega_k^2 = m^2 + (4/a^2) sin^2(k a/2)`. The network's leapfrog has a time-step error of
# order `dt^2`, so halving `dt` should cut the difference by about 4.

# %%
t_end = steps * float(model.network.tick)
phi_exact, _ = model.theory.exact(phi0, pi0, t_end)


def error(dt: float) -> float:
    m = kg.model(lattice, m=1.0, dt=dt, network="3.8", scheme="leapfrog")
    n = round(t_end / dt)
    final, _ = m.network.run(m.encode(phi0, pi0), steps=n, every=n)
    phi, _ = m.decode(final)
    return float(np.max(np.abs(np.asarray(phi) - phi_exact)))


errors = [error(dt) for dt in (0.1, 0.05, 0.025)]
orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
print(f"max |phi_network - phi_exact| at t = {t_end:g}:", ", ".join(f"{e:.2e}" for e in errors))
print("measured order in dt:", ", ".join(f"{o:.2f}" for o in orders))
assert np.all(np.abs(orders - 2) < 0.2)

# %% [markdown]
# The field that the network's activation and learning produce *is* the lattice Klein-Gordon field, up to the
# declared second-order error of its time stepping; the same run from a TOML file is
# `nnfield run examples/kg_1d_packet.toml` (see [the command line](../cli.md)).
