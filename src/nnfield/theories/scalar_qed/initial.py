r"""Initial data of scalar QED (every kind satisfies Gauss's law ``div E = rho`` to round-off).

Packed physics data ``phi = (A_1..A_D, phi_1, phi_2)``, ``pi = (E_1..E_D, pi_1, pi_2)``. The longitudinal ``E`` of
the matter's charge comes from the lattice Poisson solve (:func:`~nnfield.theories.u1.longitudinal_field`).

- :func:`higgs_vacuum`: the vacuum ``phi_1 = sqrt(2) v_e`` with small random matter fluctuations (neutral: the
  uniform rotation velocity that carries the net charge is removed) and transverse massive photons;
- :func:`charged_packets`: two Gaussian packets of opposite charge (positive and negative frequency, mode by mode
  with the free lattice dispersion) moving towards each other (the torus holds no net charge);
- :func:`vortex`, :func:`vortex_pair`: Nielsen-Olesen vortices in the unitary gauge (``phi`` real, a compact
  Dirac string through the core plaquette), optionally relaxed by gradient flow (:func:`relax`: plain gradient
  descent on the static energy, i.e. learning without momentum). A vortex with ``winding = n`` carries the flux
  ``2 pi n / q`` (with ``D = d + i q A`` the phase of ``phi`` winds ``-n`` times in a regular gauge).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from ...errors import ParameterError
from ...initial import PositiveFrequency, minimum_image, packet_geometry, per_axis
from ...initial._params import finite_data
from ...lattice import Lattice
from ..params import check_number
from ..u1 import longitudinal_field, photon_omega, random_photons
from ..u1._args import finite_point as _finite_point
from ..u1._args import integer as _integer
from .matter import vev


def _packed(A: np.ndarray, phi: np.ndarray, E: np.ndarray, pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([A, phi]), np.concatenate([E, pi])


def charge_density(charge: float, phi: np.ndarray, pi: np.ndarray) -> np.ndarray:
    """``rho = q (pi_1 phi_2 - pi_2 phi_1)``."""
    return charge * (pi[0] * phi[1] - pi[1] * phi[0])


def with_gauss(lattice: Lattice, charge: float, A: np.ndarray, E_T: np.ndarray, phi: np.ndarray,
               pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Packed data with ``E = E_T + E_L``, ``E_L`` the longitudinal field of the matter's charge (its neutrality
    checked against the charge scale ``|q| sum (|pi_1 phi_2| + |pi_2 phi_1|)``, not the round-off of ``rho``)."""
    scale = abs(charge) * float(np.sum(np.abs(pi[0] * phi[1]) + np.abs(pi[1] * phi[0])))
    E = E_T + longitudinal_field(lattice, charge_density(charge, phi, pi), scale=scale)
    return _packed(A, phi, E, pi)


def neutralize(phi: np.ndarray, pi: np.ndarray) -> np.ndarray:
    """``pi + c (phi_2, -phi_1)`` with the uniform ``c`` that makes ``sum rho = 0`` (removes a global rotation)."""
    total = np.sum(pi[0] * phi[1] - pi[1] * phi[0])
    norm = np.sum(phi[0] ** 2 + phi[1] ** 2)
    if norm == 0:
        return pi
    c = -total / norm
    return pi + c * np.stack([phi[1], -phi[0]])


def _smooth_noise(lattice: Lattice, rng: np.random.Generator, cutoff: float, n: int) -> np.ndarray:
    kabs = np.sqrt(sum(k**2 for k in lattice.momenta()))
    mask = kabs <= cutoff
    out = []
    for _ in range(n):
        f = np.real(np.fft.ifftn(np.fft.fftn(rng.standard_normal(lattice.shape)) * mask))
        out.append(f / max(float(np.sqrt(np.mean(f**2))), np.finfo(float).tiny))
    return np.stack(out)


