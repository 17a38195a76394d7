"""User mistakes in configs of the scalar theories end in one line on stderr naming the real key and exit 2
(through ``nnfield.cli.main``), never in a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnfield import cli

KG, PHI4 = 'name = "klein-gordon"', 'name = "phi4"'


def _config(theory: str, initial: str, shape: str = "[32]") -> str:
    return f"[theory]\n{theory}\n[lattice]\nshape = {shape}\nspacing = 0.5\n[time]\ndt = 0.05\nsteps = 4\n" \
           f"[initial]\n{initial}\n"


CASES = {
    "kink-winding-2": (_config('name = "sine-gordon"\nwinding = 2', 'kind = "kink"'), "theory.winding:"),
    "phi4-kmax-renamed": (_config(PHI4, 'kind = "random_spectrum"\nkmax = 0.1'),
                          "initial.kmax: renamed to initial.cutoff"),
    "phi4-cutoff-below-modes": (_config(PHI4, 'kind = "random_spectrum"\ncutoff = 0.1'), "initial.cutoff:"),
    "phi4-center-length": (_config(PHI4, 'kind = "gaussian_packet"\ncenter = [1.0, 2.0]'), "initial.center:"),
    "phi4-wavevector-renamed": (_config(PHI4, 'kind = "gaussian_packet"\nwavevector = [1.0, 2.0]'),
                                "initial.wavevector: renamed to initial.momentum"),
    "phi4-momentum-length": (_config(PHI4, 'kind = "gaussian_packet"\nmomentum = [1.0, 2.0]'), "initial.momentum:"),
    "phi4-width-unresolved": (_config(PHI4, 'kind = "gaussian_packet"\nwidth = 0.1'), "initial.width:"),
    "phi4-velocity-superluminal": (_config(PHI4, 'kind = "gaussian_packet"\nvelocity = 2.0'), "initial.velocity:"),
    "phi4-slope-overflow": (_config(PHI4, 'kind = "random_spectrum"\nslope = 5000.0'), "initial.slope:"),
    "phi4-mass-huge": (_config('name = "phi4"\nmass = 1e200', 'kind = "random_spectrum"'), "theory.mass:"),
    "sg-b-tiny": (_config('name = "sine-gordon"\nb = 1e-300', 'kind = "random_spectrum"'), "theory.b:"),
    "kg-mass-huge": (_config('name = "klein-gordon"\nmass = 1e200', 'kind = "plane_wave"'), "theory.mass:"),
    "kg-amplitude-overflow": (_config(KG, 'kind = "plane_wave"\namplitude = 1e308'), "initial.amplitude:"),
    "kg-width-huge": (_config(KG, 'kind = "gaussian_packet"\nwidth = 1e300'), "initial.width:"),
    "kg-center-far": (_config(KG, 'kind = "gaussian_packet"\ncenter = [1e300]'), "initial.center:"),
    "kg-n-aliased": (_config(KG, 'kind = "plane_wave"\nn = [100]'), "initial.n:"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_mistake_exits_2_with_one_line_naming_the_key(name, tmp_path: Path, capsys):
    text, key = CASES[name]
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(text)
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("nnfield: error:"), err
    assert key in lines[0], lines[0]
