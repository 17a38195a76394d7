import numpy as np

from nnfield import Lattice
from nnfield.theories import klein_gordon as kg


def test_leapfrog_network_follows_exact_lattice_solution():
    lat = Lattice((8, 8), 0.5)
    rng = np.random.default_rng(0)
    phi, pi = rng.normal(size=(1, 8, 8)), rng.normal(size=(1, 8, 8))
    M = kg.model(lat, 1.0, 0.01, network="3.8", scheme="leapfrog")
    s, _ = M.network.run(M.initial_state(phi, pi), 10)
    ex, _ = M.theory.exact(phi, pi, 0.1)
    assert np.abs(np.asarray(s.phi) - ex).max() < 1e-3
