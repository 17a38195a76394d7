"""A run never compares a model by value (session 37).

equinox's bound methods (``model.spectral_fields``) are modules that compare by value: ``tree_equal`` of every
array of the model, eagerly. JAX's trace cache keeps the functions it traced in a weak-keyed dictionary, so
``jax.eval_shape(model.spectral_fields, state)`` compared the new bound method with an earlier one of the same model
(nnfield's models hash by identity, so their bound methods hash alike): one compiled comparison per array shape of
the model. A 3D gauged Dirac run with spectra split over 4 devices compiled 14 programs instead of 2 (0.13 s of
comparisons with a warm compilation cache), and ``scripts/measure_memory.py --devices 4`` hung in such a
comparison's collective on fake CPU devices (read as XLA's rendezvous timeout in sessions 34 and 36). The library
now traces such methods through functions of their own (``nnfield.runner._spectral_shapes``).

Here every value comparison of an equinox module raises, and whole runs (with spectra, resumed) must pass.
"""

from __future__ import annotations

import equinox._module._module as eqx_module
import pytest

from nnfield import runner
from nnfield.config import parse_config

CASES = {
    "klein-gordon 2D": ('name = "klein-gordon"\nmass = 1.0', "[8, 6]", 'kind = "gaussian_packet"\nwidth = 1.0',
                        "leapfrog"),
    "gauged Dirac 2D": ('name = "gauged-dirac"\nnetwork = "stable"\nbias = "wilson"\nfield = "magnetic"\nn_flux = 1',
                        "[8, 8]", 'kind = "gaussian_packet"\nwidth = 2.0\nbranch = "positive"', "alternating"),
}


@pytest.fixture
def no_value_compare(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(a: object, b: object, *args: object, **kwargs: object) -> bool:
        raise AssertionError(f"a value comparison of a {type(a).__name__} (equinox tree_equal)")

    monkeypatch.setattr(eqx_module, "tree_equal", refuse)


def test_the_refusal_is_armed(no_value_compare: None) -> None:
    import equinox as eqx

    class M(eqx.Module):
        x: float

    with pytest.raises(AssertionError, match="value comparison"):
        _ = M(1.0) == M(1.0)


@pytest.mark.parametrize("case", list(CASES))
def test_a_run_with_spectra_and_resumed_compares_no_module(case: str, tmp_path, no_value_compare: None
                                                                   ) -> None:
    theory, shape, initial, scheme = CASES[case]
    text = (f"[theory]\n{theory}\n[lattice]\nshape = {shape}\nspacing = 1.0\n[time]\ndt = 0.05\nsteps = 4\n"
            f"scheme = \"{scheme}\"\n"
            f"[initial]\n{initial}\n[output]\nevery = 2\nspectra = true\ncheckpoint_every = 2\n")
    out = tmp_path / "run"
    runner.execute(parse_config(text), out, progress=False)
    if case != "klein-gordon 2D":  # (resuming: the Klein-Gordon case; the same path for every model)
        return
    res = runner.resume(out, 6, progress=False)
    assert res.steps_done == 6
