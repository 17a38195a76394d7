"""Guards before work: hostile configs are refused with one line and exit 2, and leave no directory behind."""

import pytest

from nnfield import cli

BASE = """\
[theory]
name = "klein-gordon"
{theory}
[lattice]
shape = {shape}
[time]
dt = 0.1
{time}
[initial]
kind = "plane_wave"
{initial}
"""


def _cfg(tmp_path, theory="", shape="[32]", time="steps = 10", initial="", precision=""):
    text = BASE.format(theory=theory, shape=shape, time=time, initial=initial)
    if precision:
        text += f'[output]\nprecision = "{precision}"\n'
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "kw, key",
    [
        ({"theory": "mass = 1e300"}, "theory.mass: expected a number of magnitude at most"),
        ({"initial": "amplitude = 1e200"}, "initial.amplitude: expected a number of magnitude at most"),
        ({"initial": "seed = 18446744073709551616"}, "initial.seed: expected an integer in 0 .. 2^63 - 1"),
        ({"time": "t_end = 1e99"}, "time.t_end: t_end / dt = 1e+100 steps, more than"),
        ({"time": "steps = 9223372036854775807"}, "time.steps: expected at most 9007199254740992"),
        ({"shape": "[1000000, 1000000, 1000000]"}, "lattice.shape: expected at most"),
        ({"initial": "amplitude = 1e30", "precision": "float32"}, "initial.amplitude: 1e+30 is beyond what float32"),
        ({"initial": "amplitude = 1e19", "precision": "float32"}, "the initial data is too large for float32"),
    ],
)
def test_hostile_values_are_refused_in_one_line(tmp_path, capsys, kw, key):
    out = tmp_path / "out"
    assert cli.main(["run", str(_cfg(tmp_path, **kw)), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and key in err[0], err
    assert not out.exists()  # a refused config leaves no directory behind


def test_config_files_that_are_not_small_regular_files_are_refused(tmp_path, capsys):
    assert cli.main(["run", "/dev/zero"]) == 2
    assert "not a regular file" in capsys.readouterr().err
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * (1 << 20) + "\n")
    assert cli.main(["run", str(big)]) == 2
    assert "larger than the 1048576 bytes" in capsys.readouterr().err


def test_out_below_a_regular_file_is_refused_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("")
    assert cli.main(["run", str(_cfg(tmp_path)), "--out", str(blocker / "sub"), "-q"]) == 2
    assert f"{blocker} is a file, not a directory" in capsys.readouterr().err


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_initial_data_is_refused_in_one_line(tmp_path, capsys, monkeypatch, bad):
    """Initial data with a NaN or Inf (here injected into what the config builds) is refused before any output."""
    from nnfield import runner
    from nnfield.state import State

    build = runner.build

    def poisoned(cfg, **kwargs):  # (kwargs: ``host``, a split run's build on the host)
        model, state = build(cfg, **kwargs)
        return model, State(state.phi.at[..., 3].set(bad), state.pi)

    monkeypatch.setattr(runner, "build", poisoned)
    out = tmp_path / "out"
    assert cli.main(["run", str(_cfg(tmp_path)), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the initial data has NaN or Inf values" in err[0], err
    assert not out.exists()


def test_the_host_finiteness_check_agrees_with_the_device_reduction():
    import jax.numpy as jnp
    import numpy as np

    from nnfield import runner

    trees = [
        {"a": jnp.zeros((2, 3)), "b": jnp.ones(4, jnp.complex64), "n": jnp.arange(3)},
        {"a": jnp.zeros((2, 3)).at[1, 2].set(jnp.inf)},
        {"b": jnp.ones(4, jnp.complex64).at[0].set(complex(0, np.nan))},
        {},
    ]
    for tree in trees:
        assert runner._all_finite(tree) == bool(runner._finite(tree)), tree
    assert [runner._all_finite(t) for t in trees] == [True, False, False, True]


def test_a_stable_dirac_network_rotating_by_pi_is_refused_as_unstable(tmp_path, capsys):
    """``m dt = pi``: the stable network's mass rotation is by pi (``tan(theta/2)`` infinite, so its invariant is
    not finite at step 0) and no ``B`` is stable there (``h sigma < 2 cos(m h / 2) = 0``): the gate refuses it as
    unstable, naming the largest stable dt, not as initial data too large (found by the config fuzzer, whose dt
    search also probed such a step and raised ZeroDivisionError)."""
    import math

    from nnfield.theories.dirac.networks import orthogonal_rates

    assert orthogonal_rates(math.pi, 0.5)[2] == math.inf
    cfg = tmp_path / "d.toml"
    cfg.write_text(f'[theory]\nname = "dirac"\ndimension = 1\nmass = {math.pi / 0.1!r}\nnetwork = "stable"\n'
                   '[lattice]\nshape = [64]\nspacing = 0.25\n[time]\ndt = 0.1\nsteps = 10\nscheme = "alternating"\n'
                   '[initial]\nkind = "gaussian_packet"\nwidth = 3.0\n')
    out = tmp_path / "out"
    assert cli.main(["run", str(cfg), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refusing to run an unstable network" in err[0] and "largest stable dt is ~" in err[0]
    assert not out.exists()
