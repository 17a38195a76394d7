"""Memory guard before work: refuse a run that cannot fit in this machine's memory, before allocating it.

:func:`estimate_run_memory` adds up, from the config alone (no field is allocated, no model is built for a
registered theory; a config for 2^35 sites is judged in microseconds):

- ``fields``: the network state, ``2 K sites itemsize`` (``phi`` and ``pi``, each ``(K, *shape)``);
- ``model``: the model's per-site arrays (links, per-site coefficients), float64 as built, 16 KiB for its constant
  arrays and the chunk's small buffers, and with ``[output] spectra`` the spectra's tables (``32 sites`` bytes:
  each mode's shell, ``omega_k``, the real FFT's half grid);
- ``temporaries``: XLA's temporaries of the compiled chunk (the scan of steps with its observables), a
  multiple of the state's bytes measured per (theory, dimension, scheme) (:data:`MEASURED`: the largest over
  the theory's networks, with observables after every tick; with ``[output] spectra`` the factor measured with
  the spectra's FFTs); a float32 run adds its observer's float64 partial sums, ``n_observables sites`` bytes
  (:func:`_float64_partial_sums`);
- ``initial``: the initial data while it is built, ``K sites`` times the bytes per component and site measured
  for the theory's initial kind (:data:`MEASURED_INITIAL`, ``scripts/measure_initial_memory.py``: 48 to 144; the
  largest for a kind without a measurement, e.g. ``file``), and a block of the Dirac projector (at most 32 MiB,
  :func:`_initial_fixed`); not alive during the steps,
  so the peak counts the larger of this and the temporaries (until session 44 a flat ``6 K sites 8`` bytes, which
  the builds of 23 of 28 kinds exceeded: a Dirac packet held 6.5 times that, its energy projector on the whole FFT
  grid, built a block of planes at a time since);
- ``host``: the host copy of a snapshot (``fields``) and the observables read back at the end of the run,
  ``(steps // every + 2) (n_observables + 2) 8`` bytes (with spectra, up to 4 spectra of at most
  ``round(sqrt(D) N_max / 2) + 1`` shells each are observables too);
- ``halo check``: with ``[parallel] halo`` on more than one device, the check before the run
  (:func:`nnfield.halo.with_halo`) holds four more states and a changed copy of the model
  (``4 fields + model``) while it runs, before the chunk's temporaries exist: the peak counts the larger; the
  check runs in float64 (a float32 run: its states twice the fields' bytes each, and a float64 copy of the model).

:data:`MEASURED` comes from ``scripts/measure_memory.py``: for every registered theory, D = 1, 2, 3 and each
scheme, the largest over the theory's step-shaping choices (network, bias, field), ``[output] spectra``, lattices of
about 2^12, 2^15 and 2^18 sites and two chunk programs (four samples, one after every tick; one sample after a block
of ticks, the chunk of a lattice above 1e7 sites or of a sparse ``every``; since session 35 also samples of 2, 3
and 5 ticks, which ``measure_memory.py --compare`` found covered by the table, the simultaneous scheme on the three
sizes and the others on 2^18 sites, except one row, re-measured) of XLA's
``jax.jit(...).lower(...).compile().memory_analysis()`` of the run's chunk, as a multiple of the state's bytes,
next to the model's bytes per site and ``K``. XLA's fusion choices change with the lattice's size and the chunk's
shape (3D scalar QED holds 4.2 states on 16^3, 1.6 on 32^3 and 2.8 on 64^3 in a one-sample chunk: the links'
``cos``/``sin`` become buffers of their own), so one factor over-estimates some sizes (up to 2.2 times on 32^3)
in order never to under-estimate another. A theory
registered from outside has no entry: its model is built once on a tiny lattice (at most 4 sites per axis) for
``K`` and the model's bytes per site (``K = 4`` if that fails), and the largest measured temporaries factor is
assumed.

:func:`available_memory` is the smallest of ``MemAvailable`` (``/proc/meminfo``) and every cgroup (v2 and v1)
limit minus its usage on the way from this process's cgroup to the root; on a machine without ``/proc`` it is
``os.sysconf`` (available physical pages). On an accelerator (GPU) the device's free memory is compared with
what lives there (fields, model, temporaries); a run sharded over several devices (``[parallel] devices``)
splits that part over them (the state and the model's site fields are sharded along the first lattice axis,
:func:`nnfield.parallel.place_model`; a sweep's members are split instead), so each device is asked for its
share, with the temporaries of the split program (:data:`MEASURED_SPLIT`: XLA's halo exchange copies the shifted
reads along the split axis, so a split program holds more than its share of the one-device program). In a run
over several processes every process builds the whole model, and (``[parallel] build = "whole"``, or an initial kind
without a split builder) the whole initial state, on its host before it keeps its shards, so the host's estimate
counts once per process on this host (a run counts them from
every process's host identity, :func:`nnfield.parallel.host_ranks`; otherwise :func:`processes_on_this_host`, from
the launcher's environment); where only one build at a time fits, the processes build in turns
(:func:`check_memory` with ``turns``, :func:`nnfield.parallel.in_turns`). A run that builds its initial data split
over its devices (:func:`nnfield.runner.split_build`, session 45: :data:`MEASURED_SPLIT_INITIAL`) holds in each
process its devices' share of every per-site part.

:func:`check_memory` raises :class:`~nnfield.errors.InputError` (one line, exit code 2) when the estimate
exceeds what is available. ``NNFIELD_SKIP_MEMORY_CHECK=1`` in the environment skips the check.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from .errors import InputError, NNFieldError

__all__ = ["LOCAL_PROCESS_VARS", "MEASURED", "MEASURED_INITIAL", "MEASURED_SPLIT_INITIAL", "SKIP_ENV",
           "available_memory", "check_memory", "describe_memory", "device_memory", "estimate_run_memory",
           "processes_on_this_host", "release_freed_memory"]

#: set to 1 (or true, yes) to skip the memory check
SKIP_ENV = "NNFIELD_SKIP_MEMORY_CHECK"

#: (theory, D, scheme): (K, model bytes per site (float64), XLA temporaries / state bytes, observables, the
#: temporaries / state bytes with ``[output] spectra``);
#: from ``scripts/measure_memory.py`` (the largest over network, bias, field, spectra, 2^12, 2^15 and 2^18 sites
#: and chunks of four samples and of one sample after 8 ticks; D > 3 uses D = 3; measured 2026-12-06, jax 0.10.2;
#: the Dirac, gauged-Dirac, Maxwell, Maxwell-Dirac and scalar-QED rows again in session 31, with the fields
#: stored site-major in the loops: up to 2 states more, the relayout at the chunk's ends; the scalar-QED rows again
#: in session 32, after its losses' shifts along the contiguous axis became repeated slices: 0.7 states fewer in 1D,
#: 0.1 more in 2D and 3D, 0.2-0.7 fewer with spectra; the Dirac rows' spectra column in session 32 with the
#: positive-energy projector the spectra read, ``K^2`` complex numbers per site, counted: 2 and 4 states more; and
#: since session 32 the larger of the float64 table and one measured in float32 (``--precision float32``), whose
#: programs hold up to 1.1 states more relative to their fields: a float32 phi^4 run in 1D was estimated at 0.83 of
#: its allocation; the Dirac and gauged-Dirac rows were compared in float32 instead, at least 1.00)
MEASURED: dict[tuple[str, int, str], tuple[int, int, float, int, float]] = {
    ('dirac', 1, 'simultaneous'): (2, 0, 3.9, 6, 9.9),
    ('dirac', 1, 'alternating'): (2, 0, 5.4, 6, 11.9),
    ('dirac', 1, 'leapfrog'): (2, 0, 3.9, 6, 10.4),
    ('dirac', 1, 'yoshida4'): (2, 0, 3.9, 6, 9.9),
    ('dirac', 2, 'simultaneous'): (4, 0, 7.3, 8, 16.3),
    ('dirac', 2, 'alternating'): (4, 0, 9.8, 8, 18.8),
    ('dirac', 2, 'leapfrog'): (4, 0, 7.3, 8, 16.3),
    ('dirac', 2, 'yoshida4'): (4, 0, 7.3, 8, 16.3),
    ('dirac', 3, 'simultaneous'): (4, 0, 7.4, 10, 16.4),
    ('dirac', 3, 'alternating'): (4, 0, 8.9, 10, 18.3),
    ('dirac', 3, 'leapfrog'): (4, 0, 7.4, 10, 16.4),
    ('dirac', 3, 'yoshida4'): (4, 0, 7.4, 10, 16.4),
    ('gauged-dirac', 1, 'alternating'): (2, 121, 10.9, 6, 11.1),
    ('gauged-dirac', 1, 'simultaneous'): (2, 121, 10.9, 6, 11.4),
    ('gauged-dirac', 2, 'alternating'): (4, 1569, 21.0, 9, 21.3),
    ('gauged-dirac', 2, 'simultaneous'): (4, 1569, 23.1, 9, 23.1),  # session 35: a sample after 5 ticks
    ('gauged-dirac', 3, 'alternating'): (4, 2345, 32.8, 12, 33.3),
    ('gauged-dirac', 3, 'simultaneous'): (4, 2345, 32.8, 12, 33.3),
    ('klein-gordon', 1, 'simultaneous'): (1, 0, 6.3, 4, 11.1),
    ('klein-gordon', 1, 'alternating'): (1, 0, 2.6, 4, 5.8),
    ('klein-gordon', 1, 'leapfrog'): (1, 0, 6.3, 4, 11.1),
    ('klein-gordon', 1, 'yoshida4'): (1, 0, 7.1, 4, 9.3),
    ('klein-gordon', 2, 'simultaneous'): (1, 0, 9.1, 4, 11.2),
    ('klein-gordon', 2, 'alternating'): (1, 0, 3.6, 4, 5.1),
    ('klein-gordon', 2, 'leapfrog'): (1, 0, 9.1, 4, 11.2),
    ('klein-gordon', 2, 'yoshida4'): (1, 0, 10.1, 4, 10.7),
    ('klein-gordon', 3, 'simultaneous'): (1, 0, 11.1, 4, 14.0),
    ('klein-gordon', 3, 'alternating'): (1, 0, 4.6, 4, 6.5),
    ('klein-gordon', 3, 'leapfrog'): (1, 0, 11.1, 4, 14.0),
    ('klein-gordon', 3, 'yoshida4'): (1, 0, 11.6, 4, 12.7),
    ('maxwell', 1, 'leapfrog'): (1, 0, 3.1, 5, 4.0),
    ('maxwell', 2, 'leapfrog'): (2, 0, 3.6, 7, 4.8),
    ('maxwell', 3, 'leapfrog'): (3, 0, 3.7, 6, 4.7),
    ('maxwell-dirac', 1, 'leapfrog'): (3, 0, 8.4, 11, 9.0),
    ('maxwell-dirac', 2, 'leapfrog'): (6, 0, 10.3, 17, 11.0),  # session 42: 10.26 with 2 sin^2(P/2) (was 10.17)
    ('maxwell-dirac', 3, 'leapfrog'): (7, 0, 12.6, 20, 13.2),  # session 47: the position's grids broadcast (12.3, 12.9)
    ('phi4', 1, 'simultaneous'): (1, 0, 4.8, 5, 7.1),
    ('phi4', 1, 'alternating'): (1, 0, 4.1, 5, 6.6),
    ('phi4', 1, 'leapfrog'): (1, 0, 5.1, 5, 6.9),
    ('phi4', 1, 'yoshida4'): (1, 0, 8.9, 5, 10.6),
    ('phi4', 2, 'simultaneous'): (1, 0, 5.1, 5, 6.8),
    ('phi4', 2, 'alternating'): (1, 0, 5.1, 5, 6.6),
    ('phi4', 2, 'leapfrog'): (1, 0, 6.1, 5, 6.8),
    ('phi4', 2, 'yoshida4'): (1, 0, 11.1, 5, 12.1),
    ('phi4', 3, 'simultaneous'): (1, 0, 6.1, 5, 7.8),
    ('phi4', 3, 'alternating'): (1, 0, 6.1, 5, 7.6),
    ('phi4', 3, 'leapfrog'): (1, 0, 6.1, 5, 7.6),
    ('phi4', 3, 'yoshida4'): (1, 0, 13.1, 5, 14.1),
    ('scalar-qed', 1, 'leapfrog'): (3, 0, 2.4, 8, 3.1),
    ('scalar-qed', 2, 'leapfrog'): (4, 0, 4.3, 10, 4.6),
    ('scalar-qed', 3, 'leapfrog'): (5, 0, 4.7, 9, 5.2),
    ('sine-gordon', 1, 'simultaneous'): (1, 0, 4.8, 5, 7.6),
    ('sine-gordon', 1, 'alternating'): (1, 0, 4.1, 5, 7.1),
    ('sine-gordon', 1, 'leapfrog'): (1, 0, 5.1, 5, 7.4),
    ('sine-gordon', 1, 'yoshida4'): (1, 0, 8.9, 5, 10.6),
    ('sine-gordon', 2, 'simultaneous'): (1, 0, 5.6, 5, 7.8),
    ('sine-gordon', 2, 'alternating'): (1, 0, 5.6, 5, 7.1),
    ('sine-gordon', 2, 'leapfrog'): (1, 0, 5.6, 5, 7.1),
    ('sine-gordon', 2, 'yoshida4'): (1, 0, 11.1, 5, 12.1),
    ('sine-gordon', 3, 'simultaneous'): (1, 0, 6.1, 5, 8.3),
    ('sine-gordon', 3, 'alternating'): (1, 0, 6.1, 5, 8.1),
    ('sine-gordon', 3, 'leapfrog'): (1, 0, 6.1, 5, 8.1),
    ('sine-gordon', 3, 'yoshida4'): (1, 0, 13.1, 5, 14.1),
}
#: (theory, D, scheme): (temporaries / state bytes, the same with ``[output] spectra``) of the chunk of a lattice
#: split over several devices: each device's temporaries times the device count over the whole state's bytes, the
#: largest over 4 fake CPU devices on about 2^12, 2^15 and 2^18 sites (16^3 to 64^3, 64^2 to 512^2, 4096 to 262144
#: sites in 1D) and 2 fake devices on about 2^15 (``scripts/measure_memory.py --devices N --sites S``, session 34;
#: the gauged Dirac network at 2^18 sites only in 1D and in part of 2D until session 37: the measurement hung three
#: times, read then as XLA:CPU's rendezvous timeout, found in session 37 to be a value comparison of the split model,
#: and compared since at all three sizes, below). A split program
#: holds more than its share of the one-device program: the halo exchange of every shifted read along the split
#: axis is a copy of its own (a 3D phi^4 or Dirac program on 2 devices held more per device than on one,
#: ``scripts/split_memory.py``). 1D spectra and complex fields (Dirac) keep the whole FFT: their spectra column
#: counts the whole field XLA gathers on each device. The guard's estimate of a split run takes the larger of this
#: and :data:`MEASURED`. Measured with a sample after every tick and one after 8 ticks; session 35 added samples of
#: 2, 3 and 5 ticks and re-measured on 4 fake devices on about 2^15 sites (Klein-Gordon 1D also on 2^12 and 2^18 and
#: on 2 devices; every theory but Dirac, whose child crashed, and gauged Dirac): the 17 rows marked rose by at most
#: 8%, the largest of the old and the new value kept. Session 36: Dirac compared on 4 fake devices at about 2^15
#: sites with the five programs, one child process per dimension (one child for all three had crashed): its rows
#: hold (estimate/measured 1.002-1.79 over 300 programs, the lowest 1.002 in 3D and 1.004 in 2D), unchanged.
#: Gauged Dirac, the same way: 1D holds (1.008-1.111); 2D fell to 0.927 (the magnetic-field variants with 5 ticks per
#: sample), its two rows re-measured (marked; 1.001-2.37 after); 3D holds in the 39 programs compared (1.008 and
#: up) but one, the stable network's Wilson bias in a magnetic field with 5 ticks per sample (0.967), whose
#: comparison then hung. Session 37 found why: not XLA's rendezvous timeout (as read in sessions 34 and 36) but the
#: script's value comparison of a split model in JAX's trace cache (``nnfield.runner._spectral_shapes``, fixed).
#: The whole 3D comparison then ran (80 programs, 0.967-2.38): the Wilson bias in a magnetic field at 5 ticks per
#: sample fell short in both schemes (0.967-0.985). The same programs hold a little more at 2^12 and 2^18 sites
#: (16^3 and 64^3, the latter compared for the first time; 0.994-0.999 against rows raised from the smaller sizes),
#: and the two 3D rows were raised to the largest over the three sizes (marked). The 2D rows, compared at 2^18 sites
#: for the first time (512^2 on 4 fake devices), hold: 1.002-2.37.
#: Session 38: the 2-device measurements had been at about 2^15 sites only. Every theory, dimension and scheme
#: compared with the five programs on 2 fake devices at about 2^12 and 2^18 sites (and on 4 at 2^12/2^18 for
#: Klein-Gordon and phi^4, at 2^18 for Maxwell and 3D Maxwell-Dirac and scalar QED): ten rows fell short on 2
#: devices and were raised to the largest those programs hold (marked; rounded up to 0.1): 3D Maxwell 0.862 (4.92
#: states at 64^3; 3.5-3.6 at 16^3-32^3), 2D gauged Dirac simultaneous 0.897 (39.0 at 512^2), 3D gauged Dirac
#: 0.927-0.989, Maxwell-Dirac 0.946-0.996 (1D-3D), 1D Dirac alternating 0.951 and yoshida4 1.000. The Dirac and
#: gauged Dirac children at 2^12 sites on 2 devices crashed (SIGSEGV, as Dirac's did in session 36) after 273 and 190
#: of their programs; those programs were counted, the rest not compared.
#: ``tests/test_split_memory_s34.py`` (slow) checks those programs on its own lattices.
#: Session 44, after session 43's concatenated split shift: the alternating scheme's split programs hold more than
#: with the pad form. ``--compare --devices 4 --precision float32`` (2^15 sites, XLA's ``-O0`` backend, whose buffer
#: assignment is the default's: the 3D Dirac table came out the same) found Klein-Gordon alternating at 0.886-0.970
#: in 3D; over 2 and 4 devices, 2^12, 2^15 and 2^18 sites and both precisions its rows reach 7.1 and 8.7 (3D), 5.1
#: and 6.4 (2D), 17.1 with spectra (1D), each the largest those programs hold (4 devices, float32, 2^15 sites), and
#: phi^4 and sine-Gordon 1D alternating with spectra 18.1 and 18.6 (0.998 and 0.977); raised (marked). The other
#: rows compared (2D phi^4, 2D gauged Dirac and 3D Klein-Gordon, every scheme; the alternating scheme of phi^4,
#: sine-Gordon, Dirac and gauged Dirac, D = 1-3, on 2 and 4 devices) hold, up to 4.7 times over.
MEASURED_SPLIT: dict[tuple[str, int, str], tuple[float, float]] = {
    ('dirac', 1, 'alternating'): (8.9, 20.3),  # session 38: 2 devices
    ('dirac', 1, 'leapfrog'): (6.9, 19.6),
    ('dirac', 1, 'simultaneous'): (6.4, 19.1),
    ('dirac', 1, 'yoshida4'): (6.5, 19.1),  # session 38: 2 devices
    ('dirac', 2, 'alternating'): (23.5, 30.5),
    ('dirac', 2, 'leapfrog'): (16.0, 24.8),
    ('dirac', 2, 'simultaneous'): (15.5, 24.5),
    ('dirac', 2, 'yoshida4'): (15.6, 24.3),
    ('dirac', 3, 'alternating'): (29.6, 35.6),
    ('dirac', 3, 'leapfrog'): (20.4, 29.1),
    ('dirac', 3, 'simultaneous'): (19.9, 28.8),
    ('dirac', 3, 'yoshida4'): (19.9, 28.6),
    ('gauged-dirac', 1, 'alternating'): (11.2, 13.2),
    ('gauged-dirac', 1, 'simultaneous'): (11.2, 13.2),
    ('gauged-dirac', 2, 'alternating'): (31.9, 32.1),  # session 36
    ('gauged-dirac', 2, 'simultaneous'): (39.1, 39.3),  # session 38: 2 devices at 512^2
    ('gauged-dirac', 3, 'alternating'): (39.9, 40.1),  # session 38: 2 devices at 64^3
    ('gauged-dirac', 3, 'simultaneous'): (46.2, 46.5),  # session 38: 2 devices at 64^3
    ('klein-gordon', 1, 'alternating'): (4.2, 17.1),  # session 44: 4 devices, float32 (was 13.4 with spectra)
    ('klein-gordon', 1, 'leapfrog'): (8.2, 17.3),  # session 35
    ('klein-gordon', 1, 'simultaneous'): (8.2, 17.3),  # session 35
    ('klein-gordon', 1, 'yoshida4'): (10.7, 20.8),  # session 35
    ('klein-gordon', 2, 'alternating'): (5.1, 6.4),  # session 44: 4 devices, float32 (was (4.1, 5.2))
    ('klein-gordon', 2, 'leapfrog'): (9.6, 12.0),
    ('klein-gordon', 2, 'simultaneous'): (9.6, 12.0),
    ('klein-gordon', 2, 'yoshida4'): (11.1, 11.6),
    ('klein-gordon', 3, 'alternating'): (7.1, 8.7),  # session 44: 4 devices, float32 (was (5.6, 7.0))
    ('klein-gordon', 3, 'leapfrog'): (12.1, 17.3),
    ('klein-gordon', 3, 'simultaneous'): (12.1, 17.3),
    ('klein-gordon', 3, 'yoshida4'): (14.3, 15.7),
    ('maxwell', 1, 'leapfrog'): (2.7, 7.7),
    ('maxwell', 2, 'leapfrog'): (3.7, 3.9),
    ('maxwell', 3, 'leapfrog'): (5.0, 5.5),  # session 38: 2 devices at 64^3
    ('maxwell-dirac', 1, 'leapfrog'): (8.2, 9.7),  # session 38: 2 devices
    # session 43: float32 on 4 devices (Wilson bias), 22.23 and 22.85 at 184^2, 22.41 and 23.55 at 32^3, with the
    # shift's pad form (its whole-lattice pads held longer beside the observer's float64 partial sums: 9.03 MB per
    # device at 184^2, 5.09 MB with float32 sums); since the concatenated split shift (operators._shift) the chunk
    # holds 4.41 MB (4.65 with float32 sums), so these rows over-estimate; were (15.9, 18.6) and (17.9, 19.6)
    ('maxwell-dirac', 2, 'leapfrog'): (22.3, 22.9),
    ('maxwell-dirac', 3, 'leapfrog'): (22.5, 23.6),
    ('phi4', 1, 'alternating'): (6.9, 18.1),  # session 44: 4 devices, float32 (was 16.6 with spectra)
    ('phi4', 1, 'leapfrog'): (8.9, 18.1),  # session 35
    ('phi4', 1, 'simultaneous'): (8.3, 18.1),  # session 35
    ('phi4', 1, 'yoshida4'): (14.4, 17.8),  # session 35
    ('phi4', 2, 'alternating'): (7.2, 8.6),
    ('phi4', 2, 'leapfrog'): (11.7, 13.1),
    ('phi4', 2, 'simultaneous'): (8.7, 10.6),  # session 35
    ('phi4', 2, 'yoshida4'): (17.2, 17.5),
    ('phi4', 3, 'alternating'): (8.9, 10.4),
    ('phi4', 3, 'leapfrog'): (14.8, 16.5),
    ('phi4', 3, 'simultaneous'): (10.4, 11.9),  # session 35
    ('phi4', 3, 'yoshida4'): (20.3, 20.6),
    ('scalar-qed', 1, 'leapfrog'): (2.4, 4.5),
    ('scalar-qed', 2, 'leapfrog'): (3.8, 3.9),
    ('scalar-qed', 3, 'leapfrog'): (4.7, 4.9),
    ('sine-gordon', 1, 'alternating'): (6.9, 18.6),  # session 44: 4 devices, float32 (was 16.6 with spectra)
    ('sine-gordon', 1, 'leapfrog'): (9.4, 18.1),  # session 35
    ('sine-gordon', 1, 'simultaneous'): (8.3, 18.1),  # session 35
    ('sine-gordon', 1, 'yoshida4'): (14.9, 18.1),  # session 35
    ('sine-gordon', 2, 'alternating'): (7.2, 8.6),
    ('sine-gordon', 2, 'leapfrog'): (12.2, 13.6),
    ('sine-gordon', 2, 'simultaneous'): (8.7, 10.6),  # session 35
    ('sine-gordon', 2, 'yoshida4'): (17.7, 18.0),
    ('sine-gordon', 3, 'alternating'): (8.9, 10.4),
    ('sine-gordon', 3, 'leapfrog'): (15.3, 17.0),  # session 35
    ('sine-gordon', 3, 'simultaneous'): (10.4, 11.9),  # session 35
    ('sine-gordon', 3, 'yoshida4'): (20.8, 21.1),
}
#: the model's site-independent arrays (``K x K`` coefficients, scalars) and the chunk's small buffers (its step
#: counter, the finite flag): what the table's per-site columns round away (64-288 bytes over the per-site estimate
#: in session 31's measurements of 2D and 3D gauge runs, up to about 1.2 kB of constant arrays); counted once
_CONSTANT_BYTES = 1 << 14
#: the temporaries factor assumed for a theory without a measurement (the largest measured, with a margin)
_FALLBACK_TEMPORARIES = 1.5 * max((v[4] for v in MEASURED.values()), default=64.0)
#: a split program's temporaries over the one-device program's, where :data:`MEASURED_SPLIT` has no row: the
#: largest ratio of the two tables
_SPLIT_MARGIN = max((split[0] / MEASURED[key][2] for key, split in MEASURED_SPLIT.items() if key in MEASURED),
                    default=2.5)
#: bytes per component and site that building each initial kind's data holds at its peak (NumPy's arrays, from
#: ``tracemalloc``, and the state's JAX arrays), the largest over D = 1, 2, 3 and about 2^18 and 2^20 sites, rounded
#: up to 8: ``scripts/measure_initial_memory.py`` (session 44); fixed costs (FFT plans, the Dirac projector's block
#: of planes, ``theories.dirac.initial.PROJECT_BLOCK_SITES``) are :func:`_initial_fixed`. A scalar's
#: positive-frequency data FFTs its complex profile twice. A Dirac packet built its energy projector ``(*shape, K,
#: K)`` on the whole FFT grid at once until session 44: 312 bytes (now 96; Maxwell-Dirac packets 224, now 104).
MEASURED_INITIAL: dict[tuple[str, str], int] = {
    ('dirac', 'gaussian_packet'): 96,
    ('dirac', 'plane_wave'): 64,
    ('gauged-dirac', 'gaussian_packet'): 96,
    ('gauged-dirac', 'plane_wave'): 56,
    ('klein-gordon', 'gaussian'): 128,
    ('klein-gordon', 'gaussian_packet'): 136,
    ('klein-gordon', 'plane_wave'): 128,
    ('klein-gordon', 'random_spectrum'): 144,
    ('maxwell', 'plane_wave'): 72,
    ('maxwell', 'random_photons'): 112,
    ('maxwell-dirac', 'charged_packets'): 104,
    ('maxwell-dirac', 'plane_wave'): 72,
    ('maxwell-dirac', 'random_photons'): 72,
    ('phi4', 'gaussian'): 128,
    ('phi4', 'gaussian_packet'): 96,
    ('phi4', 'kink'): 80,
    ('phi4', 'random_spectrum'): 128,
    ('scalar-qed', 'charged_packets'): 80,
    ('scalar-qed', 'higgs_vacuum'): 56,
    ('scalar-qed', 'plane_wave'): 48,
    ('scalar-qed', 'random_photons'): 72,
    ('scalar-qed', 'vortex'): 72,
    ('scalar-qed', 'vortex_pair'): 72,
    ('sine-gordon', 'collision'): 112,
    ('sine-gordon', 'gaussian'): 128,
    ('sine-gordon', 'gaussian_packet'): 96,
    ('sine-gordon', 'kink'): 96,
    ('sine-gordon', 'random_spectrum'): 128,
}


#: the sites of the FFT grid a Dirac packet's energy projector is built for at once
#: (``nnfield.theories.dirac.initial.PROJECT_BLOCK_SITES``; a test checks that the two agree)
_BLOCK_SITES = 1 << 14


#: bytes per component and site of building an initial kind split over devices (``nnfield.runner.build_split``):
#: the peak of one process holding every device of the run, the slope over two lattice sizes of its resident memory
#: on fake CPU devices (``scripts/measure_split_initial.py --devices 2`` and ``--devices 4``, D = 2 and 3, 2^18 to
#: 2^20 or 2^21 sites; ``tests/test_split_initial_s45.py``: 2^20 to 2^21), the largest of those times 1.25, rounded
#: up to 8 bytes. The slope varies between identical runs (a Klein-Gordon packet on 64x128x128 to 128^3 sites over
#: 2 devices: 122.6 and 83.5; when the devices' threads free their FFT buffers); a process of a multi-process run
#: holds its devices' share (:func:`check_memory`). Comments: the largest measured (session 45, or as noted), the
#: whole build's. The gauge theories' rows are per component (``K = D`` links, plus the matter's components). Since
#: session 46 the script counts the build's peak above the model (built first; the guard counts it apart): the same
#: for the theories without per-site model data (a Klein-Gordon plane wave 104 against 112 before, within the spread).
MEASURED_SPLIT_INITIAL: dict[tuple[str, str], int] = {
    ('dirac', 'gaussian_packet'): 112,  # 86.4 (4 devices, 2D); whole 76.1 (session 46)
    ('dirac', 'plane_wave'): 64,  # 48.9 (4 devices); whole 36.9 (session 46)
    ('gauged-dirac', 'gaussian_packet'): 120,  # 90.8 (4 devices, 2D); whole 78.3 (session 46)
    ('gauged-dirac', 'plane_wave'): 80,  # 64.0 (4 devices, 2D); whole 36.0 (session 46)
    ('klein-gordon', 'gaussian'): 152,  # 117.6 (2 devices, 3D); whole 126.3
    ('klein-gordon', 'gaussian_packet'): 160,  # 122.6 (2 devices, 64x128x128 to 128^3); whole 112.4
    ('klein-gordon', 'plane_wave'): 144,  # 112.4 (2 devices, 3D); whole 113.3 (session 46)
    ('klein-gordon', 'random_spectrum'): 136,  # 104.9 (4 devices, 3D); whole 121.3
    ('maxwell', 'plane_wave'): 72,  # 53.1 (4 devices, 2D); whole 46.5 (session 46)
    ('maxwell', 'random_photons'): 128,  # 98.5 (2 devices, 2D); whole 105.4 (session 46)
    ('maxwell-dirac', 'plane_wave'): 64,  # 48.9 (4 devices, 3D); whole 50.7 (session 46)
    ('maxwell-dirac', 'random_photons'): 64,  # 49.7 (2 devices, 2D); whole 54.5 (session 46)
    ('phi4', 'gaussian'): 152,  # 120.1 (2 devices, 1024^2 to 2048x1024); whole 126.4
    ('phi4', 'gaussian_packet'): 104,  # 80.3 (2 devices, 3D); whole 73.1
    ('phi4', 'kink'): 40,  # 31.8 (2 devices, 2D); whole 65.1 (session 46)
    ('phi4', 'random_spectrum'): 136,  # 107.8 (4 devices, 3D); whole 104.0
    ('scalar-qed', 'plane_wave'): 64,  # 49.6 (4 devices, 2D); whole 61.3 (session 46)
    ('scalar-qed', 'random_photons'): 72,  # 55.2 (4 devices, 3D); whole 51.3 (session 46)
    ('sine-gordon', 'collision'): 40,  # 28.0 (2 devices, 3D); whole 49.2 (session 46)
    ('sine-gordon', 'gaussian'): 160,  # 124.8 (2 devices, 2D); whole 126.4
    ('sine-gordon', 'gaussian_packet'): 104,  # 77.8 (2 devices, 3D); whole 73.1
    ('sine-gordon', 'kink'): 40,  # 28.8 (2 devices, 3D); whole 43.6 (session 46)
    ('sine-gordon', 'random_spectrum'): 144,  # 113.0 (4 devices, 2D); whole 104.2
}


def _initial_fixed(K: int, sites: int) -> int:
    """What one build of initial data holds besides its per-site arrays: a block of the Dirac projector's planes,
    eight ``K x K`` complex arrays on at most :data:`_BLOCK_SITES` sites (``H(k)``, its eigenvectors, the projector
    and the sums that build them; 32 MiB for ``K = 4``), less on a smaller lattice (a sweep counts it once per
    member, as every part); it also covers the FFT's plans of the other kinds."""
    return 8 * 16 * K * K * min(sites, _BLOCK_SITES)


