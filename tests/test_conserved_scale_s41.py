"""A declared conserved quantity that is zero to round-off is judged against its declared scale (session 41).

A 1+1 Dirac packet of equal positive- and negative-energy parts (``examples/dirac_1p1.toml``'s ``branch = "mixed"``)
on 12 sites has ``energy`` ~1e-16 throughout. Judged relative to itself (``|Q(0)|``) its round-off oscillated by its
own size and the run's verdict said "energy ... NOT BOUNDED" (found by shrinking the examples). The Dirac model
declares ``charge`` as the energy's scale (``Conserved.scale``); a quantity within the invariant's round-off bound
of that scale (``max |Q| <= 1e3 eps sqrt(steps) |S(0)|``) is judged relative to it, and its line says so. Anything
larger is judged as before: a drift is not hidden.
"""

from __future__ import annotations

import json

import numpy as np

from nnfield.conservation import verdict, verdicts
from nnfield.model import Conserved

E = Conserved("energy", "bounded", "", scale="charge")
E_EXACT = Conserved("energy", "invariant", "", scale="charge")


def _noise(n: int = 40, size: float = 1e-16) -> np.ndarray:
    return size * np.random.default_rng(0).normal(size=n)


def test_a_bounded_quantity_zero_to_round_off_of_its_scale_is_ok() -> None:
    charge = np.ones(40)
    v = verdict(E, _noise(), 300, np.float64, charge)
    assert v.ok and v.relative_to == "charge" and v.oscillation < 1e-14
    assert "(bounded, zero to round-off of charge)" in v.line() and v.line().endswith("no secular drift: OK")
    # without the scale: judged relative to itself, the round-off oscillates by its own size (the old verdict)
    old = verdict(E, _noise(), 300, np.float64)
    assert not old.ok and "NOT BOUNDED" in old.line() and old.relative_to == ""


def test_an_invariant_zero_to_round_off_of_its_scale_is_conserved() -> None:
    v = verdict(E_EXACT, _noise(), 300, np.float64, np.full(40, 2.0))
    assert v.ok and v.relative_to == "charge" and "(exact invariant, zero to round-off of charge)" in v.line()


def test_a_small_but_real_quantity_or_drift_is_judged_as_before() -> None:
    """Above the round-off bound of the scale the quantity is its own scale: the 256-site example's energy
    (-0.0035 of a unit charge) and a drift from 0 to 1e-6 of the charge with an oscillation on it (a real change)
    are judged as before."""
    charge = np.ones(40)
    t = np.linspace(0, 1, 40)
    small = -0.0035 * (1 + 0.05 * np.sin(20 * t))
    a, b = verdict(E, small, 300, np.float64, charge), verdict(E, small, 300, np.float64)
    assert a == b and a.relative_to == "" and a.ok
    drift = 1e-6 * t + 1e-7 * np.sin(40 * t)  # (an oscillation riding on a drift: judged, "DRIFTS")
    d = verdict(E, drift, 300, np.float64, charge)
    assert d.relative_to == "" and d.judged and not d.ok and "DRIFTS" in d.line()
    # a scale that is zero or missing changes nothing
    assert verdict(E, _noise(), 300, np.float64, np.zeros(40)).relative_to == ""
    assert verdicts([E], {"energy": _noise()}, 300, np.float64)[0].relative_to == ""
    assert verdicts([E], {"energy": _noise(), "charge": charge}, 300, np.float64)[0].relative_to == "charge"


def test_the_run_file_attribute_is_unchanged_unless_the_scale_was_used() -> None:
    charge = np.ones(40)
    plain = verdict(E, -0.0035 * np.ones(40), 300, np.float64, charge).as_dict()
    assert "relative_to" not in plain
    zero = verdict(E, _noise(), 300, np.float64, charge).as_dict()
    assert zero["relative_to"] == "charge"
    json.dumps([plain, zero])


def test_the_mixed_dirac_packet_on_twelve_sites_passes(tmp_path) -> None:
    """End to end: the 1+1 Dirac example on 12 sites (its energy ~1e-16); the run's verdict is OK and names the
    scale; the sweep's member verdicts take each member's own charge (``ensemble.member_verdicts``)."""
    from pathlib import Path

    from nnfield import ensemble, runner
    from nnfield import io as nio
    from nnfield.config import parse_config

    text = (Path(__file__).resolve().parent.parent / "examples" / "dirac_1p1.toml").read_text()
    cfg = parse_config(text.replace("shape = [256]", "shape = [12]"))
    assert tuple(cfg.lattice.shape) == (12,)
    res = runner.execute(cfg, tmp_path / "run", progress=False)
    energy = next(v for v in res.conservation if v.name == "energy")
    assert energy.ok and energy.relative_to == "charge", energy.line()
    stored = json.loads(nio.load_run(tmp_path / "run").attrs["conservation"])
    assert {d["name"]: d.get("relative_to", "") for d in stored}["energy"] == "charge"
    model, _ = runner.build(cfg)
    obs = nio.load_run(tmp_path / "run").observables
    cols = {k: np.stack([np.asarray(obs[k])] * 2, axis=1) for k in ("energy", "charge")}
    member = ensemble.member_verdicts(model.conserved(), cols, [{"m": 1}, {"m": 2}], 300, np.float64)
    assert all(v.ok for v in member if v.name.startswith("energy")), [v.line() for v in member]
