"""algebra: checks of the Dirac construction: losses, per-type losses, 1+1 and 3+1 networks, gamma matrices."""

from __future__ import annotations

import numpy as np

from ...paper import Outcome, register
from ._common import EXACT_TOL, FAIL_MIN, _rel, _rng, _state, _step


@register("(4.5)", section=4, title="loss (4.3) gives A = -B^T (and the symmetric part of V)", expected="exact")
def check_learning_matrix_from_loss() -> Outcome:
    from ...lattice import Lattice
    from ...network import LinearNetwork, Network
    from ...operators import LatticeOperator, identity, local
    from ...theories import dirac as dr

    rng = _rng()
    lat, K, h = Lattice((8,), 0.5), 3, 0.4
    B = LatticeOperator.from_terms({(1,): rng.normal(size=(K, K)), (-2,): rng.normal(size=(K, K))}, 1, K)
    V0 = rng.normal(size=(K, K))
    eye = identity(1, K)
    s = _state(K, lat.shape)
    net = Network.create(lat, eye, B, dr.LearningMatrixLoss(local(V0 + V0.T, 1)), h, "simultaneous")
    lin = LinearNetwork.create(lat, eye, B, -1.0 * B.T, local(V0 + V0.T, 1), h, "simultaneous")
    res = _rel(_step(net, s).pi, _step(lin, s).pi)
    net_ns = Network.create(lat, eye, B, dr.LearningMatrixLoss(local(V0, 1)), h, "simultaneous")
    lin_ns = LinearNetwork.create(lat, eye, B, -1.0 * B.T, local(V0, 1), h, "simultaneous")
    lin_sym = LinearNetwork.create(lat, eye, B, -1.0 * B.T, local(0.5 * (V0 + V0.T), 1), h, "simultaneous")
    ns_literal = _rel(_step(net_ns, s).pi, _step(lin_ns, s).pi)
    ns_sym = _rel(_step(net_ns, s).pi, _step(lin_sym, s).pi)
    return Outcome(
        "exact" if res < EXACT_TOL and ns_sym < EXACT_TOL else "fails", res,
        f"autodiff learning of loss (4.3) vs the (4.2) network with A = -B^T (random B, symmetric V): {res:.1e}; "
        f"non-symmetric V: {ns_literal:.2f} vs V, {ns_sym:.1e} vs its symmetric part",
    )


@register("(4.10)", section=4, title="second-order form: -B B^T + (W - I)^2 (sign erratum)", expected="erratum")
def check_second_order_form_sign() -> Outcome:
    from ...lattice import Lattice
    from ...theories import dirac as dr

    lat, h, m = Lattice((12,), 0.5), 0.3, 0.8
    net = dr.paper_network(lat, m, h)
    s0 = _state(2, lat.shape)
    s1 = _step(net, s0)
    s2 = _step(net, s1)
    p0, p1, p2 = (np.asarray(x) for x in (s0.phi, s1.phi, s2.phi))
    lhs = p2 - 2 * p1 + p0
    B = net.B
    bbt = np.asarray(B.apply(B.T.apply(s0.phi)))
    corrected = _rel(lhs, h**2 * (-bbt - m**2 * p0))  # (W - I)^2 = m^2 X0^2 = -m^2
    printed = _rel(lhs, h**2 * (-bbt + m**2 * p0))
    ok = corrected < EXACT_TOL and printed > FAIL_MIN
    return Outcome(
        "erratum" if ok else "fails", corrected,
        f"1+1 paper network, V = 2I - W, W - I = m X0: phi(t+2) - 2 phi(t+1) + phi(t) = h^2 (-B B^T + (W - I)^2) "
        f"phi(t) to {corrected:.1e}; as printed, -(W - I)^2: {printed:.2f}",
    )


@register("(4.12)", section=4, title="scalar loss (4.12) gives (4.11) only for symmetric W", expected="condition")
def check_scalar_loss_needs_symmetric_w() -> Outcome:
    from ...lattice import Lattice
    from ...network import LinearNetwork, Network
    from ...operators import identity, local
    from ...theories import clifford as cl
    from ...theories import dirac as dr

    rng = _rng()
    lat, h = Lattice((8,), 0.5), 0.3
    X = cl.representation(1)
    B = dr.bias_forward(X, lat)
    S = rng.normal(size=(2, 2))
    eye = identity(1, 2)
    s = _state(2, lat.shape)
    res = {}
    for name, WmI in (("symmetric", local(S + S.T, 1)), ("m X0", local(0.8 * X[0], 1))):
        W = eye + WmI
        net = Network.create(lat, W, B, dr.ScalarMassLoss(WmI), h, "simultaneous")
        lin = LinearNetwork.create(lat, W, B, -1.0 * B.T, 2.0 * eye - W, h, "simultaneous")
        res[name] = _rel(_step(net, s).pi, _step(lin, s).pi)
    ok = res["symmetric"] < EXACT_TOL and res["m X0"] > FAIL_MIN
    return Outcome(
        "condition" if ok else "fails", res["m X0"],
        f"learning vs (4.11): symmetric W {res['symmetric']:.1e}; W - I = m X0 (antisymmetric) {res['m X0']:.2f} "
        "(pi.X0 pi = 0: the mass term is lost)",
    )


@register("(4.14)", section=4, title="per-type losses: printed form fails, corrected form gives (4.11)",
          expected="erratum")