def _initial_bytes(theory: str, kind: str) -> int:
    """Bytes per component and site of building ``kind``'s initial data (:data:`MEASURED_INITIAL`; the largest
    there for a kind without a measurement: a links or fields file, a theory registered from outside)."""
    return MEASURED_INITIAL.get((theory, kind), max(MEASURED_INITIAL.values()))


def _site_count(shape: tuple[int, ...]) -> int:
    return math.prod(int(n) for n in shape)


#: with ``[output] spectra``: bytes per site of the :class:`~nnfield.spectra.Spectra` tables the chunk reads (the
#: shell of each mode int32, ``omega_k`` and its mask float64, the half grid's shell and weight; 26.8 measured in
#: 2D and 3D, 34.4 in 1D on 64 sites with the per-bin arrays), and the most spectra one sample records (three
#: spinor projections for Dirac; ``phi``, ``pi`` and the occupation for a scalar)
_SPECTRA_BYTES = 32
_SPECTRA_MAX = 4


def _spectrum_bins(shape: tuple[int, ...]) -> int:
    """At most how many ``|k|`` shells a lattice has (:class:`nnfield.spectra.Shells`: width ``2 pi / L_max``, up
    to ``|k| = sqrt(D) pi / a``): ``round(sqrt(D) N_max / 2) + 1``."""
    return round(math.sqrt(len(shape)) * max(int(n) for n in shape) / 2) + 1


