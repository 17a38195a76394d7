"""The largest stable dt is the first loss of stability, whatever dt the search starts from.

The stable Dirac network (paper Sec. 4, NOTES Sec. 4) is stable where ``h sigma_max(B) <= 2 |cos(m h / 2)|``.
With the mass above the lattice cutoff (``m a > pi``) its stable steps form islands beyond the first loss, and
the search used to end in one of them: ``m = 30, a = 0.5`` reported 0.0923, 0.2753 or 0.4492 depending on the
configured dt. The closed form's first crossing (:func:`nnfield.theories.dirac.stability_bound`) is the exact
answer; the search bisects to ``rel = 1e-6``, so they agree to a few 1e-6.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from nnfield import analysis
from nnfield.lattice import Lattice
from nnfield.theories import dirac as dr

jax.config.update("jax_enable_x64", True)

M, A, N = 30.0, 0.5, 64  # m a = 15 > pi


def _lattice() -> Lattice:
    return Lattice((N,), A)


def _factory(dt: float):
    return dr.stable_network(_lattice(), M, dt, bias="forward")


def _first_loss() -> float:
    lat = _lattice()
    sig = dr.doubler_analysis(dr.bias_map(dr.clifford.representation(1), lat, "forward"), lat)["sigma_max"]
    return float(dr.stability_bound(M, 0.1, sig)["dt_max"])


def test_islands_exist_beyond_the_first_loss() -> None:
    """The premise: unstable just above the first loss, stable again further up (an island)."""
    first = _first_loss()
    k = analysis.lattice_modes(_lattice())
    assert analysis.is_stable(_factory(0.99 * first), k)
    assert not analysis.is_stable(_factory(1.02 * first), k)
    assert analysis.is_stable(_factory(0.2), k)  # 2 |cos(3)| = 1.98 > 0.2 * 4 = 0.8


@pytest.mark.parametrize("hint", [0.05, 0.07])
def test_gate_search_finds_the_first_loss(hint: float) -> None:
    """The gate's search (the lattice's modes with a strided subset first): before the fix 0.2753 (hint 0.05)
    and 0.4492 (hint 0.07)."""
    lat = _lattice()
    found = analysis.largest_stable_dt(_factory, hint, k=analysis.lattice_modes(lat),
                                       coarse_k=analysis.lattice_subset_modes(lat, 16))
    assert found == pytest.approx(_first_loss(), rel=5e-6)


@pytest.mark.slow
@pytest.mark.parametrize("hint", [0.01, 0.05, 0.07, 0.15, 0.25, 0.4])
def test_every_search_path_finds_the_first_loss(hint: float) -> None:
    """Direct search on given momenta, the refined search, and the default Brillouin grids."""
    lat = _lattice()
    first = _first_loss()
    k = analysis.lattice_modes(lat)
    assert analysis.largest_stable_dt(_factory, hint, k=k) == pytest.approx(first, rel=5e-6)
    assert analysis.largest_stable_dt(_factory, hint, k=k, coarse_k=analysis.lattice_subset_modes(lat, 16)) == (
        pytest.approx(first, rel=5e-6))
    assert analysis.largest_stable_dt(_factory, hint) == pytest.approx(first, rel=5e-6)


def test_default_grid_search_finds_the_first_loss() -> None:
    assert analysis.largest_stable_dt(_factory, 0.07) == pytest.approx(_first_loss(), rel=5e-6)


def test_a_monotone_network_makes_no_extra_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Klein-Gordon's leapfrog loses stability once (``dt^2 (m^2 + 4/a^2) = 4``); the check of the probes'
    phases adds no evaluation and the answer is the closed form to the bisection's precision."""
    from nnfield.theories import klein_gordon as kg

    lat = Lattice((32,), 0.5)
    m = 0.7
    calls: list[float] = []
    original = analysis._Probe.__call__

    def counted(self: analysis._Probe, dt: float) -> bool:
        calls.append(dt)
        return original(self, dt)

    monkeypatch.setattr(analysis._Probe, "__call__", counted)
    seen: dict[str, int] = {}
    original_first_loss = analysis._first_loss

    def first_loss(phase, full, found, rel):  # noqa: ANN001, ANN202
        seen["before"] = len(calls)
        out = original_first_loss(phase, full, found, rel)
        seen["after"] = len(calls)
        return out

    monkeypatch.setattr(analysis, "_first_loss", first_loss)
    found = analysis.largest_stable_dt(lambda dt: kg.model(lat, m, dt).network, 0.1, k=analysis.lattice_modes(lat))
    assert seen["after"] == seen["before"]
    assert found == pytest.approx(2.0 / np.sqrt(m**2 + 4.0 / 0.5**2), rel=2e-6)


def test_a_verdict_from_another_cpu_is_not_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    """LAPACK rounds differently on different CPUs (``max_amplification`` of ``kg_1d_packet``: 1 ulp between an
    AMD EPYC and an Intel Xeon): the verdict cache's key names the CPU."""
    from pathlib import Path

    from nnfield import stability
    from nnfield.config import load_config

    cfg = load_config(Path(__file__).resolve().parent.parent / "examples" / "kg_1d_packet.toml")
    key = stability._verdict_key(cfg)
    assert stability._verdict_key(cfg) == key
    monkeypatch.setattr(stability, "_processor", lambda: "x86_64 another CPU")
    assert stability._verdict_key(cfg) != key


@pytest.mark.parametrize("dt", [0.05, 0.1, 0.2, 0.3, 0.45, 0.5])
def test_the_closed_form_verdict_agrees_with_the_symbol_in_the_islands(dt: float) -> None:
    """``stability_bound(...)["stable"]`` against the network's own symbol on the lattice's modes, inside and
    beyond the first loss (it said unstable at dt = 0.2, a stable island, from the signed ``2 cos(m h/2) < 0``)."""
    lat = _lattice()
    sig = dr.doubler_analysis(dr.bias_map(dr.clifford.representation(1), lat, "forward"), lat)["sigma_max"]
    closed = dr.stability_bound(M, dt, sig)["stable"]
    assert closed == analysis.is_stable(_factory(dt), analysis.lattice_modes(lat))
