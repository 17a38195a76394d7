r"""Clifford tools for the Dirac networks (paper Sec. 4): the real matrices X_0..X_D, spinors, gamma matrices.

A Dirac network with K neuron types on a D-dimensional lattice uses D + 1 real antisymmetric K x K matrices
obeying (4.25)::

    X_0 X_0 + X_0 X_0 = -2 I,      X_0 X_mu - X_mu X_0 = 0,      X_mu X_nu + X_nu X_mu = -2 delta_{mu nu} I

(mu, nu = 1..D). Built-in representations: 1+1 (4.16) ``X_0 = X_1 = eps``; 3+1 (4.35); 2+1 (the first three
matrices of (4.35)). :func:`check_clifford` measures every relation and names the ones that fail.

Complex form. ``X_0`` squares to -1 and commutes with every ``X_mu``, so it is a complex structure: in a real
orthonormal basis where ``X_0 = I_{K/2} (x) eps`` (``eps = i sigma_2``) the pairs ``(2j, 2j+1)`` combine into
``phi^{2j} + i phi^{2j+1}`` and ``X_0`` acts as ``-i`` (4.34); every ``X_mu`` becomes a complex
``K/2 x K/2`` matrix ``X~_mu`` (:func:`complexify`). The spinor (4.19)/(4.30) is
``psi = (phi~, pi~)`` with K complex components; the gamma matrices (4.31) are ``gamma^0 = sigma_3 (x) I``,
``gamma^mu = sigma_1 (x) X~_mu`` and satisfy (4.33) ``{gamma^mu, gamma^nu} = 2 eta^{mu nu}``. For the 3+1
representation (4.35), ``X~_mu = i sigma_mu`` and ``X~_0 = -i I`` (4.34), giving (4.36).

Sign conventions. The 1+1 equation (4.20) is written ``(i gamma^0 d_0 + i gamma^1 d_1 - m) psi = 0`` with the
printed gammas (4.21)/(4.22) ``gamma^0 = sigma_3, gamma^1 = i sigma_1``; the 3+1 equation (4.37) is
``(i gamma^0 d_t - i gamma^k d_k - m) psi = 0`` (``eta`` of signature (+,-,-,-) contracting an upper gamma with
a lower derivative). Both describe the same dynamics: (4.31) with K = 2 gives ``gamma^1 = -i sigma_1``, minus
the printed (4.22). :func:`gamma_matrices` returns (4.31) for every D; :func:`gammas_1p1_printed` returns
(4.21)/(4.22).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..errors import ConditionError, ParameterError

EPS = np.array([[0.0, 1.0], [-1.0, 0.0]])  # Levi-Civita eps^a_b = i sigma_2 (4.16)
I2 = np.eye(2)
SIGMA = (
    np.array([[0, 1], [1, 0]], dtype=complex),
    np.array([[0, -1j], [1j, 0]], dtype=complex),
    np.array([[1, 0], [0, -1]], dtype=complex),
)
ROUNDOFF = 1e3 * np.finfo(np.float64).eps


# ----------------------------------------------------------------------------------------------------------
# the relations (4.25)
# ----------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class CliffordReport:
    """Residuals of every relation a Dirac network needs, for matrices ``X[0..D]``.

    ``residuals`` maps a relation's name to ``max |lhs - rhs|``: ``"X_mu antisymmetric"`` (``X^T = -X``),
    ``"X_0 X_0 = -I"``, ``"[X_0, X_mu] = 0"``, ``"{X_mu, X_nu} = -2 delta I"`` (one entry per pair).
    """

    residuals: dict[str, float]
    tol: float

    @property
    def failures(self) -> dict[str, float]:
        """The relations whose residual exceeds ``tol``."""
        return {k: v for k, v in self.residuals.items() if not v <= self.tol}

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def worst(self) -> tuple[str, float]:
        """The relation with the largest residual."""
        name = max(self.residuals, key=lambda k: self.residuals[k])
        return name, self.residuals[name]

    def raise_if_failed(self) -> CliffordReport:
        """Raise :class:`CliffordError` naming the failing relations (the worst first); else return self."""
        if not self.ok:
            raise CliffordError(self)
        return self

    def __str__(self) -> str:
        lines = [f"{'FAIL' if v > self.tol else 'ok  '} {k}: {v:.3e}" for k, v in self.residuals.items()]
        return "\n".join(lines)


class CliffordError(ConditionError):
    """The supplied X matrices violate (4.25) (or antisymmetry); ``report`` has every residual."""

    def __init__(self, report: CliffordReport) -> None:
        self.report = report
        fails = sorted(report.failures.items(), key=lambda kv: -kv[1])
        name, worst = fails[0]
        listing = ", ".join(f"{k} (off by {v:.3e})" for k, v in fails)
        super().__init__(
            name,
            worst,
            f"failing relations: {listing}; tolerance {report.tol:.1e}. A Dirac network needs real antisymmetric "
            "X_0..X_D with X_0^2 = -I, [X_0, X_mu] = 0 and {X_mu, X_nu} = -2 delta_{mu nu} I (paper eq. 4.25); "
            "use nnfield.theories.clifford.representation(D) for a valid set",
        )


def check_clifford(X: Any, tol: float | None = None) -> CliffordReport:
    """Measure (4.25) and antisymmetry for ``X`` of shape ``(D + 1, K, K)`` (``X[0]`` is the mass matrix).

    ``tol`` defaults to ``1e3 eps * max(1, max|X|^2)``. The X matrices are real: a complex ``X`` with a nonzero
    imaginary part is refused (a cast to float dropped it with only a warning, and measured the real part).
    """
    X = _real_X(X)
    if X.ndim != 3 or X.shape[1] != X.shape[2] or X.shape[0] < 2:
        raise ValueError(f"expected X of shape (D + 1, K, K) with D >= 1, got {X.shape}")
    D, K = X.shape[0] - 1, X.shape[1]
    eye = np.eye(K)
    res: dict[str, float] = {}
    for mu in range(D + 1):
        res[f"X_{mu} antisymmetric"] = float(np.abs(X[mu] + X[mu].T).max())
    res["X_0 X_0 = -I"] = float(np.abs(X[0] @ X[0] + eye).max())
    for mu in range(1, D + 1):
        res[f"[X_0, X_{mu}] = 0"] = float(np.abs(X[0] @ X[mu] - X[mu] @ X[0]).max())
    for mu in range(1, D + 1):
        for nu in range(mu, D + 1):
            target = -2.0 * eye if mu == nu else 0.0 * eye
            res[f"{{X_{mu}, X_{nu}}} = -2 delta I"] = float(np.abs(X[mu] @ X[nu] + X[nu] @ X[mu] - target).max())
    if tol is None:
        tol = ROUNDOFF * max(1.0, float(np.abs(X).max()) ** 2)
    return CliffordReport(res, float(tol))


def _real_X(X: Any) -> np.ndarray:
    """``X`` as a float array; a :class:`~nnfield.errors.ParameterError` naming ``X`` if it has a nonzero imaginary
    part or is not numeric."""
    arr = np.asarray(X)
    if arr.dtype.kind == "c":
        if np.any(arr.imag != 0):
            raise ParameterError("X", "expected real matrices X_0..X_D (the network's weights are real; the complex "
                                 "forms are clifford.complex_X and gamma_matrices), got a complex array with nonzero "
                                 "imaginary part")
        arr = arr.real
    if arr.dtype.kind not in "biuf":
        raise ParameterError("X", f"expected a real numeric array of shape (D + 1, K, K), got dtype {arr.dtype}")
    return arr.astype(float)


def validate_clifford(X: Any, tol: float | None = None) -> np.ndarray:
    """Return ``X`` as a float array after checking (4.25); raise :class:`CliffordError` naming what fails."""
    X = _real_X(X)
    check_clifford(X, tol).raise_if_failed()
    if X.shape[1] % 2:
        raise ConditionError("K even", float(X.shape[1] % 2), f"K = {X.shape[1]} neuron types cannot pair into spinors")
    return X


# ----------------------------------------------------------------------------------------------------------
# built-in representations
# ----------------------------------------------------------------------------------------------------------
def representation(D: int) -> np.ndarray:
    """Real ``X_0..X_D`` for D = 1 (4.16, K = 2), D = 3 (4.35, K = 4) and D = 2 (first three of (4.35), K = 4).

    Returns an array of shape ``(D + 1, K, K)``.
    """
    isig2 = EPS
    s1 = SIGMA[0].real
    s3 = SIGMA[2].real
    if D == 1:
        return np.stack([EPS, EPS])
    x35 = np.stack(
        [
            np.kron(I2, isig2),  # X_0 = I_2 (x) i sigma_2
            -np.kron(s1, isig2),  # X_1 = -sigma_1 (x) i sigma_2
            np.kron(isig2, I2),  # X_2 = i sigma_2 (x) I_2
            -np.kron(s3, isig2),  # X_3 = -sigma_3 (x) i sigma_2
        ]
    )
    if D == 3:
        return x35
    if D == 2:
        return x35[:3]
    # a ParameterError (a ValueError) naming what to pass: the builders take their own ``X``
    raise ParameterError("X", f"no built-in Clifford matrices for D = {D} (built in: D = 1, 2, 3); pass the D + 1 = "
                              f"{D + 1} real K x K matrices X_0..X_D of (4.25) as X (checked by validate_clifford)")


def mass_rotation(X0: Any, theta: float) -> np.ndarray:
    """``X_0^(2 theta / pi) = exp(theta X_0) = cos(theta) I + sin(theta) X_0`` (an orthogonal matrix)."""
    X0 = np.asarray(X0, dtype=float)
    return np.cos(theta) * np.eye(X0.shape[0]) + np.sin(theta) * X0


# ----------------------------------------------------------------------------------------------------------
# complex structure, spinors
# ----------------------------------------------------------------------------------------------------------
def complex_structure(X0: Any) -> np.ndarray:
    """An orthogonal ``U`` with ``U^T X_0 U = I_{K/2} (x) eps`` (``U = I`` when ``X_0`` already has that form).

    Found from the real Schur form of the normal matrix ``X_0`` (2 x 2 blocks ``[[0, b], [-b, 0]]``,
    ``b = +-1``; a block with ``b = -1`` has its two basis vectors swapped).
    """
    X0 = np.asarray(X0, dtype=float)
    K = X0.shape[0]
    target = np.kron(np.eye(K // 2), EPS)
    if K % 2 == 0 and np.abs(X0 - target).max() <= ROUNDOFF:
        return np.eye(K)
    import scipy.linalg

    T, U = scipy.linalg.schur(X0, output="real")
    for j in range(K // 2):
        if T[2 * j, 2 * j + 1] < 0:
            U[:, [2 * j, 2 * j + 1]] = U[:, [2 * j + 1, 2 * j]]
    resid = np.abs(U.T @ X0 @ U - target).max()
    if not resid <= 1e-10:
        raise ConditionError("X_0 = complex structure", resid, "X_0 must be antisymmetric with X_0^2 = -I")
    return U


def complexify(M: Any) -> np.ndarray:
    """The complex ``K/2 x K/2`` matrix of a real ``M`` commuting with ``I (x) eps``: ``pack(M v) = M~ pack(v)``.

    ``M~_{jl} = M[2j, 2l] + i M[2j + 1, 2l]`` (each 2 x 2 block ``[[x, -y], [y, x]]`` is ``x + i y``).
    """
    M = np.asarray(M, dtype=float)
    return M[0::2, 0::2] + 1j * M[1::2, 0::2]


def realify(Mc: Any) -> np.ndarray:
    """Inverse of :func:`complexify`: the real ``K x K`` matrix of a complex ``K/2 x K/2`` one."""
    Mc = np.asarray(Mc, dtype=complex)
    n = Mc.shape[0]
    out = np.zeros((2 * n, 2 * n))
    out[0::2, 0::2] = Mc.real
    out[0::2, 1::2] = -Mc.imag
    out[1::2, 0::2] = Mc.imag
    out[1::2, 1::2] = Mc.real
    return out


def pack_components(f: Any) -> Any:
    """``f~^j = f^{2j} + i f^{2j+1}`` over the leading (type) axis: ``(K, ...) -> (K/2, ...)`` complex."""
    return f[0::2] + 1j * f[1::2]


def unpack_components(fc: Any, xp: Any = np) -> Any:
    """Inverse of :func:`pack_components`: ``(K/2, ...)`` complex -> ``(K, ...)`` real."""
    parts = xp.stack([xp.real(fc), xp.imag(fc)], axis=1)
    return parts.reshape((2 * fc.shape[0], *fc.shape[1:]))


def pack(phi: Any, pi: Any, xp: Any = np) -> Any:
    """The spinor (4.19)/(4.30): ``psi = (phi^1 + i phi^2, .., pi^1 + i pi^2, ..)``, shape ``(K, *shape)``.

    Assumes the basis where ``X_0 = I (x) eps`` (true for :func:`representation`; otherwise rotate with
    :func:`complex_structure` first, ``phi -> U^T phi``).
    """
    return xp.concatenate([pack_components(phi), pack_components(pi)], axis=0)


def unpack(psi: Any, xp: Any = np) -> tuple[Any, Any]:
    """Inverse of :func:`pack`: ``psi (K, *shape)`` complex -> ``(phi, pi)`` each ``(K, *shape)`` real."""
    h = psi.shape[0] // 2
    return unpack_components(psi[:h], xp), unpack_components(psi[h:], xp)


# ----------------------------------------------------------------------------------------------------------
# gamma matrices
# ----------------------------------------------------------------------------------------------------------
def complex_X(X: Any) -> np.ndarray:
    """``X~_0..X~_D`` (complex ``K/2 x K/2``) in the basis of :func:`complex_structure` (4.29), (4.34)."""
    X = validate_clifford(X)
    U = complex_structure(X[0])
    return np.stack([complexify(U.T @ x @ U) for x in X])


def gamma_matrices(X: Any) -> np.ndarray:
    """(4.31): ``gamma^0 = sigma_3 (x) I_{K/2}``, ``gamma^mu = sigma_1 (x) X~_mu``; shape ``(D + 1, K, K)``.

    For the 3+1 representation (4.35) these are (4.36), ``gamma^mu = sigma_1 (x) i sigma_mu``.
    """
    Xc = complex_X(X)
    n = Xc.shape[1]
    g0 = np.kron(SIGMA[2], np.eye(n))
    return np.stack([g0] + [np.kron(SIGMA[0], x) for x in Xc[1:]])


def gammas_1p1_printed() -> np.ndarray:
    """The printed 1+1 gammas (4.21)/(4.22): ``gamma^0 = sigma_3``, ``gamma^1 = i sigma_1``."""
    return np.stack([SIGMA[2], 1j * SIGMA[0]])


def minkowski(D: int) -> np.ndarray:
    """``eta = diag(+1, -1, .., -1)`` of size ``D + 1``."""
    return np.diag([1.0] + [-1.0] * D)


def anticommutator_residuals(gammas: Any, eta: Any | None = None) -> dict[str, float]:
    """``max |gamma^mu gamma^nu + gamma^nu gamma^mu - 2 eta^{mu nu} I|`` per pair (4.23), (4.33)."""
    g = np.asarray(gammas)
    D = g.shape[0] - 1
    eta = minkowski(D) if eta is None else np.asarray(eta)
    eye = np.eye(g.shape[1])
    out = {}
    for mu in range(D + 1):
        for nu in range(mu, D + 1):
            lhs = g[mu] @ g[nu] + g[nu] @ g[mu]
            out[f"{{g{mu}, g{nu}}}"] = float(np.abs(lhs - 2.0 * eta[mu, nu] * eye).max())
    return out


def alpha_beta(X: Any) -> tuple[np.ndarray, np.ndarray]:
    """Dirac's ``alpha^k = -gamma^0 gamma^k`` and ``beta = gamma^0`` for ``i d_t psi = (alpha.(-i grad) + m beta) psi``.

    From (4.37), ``i gamma^0 d_t psi = i gamma^k d_k psi + m psi``: multiply by ``gamma^0``.
    """
    g = gamma_matrices(X)
    return np.stack([-g[0] @ gk for gk in g[1:]]), g[0]


def twisted_wilson_matrix(X: Any) -> np.ndarray:
    """``sigma_1 (x) I``: the spinor form of the Wilson term ``X_0 (x) (-Lap)`` placed in the bias map.

    It anticommutes with ``gamma^0`` and every ``alpha^k``, so it adds in quadrature to the energy (no doublers).
    """
    n = complex_X(X).shape[1]
    return np.kron(SIGMA[0], np.eye(n))