def _lookup(name: str, D: int, scheme: str) -> tuple[int, float, float, int, float] | None:
    for key in ((name, min(D, 3), scheme), *((name, min(D, 3), s) for s in ("yoshida4", "leapfrog", "alternating",
                                                                          "simultaneous"))):
        if key in MEASURED:
            K, model, temps, n_obs, spectra = MEASURED[key]
            if D > 3:  # not measured: scale the per-site parts with the dimension
                return K, model * D / 3, temps * D / 3, n_obs, spectra * D / 3
            return K, float(model), temps, n_obs, spectra
    return None


def _split_factor(name: str, D: int, scheme: str, spectra: bool, one_device: float) -> float:
    """The temporaries factor of a lattice split over several devices (:data:`MEASURED_SPLIT`, looked up as
    :func:`_lookup` looks up :data:`MEASURED`), at least ``one_device`` (the one-device factor); a theory or scheme
    without a measurement: ``one_device`` times the largest ratio of the two tables."""
    for key in ((name, min(D, 3), scheme), *((name, min(D, 3), s) for s in ("yoshida4", "leapfrog", "alternating",
                                                                          "simultaneous"))):
        if key in MEASURED_SPLIT:
            factor = MEASURED_SPLIT[key][1 if spectra else 0] * (D / 3 if D > 3 else 1)
            return max(factor, one_device)
    return one_device * _SPLIT_MARGIN