def higgs_vacuum(lattice: Lattice, charge: float, lam: float, v: float, m: float, seed: int = 0,
                 amplitude: float = 0.01, photons: float = 0.0, cutoff: float | None = None) -> tuple[np.ndarray, ...]:
    """The vacuum with matter fluctuations of rms ``amplitude`` (``phi`` and ``pi``, smooth below ``cutoff``,
    default ``pi / (2 a)``) and transverse photons of rms ``photons`` (massive, ``m_A``). ``photons > 0`` on a 1D
    lattice is refused naming ``photons`` (there are no transverse photons in D = 1; it used to be ignored).
    ``amplitude`` is a finite number ``>= 0``, ``cutoff`` (when given) a finite number ``> 0`` and ``seed`` an integer
    ``>= 0`` (a NaN ``cutoff`` selected no mode: no fluctuations, silently; a NaN ``amplitude`` gave NaN data)."""
    check_number("photons", photons, minimum=0.0)  # a NaN compared False with 0: no photons, silently
    check_number("amplitude", amplitude, minimum=0.0)
    if cutoff is not None:
        check_number("cutoff", cutoff, positive=True)
    rng = np.random.default_rng(_integer("seed", seed, minimum=0))
    D = lattice.ndim
    if photons > 0 and D < 2:
        raise ParameterError("photons", f"there are no transverse photons in D = 1 (Gauss's law fixes E), got "
                             f"photons = {photons:g}; set photons = 0 or use a 2D or 3D lattice")
    v_e = vev(lam, v, m)
    cut = cutoff if cutoff is not None else 0.5 * np.pi / lattice.spacing
    phi = amplitude * _smooth_noise(lattice, rng, cut, 2)
    phi[0] += np.sqrt(2.0) * v_e
    A = np.zeros((D, *lattice.shape))
    E_T = np.zeros_like(A)
    if photons > 0 and D >= 2:
        A, E_T = random_photons(lattice, seed + 1, photons, cut, 0.0, np.sqrt(2.0) * abs(charge) * v_e)
    with np.errstate(over="ignore", invalid="ignore"):  # (the charge of a huge amplitude overflows: refused below)
        pi = neutralize(phi, amplitude * _smooth_noise(lattice, rng, cut, 2))
        return finite_data(with_gauss(lattice, charge, A, E_T, phi, pi), "amplitude", amplitude)


def _frequency_pi(rule: PositiveFrequency, psi: np.ndarray, sign: float) -> np.ndarray:
    r"""``d psi / dt = ifft(-i sign omega_k psi_k)`` of the complex field ``psi`` of one frequency sign, from the
    library's real positive-frequency rule applied to its two real components: ``Re psi(t)`` is the positive-frequency
    real field of the profile ``b`` and ``Im psi(t)`` that of ``-i sign b``, with ``b = psi`` (``sign = +1``) or
    ``conj(psi)`` (``sign = -1``: ``psi exp(+i omega t)`` is the conjugate of ``conj(psi) exp(-i omega t)``)."""
    b = psi if sign > 0 else np.conj(psi)
    return rule.fields(b)[1][0] + 1j * rule.fields(-1j * sign * b)[1][0]


