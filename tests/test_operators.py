"""Lattice operators against dense matrices built independently (numpy, small lattices, float64).

Every identity is checked to round-off: the tolerance is ``RTOL * scale`` with ``RTOL = 1e3 eps`` and
``scale`` the size of the quantities compared (a sum of a few dozen products of O(1) numbers).
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice
from nnfield import operators as ops
from nnfield.operators import LatticeOperator

EPS = np.finfo(np.float64).eps
RTOL = 1e3 * EPS
SHAPES = {1: (7,), 2: (5, 4), 3: (3, 4, 5)}  # unequal sizes catch axis mix-ups; odd and even sizes


def close(x, y, scale=None) -> bool:
    x, y = np.asarray(x), np.asarray(y)
    s = max(np.abs(x).max(initial=0.0), np.abs(y).max(initial=0.0), 1.0) if scale is None else scale
    return bool(np.abs(x - y).max(initial=0.0) <= RTOL * s)


@jax.jit
def _apply(op: LatticeOperator, f: jax.Array) -> jax.Array:
    return op.apply(f)


def apply(op: LatticeOperator, f: np.ndarray) -> np.ndarray:
    """``op.apply`` under ``jit`` (one compilation per operator structure instead of one per eager op)."""
    return np.asarray(_apply(op, jnp.asarray(f)))


def random_shifts(rng, ndim: int, n: int, radius: int = 2) -> list[tuple[int, ...]]:
    """``n`` distinct shifts with components in ``[-radius, radius]`` (always including 0)."""
    allshifts = list(itertools.product(range(-radius, radius + 1), repeat=ndim))
    pick = rng.choice(len(allshifts), size=min(n, len(allshifts)), replace=False)
    shifts = {tuple(allshifts[i]) for i in pick}
    shifts.add((0,) * ndim)
    return sorted(shifts)


def random_operator(rng, ndim: int, K: int, per_site: bool, n: int = 3, radius: int = 2) -> LatticeOperator:
    """Random ``C_s`` on ``n`` random shifts (plus 0) with ``|s_mu| <= radius``; per-site if ``per_site``."""
    shape = SHAPES[ndim]
    terms = {}
    for s in random_shifts(rng, ndim, n, radius):
        cshape = (K, K, *shape) if per_site else (K, K)
        terms[s] = rng.normal(size=cshape)
    return LatticeOperator.from_terms(terms, ndim, K)


def dense_reference(terms: dict, shape: tuple[int, ...], K: int) -> np.ndarray:
    """``sum_s C_s (x) T_s`` assembled entry by entry: ``M[(a, i), (b, i + s mod N)] += C_s[a, b](i)``."""
    n = int(np.prod(shape))
    M = np.zeros((K * n, K * n))
    for s, c in terms.items():
        c = np.asarray(c, dtype=float)
        if c.ndim == 0:
            c = c * np.eye(K)
        for flat, site in enumerate(itertools.product(*[range(m) for m in shape])):
            tgt = tuple((site[mu] + s[mu]) % shape[mu] for mu in range(len(shape)))
            col = int(np.ravel_multi_index(tgt, shape))
            for a in range(K):
                for b in range(K):
                    val = c[a, b] if c.ndim == 2 else c[(a, b, *site)]
                    M[a * n + flat, b * n + col] += val
    return M


CASES = [(nd, K, ps) for nd in (1, 2, 3) for K in (1, 2) for ps in (False, True)]
IDS = [f"D{nd}-K{K}-{'site' if ps else 'const'}" for nd, K, ps in CASES]


@pytest.mark.parametrize(("ndim", "K", "per_site"), CASES, ids=IDS)
def test_apply_transpose_algebra_match_dense(rng, ndim, K, per_site):
    shape = SHAPES[ndim]
    A = random_operator(rng, ndim, K, per_site)
    B = random_operator(rng, ndim, K, not per_site)  # mix constant and per-site coefficients
    dA, dB = dense_reference(A.terms, shape, K), dense_reference(B.terms, shape, K)
    assert close(A.dense(shape), dA)
    f = rng.normal(size=(K, *shape))
    # apply == dense @ vec (flat index a * N + site, i.e. C order of (K, *shape))
    assert close(apply(A, f).ravel(), dA @ f.ravel())
    # transpose
    assert close(A.T.dense(shape), dA.T)
    # composition, both orders (per-site coefficients must be shifted correctly)
    assert close((A @ B).dense(shape), dA @ dB)
    assert close((B @ A).dense(shape), dB @ dA)
    # add, subtract, scale, negate, commutator
    alpha = float(rng.normal())
    assert close((A + B).dense(shape), dA + dB)
    assert close((A - B).dense(shape), dA - dB)
    assert close((alpha * A).dense(shape), alpha * dA)
    assert close((A * alpha).dense(shape), alpha * dA)
    assert close((-A).dense(shape), -dA)
    assert close(A.commutator(B).dense(shape), dA @ dB - dB @ dA)
    # zero operator and cancellation
    assert np.abs((A - A).dense(shape)).max() <= RTOL * np.abs(dA).max()
    assert (0.0 * A).shifts == ()


@pytest.mark.parametrize(("ndim", "K"), [(2, 2)])
def test_traced_coefficients_apply_and_compose(rng, ndim, K):
    """Coefficients as traced leaves (under jit, with per-site arrays) give the same operator."""
    shape = SHAPES[ndim]
    A = random_operator(rng, ndim, K, True, n=2)
    B = random_operator(rng, ndim, K, False, n=2)
    f = jnp.asarray(rng.normal(size=(K, *shape)))
    dA, dB = A.dense(shape), B.dense(shape)

    @jax.jit
    def go(A, B, f):
        return (A @ B).apply(f), A.T.apply(f), (A.scale(jnp.asarray(2.0)) + B).apply(f)

    ab, at, s = go(A, B, f)
    assert close(np.asarray(ab).ravel(), dA @ dB @ np.asarray(f).ravel())
    assert close(np.asarray(at).ravel(), dA.T @ np.asarray(f).ravel())
    assert close(np.asarray(s).ravel(), (2 * dA + dB) @ np.asarray(f).ravel())


@pytest.mark.parametrize(("ndim", "K"), [(nd, K) for nd in (1, 2, 3) for K in (1, 2)])
def test_symbol_matches_plane_waves_and_dft_diagonalization(rng, ndim, K):
    """``O(k)`` vs (i) ``O`` applied to plane waves, (ii) the dense matrix block-diagonalized by the DFT."""
    shape = SHAPES[ndim]
    lat = Lattice(shape, spacing=0.7)
    O = random_operator(rng, ndim, K, False)
    sym = O.symbol_on(lat)  # (*shape, K, K)
    x = lat.coordinates()
    # (i) plane waves v exp(i k.x): O f = O(k) v exp(i k.x), real and imaginary parts separately
    for idx in itertools.product(*[range(n) for n in shape]):
        kvec = [kk[idx] for kk in lat.momenta()]
        phase = np.exp(1j * sum(k * xx for k, xx in zip(kvec, x, strict=True)))
        v = rng.normal(size=K) + 1j * rng.normal(size=K)
        f = v[:, None] * phase.ravel()[None, :]
        f = f.reshape(K, *shape)
        of = apply(O, f.real) + 1j * apply(O, f.imag)
        want = (sym[idx] @ v)[:, None] * phase.ravel()[None, :]
        assert close(of.ravel(), want.ravel())
    # (ii) E^H M E is block diagonal with blocks O(k), E = plane waves / sqrt(N) (unitary DFT)
    n = lat.size
    ks = [kk.ravel() for kk in lat.momenta()]
    xs = [xx.ravel() for xx in x]
    E = np.exp(1j * sum(np.outer(xx, kk) for xx, kk in zip(xs, ks, strict=True))) / np.sqrt(n)
    EK = np.kron(np.eye(K), E)
    D = EK.conj().T @ O.dense(shape) @ EK
    want = np.zeros((K * n, K * n), dtype=complex)
    symf = sym.reshape(n, K, K)
    for a in range(K):
        for b in range(K):
            want[a * n : (a + 1) * n, b * n : (b + 1) * n] = np.diag(symf[:, a, b])
    assert close(D, want, scale=np.abs(O.dense(shape)).sum(axis=1).max())
    # symbol of a composition / transpose is the product / transpose (for real coefficients, O^T(k) = O(-k)^T)
    P = random_operator(rng, ndim, K, False)
    k = [rng.uniform(-np.pi, np.pi, size=(3,)) for _ in range(ndim)]
    assert close((O @ P).symbol(k, 0.7), O.symbol(k, 0.7) @ P.symbol(k, 0.7))
    assert close(O.T.symbol(k, 0.7), np.swapaxes(O.symbol([-kk for kk in k], 0.7), -1, -2))


def test_symbol_rejects_per_site(rng):
    O = random_operator(rng, 2, 1, True)
    with pytest.raises(ValueError, match="translation-invariant"):
        O.symbol(Lattice(SHAPES[2]).momenta())


def roll_matrix(fn, shape: tuple[int, ...]) -> np.ndarray:
    """The matrix of a linear map ``fn`` on fields ``(1, *shape)``, column by column (numpy only)."""
    n = int(np.prod(shape))
    return np.stack([fn(e.reshape(1, *shape)).ravel() for e in np.eye(n)], axis=1)


@pytest.mark.parametrize(("ndim", "a"), [(1, 0.3), (2, 1.0), (3, 0.3)])
def test_laplacian_and_differences(ndim, a):
    """Helpers against ``np.roll`` formulas; the Laplacian symbol against ``-(4/a^2) sum sin^2(k a/2)``."""
    shape = SHAPES[ndim]
    lat = Lattice(shape, a)
    axes = range(1, ndim + 1)
    L = ops.laplacian(ndim, a)
    lap = roll_matrix(lambda f: sum(np.roll(f, 1, ax) - 2 * f + np.roll(f, -1, ax) for ax in axes) / a**2, shape)
    assert close(L.dense(shape), lap, scale=4 * ndim / a**2)
    assert close(L.symbol_on(lat)[..., 0, 0], lat.laplacian_symbol(), scale=4 * ndim / a**2)
    assert np.abs(L.symbol_on(lat).imag).max() <= RTOL * 4 * ndim / a**2
    for mu, ax in enumerate(axes):
        fd = roll_matrix(lambda f, ax=ax: np.roll(f, -1, ax) - f, shape)
        cd = roll_matrix(lambda f, ax=ax: 0.5 * (np.roll(f, -1, ax) - np.roll(f, 1, ax)), shape)
        sh = roll_matrix(lambda f, ax=ax: np.roll(f, 2, ax), shape)
        assert close(ops.forward_difference(mu, ndim).dense(shape), fd)
        assert close(ops.central_difference(mu, ndim).dense(shape), cd)
        assert close(ops.shift_operator(mu, ndim, steps=-2).dense(shape), sh)
    # sum_mu D_mu^T D_mu = -Lap (unit spacing): the factorization behind the lattice Hamiltonian (3.5)
    DtD = ops.LatticeOperator.zero(ndim)
    for mu in range(ndim):
        DtD = DtD + ops.forward_difference(mu, ndim).T @ ops.forward_difference(mu, ndim)
    assert close(DtD.dense(shape), -ops.laplacian(ndim).dense(shape))
    # and the jitted application of the Laplacian to a field
    f = np.random.default_rng(ndim).normal(size=(1, *shape))
    assert close(apply(L, f).ravel(), lap @ f.ravel(), scale=4 * ndim / a**2 * np.abs(f).max())


def test_kron_local_identity(rng):
    shape = SHAPES[2]
    M = rng.normal(size=(2, 2))
    L = ops.laplacian(2, 0.5)
    assert close(ops.kron(M, L).dense(shape), np.kron(M, L.dense(shape)))
    assert close(ops.laplacian(2, 0.5, K=2).dense(shape), np.kron(np.eye(2), L.dense(shape)))
    n = int(np.prod(shape))
    assert close(ops.identity(2, 2).dense(shape), np.eye(2 * n))
    C = rng.normal(size=(2, 2, *shape))
    want = np.zeros((2 * n, 2 * n))
    for a in range(2):
        for b in range(2):
            want[a * n : (a + 1) * n, b * n : (b + 1) * n] = np.diag(C[a, b].ravel())
    assert close(ops.local(C, 2).dense(shape), want)


@pytest.mark.parametrize(
    ("shape", "s"),
    [((7,), (-9,)), ((130,), (5,)), ((130,), (-129,)), ((5, 4), (2, -1)), ((3, 4, 5), (1, -2, 7))],
)
def test_fused_shift_equals_roll(rng, shape, s):
    """``shift(f, s)`` is ``jnp.roll(f, -s)`` (also along axes >= 128, where roll lowers to a concatenate)."""
    axes = tuple(range(1, len(shape) + 1))
    f = rng.normal(size=(2, *shape))
    g = rng.normal(size=f.shape)
    want = np.roll(f, [-v for v in s], axes)

    @jax.jit
    def shifted(f, g):
        y, vjp = jax.vjp(lambda x: ops.shift(x, s, axis0=1), f)
        return y, jnp.roll(f, [-v for v in s], axes), ops.shift(f[0], s), vjp(g)[0]

    got, rolled, first, back = (np.asarray(x) for x in shifted(jnp.asarray(f), jnp.asarray(g)))
    assert np.array_equal(got, want)
    assert np.array_equal(rolled, want)
    assert np.array_equal(first, want[0])  # axis0 = 0 on a single component
    # the transpose of a shift (its vjp) is the opposite shift
    assert np.array_equal(back, np.roll(g, list(s), axes))
    # a concrete numpy array stays numpy (np.roll path, used while operators are built)
    assert isinstance(ops.shift(f, s, axis0=1), np.ndarray)
    assert np.array_equal(ops.shift(f, s, axis0=1), want)
    if len(shape) == 1:  # eager (unjitted) application on a JAX array (compiles per op: 1D only)
        assert np.array_equal(np.asarray(ops.shift(jnp.asarray(f), s, axis0=1)), want)


def test_shape_errors():
    L = ops.laplacian(2)
    with pytest.raises(ValueError, match="does not match operator"):
        L.apply(jnp.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="operators differ"):
        _ = L + ops.laplacian(3)
    with pytest.raises(ValueError, match="components"):
        LatticeOperator.from_terms({(1,): 1.0}, 2, 1)