def _probe(cfg: Any) -> tuple[int, float, float, int, float]:
    """``(K, model bytes per site, temporaries factor, observables)`` of a theory without a measurement, from its
    model built on a tiny lattice (the config's shape capped at 4 sites per axis)."""
    import dataclasses

    import jax
    import numpy as np

    from .config import LatticeConfig

    tiny = tuple(min(int(n), 4) for n in cfg.lattice.shape)
    small = dataclasses.replace(cfg, lattice=LatticeConfig(tiny, cfg.lattice.spacing))
    model = small.build_model()
    K = int(model.network.K)
    sites = _site_count(tiny)
    model_bytes = sum(int(getattr(x, "nbytes", 0)) for x in jax.tree_util.tree_leaves(model) if np.ndim(x))
    z = np.zeros((K, *tiny))
    try:
        # (a lambda, not the bound method: see nnfield.runner._spectral_shapes)
        n_obs = len(jax.eval_shape(lambda s: model.observables(s), model.initial_state(z, z)))
    except Exception:  # noqa: BLE001 - an estimate: an observer that cannot be traced here counts as 16 values
        n_obs = 16
    return K, model_bytes / sites, _FALLBACK_TEMPORARIES, n_obs, _FALLBACK_TEMPORARIES


def estimate_run_memory(cfg: Any, devices: int = 1, *, split_build: bool = False) -> dict[str, int]:
    """Bytes a run of ``cfg`` needs, by part (see the module docstring), without allocating anything large; with
    ``devices > 1`` (the lattice split over that many devices; not a sweep, which splits its members) the
    temporaries are those of the split program (:data:`MEASURED_SPLIT`), in all (each device holds its share).
    ``split_build``: the initial data are built split over the devices (:func:`nnfield.runner.split_build`), the
    bytes of :data:`MEASURED_SPLIT_INITIAL`, in all.

    Returns ``{"fields", "model", "temporaries", "initial", "host", "halo", "device", "total"}``: ``device`` is
    what lives on the accelerator (fields, model, the larger of temporaries and the halo check), ``total`` the
    peak of the process on a CPU (fields + model + the largest of temporaries, initial and halo + host).
    """
    import numpy as np

    shape = tuple(cfg.lattice.shape)
    sites = _site_count(shape)
    itemsize = np.dtype(cfg.output.precision).itemsize
    found = _lookup(cfg.theory.name, len(shape), cfg.time.scheme)
    if found is None:
        try:
            found = _probe(cfg)
        except NNFieldError:  # the tiny model cannot be built: assume a spinor field; the real build reports why
            found = (4, 0.0, _FALLBACK_TEMPORARIES, 16, _FALLBACK_TEMPORARIES)
    spectra = bool(getattr(cfg.output, "spectra", False))
    K, model_per_site, temps_factor, n_obs, spectra_factor = found
    observed = n_obs  # (the model's observables; the spectra's bins are added to n_obs below)
    temps_factor = spectra_factor if spectra else temps_factor
    fields = 2 * K * sites * itemsize
    model = int(model_per_site * sites) + _CONSTANT_BYTES
    if spectra:  # the spectra's tables on the device, their values in the samples
        bins = _spectrum_bins(shape)
        model += _SPECTRA_BYTES * sites + 2 * 8 * bins
        n_obs += _SPECTRA_MAX * bins
    if devices > 1 and not getattr(cfg, "sweep", None):
        temps_factor = _split_factor(cfg.theory.name, len(shape), cfg.time.scheme, spectra, temps_factor)
    temporaries = int(temps_factor * fields) + _float64_partial_sums(observed, sites, itemsize)
    kind = getattr(getattr(cfg, "initial", None), "kind", "")
    if split_build and (cfg.theory.name, kind) in MEASURED_SPLIT_INITIAL:
        initial = MEASURED_SPLIT_INITIAL[(cfg.theory.name, kind)] * K * sites
    else:
        initial = _initial_bytes(cfg.theory.name, kind) * K * sites + _initial_fixed(K, sites)
    samples = cfg.time.steps // max(1, cfg.output.every) + 2
    host = fields + samples * (n_obs + 2) * 8
    parallel = getattr(cfg, "parallel", None)
    # a sweep splits its members over the devices, not the lattice: no exchange, no check (ensemble.check_sweep)
    halo = _halo_check(fields, model, itemsize) if (getattr(parallel, "halo", False) and not getattr(cfg, "sweep", None)
                                                    and _split(getattr(parallel, "devices", 1))) else 0
    device = fields + model + max(temporaries, halo)
    total = fields + model + max(temporaries, initial, halo) + host
    return {"fields": fields, "model": model, "temporaries": temporaries, "initial": initial, "host": host,
            "halo": halo, "device": device, "total": total}


