"""docs/config.md tells the truth about what each theory accepts (session-29 docs audit).

The page lists each theory's initial conditions and their keys by hand; these tests compare it with the
registered ``TheorySpec`` s and with what the config loader accepts, so a new kind, key or scheme rule cannot
go undocumented (the audit found ``maxwell-dirac``'s ``charged_packets`` with its keys ``count``, ``norm``,
``field``, ``direction`` missing, ``random_photons``/``plane_wave``/``file`` listed for two of the three gauge
theories, and a scheme rule that let ``"simultaneous"`` through for the stable Dirac network).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nnfield.config import parse_config
from nnfield.errors import ConfigError
from nnfield.theories import load_all, registry

CONFIG_MD = Path(__file__).resolve().parents[1] / "docs" / "config.md"
GAUGE_THEORIES = ("maxwell", "scalar-qed", "maxwell-dirac")


def _kind_rows(text: str) -> dict[tuple[str, str], str]:
    """``(kind, theory) -> keys cell`` of every table row ``| `kind` | `theory`, ... | keys | what |``."""
    rows: dict[tuple[str, str], str] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not re.fullmatch(r"`\w+`", cells[0]):
            continue
        for theory in re.findall(r"`([a-z0-9-]+)`", cells[1]):
            rows[(cells[0].strip("`"), theory)] = cells[2]
    return rows


def test_every_initial_condition_of_a_gauge_theory_is_documented_with_its_keys():
    load_all()
    rows = _kind_rows(CONFIG_MD.read_text())
    for name in GAUGE_THEORIES:
        spec = registry.THEORIES[name]
        for kind, ispec in spec.initial.items():
            assert (kind, name) in rows, f"docs/config.md: no row for kind {kind!r} of theory {name!r}"
            missing = [k for k in ispec.params if f"`{k}`" not in rows[(kind, name)]]
            assert not missing, f"docs/config.md, {name!r} kind {kind!r}: keys {missing} not documented"
    listed = {(k, t) for (k, t) in rows if t in GAUGE_THEORIES}
    offered = {(k, t) for t in GAUGE_THEORIES for k in registry.THEORIES[t].initial}
    assert listed <= offered, f"docs/config.md lists kinds a theory does not offer: {sorted(listed - offered)}"


def test_the_kinds_each_scalar_and_dirac_theory_offers_are_listed():
    load_all()
    text = " ".join(CONFIG_MD.read_text().split())
    sentence = text[text.index("Which kinds a theory offers:"):].split(". ", 1)[0]
    for part in sentence.split(":", 1)[1].split(";"):
        head, _, kinds = part.partition(":")
        for theory in re.findall(r"`([a-z0-9-]+)`", head):
            if theory not in registry.THEORIES:
                continue
            assert sorted(re.findall(r"`(\w+)`", kinds)) == sorted(registry.THEORIES[theory].initial), theory
    named = set(re.findall(r"`([a-z0-9-]+)`:", sentence)) | set(re.findall(r"`([a-z0-9-]+)` and `", sentence))
    missing = {"klein-gordon", "phi4", "sine-gordon", "dirac", "gauged-dirac"} - named
    assert not missing, f"docs/config.md: 'Which kinds a theory offers' omits {sorted(missing)}"


_SCHEME_CONFIG = """
[theory]
name = "{theory}"
{extra}
[lattice]
shape = [8]
[time]
dt = 0.05
steps = 2
scheme = "{scheme}"
[initial]
kind = "{kind}"
"""


@pytest.mark.parametrize(("theory", "extra", "kind", "allowed"), [
    ("dirac", 'network = "stable"', "gaussian_packet", {"alternating"}),
    ("gauged-dirac", 'network = "stable"', "gaussian_packet", {"alternating"}),
    ("gauged-dirac", 'network = "paper"', "gaussian_packet", {"simultaneous"}),
    ("klein-gordon", 'network = "3.14"', "gaussian_packet", {"leapfrog", "simultaneous"}),
    ("maxwell-dirac", "", "charged_packets", {"leapfrog"}),
], ids=["dirac-stable", "gauged-stable", "gauged-paper", "kg-3.14", "maxwell-dirac"])
def test_the_schemes_config_md_names_are_the_ones_accepted(theory, extra, kind, allowed):
    """docs/config.md, ``[time] scheme``: which schemes each restricted network takes (the model is built,
    which is where the rule is checked; nothing is compiled)."""
    for scheme in ("simultaneous", "alternating", "leapfrog", "yoshida4"):
        cfg_text = _SCHEME_CONFIG.format(theory=theory, extra=extra, scheme=scheme, kind=kind)
        if scheme in allowed:
            parse_config(cfg_text).build_model()
        else:
            with pytest.raises(ConfigError, match="time.scheme"):
                parse_config(cfg_text).build_model()