def charged_packets(lattice: Lattice, charge: float, lam: float, v: float, m: float,
                    center: Sequence[float] | None = None, separation: float | None = None, width: float | None = None,
                    momentum: Sequence[float] | None = None, amplitude: float = 0.1) -> tuple[np.ndarray, ...]:
    r"""Two packets ``phi = amplitude g(x - c_+-) exp(i k0.x)`` of opposite charge, centred at ``c -+ s e_0 / 2``,
    each a pure-frequency solution of the free lattice field (``A = 0``, linearized about ``phi = 0``): per Fourier
    mode ``pi_k = -i sigma omega_k phi_k`` with the lattice dispersion

        omega_k^2 = M^2 + (4 / a^2) sum_mu sin^2(k_mu a / 2),

    ``sigma = +1`` for the first packet (positive frequency, ``exp(i (k.x - omega_k t))``: charge of the sign
    of ``q``, velocity along ``+k0``) and ``-1`` for the second (negative frequency, ``exp(i (k.x + omega_k t))``:
    the opposite charge, velocity along ``-k0``), so they move towards each other for ``k0`` along ``+e_0`` with
    the group velocity ``d omega / dk`` at ``k0`` (``sin(k0 a) / (a omega_k0)`` on axis 0). One frequency for the
    whole packet (it was ``sqrt(M^2 + |k0|^2)``) mixed in the opposite frequency, i.e. an opposite-charge part that
    ran the other way. ``M`` is the scalar mass about ``phi = 0`` (``M^2 = m^2 - 2 lambda v^2``, taken as 0 when
    negative). ``omega_k0`` must not vanish: packets at rest (the default ``momentum``) need the symmetric phase
    ``m > sqrt(2 lambda) v``; with the theory's defaults (``lambda = 0.5``, ``v = 1``, ``m = 0``: the Higgs phase)
    pass a ``momentum``. The torus holds no net charge (:func:`neutralize`; by construction the two charges cancel
    up to round-off, so it only removes that)."""
    D = lattice.ndim
    L = lattice.lengths
    c = _finite_point("center", per_axis("center", center, D, [x / 2 for x in L]))
    sep = separation if separation is not None else L[0] / 2
    k0 = _finite_point("momentum", per_axis("momentum", momentum, D, [0.0] * D))
    check_number("separation", sep)
    if width is not None:
        check_number("width", width, positive=True)
    check_number("amplitude", amplitude)
    # the ranges every packet has (centre in the box, a <= width <= longest side, |k0_mu| < pi / a)
    c, w, k0 = packet_geometry(lattice, c, width, k0)
    c, k0 = np.asarray(c, dtype=float), np.asarray(k0, dtype=float)
    if not (0 < sep < L[0]):
        raise ParameterError("separation", f"expected 0 < separation < L_0 = {L[0]:g}, got {sep:g}")
    M2 = m**2 - 2 * lam * v**2
    mass = float(np.sqrt(max(M2, 0.0)))
    if float(photon_omega(lattice, mass, list(k0))) == 0:  # (|k0_mu| < pi / a: zero only for M = 0, k0 = 0)
        raise ParameterError(
            "momentum", f"a packet at rest (momentum {k0.tolist()}, the default) of a scalar without a mass about phi "
            f"= 0 has no frequency: M^2 = m^2 - 2 lambda v^2 = {M2:g} <= 0 (m = {m:g}, lambda = {lam:g}, v = {v:g}, "
            f"the theory's parameters); pass a non-zero momentum, e.g. momentum={[1.0] + [0.0] * (D - 1)} "
            f"(initial.momentum in a config), or use a theory in the symmetric phase with "
            f"m > sqrt(2 lambda) v = {np.sqrt(2 * max(lam, 0.0)) * abs(v):g} (packets of the Higgs phase sit on "
            f"top of the potential's maximum at phi = 0)")
    rule = PositiveFrequency(photon_omega(lattice, mass))  # omega_k above on the FFT grid (any massive field's)
    xs = lattice.coordinates()
    total = np.zeros(lattice.shape, complex)
    total_pi = np.zeros(lattice.shape, complex)
    for sign in (1.0, -1.0):
        cc = c.copy()
        cc[0] = c[0] - sign * sep / 2
        d = [minimum_image(x, ci, ell) for x, ci, ell in zip(xs, cc, L, strict=True)]
        env = np.exp(-sum(di**2 for di in d) / (2 * w**2))
        # both carry exp(+i k0.x): the negative-frequency packet exp(i (k0.x + omega t)) moves along -k0 (its
        # complex conjugate, exp(-i (k0.x - omega t)), moved along +k0 with the first packet)
        psi = amplitude * env * np.exp(1j * sum(k * di for k, di in zip(k0, d, strict=True)))
        total += psi
        total_pi += _frequency_pi(rule, psi, sign)
    phi = np.sqrt(2.0) * np.stack([total.real, total.imag])
    zero = np.zeros((D, *lattice.shape))
    with np.errstate(over="ignore", invalid="ignore"):  # (the charge of a huge amplitude overflows: refused below)
        pi = neutralize(phi, np.sqrt(2.0) * np.stack([total_pi.real, total_pi.imag]))
        return finite_data(with_gauss(lattice, charge, zero, zero, phi, pi), "amplitude", amplitude)


# ----------------------------------------------------------------------------------------------------------
# vortices
# ----------------------------------------------------------------------------------------------------------
_GL = np.polynomial.legendre.leggauss(16)