def _float64_partial_sums(observables: int, sites: int, itemsize: int) -> int:
    """Bytes a single-precision run's observer adds for its sums accumulated in float64 (session 42,
    :mod:`nnfield._accumulate`): XLA stores each long sum's float64 partial sums, ``sites / BLOCK`` of them, before
    reducing them; one per observable, ``observables sites 8 / BLOCK`` (0 for a float64 run, or without JAX's
    64-bit mode). Measured: a float32 3D Klein-Gordon chunk (4 observables) held 0.5 states more on 32^3, exactly
    this; :data:`MEASURED` predates it."""
    import jax

    if itemsize >= 8 or not jax.config.read("jax_enable_x64"):
        return 0
    from ._accumulate import BLOCK

    return observables * sites * 8 // BLOCK


def _halo_check(fields: int, model: int, itemsize: int) -> int:
    """Bytes the check of :func:`nnfield.halo.with_halo` holds besides the run's state and model: four states
    (the probe, two ticked ones, a changed one) and a changed copy of the model, in float64 (``8 / itemsize`` times
    a narrower run's fields) and, for a narrower run, the model's float64 copy too (:func:`nnfield.halo._widened`,
    when JAX's 64-bit mode is on, as in ``nnfield run``): ``4 fields 8 / itemsize + model (1 + [itemsize < 8])``
    (``model`` is counted in float64 already)."""
    import jax

    wide = itemsize < 8 and bool(jax.config.read("jax_enable_x64"))
    return 4 * fields * (8 // itemsize if wide else 1) + model * (2 if wide else 1)


def _split(devices: int) -> bool:
    """Whether ``[parallel] devices`` splits the lattice: more than one device (``0``, "all": every device there is,
    which on a one-device machine is one)."""
    if devices == 0:
        import jax

        return jax.device_count() > 1
    return devices > 1


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except (OSError, ValueError):
        return None
    if not text or text == "max":
        return None
    try:
        return int(text.split()[0])
    except ValueError:
        return None


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_headroom(root: Path = Path("/sys/fs/cgroup"), proc: Path = Path("/proc/self/cgroup")) -> int | None:
    """The smallest ``limit - usage`` of the cgroups (v2 ``memory.max``/``memory.current``, v1
    ``memory.limit_in_bytes``/``memory.usage_in_bytes``) from this process's cgroup up to the root."""
    try:
        lines = proc.read_text().splitlines()
    except OSError:
        lines = []
    candidates: list[tuple[Path, str, str]] = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, rel = parts
        rel = rel.lstrip("/")
        if controllers == "":  # v2 unified hierarchy
            base, files = root, ("memory.max", "memory.current")
            if not (root / "cgroup.controllers").exists() and (root / "unified").is_dir():
                base = root / "unified"
        elif "memory" in controllers.split(","):
            base, files = root / "memory", ("memory.limit_in_bytes", "memory.usage_in_bytes")
        else:
            continue
        d = base / rel
        while True:
            candidates.append((d, *files))
            if d == base or base not in d.parents:
                break
            d = d.parent
    candidates += [(root, "memory.max", "memory.current"),
                   (root / "memory", "memory.limit_in_bytes", "memory.usage_in_bytes")]
    best: int | None = None
    for d, limit_file, usage_file in candidates:
        limit = _read_int(d / limit_file)
        if limit is None or limit >= 1 << 60:  # "max" or the v1 "unlimited" value
            continue
        usage = _read_int(d / usage_file) or 0
        room = max(0, limit - usage)
        best = room if best is None else min(best, room)
    return best


def available_memory() -> int:
    """Bytes this process can still allocate: the smallest of ``/proc/meminfo`` ``MemAvailable`` and the
    headroom of every cgroup limit (v2, v1) above it; without those, ``os.sysconf`` available pages."""
    values = [v for v in (_meminfo_available(), _cgroup_headroom()) if v is not None]
    if not values:
        try:
            values.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return 1 << 62  # unknown: do not refuse
    return int(min(values))


def device_memory() -> int | None:
    """Free bytes of the default accelerator (``None`` on a CPU or when the backend does not say)."""
    import jax

    try:
        if jax.default_backend() == "cpu":
            return None
        stats = jax.devices()[0].memory_stats() or {}
    except Exception:  # noqa: BLE001 - no statistics: nothing to compare with
        return None
    limit = stats.get("bytes_limit")
    return None if limit is None else int(limit) - int(stats.get("bytes_in_use", 0))


def _size(n: float) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:g} B"


