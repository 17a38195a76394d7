"""The Dirac package's declared seams: the theory (Hamiltonian once, equations by autodiff, reference), the
model's declared conservation laws measured on runs, and config mistakes reported with the real TOML key.

float64, small lattices. Identities hold to ``RTOL = 1e3 eps``; declared invariants to ``1e-12`` relative over a
few hundred steps; declared bounded quantities stay within a tolerance of the scheme's order (see
:func:`bounded_tolerance`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice, State
from nnfield.cli import main
from nnfield.model import BOUNDED, INVARIANT, AbstractModel, AbstractTheory
from nnfield.theories import clifford as cl
from nnfield.theories import dirac as dr

EPS = np.finfo(np.float64).eps
RTOL = 1e3 * EPS
A = 0.5
LATS = {1: Lattice((16,), A), 2: Lattice((5, 6), A), 3: Lattice((4, 5, 6), A)}


def rotated_representation(D: int, rng) -> np.ndarray:
    """``X' = O X O^T`` with a random orthogonal ``O``: a valid Clifford representation with ``U != I``."""
    X = cl.representation(D)
    O, _ = np.linalg.qr(rng.normal(size=(X.shape[1], X.shape[1])))
    return np.einsum("ij,ajk,lk->ail", O, X, O)


# ----------------------------------------------------------------------------------------------------------
# the theory seam
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("D,bias,rotated", [
    (1, "forward", False), (1, "wilson", True), (2, "forward", True), (3, "wilson", False), (3, "forward", True),
])
def test_equations_by_autodiff_are_the_dirac_equation(D, bias, rotated, rng):
    """``jax.grad`` of the Hamiltonian (canonical scale 2) = ``-i H psi`` (FFT of ``H(k)``) = the network's
    semi-discrete generator ``(m X0 phi + B pi, -B^T phi - m X0 pi)``, packed."""
    lat, m = LATS[D], 0.8
    X = rotated_representation(D, rng) if rotated else None
    th = dr.Dirac(m, lat, X=X, kind=bias, r=0.9)
    assert isinstance(th, AbstractTheory) and th.canonical_scale == 2.0
    assert rotated == (not np.allclose(th.U, np.eye(th.K)))
    phi, pi = rng.normal(size=(th.K, *lat.shape)), rng.normal(size=(th.K, *lat.shape))
    psi = th.pack(phi, pi)
    d_re, d_im = jax.jit(th.equations)(jnp.asarray(psi.real), jnp.asarray(psi.imag))  # one program, not ~60 ops
    dpsi = np.asarray(d_re) + 1j * np.asarray(d_im)
    want = -1j * th.apply_symbol(th.hamiltonian_symbol(lat.momenta()), psi)
    assert np.abs(dpsi - want).max() <= RTOL * np.abs(want).max()
    # the network's semi-discrete system (continuous time) in the same representation
    B = dr.bias_map(th.X, lat, bias, 0.9)
    dphi = m * np.einsum("ab,b...->a...", th.X[0], phi) + np.asarray(jax.jit(B.apply)(jnp.asarray(pi)))
    dpi = -np.asarray(jax.jit(B.T.apply)(jnp.asarray(phi))) - m * np.einsum("ab,b...->a...", th.X[0], pi)
    assert np.abs(th.pack(dphi, dpi) - want).max() <= RTOL * np.abs(want).max()
    # the Hamiltonian is the energy observable of the packed spinor
    assert float(th.hamiltonian(jnp.asarray(psi.real), jnp.asarray(psi.imag))) == float(th.energy(jnp.asarray(psi)))


def test_reference_is_the_exact_lattice_evolution(rng):
    lat = LATS[1]
    th = dr.Dirac(1.1, lat, kind="wilson")
    phi, pi = rng.normal(size=(2, 16)), rng.normal(size=(2, 16))
    psi = th.pack(phi, pi)
    re, im = th.reference(psi.real, psi.imag, 1.7)
    assert np.array_equal(re + 1j * im, th.evolve(psi, 1.7))
    assert np.abs(th.pack(*th.exact(phi, pi, 1.7)) - (re + 1j * im)).max() <= RTOL * np.abs(psi).max()
    # the reference solves the derived equations: d/dt at t = 0 (centred difference, order 2)
    dt = 1e-4
    rp, ip = th.reference(psi.real, psi.imag, dt)
    rm, im_ = th.reference(psi.real, psi.imag, -dt)
    d_re, d_im = jax.jit(th.equations)(jnp.asarray(psi.real), jnp.asarray(psi.imag))  # one program, not ~60 ops
    fd = (rp - rm) / (2 * dt) + 1j * (ip - im_) / (2 * dt)
    exact = np.asarray(d_re) + 1j * np.asarray(d_im)
    assert np.abs(fd - exact).max() <= 1e-6 * np.abs(exact).max()


