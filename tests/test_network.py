"""The network engine on the Klein-Gordon networks of Sec. 3: autodiff learning reproduces the paper's updates.

References are written independently with ``np.roll``. Tolerances are round-off: ``RTOL = 1e3 eps`` times
the size of the terms summed (a few dozen operations of that size per entry).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice, LinearNetwork, Network, State, run, trajectory
from nnfield import operators as ops
from nnfield.errors import ParameterError
from nnfield.theories import klein_gordon as kg

EPS = np.finfo(np.float64).eps
RTOL = 1e3 * EPS
SHAPES = {1: (8,), 2: (6, 5), 3: (4, 5, 3), 4: (3, 4, 3, 3)}
M = 0.8
# every D with spacing and step; the paper's unit step and spacing in D = 3 (and D = 1)
UNIT_AND_SCALED = [(1, 1.0, 1.0), (3, 1.0, 1.0)] + [(nd, 0.7, 0.3) for nd in (1, 2, 3, 4)]


def lap_np(phi: np.ndarray, a: float) -> np.ndarray:
    """Nearest-neighbour Laplacian of a field ``(1, *shape)`` by ``np.roll`` (the reference)."""
    axes = range(1, phi.ndim)
    return sum(np.roll(phi, 1, ax) - 2 * phi + np.roll(phi, -1, ax) for ax in axes) / a**2


def force(phi: np.ndarray, a: float, m: float) -> np.ndarray:
    """Right side of (3.10)/(3.13) with spacing: ``(Lap_a - m^2) phi``."""
    return lap_np(phi, a) - m**2 * phi


def scale_of(phi: np.ndarray, a: float, m: float) -> float:
    """Size of ``(Lap_a - m^2) phi`` term by term: ``(4 D / a^2 + m^2) max |phi|``."""
    return (4 * (phi.ndim - 1) / a**2 + m**2) * float(np.abs(phi).max())


def maxabs(x) -> float:
    return float(np.abs(np.asarray(x)).max())


def random_state(rng, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(1, *shape)), rng.normal(size=(1, *shape))


@jax.jit
def _learn(net: Network, phi: jax.Array, pi: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    return net.learn(phi, pi, net.dt), net.activate(phi, pi, net.dt), net.learning_gradient(phi, pi)


@jax.jit
def _step(net, state: State) -> State:
    return net.step(state)


# ----------------------------------------------------------------------------------------------------------
# (3.8)-(3.13): loss (3.11) -> learning (3.10), combined (3.13)
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("ndim", "a", "dt"), UNIT_AND_SCALED)
def test_loss_311_learning_is_310(rng, ndim, a, dt):
    """Autodiff of (3.11) through the activation (3.9) gives the (3.10) update ``pi + dt (Lap_a - m^2) phi``."""
    lat = Lattice(SHAPES[ndim], a)
    phi, pi = random_state(rng, lat.shape)
    net = kg.momentum_network(lat, M, dt, scheme="simultaneous")
    new_pi, new_phi, grad = (np.asarray(x) for x in _learn(net, jnp.asarray(phi), jnp.asarray(pi)))
    scale = maxabs(pi) + dt * scale_of(phi, a, M)
    assert maxabs(new_pi - (pi + dt * force(phi, a, M))) <= RTOL * scale  # (3.10)
    assert maxabs(grad + force(phi, a, M)) <= RTOL * scale_of(phi, a, M)  # dH/dpi = B^T dH/dphi, (3.12)
    assert maxabs(new_phi - (phi + dt * pi)) <= RTOL * (maxabs(phi) + dt * maxabs(pi))  # (3.9)


@pytest.mark.parametrize(("ndim", "a", "dt"), UNIT_AND_SCALED)
def test_simultaneous_38_gives_313(rng, ndim, a, dt):
    """(3.9)+(3.10) with both updates from time-t values: ``phi(t+2) - 2 phi(t+1) + phi(t) = dt^2 F(phi(t))``."""
    lat = Lattice(SHAPES[ndim], a)
    phi, pi = random_state(rng, lat.shape)
    net = kg.momentum_network(lat, M, dt, scheme="simultaneous")
    traj = trajectory(net, State(jnp.asarray(phi), jnp.asarray(pi)), 3)
    phis = [phi] + [np.asarray(p) for p in traj.phi]
    for t in range(2):
        lhs = phis[t + 2] - 2 * phis[t + 1] + phis[t]
        rhs = dt**2 * force(phis[t], a, M)
        scale = maxabs(phis[t + 2]) + dt**2 * scale_of(phis[t], a, M)
        assert maxabs(lhs - rhs) <= RTOL * scale, t
    # the same from the state: pi(t+1) - pi(t) = dt F(phi(t)) (3.10) and phi(t+1) - phi(t) = dt pi(t) (3.9)
    assert maxabs(np.asarray(traj.phi[0]) - phi - dt * pi) <= RTOL * (maxabs(phi) + maxabs(pi))


# ----------------------------------------------------------------------------------------------------------
# (3.14)-(3.19): loss (3.18) with the (3.14) weights
# ----------------------------------------------------------------------------------------------------------
def w_314(phi: np.ndarray, m: float, four: float | None = None) -> np.ndarray:
    """``W phi`` of (3.14) at unit step and spacing: ``-(4 + m^2) phi + sum_mu (phi_{i+e} + phi_{i-e})``.

    ``four=None`` uses the D-dimensional value ``2 D - 2`` in place of the printed 4.
    """
    ndim = phi.ndim - 1
    c = 2 * ndim - 2 if four is None else four
    return -(c + m**2) * phi + sum(np.roll(phi, 1, ax) + np.roll(phi, -1, ax) for ax in range(1, ndim + 1))


@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
def test_loss_318_with_314_gives_315_to_317(rng, ndim):
    """(3.15) activation, (3.16)/(3.17) learning ``pi(t+1) = -phi(t)`` from autodiff of (3.18)."""
    lat = Lattice(SHAPES[ndim])
    phi, pi = random_state(rng, lat.shape)
    net = kg.leapfrog_network(lat, M, 1.0)
    new_pi, new_phi, grad = (np.asarray(x) for x in _learn(net, jnp.asarray(phi), jnp.asarray(pi)))
    s = maxabs(phi) + maxabs(pi)
    assert maxabs(grad - (pi + phi)) <= RTOL * s  # dH/dbeta + dH/dphi, (3.16)
    assert maxabs(new_pi + phi) <= RTOL * s  # (3.17)
    assert maxabs(new_phi - (w_314(phi, M) + pi)) <= RTOL * (scale_of(phi, 1.0, M) + maxabs(pi))  # (3.15)


@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize(("a", "dt"), [(1.0, 1.0), (0.6, 0.25)])
def test_314_weight_operator(ndim, a, dt):
    """``W = 2 + dt^2 (Lap_a - m^2)``; at ``dt = a = 1`` it is (3.14) with ``2 D - 2`` for the printed 4."""
    shape = SHAPES[ndim]
    net = kg.leapfrog_network(Lattice(shape, a), M, dt)
    n = int(np.prod(shape))
    cols = [(2 * e - dt**2 * M**2 * e + dt**2 * lap_np(e.reshape(1, *shape), a).ravel()) for e in np.eye(n)]
    assert np.abs(net.W.dense(shape) - np.stack(cols, axis=1)).max() <= RTOL * (2 + dt**2 * (4 * ndim / a**2 + M**2))
    if a == dt == 1.0:
        cols = [w_314(e.reshape(1, *shape), M).ravel() for e in np.eye(n)]
        assert np.abs(net.W.dense(shape) - np.stack(cols, axis=1)).max() <= RTOL * (2 * ndim + M**2)


def printed_314(lat: Lattice, m: float, four: float) -> LinearNetwork:
    """The tensors (3.14) literally: ``A = -1, B = 1, W = -(four + m^2) + sum_mu (T_mu + T_mu^-1), V = 0``."""
    nd = lat.ndim
    eye = ops.identity(nd)
    W = -(four + m**2) * eye
    for mu in range(nd):
        W = W + ops.shift_operator(mu, nd, 1) + ops.shift_operator(mu, nd, -1)
    return LinearNetwork.create(lat, W, eye, -1.0 * eye, ops.LatticeOperator.zero(nd), 1.0, "simultaneous")


@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
def test_314_gives_319_and_printed_four_only_in_3d(rng, ndim):
    """(3.15)+(3.17) give the leapfrog (3.19) in D dims with ``2 D - 2``; the printed 4 works only in D = 3."""
    lat = Lattice(SHAPES[ndim])
    phi, pi = random_state(rng, lat.shape)
    s0 = State(jnp.asarray(phi), jnp.asarray(pi))
    net = kg.leapfrog_network(lat, M, 1.0)
    traj = trajectory(net, s0, 4)
    phis = [phi] + [np.asarray(p) for p in traj.phi]
    for t in range(1, 4):
        lhs = phis[t + 1] - 2 * phis[t] + phis[t - 1]
        scale = maxabs(phis[t + 1]) + scale_of(phis[t], 1.0, M)
        assert maxabs(lhs - force(phis[t], 1.0, M)) <= RTOL * scale, t  # (3.19)
    # the literal tensors with 2D - 2 are the same network; with the printed 4, only in D = 3
    lit = _step(printed_314(lat, M, 2 * ndim - 2), s0)
    one = _step(net, s0)
    scale = scale_of(phi, 1.0, M) + maxabs(pi)
    assert maxabs(np.asarray(lit.phi) - np.asarray(one.phi)) <= RTOL * scale
    assert maxabs(np.asarray(lit.pi) - np.asarray(one.pi)) <= RTOL * scale
    printed = _step(printed_314(lat, M, 4.0), s0)
    dev = maxabs(np.asarray(printed.phi) - np.asarray(one.phi))
    if ndim == 3:
        assert dev <= RTOL * scale
    else:  # (W_printed - W) phi = (2 D - 6) phi exactly
        assert abs(dev - abs(2 * ndim - 6) * maxabs(phi)) <= RTOL * scale


# ----------------------------------------------------------------------------------------------------------
# the printed sign of (3.8)
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ndim", [3])
def test_printed_sign_fails_310(rng, ndim):
    """The printed A of (3.8) (``sign="printed"``, and the literal tensors) gives minus the (3.10) increment."""
    a, dt = 0.7, 0.3
    lat = Lattice(SHAPES[ndim], a)
    phi, pi = random_state(rng, lat.shape)
    s0 = State(jnp.asarray(phi), jnp.asarray(pi))
    F = force(phi, a, M)
    scale = maxabs(pi) + dt * scale_of(phi, a, M)
    printed = kg.momentum_network(lat, M, dt, scheme="simultaneous", sign="printed")
    printed_pi = np.asarray(_learn(printed, s0.phi, s0.pi)[0])
    assert maxabs(printed_pi - (pi - dt * F)) <= RTOL * scale
    # relative failure of (3.10): |printed increment - (3.10) increment| / |(3.10) increment| = 2
    assert abs(maxabs(printed_pi - (pi + dt * F)) / maxabs(dt * F) - 2.0) <= RTOL * scale / maxabs(dt * F)
    # the literal tensors (3.7)/(3.8): printed == printed-sign loss network; corrected == loss network (3.11)
    loss_c = _step(kg.momentum_network(lat, M, dt, scheme="simultaneous"), s0)
    loss_p = _step(kg.momentum_network(lat, M, dt, scheme="simultaneous", sign="printed"), s0)
    lit_p = _step(kg.printed_linear_network(lat, M, dt), s0)
    lit_c = _step(kg.printed_linear_network(lat, M, dt, sign="corrected"), s0)
    for lit, loss in ((lit_p, loss_p), (lit_c, loss_c)):
        assert maxabs(np.asarray(lit.phi) - np.asarray(loss.phi)) <= RTOL * scale
        assert maxabs(np.asarray(lit.pi) - np.asarray(loss.pi)) <= RTOL * scale
    assert maxabs(np.asarray(lit_p.pi) - (pi + dt * F)) > 0.5 * maxabs(dt * F)


def test_printed_sign_grows_exponentially():
    """Printed sign: ``phi'' = +omega_k^2 phi``. An eigenmode of the simultaneous printed map grows by exactly
    ``1 + dt omega_k`` per step; with leapfrog every mode grows by the closed-form ``lambda_k > 1`` per step
    (``lambda + 1/lambda = 2 + dt^2 omega_k^2``), while the corrected network stays bounded."""
    n, a, dt, m = 16, 1.0, 0.1, 0.5
    lat = Lattice((n,), a)
    k = lat.momenta_1d()[0]
    w = np.sqrt(m**2 + 4 / a**2 * np.sin(k * a / 2) ** 2)
    x = lat.coordinates()[0]
    # simultaneous: the eigenvector (phi, pi) = (1, omega) cos(k x) for k = 2 pi * 3 / (n a)
    j = 3
    mode = np.cos(k[j] * x)[None]
    s = State(jnp.asarray(mode), jnp.asarray(w[j] * mode))
    steps = 50
    out, _ = run(kg.momentum_network(lat, m, dt, scheme="simultaneous", sign="printed"), s, steps)
    g = (1 + dt * w[j]) ** steps
    assert maxabs(np.asarray(out.phi) - g * mode) <= 1e2 * steps * EPS * g
    # leapfrog: measured growth of every Fourier mode k_j (one run per mode, batched with vmap) between
    # steps n1 and n2
    rng = np.random.default_rng(3)
    lam = 1 + 0.5 * (dt * w) ** 2 + dt * w * np.sqrt(1 + 0.25 * (dt * w) ** 2)
    net = kg.momentum_network(lat, m, dt, scheme="leapfrog", sign="printed")
    js = np.arange(n // 2 + 1)
    modes = np.cos(k[js, None] * x[None, :])[:, None, :]  # (modes, 1, n)
    s0 = State(jnp.asarray(modes), jnp.asarray(rng.normal(size=(len(js), 1, 1)) * modes))
    n1, n2 = 300, 400
    s1 = jax.vmap(lambda s: run(net, s, n1)[0])(s0)
    s2 = jax.vmap(lambda s: run(net, s, n2 - n1)[0])(s1)
    # amplitude of mode j in run j (its Fourier coefficient: the round-off seeded into faster modes grows
    # faster but stays orthogonal)
    amp = lambda st: np.abs(np.fft.fft(np.asarray(st.phi)[:, 0, :], axis=-1)[js, js])  # noqa: E731
    measured = np.log(amp(s2) / amp(s1)) / (n2 - n1)
    # error: the decaying branch 1/lambda relative to the growing one, lambda^(-2 n1) < 1e-12 here
    assert (lam[js] ** (-2 * n1)).max() < 1e-12
    assert np.abs(measured - np.log(lam[js])).max() <= 1e-9
    assert lam.min() > 1.04  # every mode grows (m > 0)
    phi, pi = random_state(rng, lat.shape)
    # the corrected network on the same data stays bounded: per mode w^2 |phi_k|^2 <= w^2 |phi_k(0)|^2 + |pi_k(0)|^2
    # up to O((dt w)^2) <= 4 % here (the leapfrog's modified energy), so |phi|_2 <= 1.1 (|phi0|_2 + |pi0|_2 / m)
    net = kg.momentum_network(lat, m, dt, scheme="leapfrog")
    corrected, _ = run(net, State(jnp.asarray(phi), jnp.asarray(pi)), 400)
    norm = lambda f: float(np.sqrt(np.sum(np.asarray(f) ** 2)))  # noqa: E731
    assert norm(corrected.phi) <= 1.1 * (norm(phi) + norm(pi) / m)


# ----------------------------------------------------------------------------------------------------------
# jit, vmap, grad
# ----------------------------------------------------------------------------------------------------------
def test_jitted_step_trajectory_and_run_agree(rng):
    """The jitted step, ``trajectory`` (scan of states) and ``run`` (scan with an observer) are one dynamics."""
    lat = Lattice((6, 5), 0.5)
    phi, pi = random_state(rng, lat.shape)
    s0 = State(jnp.asarray(phi), jnp.asarray(pi))
    net = kg.momentum_network(lat, M, 0.05, scheme="leapfrog")
    traj = trajectory(net, s0, 5)
    one = _step(net, s0)
    assert maxabs(np.asarray(traj.phi[0]) - np.asarray(one.phi)) <= RTOL * maxabs(one.phi)
    final, obs = run(net, s0, 5, every=1, observer=lambda s: {"phi0": s.phi[0, 0, 0]})
    tol = RTOL * maxabs(traj.phi)
    assert maxabs(np.asarray(traj.phi[-1]) - np.asarray(final.phi)) <= tol
    assert maxabs(np.asarray(obs["phi0"]) - np.asarray(traj.phi[:, 0, 0, 0])) <= tol
    final2, _ = run(net, s0, 5, every=2)  # 2 observed chunks of 2 ticks + 1 remaining tick
    assert maxabs(np.asarray(final2.phi) - np.asarray(final.phi)) <= tol


def test_vmap_over_dt_and_ensembles(rng):
    """``vmap`` over the step ``dt`` (a leaf) and over an ensemble of states equals a Python loop."""
    lat = Lattice((8, 6), 0.5)
    net = kg.momentum_network(lat, M, 0.1, scheme="leapfrog")
    phi, pi = random_state(rng, lat.shape)
    s0 = State(jnp.asarray(phi), jnp.asarray(pi))
    dts = jnp.asarray([0.02, 0.05, 0.1])

    def final_phi(dt):
        return run(net.with_dt(dt), s0, 20)[0].phi

    batched = np.asarray(jax.vmap(final_phi)(dts))
    for i, dt in enumerate(dts):
        one = np.asarray(run(net.with_dt(float(dt)), s0, 20)[0].phi)
        assert maxabs(batched[i] - one) <= RTOL * maxabs(one)
    phis, pis = rng.normal(size=(4, 1, *lat.shape)), rng.normal(size=(4, 1, *lat.shape))
    ens = jax.vmap(lambda s: run(net, s, 20)[0])(State(jnp.asarray(phis), jnp.asarray(pis)))
    for i in range(4):
        one = run(net, State(jnp.asarray(phis[i]), jnp.asarray(pis[i])), 20)[0]
        assert maxabs(np.asarray(ens.phi[i]) - np.asarray(one.phi)) <= RTOL * maxabs(one.phi)
        assert maxabs(np.asarray(ens.pi[i]) - np.asarray(one.pi)) <= RTOL * maxabs(one.pi)


def test_grad_of_final_energy(rng):
    """``d E(final) / d phi(0)`` by ``jax.grad`` through the scan vs central differences.

    The dynamics are linear, so ``E`` is quadratic in ``phi(0)`` and the central difference is exact up to
    round-off, ``~ eps |E| / h``. The derivative with respect to ``dt`` (a leaf of the network) is checked
    against central differences with the truncation error estimated from two step sizes.
    """
    lat = Lattice((8, 6), 0.5)
    model = kg.model(lat, M, 0.1, network="3.8", scheme="leapfrog")
    net, theory = model.network, model.theory
    phi, pi = random_state(rng, lat.shape)
    v = rng.normal(size=phi.shape)

    @jax.jit
    def energy(phi0, dt=0.1):
        final = run(net.with_dt(dt), State(phi0, jnp.asarray(pi)), 30)[0]
        return theory.hamiltonian(final.phi, final.pi)

    g, gdt = jax.grad(energy, argnums=(0, 1))(jnp.asarray(phi), 0.1)
    g, gdt = np.asarray(g), float(gdt)
    h = 1e-3
    ep, em = float(energy(jnp.asarray(phi + h * v))), float(energy(jnp.asarray(phi - h * v)))
    fd = (ep - em) / (2 * h)
    assert abs(float(np.sum(g * v)) - fd) <= 1e2 * EPS * (abs(ep) + abs(em)) / h
    # d E / d dt
    fd_dt = [(float(energy(jnp.asarray(phi), 0.1 + hh)) - float(energy(jnp.asarray(phi), 0.1 - hh))) / (2 * hh)
             for hh in (1e-3, 5e-4)]
    trunc = abs(fd_dt[0] - fd_dt[1]) * 4 / 3  # central difference: error ~ c h^2
    assert abs(gdt - fd_dt[1]) <= 2 * trunc + 1e2 * EPS * abs(float(energy(jnp.asarray(phi)))) / 5e-4


# ----------------------------------------------------------------------------------------------------------
# per-type losses
# ----------------------------------------------------------------------------------------------------------
def test_per_type_loss_equals_summed_loss_when_decoupled(rng):
    """Per-type descent (eq. 4.14 option) equals descent of the summed loss when ``H_a`` depends only on
    type ``a``'s variables and ``B`` does not mix types; with coupling the two differ as they must."""
    lat = Lattice((7,), 0.7)
    nd = lat.ndim
    masses = jnp.asarray([0.5, 1.3])
    L = ops.laplacian(nd, lat.spacing)

    def per_type(phi, pi):  # H_a = 1/2 phi^a (-Lap + m_a^2) phi^a + 1/4 (pi^a)^2
        return jnp.stack([
            -0.5 * jnp.sum(phi[a] * L.apply(phi[a:a + 1])[0]) + 0.5 * masses[a] ** 2 * jnp.sum(phi[a] ** 2)
            + 0.25 * jnp.sum(pi[a] ** 2)
            for a in range(2)
        ])

    def summed(phi, pi):
        return jnp.sum(per_type(phi, pi))

    W, B = ops.identity(nd, 2), ops.local(np.diag([1.0, 2.0]), nd) + ops.laplacian(nd, lat.spacing, K=2) * 0.1
    phi, pi = rng.normal(size=(2, *lat.shape)), rng.normal(size=(2, *lat.shape))
    net_p = Network.create(lat, W, B, per_type, 0.1, "leapfrog", per_type=True)
    net_s = Network.create(lat, W, B, summed, 0.1, "leapfrog")
    gp, gs = (np.asarray(_learn(n, jnp.asarray(phi), jnp.asarray(pi))[2]) for n in (net_p, net_s))
    assert maxabs(gp - gs) <= RTOL * maxabs(gs)
    # K = 1: a one-entry loss vector is the scalar loss
    n1 = kg.momentum_network(lat, M, 0.1, scheme="leapfrog")
    vec = Network.create(lat, n1.W, n1.B, lambda f, p: jnp.stack([n1.loss(f, p)]), 0.1, "leapfrog", per_type=True)
    p1, q1 = random_state(rng, lat.shape)
    g1, gv = (np.asarray(_learn(n, jnp.asarray(p1), jnp.asarray(q1))[2]) for n in (n1, vec))
    assert maxabs(g1 - gv) <= RTOL * maxabs(g1)
    # coupled: H_1 = phi^1 . phi^2, H_2 = 0 -> per type: (phi^2, 0); summed: (phi^2, phi^1) (B = 1)

    def coupled(phi, pi):
        return jnp.stack([jnp.sum(phi[0] * phi[1]), 0.0 * jnp.sum(pi[1])])

    I2 = ops.identity(nd, 2)
    cp = Network.create(lat, I2, I2, coupled, 0.1, per_type=True)
    cs = Network.create(lat, I2, I2, lambda f, p: jnp.sum(coupled(f, p)), 0.1)
    gp, gs = (np.asarray(_learn(n, jnp.asarray(phi), jnp.asarray(pi))[2]) for n in (cp, cs))
    assert maxabs(gp - np.stack([phi[1], np.zeros_like(phi[0])])) <= RTOL * maxabs(phi)
    assert maxabs(gs - np.stack([phi[1], phi[0]])) <= RTOL * maxabs(phi)