#: environment variables that say how many processes of a job share this host (SLURM, Open MPI, MPICH/Intel MPI)
LOCAL_PROCESS_VARS = ("SLURM_NTASKS_PER_NODE", "SLURM_TASKS_PER_NODE", "OMPI_COMM_WORLD_LOCAL_SIZE",
                      "MPI_LOCALNRANKS")


def processes_on_this_host() -> int:
    """How many processes of a multi-process run share this host, from the launcher's environment
    (:data:`LOCAL_PROCESS_VARS`; SLURM's ``4(x2)`` reads as 4); 1 in a single-process run or when no launcher
    says. Every process builds the whole initial state and model on its host before it keeps its shards
    (``docs/scaling.md``), so the host's peak is that many times one process's."""
    import re

    from . import parallel

    if not parallel.multi_process():
        return 1
    for var in LOCAL_PROCESS_VARS:
        m = re.match(r"\s*(\d+)", os.environ.get(var, ""))
        if m and int(m.group(1)) > 0:
            return int(m.group(1))
    return 1


def _parts(est: dict[str, int]) -> str:
    return (f"fields {_size(est['fields'])}, model {_size(est['model'])}, temporaries {_size(est['temporaries'])}, "
            f"initial data {_size(est['initial'])}, host buffers {_size(est['host'])}"
            + (f", halo check {_size(est['halo'])}" if est.get("halo") else ""))