def _vortex_links(lattice: Lattice, center: Sequence[float], winding: int, core: float) -> np.ndarray:
    """``theta_mu(x) = int_link q A`` of the unitary-gauge vortex ``q A = -n K(r) (-y, x) / r^2`` with
    ``K = 1 / cosh^2(r / core)``, summed over the 5 x 5 nearest periodic images (a smooth periodic field: the box
    edge is no special line; the omitted images are below ``exp(-4 L / core)``).

    Split as ``-n K dphi = -n dphi + n tanh^2(r / core) dphi`` (``dphi = (-y, x) dl / r^2``, the polar angle's
    differential): the singular pure-gauge part is integrated exactly, ``-n`` times the angle the link subtends at
    the core, ``atan2(p0 x p1, p0 . p1)`` in ``(-pi, pi)`` (the Dirac string crosses no link: the core sits inside a
    plaquette); the regular rest (``tanh^2(r/core) / r^2 -> 1 / core^2`` at the core) by 16-point Gauss-Legendre
    along each link. Quadrature of the whole ``1 / r`` integrand lost the winding once the core was within about
    ``a / 20`` of a link (the flux stayed, the energy tripled)."""
    a = lattice.spacing
    xs = lattice.coordinates()
    L = lattice.lengths
    nodes, weights = _GL
    theta = np.zeros((2, *lattice.shape))
    d0 = [minimum_image(x, c, ell) for x, c, ell in zip(xs, center, L, strict=True)]
    for mu in range(2):
        for jx in range(-2, 3):
            for jy in range(-2, 3):
                x0, y0 = d0[0] + jx * L[0], d0[1] + jy * L[1]
                x1, y1 = x0 + (a if mu == 0 else 0.0), y0 + (a if mu == 1 else 0.0)
                theta[mu] += -winding * np.arctan2(x0 * y1 - y0 * x1, x0 * x1 + y0 * y1)
                for s, wgt in zip(0.5 * a * (nodes + 1), 0.5 * a * weights, strict=True):
                    dx = x0 + (s if mu == 0 else 0.0)
                    dy = y0 + (s if mu == 1 else 0.0)
                    r2 = dx**2 + dy**2
                    t = np.tanh(np.minimum(np.sqrt(r2) / core, 300.0))
                    with np.errstate(divide="ignore", invalid="ignore"):
                        reg = np.where(r2 > 0, t**2 / np.where(r2 > 0, r2, 1.0), 1.0 / core**2)
                    comp = -dy if mu == 0 else dx
                    theta[mu] += wgt * winding * reg * comp
    return theta


def _check_core(center: Sequence[float], lattice: Lattice, example: Sequence[float], param: str = "center") -> None:
    """Refuse a vortex core on a lattice line (a site or a link): the unitary-gauge core (a Dirac string) must sit
    inside a plaquette, else the string runs along a link and the data carry no flux."""
    off = [((ci / lattice.spacing) % 1.0) for ci in center]
    on = [mu for mu, o in enumerate(off) if min(o, 1 - o) < 1e-6]
    if on:
        where = ("a lattice site" if len(on) == len(off) else
                 f"a line of links (its axis-{on[0]} coordinate is a multiple of a = {lattice.spacing:g})")
        raise ParameterError(param, f"{list(center)} is on {where}: the unitary-gauge core (a Dirac string) must sit "
                             f"inside a plaquette; e.g. {list(example)}")


