"""The dynamical gauge networks' learning step as compiled since session 32 (scalar QED 0.78x -> 0.9x numba).

Two changes, each a different evaluation of the same mathematics:

- ``GaugeNetwork.gradients`` applies the chain rule in two parts (``jax.grad`` of the loss at ``(theta, phi)``,
  then ``jax.vjp`` of the activation map ``p -> phi + B (p - pi)``) instead of one ``jax.grad`` of the composition,
  which evaluated the loss at ``phi + B (pi - pi)`` and so read ``pi`` at every read of ``phi``;
- scalar QED's losses (the scalar's hopping and the network's Wilson loss) lower their shifts along the contiguous
  axis as a repeated slice (``ScalarMatter.minor = "repeat"``), not slice/pad/select (whose wrapped edges XLA:CPU
  materialized as field-sized temporaries); Maxwell and Maxwell-Dirac keep slice/pad/select.

What is asserted: the gradients equal the composition's ``jax.grad`` (the old form, written here as the reference)
to round-off, the loss is no longer evaluated at ``phi + B (pi - pi)`` (the jaxpr), the shifts are the same
permutation in both lowerings, each network's losses lower as declared, and a scalar-QED run equals the run with
the old lowering to round-off. Speed is measured by ``benchmarks/u1_step.py``, never here.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice
from nnfield.network import run
from nnfield.theories import maxwell
from nnfield.theories import maxwell_dirac as md
from nnfield.theories import scalar_qed as sq
from nnfield.theories.u1 import WilsonLoss, _lattice
from nnfield.theories.u1.network import LINKS, MATTER


def _composition_gradients(net, state):
    """The reference: one ``jax.grad`` of ``L(theta, phi + B (p - pi))`` at ``p = pi`` (the form before session 32)."""
    theta = tuple(state[LINKS][mu] for mu in range(net.lattice.ndim))
    phi, pi = state[MATTER].phi, state[MATTER].pi

    def through_activation(th, p):
        return net.loss(th, phi + net.matter.bias(p - pi))

    g_theta, g_pi = jax.grad(through_activation, argnums=(0, 1))(theta, pi)
    return jnp.stack(g_theta), g_pi


def _random_state(M, seed=3):
    rng = np.random.default_rng(seed)
    K = M.network.K
    shape = (K, *M.lattice.shape)
    return M.encode(0.7 * rng.standard_normal(shape), 0.7 * rng.standard_normal(shape))


@pytest.mark.parametrize("shape", [(9, 8), (6, 5, 4)])
def test_scalar_qed_gradients_equal_the_compositions_grad(shape):
    M = sq.model(Lattice(shape, 0.6), 0.05, charge=1.3, lam=0.4, v=0.9, m=0.3)
    s = _random_state(M)
    got = jax.jit(M.network.gradients)(s)
    want = jax.jit(lambda st: _composition_gradients(M.network, st))(s)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        # the same products and sums; only XLA's fusion (LLVM's multiply-add contraction) may differ
        assert float(jnp.abs(g - w).max()) <= 1e-13 * float(jnp.abs(w).max())


def _with_minor(net, minor):
    """``net`` with its losses' contiguous-axis shifts lowered as ``minor`` (``benchmarks/gauge_lowering.py``)."""
    net = eqx.tree_at(lambda m: m.wilson, net, WilsonLoss(net.wilson.charge, net.wilson.spacing, minor))
    return eqx.tree_at(lambda m: m.matter, net, dataclasses.replace(net.matter, minor=minor))


def test_each_gauge_network_declares_its_lowering():
    lat = Lattice((6, 5), 0.5)
    sqed = sq.model(lat, 0.05, charge=1.0, lam=0.5, v=1.0, m=0.0).network
    assert (sqed.matter.minor, sqed.wilson.minor) == ("repeat", "repeat")
    assert maxwell.model(lat, 0.05).network.wilson.minor == "pad"
    mdn = md.model(lat, 0.05).network
    assert (mdn.matter.minor, mdn.wilson.minor) == ("pad", "pad")