# ----------------------------------------------------------------------------------------------------------
# what the networks conserve: declared, then measured
# ----------------------------------------------------------------------------------------------------------
def test_declarations():
    lat = LATS[1]
    names = {(c.name, c.kind) for c in dr.model(lat, 0.7, 0.1, network="stable").conserved()}
    assert names == {("invariant", INVARIANT), ("charge", BOUNDED), ("energy", BOUNDED)}
    assert ("energy", INVARIANT) in {(c.name, c.kind) for c in dr.model(lat, 0.0, 0.1, network="stable").conserved()}
    for scheme in ("simultaneous", "alternating", "leapfrog", "yoshida4"):
        assert dr.model(lat, 0.7, 0.1, network="paper", scheme=scheme).conserved() == ()
    assert dr.model(lat, 0.0, 0.1, network="paper", scheme="simultaneous").conserved() == ()
    assert dr.model(lat, 0.0, 0.1, network="paper", scheme="leapfrog", loss="printed").conserved() == ()
    M = dr.model(lat, 0.0, 0.1, network="paper", scheme="leapfrog")
    assert {(c.name, c.kind) for c in M.conserved()} == {("energy", INVARIANT), ("charge", BOUNDED)}
    assert isinstance(M, AbstractModel)
    obs = set(M.observables(M.encode(*dr.plane_wave(M.theory, (1,)))))
    for model in (M, dr.model(lat, 0.7, 0.1, network="stable")):
        assert {c.name for c in model.conserved()} <= obs


def bounded_tolerance(model: dr.DiracModel, name: str) -> float:
    """Relative tolerance of a bounded quantity: ``2 (h sigma_max)^p / cos(mh/2)`` (``p`` the scheme's order).

    For the stable map ``|Q - I| <= h sigma_max |phi| |pi| / cos(mh/2) <= (h sigma_max / (2 cos(mh/2))) Q``, so
    ``|Q(t) - Q(0)| <= 2 x`` that; the split schemes' modified invariants differ from the charge at their order.
    The energy is measured relative to ``Q max|H(k)|``.
    """
    net, th = model.network, model.theory
    sigma = dr.doubler_analysis(net.B, th.lattice, n=8)["sigma_max"]
    h = float(net.dt)
    return 2 * (h * sigma) ** net.order / np.cos(th.m * h / 2)


SLOW = pytest.mark.slow
CASES = [
    (1, "forward", "stable", 0.9, None), (1, "wilson", "stable", 0.9, None),
    pytest.param(3, "wilson", "stable", 0.6, None, marks=SLOW),
    (1, "forward", "stable", 0.0, None), (1, "forward", "paper", 0.0, "alternating"),
    (1, "wilson", "paper", 0.0, "leapfrog"), (1, "forward", "paper", 0.0, "yoshida4"),
    pytest.param(2, "forward", "paper", 0.0, "leapfrog", marks=SLOW),
]


@pytest.mark.parametrize("D,bias,network,m,scheme", CASES)
def test_declared_conservation_holds_on_a_run(D, bias, network, m, scheme, rng):
    lat, h, steps = LATS[D], 0.1, 300
    M = dr.model(lat, m, h, network=network, scheme=scheme, bias=bias)
    K = M.theory.K
    s0 = State(jnp.asarray(rng.normal(size=(K, *lat.shape))), jnp.asarray(rng.normal(size=(K, *lat.shape))))
    _, obs = M.network.run(s0, steps, 1, M.observables)
    o0 = jax.jit(M.observables)(s0)  # one program (op by op: ~30 compiles)
    q0 = float(o0["charge"])
    hmax = np.abs(np.linalg.eigvalsh(M.theory.hamiltonian_symbol(lat.momenta()))).max()
    assert M.conserved()
    for c in M.conserved():
        x, x0 = np.asarray(obs[c.name]), float(o0[c.name])
        if c.kind == INVARIANT:
            scale = abs(x0) if c.name != "energy" else q0 * hmax
            assert np.abs(x - x0).max() <= 1e-12 * scale, c.name
        else:
            scale = q0 if c.name == "charge" else q0 * hmax
            dev = np.abs(x - x0) / scale
            assert dev.max() <= bounded_tolerance(M, c.name), c.name
            # no secular drift: the least-squares trend over the run is small against the oscillation
            trend = abs(np.polyfit(np.arange(steps), (x - x0) / scale, 1)[0]) * steps
            assert trend <= 0.25 * dev.max(), c.name  # measured: <= 0.03 for these cases