def vortex_fields(lattice: Lattice, charge: float, lam: float, v: float, m: float,
                  centers: Sequence[tuple[Sequence[float], int]]) -> tuple[np.ndarray, np.ndarray]:
    """Unrelaxed vortices (``(center, winding)`` each): ``phi_1 = sqrt(2) v_e prod tanh(r_j / xi_H)``, links of
    :func:`_vortex_links` summed, ``E = pi = 0`` (so ``rho = div E = 0``)."""
    if lattice.ndim != 2:
        raise ParameterError("lattice", f"vortices are 2D objects here; got a {lattice.ndim}D lattice")
    v_e = vev(lam, v, m)
    if v_e == 0:
        raise ParameterError("vev", "a vortex needs the Higgs phase (v^2 > m^2 / (2 lambda)); raise v")
    m_H, m_A = 2 * np.sqrt(lam) * v_e, np.sqrt(2.0) * abs(charge) * v_e
    xs = lattice.coordinates()
    prof = np.ones(lattice.shape)
    theta = np.zeros((2, *lattice.shape))
    for c, n in centers:
        _check_core(c, lattice, [(k // 2 + 0.5) * lattice.spacing for k in lattice.shape], "centers")
        d = [minimum_image(x, ci, ell) for x, ci, ell in zip(xs, c, lattice.lengths, strict=True)]
        prof *= np.tanh(np.sqrt(d[0] ** 2 + d[1] ** 2) * m_H / np.sqrt(2.0)) ** abs(n)
        theta += _vortex_links(lattice, c, n, np.sqrt(2.0) / m_A)
    phi = np.stack([np.sqrt(2.0) * v_e * prof, np.zeros(lattice.shape)])
    A = theta / (charge * lattice.spacing)
    zero = np.zeros((2, *lattice.shape))
    return _packed(A, phi, zero, zero)


def relax(model: Any, phi: np.ndarray, pi: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """``steps`` (a non-negative integer) of gradient flow ``x <- x - h dL/dx`` on the static energy, for the links
    and ``phi`` (learning without momentum: plain gradient descent as in the paper's (2.2), with the network's own
    loss by ``jax.grad``; explicit Euler of the flow, order 1 in ``h``, which only has to relax), ``h = 1 /
    omega_max^2``; ``E`` and ``pi`` left at zero (static data satisfy Gauss's law with ``rho = 0``)."""
    steps = _integer("relax_steps", steps, minimum=0)
    if steps == 0:
        return phi, pi
    net = model.network
    lat = model.lattice
    qa = float(net.charge) * lat.spacing
    tm = model.tree_masses()
    h = 1.0 / (4 * lat.ndim / lat.spacing**2 + max(tm.get("photon", 0.0), tm.get("higgs", 0.0)) ** 2)
    s = model.encode(phi, pi)
    D = lat.ndim

    def flow(_: int, x: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        th, f = x
        g_th, g_f = jax.grad(net.loss, argnums=(0, 1))(th, f)
        return th - h * qa**2 * g_th, f - h * g_f

    th, f = jax.jit(lambda x: jax.lax.fori_loop(0, int(steps), flow, x))((s["links"], s["matter"].phi))
    A = np.asarray(th) / qa
    out_phi = np.concatenate([A, np.asarray(f)])
    return out_phi, np.zeros_like(out_phi) if D else pi


def vortex(model: Any, center: Sequence[float] | None = None, winding: int = 1,
           relax_steps: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One vortex (flux ``2 pi winding / q``, ``winding`` a non-zero integer) at ``center`` (finite, inside a
    plaquette: a centre on a site or a line of links is refused; default: the plaquette centre nearest the box
    centre, ``(N // 2 + 1/2) a`` per axis; on an odd lattice that is the box centre
    itself), relaxed by ``relax_steps`` (a non-negative integer) of :func:`relax`."""
    lat = model.lattice
    th = model.theory
    if lat.ndim != 2:
        raise ParameterError("lattice", f"vortices are 2D objects here; got a {lat.ndim}D lattice")
    default = [(n // 2 + 0.5) * lat.spacing for n in lat.shape]  # the plaquette centre nearest the box centre
    c = _finite_point("center", per_axis("center", center, 2, default))
    _check_core(c, lat, default)
    winding = _integer("winding", winding)
    if winding == 0:
        raise ParameterError("winding", "expected a non-zero winding (e.g. 1)")
    relax_steps = _integer("relax_steps", relax_steps, minimum=0)
    phi, pi = vortex_fields(lat, float(th.charge), float(th.lam), float(th.v), float(th.m), [(c, winding)])
    return relax(model, phi, pi, relax_steps)


def vortex_pair(model: Any, separation: float | None = None, relax_steps: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A vortex (flux ``+2 pi / q``) and an antivortex (``-2 pi / q``) at ``separation`` along axis 0, about the
    centre, each core at a plaquette centre (``y = (N_1 // 2 + 1/2) a``, as :func:`vortex`'s default: on an odd
    ``N_1``, ``L_1 / 2 + a / 2`` is a row of sites, where the unitary-gauge core would sit on links); zero net
    flux; relaxed by ``relax_steps`` (a non-negative integer) of :func:`relax`."""
    lat = model.lattice
    th = model.theory
    if lat.ndim != 2:
        raise ParameterError("lattice", f"vortices are 2D objects here; got a {lat.ndim}D lattice")
    relax_steps = _integer("relax_steps", relax_steps, minimum=0)
    L = lat.lengths
    sep = separation if separation is not None else L[0] / 2
    check_number("separation", sep)
    if not 0 < sep < L[0]:
        raise ParameterError("separation", f"expected 0 < separation < L_0 = {L[0]:g}, got {sep:g}")
    a = lat.spacing
    cy = (lat.shape[1] // 2 + 0.5) * a  # the plaquette centre nearest the box centre along axis 1
    # the nearest whole number of spacings apart (rounding both ends, half to even, could put them in one plaquette)
    n = round(sep / a)
    i1 = round((L[0] / 2 - sep / 2) / a)
    i2 = i1 + n
    if not 1 <= n <= lat.shape[0] - 1:  # both cores in one plaquette: they annihilate in the data
        raise ParameterError("separation", f"expected the vortex and the antivortex in different plaquettes, at least "
                             f"a = {a:g} apart and L_0 - a = {L[0] - a:g} at most, got {sep:g}; e.g. {L[0] / 2:g}")
    c1 = [i1 * a + a / 2, cy]
    c2 = [i2 * a + a / 2, cy]
    phi, pi = vortex_fields(lat, float(th.charge), float(th.lam), float(th.v), float(th.m), [(c1, 1), (c2, -1)])
    return relax(model, phi, pi, relax_steps)


__all__ = ["charge_density", "charged_packets", "higgs_vacuum", "neutralize", "relax", "vortex", "vortex_fields",
           "vortex_pair", "with_gauss"]

