r"""The explicit halo exchange of a sharded run: ghost rows refreshed once per tick, not once per shifted read.

A sharded run splits the first lattice axis ``N_1`` over a 1D mesh of devices (:mod:`nnfield.parallel`). Left to
XLA's SPMD partitioner, every periodic shift of a split field becomes its own boundary exchange (a
collective-permute): 5 per merged leapfrog tick of the 3D Klein-Gordon network on 2 devices, 60 per tick of the
gauged Dirac network. Each costs a collective's latency, which dominates on CPU processes (gloo) and matters on
GPUs.

:class:`HaloNetwork` runs the same network inside ``jax.shard_map`` instead: each device keeps its block padded
by ``G`` ghost rows on both sides of ``N_1`` and refreshes them from its neighbours with two ``ppermute`` per
field, through the network's :meth:`~nnfield.network.AbstractNetwork.advance_synced` hook, i.e. before every
tick (for the leapfrog scheme, before every merged kick-drift pair). Inside its block a device applies the
network's own update (the learning gradient is still JAX autodiff of the loss) to the padded block with periodic
shifts; the rows the wrap-around corrupts stay inside the ghost region as long as ``G`` is at least the tick's
reach along ``N_1`` (the largest distance over which one tick moves information). The interior then equals
the unsharded result up to rounding (the same arithmetic on the same values: the 3D Klein-Gordon program equals
the partitioned one bit for bit), so the scheme's order of accuracy is the network's own. The model's per-site
fields (link coefficients) are padded the same way once per call.

Nothing about a network is assumed. :func:`with_halo` measures the reach of one tick on the run's own network and
a perturbed copy of the run's state (a band of one row changed, the rows that change counted: every data path,
whatever its arithmetic), and then checks that three ticks with the exchange equal three ticks partitioned by XLA
to rounding; both on a float64 copy of a float32 run's network and state (:func:`_widened`), whose rounding
would hide a small dependence on where the lattice wraps.
A network the exchange cannot reproduce (one whose tick reads the global lattice shape, e.g. a twisted boundary
condition; a reach wider than a device's block) keeps XLA's partitioning, and the run's log says why.

Config ``[parallel] halo = true`` (with ``devices`` more than one). Measurements: ``benchmarks/halo_exchange.py``
and ``docs/scaling.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding

from . import parallel
from ._xla import SmallRunOnceJit
from .lattice import Lattice
from .network import AbstractNetwork
from .sharding import AXIS, lattice_mesh

#: the agreement the check of :func:`with_halo` asks for, in units of the precision's epsilon times the state's scale
TOLERANCE_EPS = 1e4


class HaloNetwork(AbstractNetwork):
    """``inner`` advanced block by block with ``ghost`` rows exchanged before every tick (module docstring).

    A drop-in :class:`~nnfield.network.AbstractNetwork` for the chunk program of a sharded run: ``advance(state,
    n)`` takes and returns the global (sharded) state; the observables are computed on it as before.
    """

    inner: AbstractNetwork
    devices: int = eqx.field(static=True)
    ghost: int = eqx.field(static=True)

    @property
    def lattice(self) -> Lattice:  # type: ignore[override]
        return self.inner.lattice

    @property
    def dt(self) -> Any:  # type: ignore[override]
        return self.inner.dt

    @property
    def tick(self) -> Any:  # type: ignore[override]
        return self.inner.tick

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.inner.name

    @property
    def K(self) -> int:
        return self.inner.K

    @property
    def order(self) -> int:
        return self.inner.order

    def step(self, state: Any) -> Any:
        return self.advance(state, 1)

    def perturbation_step(self, delta: Any) -> Any:
        return self.inner.perturbation_step(delta)

    def advance(self, state: Any, n: int) -> Any:
        if n == 0:
            return state
        shape = tuple(int(s) for s in self.lattice.shape)
        arrays, static = eqx.partition((self.inner, state), eqx.is_array)
        leaves, treedef = jax.tree_util.tree_flatten(arrays)
        axes = [parallel.site_axis(x, shape) for x in leaves]
        specs = [parallel.site_spec(a, len(x.shape)) for a, x in zip(axes, leaves, strict=True)]
        G, D = self.ghost, self.devices
        up = [(i, (i + 1) % D) for i in range(D)]
        down = [(i, (i - 1) % D) for i in range(D)]

        def refresh(x: jax.Array, axis: int) -> jax.Array:
            """The ghost rows of a padded block (``G`` + interior + ``G`` along ``axis``) from the neighbours.

            Written as pad + select (like the shifts, :mod:`nnfield.operators`), which XLA fuses into the
            fields' consumers: an in-place ``dynamic_update_slice`` of a loop-carried block made XLA:CPU copy
            the block first (two copies of the state per tick)."""
            if G == 0:
                return x
            P = x.shape[axis]
            m = P - 2 * G
            below = jax.lax.ppermute(jax.lax.slice_in_dim(x, m, m + G, axis=axis), AXIS, up)
            above = jax.lax.ppermute(jax.lax.slice_in_dim(x, G, 2 * G, axis=axis), AXIS, down)
            zero = jnp.zeros((), x.dtype)
            cfg_below = [(0, 0, 0)] * x.ndim
            cfg_above = [(0, 0, 0)] * x.ndim
            cfg_below[axis] = (0, P - G, 0)
            cfg_above[axis] = (P - G, 0, 0)
            row = jax.lax.broadcasted_iota(jnp.int32, x.shape, axis)
            return jnp.where(row < G, jax.lax.pad(below, zero, cfg_below),
                             jnp.where(row >= P - G, jax.lax.pad(above, zero, cfg_above), x))

        def pad(x: jax.Array, axis: int) -> jax.Array:
            widths = [(0, 0)] * x.ndim
            widths[axis] = (G, G)
            return jnp.pad(x, widths)

        n_inner = len(jax.tree_util.tree_leaves(eqx.filter(self.inner, eqx.is_array)))

        def local(*blocks: jax.Array) -> list[jax.Array]:
            m = next(b.shape[a] for b, a in zip(blocks, axes, strict=True) if a is not None)
            # the network's site fields get their ghost rows here; the state's from the first sync
            padded = [b if a is None else refresh(pad(b, a), a) if i < n_inner else pad(b, a)
                      for i, (b, a) in enumerate(zip(blocks, axes, strict=True))]
            inner, s = eqx.combine(jax.tree_util.tree_unflatten(treedef, padded), static)
            local_shape = (m + 2 * G, *shape[1:])

            def sync(st: Any) -> Any:
                return jax.tree_util.tree_map(
                    lambda x: x if (a := parallel.site_axis(x, local_shape)) is None else refresh(x, a), st)

            out = inner.advance_synced(s, n, sync)
            return [x if (a := parallel.site_axis(x, local_shape)) is None else
                    jax.lax.slice_in_dim(x, G, G + m, axis=a) for x in jax.tree_util.tree_leaves(out)]

        out_tree = jax.tree_util.tree_structure(state)
        out_specs = [parallel.site_spec(parallel.site_axis(x, shape), len(x.shape))
                     for x in jax.tree_util.tree_leaves(state)]
        mapped = jax.shard_map(local, mesh=lattice_mesh(D), in_specs=tuple(specs), out_specs=out_specs,
                               check_vma=False)
        return jax.tree_util.tree_unflatten(out_tree, mapped(*leaves))


# ----------------------------------------------------------------------------------------------------------
# the reach of a tick and the check
# ----------------------------------------------------------------------------------------------------------
def _inexact(x: Any) -> bool:
    return eqx.is_array(x) and jnp.issubdtype(x.dtype, jnp.inexact)


def _noisy(state: Any) -> Any:
    """``state`` plus a deterministic pseudo-random perturbation of 1e-2 of each floating leaf's largest value plus
    one: ``sin`` of an irrational combination of the site's indices (traced: one small program; no random-number
    generator, whose compile cost 0.7 s)."""
    leaves, treedef = jax.tree_util.tree_flatten(state)
    out = []
    for i, x in enumerate(leaves):
        if not _inexact(x):
            out.append(x)
            continue
        real = jnp.finfo(x.dtype).dtype
        phase = sum((jax.lax.broadcasted_iota(real, x.shape, d) * (0.7548776662 + 0.5698402910 * d)
                     for d in range(x.ndim)), jnp.asarray(0.3 + i, real))
        noise = jnp.sin(12.9898 * phase) * 43.758
        noise = noise - jnp.floor(noise) - 0.5  # (roughly uniform in [-1/2, 1/2))
        if jnp.issubdtype(x.dtype, jnp.complexfloating):
            noise = noise + 1j * jnp.roll(noise, 1)
        scale = 1e-2 * (1.0 + jnp.max(jnp.abs(x)))
        out.append((x + scale * noise).astype(x.dtype))
    return jax.tree_util.tree_unflatten(treedef, out)


def _probe_state(state: Any) -> Any:
    """``state`` plus a small deterministic perturbation of every floating leaf (:func:`_noisy`), computed in one
    program on the devices where each leaf lives (the same in every process), so the probe never gathers the
    state."""
    placed = all(isinstance(getattr(x, "sharding", None), NamedSharding) for x in jax.tree_util.tree_leaves(state))
    noisy = (jax.jit(_noisy, out_shardings=jax.tree_util.tree_map(lambda x: x.sharding, state)) if placed else
             jax.jit(_noisy))
    return noisy(state)


def _widened(tree: Any) -> Any:
    """``tree`` with every floating leaf below double precision as float64 (complex as complex128), in one program
    on the devices where each leaf lives; ``tree`` itself when JAX's 64-bit mode is off or nothing is narrower.

    The reach and the check of :func:`with_halo` run on this copy: they are about the tick's data paths, which do
    not depend on the precision, but a float32 tick hides them. A contribution below half a float32 ulp of the
    state (the twisted boundary's ``dt`` times the twist: 3.8e-3 at ``dt = 2e-4`` on a kink of scale 6.3) is
    within the check's ``TOLERANCE_EPS`` float32 epsilons and changes no bit of a perturbed row's neighbours, so a
    float32 check accepted an exchange that gave the kink a wrong boundary (0.62 off after 500 ticks)."""
    if not jax.config.read("jax_enable_x64"):
        return tree
    arrays, static = eqx.partition(tree, _inexact)
    leaves = jax.tree_util.tree_leaves(arrays)
    if not any(jnp.finfo(x.dtype).bits < 64 for x in leaves):
        return tree

    def widen(x: jax.Array) -> jax.Array:
        return x.astype(jnp.complex128 if jnp.issubdtype(x.dtype, jnp.complexfloating) else jnp.float64)

    return eqx.combine(jax.jit(lambda a: jax.tree_util.tree_map(widen, a))(arrays), static)


def _band(tree: Any, shape: tuple[int, ...], row: int) -> Any:
    """``tree`` with row ``row`` of ``N_1`` of every lattice field changed (a band one row wide), in one program."""
    arrays, static = eqx.partition(tree, _inexact)

    def change(arrs: Any) -> Any:
        def one(x: Any) -> Any:
            a = parallel.site_axis(x, shape)
            if a is None:
                return x
            idx = (slice(None),) * a + (row,)
            return x.at[idx].set(x[idx] * 1.5 + 0.25)

        return jax.tree_util.tree_map(one, arrs)

    return eqx.combine(jax.jit(change)(arrays), static)


def _tick_impl(net: AbstractNetwork, state: Any) -> Any:
    return net.advance_synced(state, 1, lambda x: x)


#: one tick, the same for a network and its :class:`HaloNetwork` (whose ``advance_synced`` of one tick is its
#: sharded ``advance``); called a few times per run, so on a small lattice compiled without LLVM's optimizations
#: (the check compares a program with itself bit for bit, and two programs to 10^4 epsilons)
_tick = SmallRunOnceJit(_tick_impl)


def reach(net: AbstractNetwork, state: Any) -> int | None:
    """How far one tick of ``net`` moves information along ``N_1`` (in sites), measured on ``state``: row
    ``N_1 / 2`` of every lattice field of the network and the state is changed and the rows of the ticked state
    that differ in any bit are counted (so every data path counts, even one whose contribution cancels).
    ``None`` when more than a quarter of the lattice changes (a tick that reads the whole lattice)."""
    shape = tuple(int(s) for s in net.lattice.shape)
    n1, row = shape[0], shape[0] // 2
    clean = _tick(net, state)
    dirty = _tick(_band(net, shape, row), _band(state, shape, row))

    def differ(c: Any, d: Any) -> jax.Array:  # (reduced on the devices: N_1 flags come back)
        flags = jnp.zeros(n1, bool)
        for a, b in zip(jax.tree_util.tree_leaves(c), jax.tree_util.tree_leaves(d), strict=True):
            ax = parallel.site_axis(a, shape)
            if ax is not None:
                flags = flags | jnp.any(a != b, axis=tuple(i for i in range(a.ndim) if i != ax))
        return flags

    changed = np.asarray(parallel.to_host(jax.jit(differ)(clean, dirty)))
    rows = np.flatnonzero(changed)
    if rows.size == 0:
        return 0
    dist = np.minimum(np.abs(rows - row), n1 - np.abs(rows - row))
    r = int(dist.max())
    return None if r > n1 // 4 else r


def with_halo(net: AbstractNetwork, state: Any, devices: int, say: Callable[[str], None] | None = None
              ) -> AbstractNetwork:
    """``net`` as a :class:`HaloNetwork` over ``devices`` when the explicit exchange reproduces it, else ``net``
    (XLA's partitioning) with a note through ``say``: one device; a reach wider than a device's block or the
    whole lattice; three ticks that differ from the partitioned ones by more than rounding
    (``TOLERANCE_EPS`` epsilons of the state's scale; e.g. a network whose tick reads the global lattice shape).
    ``state`` is the run's (sharded) state; the probes run on a noisy copy of it, in float64 when JAX's 64-bit
    mode is on (:func:`_widened`: a float32 run's network is checked with float64's tolerance)."""
    say = say or (lambda _msg: None)
    if devices < 2:
        return net
    n1 = int(net.lattice.shape[0])
    block = n1 // devices
    run_net = net
    net, probe = _widened(net), _widened(_probe_state(state))  # (in float64: a float32 tick hides data paths)
    r = reach(net, probe)
    if r is None or r > block:
        why = (f"a tick changes rows more than a quarter of the first lattice axis ({n1} sites) away: it reads the "
               f"whole lattice, or the axis is too short for the exchange" if r is None else
               f"a tick reaches {r} rows, more than a device's block of {block}")
        say(f"parallel.halo: not used ({why}); XLA's partitioning exchanges the halo instead")
        return run_net
    halo = HaloNetwork(net, devices, r)
    ref, got = probe, probe
    for _ in range(3):  # one compiled tick each, called three times (the reference's is the one reach compiled)
        ref, got = _tick(net, ref), _tick(halo, got)
    floats = [(a, b) for a, b in zip(jax.tree_util.tree_leaves(ref), jax.tree_util.tree_leaves(got), strict=True)
              if _inexact(a)]
    eps = max((float(jnp.finfo(a.dtype).eps) for a, _ in floats), default=0.0)

    def stats(pairs: Any) -> tuple[jax.Array, jax.Array]:
        worst = jnp.max(jnp.stack([jnp.max(jnp.abs(a - b), initial=0.0) for a, b in pairs]))
        scale = jnp.max(jnp.stack([jnp.max(jnp.abs(a), initial=0.0) for a, _ in pairs]))
        return worst, scale

    worst, scale = (float(parallel.to_host(v)) for v in jax.jit(stats)(floats)) if floats else (0.0, 0.0)
    if not worst <= TOLERANCE_EPS * eps * max(scale, 1e-300):
        say(f"parallel.halo: not used (three ticks with the exchange differ from XLA's partitioning by {worst:.3g} "
            f"at a state scale of {scale:.3g}: the tick depends on where the whole lattice wraps, e.g. a twisted "
            "boundary); XLA's partitioning exchanges the halo instead")
        return run_net
    say(f"parallel.halo: {r} ghost row{'s' if r != 1 else ''} per side, exchanged before every tick "
        f"({devices} devices, blocks of {block} rows)")
    return HaloNetwork(run_net, devices, r)