@pytest.mark.parametrize("scheme", ["simultaneous", "alternating", "leapfrog", "yoshida4"])
def test_massive_paper_network_conserves_nothing(scheme):
    """The paper network with m > 0 grows under every scheme (|det| of the mass weight > 1): nothing declared."""
    lat = LATS[1]
    M = dr.model(lat, 0.7, 0.1, network="paper", scheme=scheme)
    s0 = M.encode(*dr.plane_wave(M.theory, (2,)))
    _, obs = M.network.run(s0, 200, 50, M.observables)
    q = np.asarray(obs["charge"])
    assert q[-1] > 1.2 * float(M.observables(s0)["charge"]) and np.all(np.diff(q) > 0)


# ----------------------------------------------------------------------------------------------------------
# user mistakes in a Dirac config: exit 2, one line naming the real key
# ----------------------------------------------------------------------------------------------------------
CONFIG = """
[theory]
name = "dirac"
mass = 1.0
network = "stable"

[lattice]
shape = [16]
spacing = 0.5

[time]
dt = 0.1
steps = 4
scheme = "alternating"

[initial]
kind = "plane_wave"
n = [1]

[output]
every = 2
"""


@pytest.mark.parametrize("old,new,key", [
    ('n = [1]', 'n = [1]\nspin = 1', "initial.spin"),
    ('scheme = "alternating"', 'scheme = "leapfrog"', "time.scheme"),
    ('n = [1]', 'n = [9]', "initial.n"),
    ('kind = "plane_wave"\nn = [1]', 'kind = "gaussian_packet"\nspin = 3', "initial.spin"),
    ('kind = "plane_wave"\nn = [1]', 'kind = "gaussian_packet"\ncenter = [100.0]', "initial.center"),
    ('kind = "plane_wave"\nn = [1]', 'kind = "gaussian_packet"\nmomentum = [1.0, 0.0]', "initial.momentum"),
    ('network = "stable"', 'network = "stable"\nbias = "central"', "theory.bias"),
])
def test_config_mistake_exits_2_naming_the_key(old, new, key, tmp_path, capsys):
    cfg = tmp_path / "dirac.toml"
    cfg.write_text(CONFIG.replace(old, new))
    rc = main(["run", str(cfg), "--out", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and key in err, err


def test_spec_renames_library_parameters():
    """A ParameterError raised by the library inside the spec's builders names the TOML key, not the parameter."""
    from nnfield.config import parse_config
    from nnfield.errors import ConfigError

    cfg = parse_config(CONFIG.replace("n = [1]", "n = [1]\nspin = 1"))
    with pytest.raises(ConfigError, match=r"^<config>: initial\.spin: expected 0\.\.0"):
        cfg.initial_fields(cfg.build_model())
    cfg = parse_config(CONFIG.replace('scheme = "alternating"', 'scheme = "yoshida4"'))
    with pytest.raises(ConfigError, match=r"^<config>: time\.scheme: .*alternating"):
        cfg.build_model()


def test_spec_shim_is_the_same_registration():
    import importlib
    import sys

    from nnfield.theories.dirac import spec

    sys.modules.pop("nnfield.theories.dirac_spec", None)
    with pytest.warns(DeprecationWarning, match="nnfield.theories.dirac.spec"):
        dirac_spec = importlib.import_module("nnfield.theories.dirac_spec")
    assert dirac_spec.SPEC is spec.SPEC


def test_hamiltonian_is_jittable_and_differentiable(rng):
    th = dr.Dirac(0.5, LATS[2], kind="wilson")
    re, im = (jnp.asarray(rng.normal(size=(4, 5, 6))) for _ in range(2))
    assert float(jax.jit(th.hamiltonian)(re, im)) == pytest.approx(float(th.hamiltonian(re, im)), rel=1e-13)