def _toy_network(mixed: float, dt: float, scheme: str) -> Network:
    """One neuron type on 3 sites, ``W = B = I``, loss ``V(phi) + mixed / 2 sum(phi^2 pi^2)`` (``V`` quartic)."""
    from nnfield._module import Module

    class Loss(Module):
        c: float

        def __call__(self, phi, pi):
            return jnp.sum(0.5 * phi**2 + 0.25 * phi**4) + 0.5 * self.c * jnp.sum(phi**2 * pi**2)

    lat = Lattice((3,))
    eye = ops.identity(1, 1)
    return Network.create(lat, eye, eye, Loss(mixed), dt, scheme)


@pytest.mark.parametrize("scheme", ["leapfrog", "yoshida4"])
def test_a_loss_whose_learning_gradient_depends_on_pi_is_declared_first_order(scheme):
    """The kick of a splitting scheme is exact only when the learning gradient does not depend on ``pi``; with
    ``H = V(phi) + c/2 sum(phi^2 pi^2)`` the scheme is first order (measured by self-convergence at t = 1:
    successive differences shrink by 2^p; the leapfrog's first-order term is small here, so its ratios approach 1
    from above as dt falls: 1.40, 1.25, 1.14, 1.08, 1.04 from dt = 0.1), and ``Network.order`` says so; with
    ``c = 0`` the scheme's own order."""
    phi0 = jnp.asarray([[0.3, -0.2, 0.5]])
    pi0 = jnp.asarray([[0.1, 0.4, -0.3]])

    def measured(c: float) -> tuple[int, float]:
        ends = []
        for dt in (0.0125, 0.00625, 0.003125, 0.0015625):
            final, _ = run(_toy_network(c, dt, scheme), State(phi0, pi0), round(1.0 / dt))
            ends.append(np.concatenate([np.asarray(final.phi).ravel(), np.asarray(final.pi).ravel()]))
        errs = [np.abs(a - b).max() for a, b in zip(ends, ends[1:], strict=False)]
        return _toy_network(c, 0.1, scheme).order, float(np.log2(errs[-2] / errs[-1]))

    order, p = measured(0.5)
    assert order == 1 and abs(p - 1) < 0.1
    order, p = measured(0.0)
    assert order == {"leapfrog": 2, "yoshida4": 4}[scheme] and abs(p - order) < 0.3