def _live(jaxpr):
    """``jaxpr`` without the equations its outputs do not need (what XLA compiles)."""
    from jax._src.interpreters import partial_eval as pe  # no public dead-code elimination of a jaxpr

    return pe.dce_jaxpr(jaxpr, [True] * len(jaxpr.outvars))[0]


def _self_subtractions(jaxpr) -> int:
    """How many ``sub x x`` equations the live part of ``jaxpr`` holds, inner jaxprs (``pjit``, ...) included."""
    jaxpr = _live(jaxpr)
    n = 0
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "sub" and eqn.invars[0] is eqn.invars[1]:
            n += 1
        for v in eqn.params.values():
            for inner in v if isinstance(v, tuple | list) else (v,):
                inner = getattr(inner, "jaxpr", inner)  # a ClosedJaxpr's
                if hasattr(inner, "eqns"):
                    n += _self_subtractions(inner)
    return n


def test_the_loss_is_evaluated_at_phi_not_at_phi_plus_zero():
    """No ``pi - pi`` in the learning step's jaxpr (its live part: the activation map's value, which ``jax.vjp``
    also computes, is dropped): the loss reads ``phi`` alone."""
    M = sq.model(Lattice((6, 6), 0.5), 0.05, charge=1.0, lam=0.5, v=1.0, m=0.0)
    s = _random_state(M)
    assert _self_subtractions(jax.make_jaxpr(M.network.gradients)(s).jaxpr) == 0
    # the reference form does subtract pi from itself (what the assertion above would catch)
    ref = jax.make_jaxpr(lambda st: _composition_gradients(M.network, st))(s).jaxpr
    assert _self_subtractions(ref) >= 1


@pytest.mark.parametrize("fn", [_lattice.forward, _lattice.backward])
@pytest.mark.parametrize("mu", [0, 1, 2])
def test_both_lowerings_are_the_same_permutation(fn, mu):
    f = jnp.asarray(np.random.default_rng(mu).standard_normal((3, 5, 4, 6)))
    ref = np.roll(np.asarray(f), -1 if fn is _lattice.forward else 1, axis=1 + mu)
    for minor in ("pad", "repeat"):
        got = jax.jit(lambda x, minor=minor: fn(x, mu, 3, minor=minor))(f)
        assert np.array_equal(np.asarray(got), ref), minor
    assert np.array_equal(np.asarray(jax.jit(lambda x: fn(x, mu, 3))(f)), ref)  # the default, pad


@pytest.mark.parametrize("minor", ["repeat", "pad"])
def test_scalar_qed_losses_lower_as_declared(minor):
    """With ``"repeat"`` the losses' lowered program has no ``pad`` (the forward loss has no other; its gradient has
    the transposes of component slices), with ``"pad"`` it has."""
    M = sq.model(Lattice((6, 5, 8), 0.5), 0.05, charge=1.0, lam=0.5, v=1.0, m=0.0)
    net = _with_minor(M.network, minor)
    s = _random_state(M)
    theta = tuple(s[LINKS][mu] for mu in range(3))
    text = jax.jit(net.loss).lower(theta, s[MATTER].phi).as_text()
    assert ("stablehlo.pad" in text) == (minor == "pad")


def test_a_scalar_qed_run_equals_the_old_lowering_to_round_off():
    lat = Lattice((8, 6, 6), 0.5)
    M = sq.model(lat, 0.05, charge=1.0, lam=0.5, v=1.0, m=0.0)
    phi, pi = sq.higgs_vacuum(lat, 1.0, 0.5, 1.0, 0.0, 1, 0.1, 0.05)
    s = M.encode(phi, pi)
    new, obs = run(M.network, s, 60, 20, M.observables)
    old, _ = run(_with_minor(M.network, "pad"), s, 60, 20, M.observables)
    for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(old), strict=True):
        # 60 leapfrog ticks of O(1) fields: round-off of each tick, accumulated (each differs by at most a few ulp)
        assert float(jnp.abs(a - b).max()) <= 1e-12
    assert float(np.max(obs["gauss_residual"])) < 1e-13
