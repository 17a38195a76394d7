"""Typed TOML run configuration: parse, validate (every problem at once, each naming its key and the fix),
build objects.

A run config has five tables (``docs/config.md`` documents every key)::

    [theory]   name = "klein-gordon", plus the theory's own parameters (its ``TheorySpec.params``)
    [lattice]  shape = [64, 64], spacing = 1.0
    [time]     dt = 0.05, steps = 1000 (or t_end = 50.0), scheme = "leapfrog"
    [initial]  kind = "gaussian_packet", seed = 0, plus the kind's own parameters (``InitialSpec.params``)
    [output]   every, snapshot_every, precision = "float64" | "float32", chunk

Validation is generic and uses pydantic (``_validate``): each table's declaration (the generic tables here, a
theory's own in its ``spec``) is compiled into a frozen, strict pydantic model, so new theories need no change
here. This is the only place that knows TOML keys; it imports no JAX at load time.

- :mod:`._tables`: the generic tables and the limits every config obeys;
- :mod:`._validate`: one table against its declaration (pydantic), every problem as one line;
- :mod:`._load`: reading a file, the whole config, cross-key rules (``steps``/``t_end``, output cadences);
- :mod:`._config`: the typed :class:`Config` and the objects it builds;
- :mod:`._messages`: how problems are worded.
"""

from ._config import Config as Config
from ._config import InitialConfig as InitialConfig
from ._config import LatticeConfig as LatticeConfig
from ._config import OutputConfig as OutputConfig
from ._config import ParallelConfig as ParallelConfig
from ._config import TheoryConfig as TheoryConfig
from ._config import TimeConfig as TimeConfig
from ._load import from_dict as from_dict
from ._load import largest_divisor_at_most as largest_divisor_at_most
from ._load import load_config as load_config
from ._load import parse_config as parse_config
from ._tables import INITIAL_GENERIC as INITIAL_GENERIC
from ._tables import LATTICE_SCHEMA as LATTICE_SCHEMA
from ._tables import MAX_CONFIG_BYTES as MAX_CONFIG_BYTES
from ._tables import MAX_MAGNITUDE as MAX_MAGNITUDE
from ._tables import MAX_SITES as MAX_SITES
from ._tables import MAX_STEPS as MAX_STEPS
from ._tables import OUTPUT_SCHEMA as OUTPUT_SCHEMA
from ._tables import PRECISIONS as PRECISIONS
from ._tables import SECTIONS as SECTIONS
from ._tables import TIME_SCHEMA as TIME_SCHEMA
from ._validate import validate_table as validate_table

__all__ = [
    "INITIAL_GENERIC", "LATTICE_SCHEMA", "MAX_CONFIG_BYTES", "MAX_MAGNITUDE", "MAX_SITES", "MAX_STEPS",
    "OUTPUT_SCHEMA", "PRECISIONS", "SECTIONS", "TIME_SCHEMA", "Config", "InitialConfig", "LatticeConfig",
    "OutputConfig", "TheoryConfig", "TimeConfig", "from_dict", "largest_divisor_at_most", "load_config",
    "parse_config", "validate_table",
]