def test_the_declared_order_is_the_same_under_jit_and_vmap():
    """``Network.order`` is structural: with the step or the coupling traced (``jit`` over ``dt``, ``vmap`` over
    the loss's coefficient) it answers as outside the transformation (it said 2 inside ``jit`` for a loss whose
    learning gradient depends on ``pi``, 1 outside: the check gave up on traced values)."""
    for c, want in ((0.5, 1), (0.0, 2)):
        assert _toy_network(c, 0.1, "leapfrog").order == want
        seen = []

        def order_of(dt, c=c, seen=seen):
            net = _toy_network(c, dt, "leapfrog")
            seen.append(net.order)
            return dt

        jax.jit(order_of)(0.1)
        assert seen == [want]
    batch = []

    def order_in_vmap(c):
        batch.append(_toy_network(c, 0.1, "leapfrog").order)
        return c

    jax.vmap(order_in_vmap)(jnp.array([0.5, 0.25]))
    assert batch == [1]


def test_a_bad_dt_or_observer_is_refused_before_tracing():
    lat = Lattice((4,))
    eye = ops.identity(1, 1)
    for dt in ("a", -1.0, float("nan"), None):
        with pytest.raises(ParameterError, match="dt"):
            Network.create(lat, eye, eye, lambda phi, pi: jnp.sum(phi**2 + pi**2) / 2, dt)
    net = Network.create(lat, eye, eye, lambda phi, pi: jnp.sum(phi**2 + pi**2) / 2, 0.1)
    s = State(jnp.ones((1, 4)), jnp.zeros((1, 4)))
    with pytest.raises(ParameterError, match="observer"):
        net.run(s, 4, 2, observer=3)
