"""Regressions of the analysis hunt (session 27): numbers of ``nnfield analyze`` and :mod:`nnfield.analysis`
checked against independent NumPy calculations, and inputs it accepted silently."""

import numpy as np
import pytest

from nnfield import Lattice, analysis
from nnfield.errors import ParameterError
from nnfield.theories import klein_gordon as kg
from nnfield.theories import maxwell_dirac as md
from nnfield.theories import scalar_qed


def _leapfrog_photon(lat: Lattice, dt: float, mass: float, kx: np.ndarray) -> np.ndarray:
    """``Omega`` of a transverse lattice photon along ``k = (kx, 0, ..)`` under the leapfrog, by hand:
    ``4 sin^2(Omega dt/2)/dt^2 = mass^2 + (4/a^2) sin^2(kx a/2)``."""
    w = np.sqrt(mass**2 + (4 / lat.spacing**2) * np.sin(kx * lat.spacing / 2) ** 2)
    return 2 / dt * np.arcsin(w * dt / 2)


@pytest.mark.parametrize("which", ["scalar-qed symmetric", "maxwell-dirac"])
def test_photon_extra_compares_the_photon_branches_not_the_matters(which):
    # the `photons` extra of `nnfield analyze` took the 2(D-1) highest branches of the whole symbol as the photons;
    # with matter whose branches lie above them (a charged scalar of mass 2, a Dirac field) it compared the
    # matter's and reported deviations of order 1 (1.65 and 0.68 here) for photons exact to round-off
    lat, dt = Lattice((8, 8), spacing=0.5), 0.05
    if which == "maxwell-dirac":
        model = md.model(lat, dt, charge=0.5, m=1.0)
    else:
        model = scalar_qed.model(lat, dt, charge=0.7, lam=0.5, v=0.0, m=2.0)  # symmetric: photon massless
    extra = model.analysis_extra()["photons"]
    # the transverse photon of the symbol, independently: eigenvalues of M(k) of the transverse link and its E
    kx = np.linspace(0.0, np.pi / lat.spacing, 17)[1:]
    M = analysis.one_step_symbol(model.network, [kx, np.zeros_like(kx)])
    K = model.network.K
    block = M[:, [1, K + 1]][:, :, [1, K + 1]]
    om = np.sort(np.abs(np.angle(np.linalg.eigvals(block))) / dt, axis=-1)
    want = _leapfrog_photon(lat, dt, 0.0, kx)
    assert np.abs(om - want[:, None]).max() < 1e-10  # the photons are exact (leapfrog recurrence), to round-off
    assert extra["transverse_polarizations"] == 1
    assert extra["max_deviation_from_leapfrog_dispersion"] < 1e-10


def test_dt_search_refuses_a_precision_it_cannot_reach_and_stops_at_float_resolution():
    # rel = 0 or < 0 looped forever (hi - lo > rel hi holds for adjacent floats), a rel below machine epsilon too;
    # rel = nan returned the coarse grid's dt at once (0.889 for 0.894)
    lat = Lattice((8,), spacing=1.0)

    def factory(dt):
        return kg.model(lat, 1.0, dt).network

    for rel in (float("nan"), 0.0, -1.0, 1.0):  # nan first: before the fix 0.0 hung
        with pytest.raises(ParameterError, match="rel"):
            analysis.largest_stable_dt(factory, 0.5, k=analysis.lattice_modes(lat), rel=rel)
    # leapfrog Klein-Gordon on 8 sites: the worst mode k = pi/a, omega^2 = m^2 + 4/a^2 = 5, stable for omega dt < 2;
    # at the bound the growth is sqrt(eps)-small, within STABILITY_TOL: the answer is the bound to ~1e-12
    dt = analysis.largest_stable_dt(factory, 0.5, k=analysis.lattice_modes(lat), rel=1e-20)
    assert dt == pytest.approx(2 / np.sqrt(5), rel=1e-11)


def test_momenta_with_the_wrong_number_of_components_are_refused():
    # a 1D network given (kx, ky) failed with an IndexError deep inside; a 2D network given (kx,) was analysed as
    # if ky = 0 at every momentum, without a word
    net1 = kg.model(Lattice((8,)), 1.0, 0.5).network
    net2 = kg.model(Lattice((4, 4)), 1.0, 0.3).network
    with pytest.raises(ParameterError, match="1 momentum component"):
        analysis.max_amplification(net1, [np.zeros(3), np.zeros(3)])
    with pytest.raises(ParameterError, match="2 momentum components"):
        analysis.network_dispersion(net2, [np.zeros(3)])
    with pytest.raises(ParameterError, match="n_path"):
        analysis.analyze(net1, n_path=0)


@pytest.mark.parametrize("scheme, loss", [("simultaneous", "corrected"), ("leapfrog", "corrected"),
                                          ("alternating", "corrected"), ("simultaneous", "printed_summed")])
def test_paper_dirac_growth_formula_is_reported_only_for_the_update_it_describes(scheme, loss):
    # `growth_per_step_max` = sqrt(1 + h^2 (m^2 + sigma_max^2)) is the growth of the paper's simultaneous update of
    # (4.11); it was reported for every scheme and loss: 1.0817 for a leapfrog network growing by 1.0090 per step
    from nnfield.theories import dirac

    lat, m, h = Lattice((6,), spacing=0.5), 1.0, 0.1
    model = dirac.model(lat, m, h, network="paper", scheme=scheme, loss=loss)
    extra = model.analysis_extra()
    growth = analysis.max_amplification(model.network, analysis.lattice_modes(lat))  # the network's own
    if (scheme, loss) == ("simultaneous", "corrected"):
        sigma_max = 2 / lat.spacing  # forward difference in 1D: |B(k)| = (2/a) |sin(k a/2)|, k = pi/a on 6 sites
        want = np.sqrt(1 + h**2 * (m**2 + sigma_max**2))
        assert extra["growth_per_step_max"] == pytest.approx(want, rel=1e-12)
        assert growth == pytest.approx(want, rel=1e-12)
    else:
        assert abs(growth - np.sqrt(1 + h**2 * (m**2 + 16))) > 1e-3  # the formula is not this network's growth
        assert extra["growth_per_step_max"] is None and "max_amplification" in extra["growth_per_step_note"]


def test_stability_limits_written_in_the_examples_are_the_formulas_values():
    # the comments said 0.567 (kg_3d_random: 2 / sqrt(12 + 0.25) = 0.5714) and 0.245 (dirac_1p1: the root of
    # 8 h = 2 cos(h / 2) is 0.2481); `nnfield analyze` reports 0.571428 and 0.248079
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "examples"
    kg3 = re.search(r"sqrt\(12 \+ m\^2\) = (0\.\d+)", (root / "kg_3d_random.toml").read_text()).group(1)
    assert float(kg3) == pytest.approx(2 / np.sqrt(12 + 0.5**2), abs=5e-4)
    d1 = re.search(r"dt < (0\.\d+)\n", (root / "dirac_1p1.toml").read_text()).group(1)
    lo, hi = 0.0, 0.25  # bisection of 8 h < 2 cos(h / 2) (m = 1, sigma_max = 2 / a = 8)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if 8 * mid < 2 * np.cos(mid / 2) else (lo, mid)
    assert float(d1) == pytest.approx(lo, abs=5e-4)