def check_per_type_losses() -> Outcome:
    from ...lattice import Lattice
    from ...theories import dirac as dr

    lat, h, m = Lattice((12,), 0.5), 0.3, 0.8
    lin = dr.literal_linear_network(lat, m, h)
    s = _state(2, lat.shape)
    ref = _step(lin, s)
    res = {}
    for form in ("corrected", "printed", "printed_summed"):
        out = _step(dr.paper_network(lat, m, h, loss=form), s)
        res[form] = max(_rel(out.phi, ref.phi), _rel(out.pi, ref.pi))
    ok = res["corrected"] < EXACT_TOL and min(res["printed"], res["printed_summed"]) > FAIL_MIN
    return Outcome(
        "erratum" if ok else "fails", res["corrected"],
        f"vs (4.11): H_a = 1/2 sum_b phi_b.phi^b + m pi_a X0 pi^a {res['corrected']:.1e}; printed (4.14) "
        f"{res['printed']:.2f} (loses -B^T phi, mass sign flipped); printed with the phi term summed "
        f"{res['printed_summed']:.2f} (mass sign flipped)",
    )


@register("(4.17)", section=4, title="1+1 network from (4.15) with per-type losses", expected="exact")
def check_network_1p1() -> Outcome:
    from ...lattice import Lattice
    from ...theories import dirac as dr

    lat, m = Lattice((12,)), 0.8
    s = _state(2, lat.shape)
    out = _step(dr.paper_network(lat, m, 1.0), s)
    ref = dr.literal_update_1d(np.asarray(s.phi), np.asarray(s.pi), m)
    res = max(_rel(out.phi, ref[0]), _rel(out.pi, ref[1]))
    return Outcome("exact" if res < EXACT_TOL else "fails", res,
                   f"unit-step network (corrected per-type losses) vs (4.17) written out: {res:.1e}")


@register("(4.23)", section=4, title="1+1 gammas sigma_3, i sigma_1 anticommute", expected="exact")
def check_gammas_1p1() -> Outcome:
    from ...theories import clifford as cl

    res = cl.anticommutator_residuals(cl.gammas_1p1_printed())
    g = cl.gamma_matrices(cl.representation(1))
    same = float(np.abs(g[1] + cl.gammas_1p1_printed()[1]).max())
    worst = max(res.values())
    return Outcome("exact" if worst < EXACT_TOL and same < EXACT_TOL else "fails", worst,
                   f"{{g0,g1}} = 0, g0^2 = -g1^2 = I: {worst:.1e}; (4.31) with K = 2 gives gamma^1 = -i sigma_1 "
                   f"(the sign of the eta convention of (4.37)): {same:.1e}")


@register("(4.25)", section=4, title="the real matrices (4.35) satisfy the Clifford relations", expected="exact")
def check_clifford_relations() -> Outcome:
    from ...theories import clifford as cl

    rep = cl.check_clifford(cl.representation(3))
    worst = max(rep.residuals.values())
    broken = cl.representation(3).copy()
    broken[2] = broken[3]
    bad = cl.check_clifford(broken)
    name, val = bad.worst
    scaled = cl.representation(3).copy()
    scaled[1] = 2.0 * scaled[1]  # anticommutes with the others, antisymmetric, but X_1^2 = -4 I
    bad2 = cl.check_clifford(scaled)
    name2, val2 = bad2.worst
    ok = worst < EXACT_TOL and not bad.ok and not bad2.ok
    return Outcome("exact" if ok else "fails", worst,
                   f"{len(rep.residuals)} relations, max residual {worst:.1e}; broken sets are reported: X_2 = X_3 as "
                   f"'{name}' off by {val:.1f}, 2 X_1 as '{name2}' off by {val2:.1f}")


@register("(4.26)", section=4, title="3+1 network from (4.24) with per-type losses (index typo pi_j -> pi_i)",
          expected="exact")
def check_network_3p1() -> Outcome:
    from ...lattice import Lattice
    from ...theories import clifford as cl
    from ...theories import dirac as dr

    lat, m = Lattice((3, 3, 4)), 0.8
    s = _state(4, lat.shape)
    out = _step(dr.paper_network(lat, m, 1.0), s)
    ref = dr.literal_update(np.asarray(s.phi), np.asarray(s.pi), cl.representation(3), m)
    res = max(_rel(out.phi, ref[0]), _rel(out.pi, ref[1]))
    return Outcome("exact" if res < EXACT_TOL else "fails", res,
                   f"unit-step 3+1 network vs (4.26) written out with pi_j read as pi_i: {res:.1e}")


@register("(4.33)", section=4, title="gammas (4.31)/(4.36) from (4.35): {g^mu, g^nu} = 2 eta^{mu nu}",
          expected="exact")
def check_gamma_matrices() -> Outcome:
    from ...theories import clifford as cl

    g = cl.gamma_matrices(cl.representation(3))
    res = max(cl.anticommutator_residuals(g).values())
    s = cl.SIGMA
    d436 = max(float(np.abs(g[0] - np.kron(s[2], np.eye(2))).max()),
               *(float(np.abs(g[mu + 1] - np.kron(s[0], 1j * s[mu])).max()) for mu in range(3)))
    Xc = cl.complex_X(cl.representation(3))
    d434 = max(float(np.abs(Xc[0] + 1j * np.eye(2)).max()),
               *(float(np.abs(Xc[mu + 1] - 1j * s[mu]).max()) for mu in range(3)))
    worst = max(res, d436, d434)
    return Outcome("exact" if worst < EXACT_TOL else "fails", worst,
                   f"anticommutators {res:.1e}; complex form of (4.35) = (4.34) {d434:.1e}; gammas = (4.36) {d436:.1e}")