def describe_memory(cfg: Any, members: int = 1, devices: int = 1) -> str:
    """One line for ``nnfield run --dry-run``: the estimate (:func:`estimate_run_memory`, a sweep's ``members``
    each) at its peak on the host, by part, and the device part each of ``devices`` holds, next to what this
    machine has available."""
    split = _builds_split(cfg, devices, members)
    est = {k: members * v for k, v in estimate_run_memory(cfg, devices if members == 1 else 1,
                                                            split_build=split).items()}
    per_device = -(-est["device"] // max(1, devices))
    on = "on the device" if devices <= 1 else f"on each of {devices} devices"
    return (f"memory (estimate): about {_size(est['total'])} at peak ({_parts(est)}); {_size(per_device)} {on}; "
            f"{_size(available_memory())} available here")


def _builds_split(cfg: Any, devices: int, members: int = 1) -> bool:
    """Whether a run of ``cfg`` over ``devices`` builds its initial data split (:func:`nnfield.runner.split_build`;
    never a sweep's ``members``; ``False`` where it refuses: the run itself then says why)."""
    from .runner import split_build

    if members != 1:
        return False
    try:
        return split_build(cfg, devices)
    except NNFieldError:
        return False


def release_freed_memory() -> bool:
    """Return the memory the C allocator holds free to the operating system (glibc's ``malloc_trim(0)``; ``False``
    where there is none, e.g. macOS or musl). After a build split over devices (``nnfield.runner.build_split``) the
    freed noise planes and XLA's freed buffers of its FFT programs (a few hundred kB each) stay in glibc's heap: a
    process that had built 192^3 sites over 4 fake CPU devices held 656 MiB resident, 344 MiB after this (session
    45; a whole build's large NumPy arrays are returned at once, being mapped one by one), and a run's temporaries
    then came on top of that."""
    import ctypes

    try:  # (glibc's soname; ctypes.util.find_library would start ldconfig to find it)
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return bool(trim(0))


def _process_share(devices: int) -> float:
    """The share of a run's ``devices`` that this process holds (1 in a one-process run)."""
    import jax

    from . import parallel

    if not parallel.multi_process():
        return 1.0
    return min(1.0, jax.local_device_count() / max(1, devices))


def check_memory(cfg: Any, members: int = 1, devices: int = 1, *, local: int | None = None,
                 turns: bool = False, split_build: bool | None = None) -> bool:
    """Refuse (:class:`~nnfield.errors.InputError`, one line) a run whose estimated memory
    (:func:`estimate_run_memory`; a sweep's ``members`` hold every part once each) exceeds
    :func:`available_memory`, or whose device part, split over ``devices``, exceeds the accelerator's free
    memory; skipped when ``NNFIELD_SKIP_MEMORY_CHECK=1``.

    ``local``: the processes of the run on this host (default :func:`processes_on_this_host`), each of which
    builds the whole initial state and model before it keeps its shards. With ``turns`` (the caller can build
    one process at a time, :func:`nnfield.parallel.in_turns`), a host that cannot hold ``local`` builds at once
    but can hold one build beside what the others keep (:func:`_turns_peak`) is not refused: the result is then
    ``True``, "build in turns"; otherwise ``False``.

    ``split_build`` (default: :func:`nnfield.runner.split_build`): the run builds its initial data split over its
    devices (session 45), so each process holds its devices' share of every per-site part (:func:`_process_share`)
    and the whole host buffers; no turns."""
    if os.environ.get(SKIP_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    if split_build is None:
        split_build = _builds_split(cfg, devices, members)
    est = {k: members * v for k, v in estimate_run_memory(cfg, devices if members == 1 else 1,
                                                            split_build=split_build).items()}
    if split_build:
        share = _process_share(devices)
        if share < 1.0:  # (the whole host buffers in each process; every per-site part its share)
            est = {k: (v if k in ("host", "device") else int(v * share)) for k, v in est.items()}
            est["total"] += est["host"] - int(est["host"] * share)
    parts = _parts(est)
    fix = "reduce [lattice] shape" + (' or use precision = "float32"' if cfg.output.precision == "float64" else "")
    if members > 1:
        fix = f"run fewer than {members} [sweep] members at once or " + fix
    if cfg.output.every < cfg.time.steps and est["host"] > 2 * est["fields"]:
        fix += " or raise output.every"
    fix += f" (or set {SKIP_ENV}=1 to run anyway)"
    avail = available_memory()
    local = processes_on_this_host() if local is None else max(1, int(local))
    in_turns = False
    if local * est["total"] > avail:
        peak = _turns_peak(est, local) if local > 1 and not split_build else est["total"]  # (one process: no turns)
        if turns and local > 1 and not split_build and peak <= avail:
            in_turns = True
        else:
            who = f" ({members} sweep members)" if members > 1 else ""
            each = ("" if local < 2 else
                    f" in each of the {local} processes on this host (each its share of the lattice)" if split_build
                    else f" in each of the {local} processes on this host (each builds the whole initial state; one "
                    f"process at a time, about {_size(peak)} in all)")
            raise InputError(f"{cfg.source}: the run{who} needs about {_size(est['total'])}{each} ({parts}); this "
                             f"machine has {_size(avail)} available; {fix}")
    per_device = -(-est["device"] // max(1, devices))
    free = device_memory() if per_device > (1 << 30) else None  # ask the device only about big runs
    if free is not None and per_device > free:
        where = "on the device" if devices <= 1 else f"on each of its {devices} devices"
        raise InputError(f"{cfg.source}: the run needs about {_size(per_device)} {where} ({parts}); the "
                         f"device has {_size(free)} free; {fix}")
    return in_turns


def _turns_peak(est: dict[str, int], local: int) -> int:
    """The host's peak when its ``local`` processes build one at a time: one whole build (``est["total"]``) beside
    what each of the others keeps once it has placed its shards: its host buffers and, where the host's memory is
    the device's (a CPU run), its share of the device part (over every process of the run, at least ``local``)."""
    import jax

    kept = est["host"]
    if jax.devices()[0].platform == "cpu":
        kept += -(-est["device"] // max(local, jax.process_count()))
    return est["total"] + (local - 1) * kept
