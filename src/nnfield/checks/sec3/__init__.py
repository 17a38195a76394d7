"""Paper checks of Sec. 3 (the Klein-Gordon field), measured on the library's networks.

Every reference below is written here with ``np.roll`` (independently of :mod:`nnfield.operators`), and
every expected number (growth factors, the CFL bound, dispersion) from its closed form. Notation:
``omega_k^2 = m^2 + (4/a^2) sum_mu sin^2(k_mu a/2)``, ``F(phi) = (Lap_a - m^2) phi``.

The checks live in the modules of this package (one group each); importing the package registers them.
"""

from . import network38 as network38  # noqa: F401  (registers its checks)
from . import network314 as network314  # noqa: F401  (registers its checks)
from . import orders as orders  # noqa: F401  (registers its checks)
