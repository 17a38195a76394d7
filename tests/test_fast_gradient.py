"""The one-pass learning gradient of a :class:`~nnfield.network.SplitPerTypeLoss` equals the generic one.

The generic path takes one reverse-mode pass per neuron type and keeps the diagonal ``dH_a/dpi^a`` (eq. 4.14);
the structured path gets all K components from one ``jax.grad`` of the declared shared + own parts. Both are
autodiff of the same loss, so they agree to round-off (float64): the tolerance is ``1e3 eps`` times the size of
the terms summed. Every Dirac and gauged Dirac network is checked, and a loss whose own part reads ``phi`` with
a bias map that has type-diagonal blocks (the ``diag(B)^T`` term).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice, Network, State, run
from nnfield import operators as ops
from nnfield.network import SplitPerTypeLoss
from nnfield.theories import clifford, dirac, gauge
from nnfield.theories.gauge.links import U1Links

EPS = np.finfo(np.float64).eps
SHAPES = {1: (10,), 2: (6, 5), 3: (4, 5, 3)}


def _check(net, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    shape = (net.K, *net.lattice.shape)
    phi, pi = jnp.asarray(rng.normal(size=shape)), jnp.asarray(rng.normal(size=shape))
    fast = np.asarray(jax.jit(net.learning_gradient)(phi, pi))
    generic = np.asarray(jax.jit(net.learning_gradient_generic)(phi, pi))
    scale = 1.0 + float(np.abs(generic).max())
    assert np.abs(fast - generic).max() <= 1e3 * EPS * scale
    assert np.abs(generic).max() > 0.1  # not a trivially zero comparison


#: 3D is slow: 1D and 2D keep every network x bias quick, and test_dirac_loss_readings_fast_equals_generic runs
#: the 3D paper network quick (the one-pass gradient has no dimension-specific code)
ND = [1, 2, pytest.param(3, marks=pytest.mark.slow)]


@pytest.mark.parametrize("nd", ND)
@pytest.mark.parametrize("bias", dirac.BIASES)
@pytest.mark.parametrize("kind", ["stable", "paper"])
def test_dirac_fast_gradient_equals_generic(nd: int, bias: str, kind: str) -> None:
    net = dirac.model(Lattice(SHAPES[nd], 0.8), 0.6, 0.1, network=kind, bias=bias).network
    assert isinstance(net.loss, SplitPerTypeLoss)
    _check(net)


@pytest.mark.parametrize("loss", ["corrected", "printed", "printed_summed"])
def test_dirac_loss_readings_fast_equals_generic(loss: str) -> None:
    _check(dirac.model(Lattice(SHAPES[3], 1.0), 0.6, 0.1, network="paper", bias="forward", loss=loss).network)


@pytest.mark.parametrize("nd", ND)
@pytest.mark.parametrize("bias", dirac.BIASES)
@pytest.mark.parametrize("network", ["stable", "paper"])
def test_gauged_fast_gradient_equals_generic(nd: int, bias: str, network: str) -> None:
    lat = Lattice(SHAPES[nd], 1.0)
    rng = np.random.default_rng(1)
    links = U1Links(rng.uniform(-1, 1, (nd, *lat.shape)), rng.uniform(-1, 1, lat.shape))
    net = gauge.link_network(lat, 0.5, 0.1, links, network=network, bias=bias)
    assert any(np.ndim(c) > 2 for c in net.inner.B.coeffs)  # per-site link coefficients
    _check(net.inner)


def test_linearized_per_site_C_fast_equals_generic() -> None:
    lat = Lattice(SHAPES[2], 1.0)
    X = clifford.representation(2)
    rng = np.random.default_rng(2)
    A0 = np.einsum("ab,...->ab...", X[0], rng.uniform(-0.3, 0.3, lat.shape))
    net = gauge.linearized_network(lat, 0.5, 0.1, X=X, A0=A0)
    assert np.ndim(net.loss.C) > 2
    _check(net)


class _OwnPhiLoss(SplitPerTypeLoss):
    """``H_a = 1/2 |pi|^2 + phi^a.phi^a + pi^a.(M frozen)^a + (pi^a)^2 phi^a`` (own part reads phi^a)."""

    M: np.ndarray

    def shared(self, phi, pi):
        return 0.5 * jnp.sum(pi * pi)

    def own(self, phi, pi, frozen):
        Mf = jnp.einsum("ab,b...->a...", self.M, frozen)
        return jnp.sum(phi * phi + pi * Mf + pi * pi * phi, axis=tuple(range(1, pi.ndim)))


def test_own_part_reading_phi_uses_the_type_diagonal_of_B() -> None:
    lat = Lattice((7, 6), 1.0)
    rng = np.random.default_rng(3)
    K = 3
    B = ops.LatticeOperator.from_terms(
        {(1, 0): rng.normal(size=(K, K)), (0, -1): np.diag(rng.normal(size=K)), (0, 0): rng.normal(size=(K, K))}, 2, K
    )
    M = rng.normal(size=(K, K)) * (1 - np.eye(K))  # own part reads frozen^b only for b != a
    net = Network.create(lat, ops.identity(2, K), B, _OwnPhiLoss(M), 0.1, "alternating")
    assert net.B.type_diagonal().shifts == ((0, -1), (0, 0), (1, 0))
    _check(net)


def test_type_diagonal_is_the_diagonal_blocks() -> None:
    rng = np.random.default_rng(4)
    C1, C2 = rng.normal(size=(3, 3)), rng.normal(size=(3, 3, 4, 5))
    op = ops.LatticeOperator.from_terms({(1, 0): C1, (0, 1): C2, (0, 0): np.fliplr(np.eye(3)) * [1, 0, 1]}, 2, 3)
    d = op.type_diagonal()
    expected = ops.LatticeOperator.from_terms(
        {(1, 0): np.diag(np.diag(C1)), (0, 1): C2 * np.eye(3)[:, :, None, None]}, 2, 3
    )
    np.testing.assert_array_equal(d.dense((4, 5)), expected.dense((4, 5)))
    for bias in dirac.BIASES:  # the Clifford factors have no diagonal: nothing reaches phi^a from pi^a
        assert dirac.bias_map(clifford.representation(3), Lattice((4, 4, 4)), bias).type_diagonal().shifts == ()


def test_run_with_fast_gradient_matches_generic_steps() -> None:
    """A few ticks of the stable 3+1 network: the run (fast gradient, two ticks per loop iteration) against
    ticks built from the generic gradient."""
    net = dirac.model(Lattice((4, 4, 4), 1.0), 0.5, 0.1, network="stable", bias="wilson").network
    rng = np.random.default_rng(5)
    s0 = State(jnp.asarray(rng.normal(size=(4, 4, 4, 4))), jnp.asarray(rng.normal(size=(4, 4, 4, 4))))
    out, _ = run(net, s0, 5)

    @jax.jit
    def tick(s):
        phi = net.activate(s.phi, s.pi, net.dt)
        return State(phi, s.pi - net.dt * net.learning_gradient_generic(phi, s.pi))

    ref = s0
    for _ in range(5):
        ref = tick(ref)
    assert np.abs(np.asarray(out.phi) - np.asarray(ref.phi)).max() <= 1e3 * EPS * 5
    assert np.abs(np.asarray(out.pi) - np.asarray(ref.pi)).max() <= 1e3 * EPS * 5
