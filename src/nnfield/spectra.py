r"""Angle-averaged power spectra and occupation numbers of lattice fields (pure JAX; ``docs/spectra.md``).

Conventions (``N`` sites, spacing ``a``, dimension ``D``, volume ``V = N a^D``):

- Fourier transform ``f_k = a^D sum_x f(x) exp(-i k.x)`` (``a^D`` times ``numpy.fft.fftn``) at the plain lattice
  momenta ``k_mu = 2 pi n_mu / (N_mu a)`` (FFT order, ``|k_mu| <= pi / a``).
- Power spectrum ``P_f(k) = |f_k|^2 / V``; Parseval: ``<f^2> = (1/N) sum_x f^2 = (1/V) sum_k P_f(k)``.
  A field with components (a spinor ``psi``, ``K`` neuron types) sums ``|f^a_k|^2`` over them.
- Occupation number of a real scalar with dispersion ``omega_k`` (the theory's lattice ``omega``, evaluated at
  each mode, not at the bin centre)::

      n_k = (omega_k P_phi(k) + P_pi(k) / omega_k) / 2

  so that the lattice energy of a free field is ``H = sum_k omega_k n_k`` (exact: the lattice Hamiltonian is
  diagonal in ``k``) and the vacuum ``P_phi = 1/(2 omega_k)``, ``P_pi = omega_k/2`` has ``n_k = 1/2``
  (the classical-statistical convention: half a quantum per mode). Modes whose ``omega_k`` is not a positive
  number (``k = 0`` of a massless field, the unstable modes of a double well) are left out: a shell's
  ``occupation`` is the mean of ``n_k`` over its other modes (their number per shell: :meth:`Spectra.occupied`,
  the root attribute ``occupation_modes``; 0 where a shell has none, and then the stored value is 0), so the
  total occupation is ``sum_b occupation_modes_b n_b`` (``modes_b`` overcounts a shell that mixes both kinds: the
  lattice ``omega_k`` is not a function of ``|k|`` alone, e.g. the double well on an 8x8 lattice, whose shell 1
  holds 4 stable and 4 unstable modes).
- Bins: spherical shells in the plain ``|k|`` of width ``dk = 2 pi / L_max`` (the fundamental momentum of the
  longest side), shell ``b`` holding ``(b - 1/2) dk <= |k| < (b + 1/2) dk``; shell 0 is the zero mode alone.
  Empty shells are dropped. Each shell records the mean ``|k|`` of its modes (:attr:`Shells.k`, the bin centre
  stored with a run) and its number of modes (:attr:`Shells.modes`); the stored spectrum of a shell is the mean
  of ``P(k)`` over its modes (the angle average), so ``<f^2> = (1/V) sum_b modes_b P_b``.

Everything here is jittable and runs inside the compiled loop of a run (:class:`Spectra` is called by the
runner's observer at every observable sample when ``[output] spectra = true``).
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._module import Module
from .lattice import Lattice

__all__ = ["OCCUPATION", "OCCUPATION_MODES", "SPECTRUM_K", "SPECTRUM_MODES", "SPECTRUM_PREFIX", "Shells", "Spectra",
           "power"]

#: observable names: ``spectrum_<field>`` for each field of the model's ``spectral_fields`` and ``occupation``
SPECTRUM_PREFIX = "spectrum_"
OCCUPATION = "occupation"
#: root attributes of a run file with spectra: the bin centres (the coordinate ``k``) and the modes per bin
SPECTRUM_K = "spectrum_k"
SPECTRUM_MODES = "spectrum_modes"
#: root attribute of a run file with occupation numbers: the modes per bin that enter them (``omega_k > 0``)
OCCUPATION_MODES = "occupation_modes"


class Shells(Module):
    """The ``|k|`` shells of a lattice (see the module docstring): which shell each mode is in, per-shell counts.

    Attributes:
        index: ``(*lattice.shape)`` int32: the shell of each FFT mode.
        half_index: the same on the half grid of a real FFT (``rfftn``: last axis ``0 .. N//2``).
        half_weight: how many modes of the full grid each half-grid mode stands for (2 for ``k`` and ``-k``;
            1 where the last component is 0 or the Nyquist momentum).
        modes: ``(n_bins,)`` the number of modes per shell.
        k: ``(n_bins,)`` the mean ``|k|`` of the modes of each shell (the bin centres).
        n_bins: the number of (non-empty) shells (static).
        volume: ``V = N a^D`` (static).
        cell: ``a^D`` (static).
    """

    index: np.ndarray
    half_index: np.ndarray
    half_weight: np.ndarray
    modes: np.ndarray
    k: np.ndarray
    n_bins: int = eqx.field(static=True)
    volume: float = eqx.field(static=True)
    cell: float = eqx.field(static=True)

    @classmethod
    def of(cls, lattice: Lattice) -> "Shells":
        kabs = np.sqrt(sum(k**2 for k in lattice.momenta()))
        dk = 2 * np.pi / max(lattice.lengths)
        raw = np.floor(kabs / dk + 0.5).astype(np.int64)
        used, index = np.unique(raw, return_inverse=True)
        index = index.reshape(lattice.shape).astype(np.int32)
        modes = np.bincount(index.ravel(), minlength=used.size).astype(np.float64)
        ksum = np.bincount(index.ravel(), weights=kabs.ravel(), minlength=used.size)
        n = lattice.shape[-1]
        j = np.arange(n // 2 + 1)
        weight = np.broadcast_to(np.where((j > 0) & (2 * j != n), 2.0, 1.0), (*lattice.shape[:-1], j.size)).copy()
        return cls(index, np.ascontiguousarray(index[..., : j.size]), weight, modes, ksum / modes, int(used.size),
                   float(lattice.size * lattice.cell_volume), float(lattice.cell_volume))

    def average(self, per_mode: jax.Array, weight: jax.Array | None = None) -> jax.Array:
        """The mean of ``per_mode`` (an array over the FFT grid) over each shell's modes (those with ``weight``
        1 when a 0/1 ``weight`` is given; a shell with none gives 0)."""
        seg = jnp.asarray(self.index).ravel()
        total = jax.ops.segment_sum(per_mode.ravel(), seg, num_segments=self.n_bins)
        if weight is None:
            count = jnp.asarray(self.modes, total.dtype)
        else:
            count = jax.ops.segment_sum(weight.ravel().astype(total.dtype), seg, num_segments=self.n_bins)
        return total / jnp.maximum(count, 1)


    def average_half(self, per_mode: jax.Array, weight: jax.Array | None = None) -> jax.Array:
        """:meth:`average` of a quantity even in ``k`` given on the half grid of a real FFT (see ``half_index``)."""
        seg = jnp.asarray(self.half_index).ravel()
        w = jnp.asarray(self.half_weight, per_mode.dtype)
        total = jax.ops.segment_sum((w * per_mode).ravel(), seg, num_segments=self.n_bins)
        if weight is None:
            count = jnp.asarray(self.modes, total.dtype)
        else:
            count = jax.ops.segment_sum((w * weight.astype(total.dtype)).ravel(), seg, num_segments=self.n_bins)
        return total / jnp.maximum(count, 1)


def power(f: jax.Array, cell: float, volume: float, axes: tuple[int, ...], half: bool = False) -> jax.Array:
    """``P_f(k) = |a^D fft f|^2 / V`` over the FFT grid, summed over the leading component axes of ``f``;
    ``half``: a real ``f`` on the half grid of ``rfftn`` (the other half is its mirror; about 7x faster on CPU
    than the complex FFT of a real field)."""
    fk = jnp.fft.rfftn(f, axes=axes) if half else jnp.fft.fftn(f, axes=axes)
    return mode_power(fk, cell, volume, len(axes))


def mode_power(fk: jax.Array, cell: float, volume: float, D: int) -> jax.Array:
    """:func:`power` of a field given by its FFT modes ``fk`` (the last ``D`` axes the lattice's): ``|a^D fk|^2 / V``
    summed over the leading component axes."""
    p = jnp.real(fk * jnp.conj(fk))
    lead = tuple(range(fk.ndim - D))
    if lead:
        p = jnp.sum(p, axis=lead)
    return (cell * cell / volume) * p


def _occupation(w: jax.Array, ok: jax.Array, p_phi: jax.Array, p_pi: jax.Array) -> jax.Array:
    """The occupation per mode, ``(omega_k P_phi + P_pi / omega_k) / 2``, where ``ok`` (0/1) marks the modes with
    ``omega_k > 0`` (0 elsewhere)."""
    inv = ok / jnp.where(ok > 0, w, 1)
    return 0.5 * (w * p_phi + inv * p_pi)


class Spectra(Module):
    """The spectra recorded during a run: ``spectrum_<name>`` of each field the model names, and ``occupation``
    when the model gives ``phi`` and ``pi`` of a real scalar with a dispersion.

    Attributes:
        shells: the ``|k|`` bins.
        omega: ``omega_k`` on the FFT grid (0 where it is not a positive number), or ``None``: no occupation.
        valid: 1 where ``omega_k`` is a positive number, else 0 (or ``None``).
    """

    shells: Shells
    omega: np.ndarray | None = None
    valid: np.ndarray | None = None
    #: the device mesh of a lattice split along its first axis (:meth:`split_over`: the tables are then in the
    #: layout of the distributed FFT), else ``None``
    mesh: Any = eqx.field(static=True, default=None)
    #: on a split lattice whose model maps the modes of its sources to its spectral modes
    #: (:meth:`~nnfield.model.AbstractModel.modes_from_sources`): the model's per-mode tables in the layout of the
    #: distributed FFT (the shells' tables are then on the full grid), else ``None``
    mode_tables: dict[str, Any] | None = None
    #: the modes per shell that enter the occupation numbers, where the tables to count them are split
    #: (:meth:`split_of`; counted plane by plane when built), else ``None`` (:meth:`occupied` counts them)
    occupied_modes: np.ndarray | None = None

    @classmethod
    def of(cls, lattice: Lattice, omega: Any = None) -> "Spectra":
        """The spectra on ``lattice``; ``omega`` (``omega_k`` on the FFT grid, e.g. ``model.dispersion(
        lattice.momenta())``) enables the occupation numbers."""
        shells = Shells.of(lattice)
        if omega is None:
            return cls(shells)
        w = np.asarray(omega, dtype=np.float64)
        if w.shape != tuple(lattice.shape):
            return cls(shells)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(w) & (w > 0)
        if not ok.any():
            return cls(shells)
        return cls(shells, np.where(ok, w, 0.0), ok.astype(np.float64))

    @property
    def k(self) -> np.ndarray:
        """The bin centres (mean ``|k|`` per shell)."""
        return np.asarray(self.shells.k)

    def occupied(self) -> np.ndarray | None:
        """The number of modes per shell that enter the occupation numbers (those with ``omega_k > 0``): ``(n_bins,)``,
        or ``(members, n_bins)`` for the stacked spectra of a sweep whose members differ in them; ``None`` without a
        dispersion. The total occupation is ``sum_b occupied_b n_b`` (not ``modes_b``: a shell may hold modes of
        both kinds, see the module docstring)."""
        if self.valid is None:
            return None
        if self.occupied_modes is not None:
            return np.asarray(self.occupied_modes)
        index = np.asarray(self.shells.index).ravel()
        valid = np.asarray(self.valid, dtype=np.float64)
        rows = valid.reshape(-1, index.size)  # one row, or one per member (stacked)
        counts = np.stack([np.bincount(index, weights=r, minlength=self.shells.n_bins) for r in rows])
        return counts.reshape(*valid.shape[: valid.ndim - np.asarray(self.shells.index).ndim], self.shells.n_bins)

    def attrs(self) -> dict[str, Any]:
        """What a run file stores once about the bins (root attributes; ``docs/spectra.md``)."""
        out: dict[str, Any] = {
            SPECTRUM_K: self.k, SPECTRUM_MODES: np.asarray(self.shells.modes), "spectrum_volume": self.shells.volume,
            "spectrum_convention": "P(k) = |a^D fft f|^2 / V, mean over the shell round(|k| / dk) = b, "
                                   "dk = 2 pi / L_max, plain lattice momenta k = 2 pi n / (N a); "
                                   "occupation = (omega_k P_phi + P_pi / omega_k) / 2 with the theory's omega_k, "
                                   "mean over the shell's modes with omega_k > 0 (occupation_modes)",
        }
        occupied = self.occupied()
        if occupied is not None:
            out[OCCUPATION_MODES] = occupied
        return out

    @classmethod
    def split_of(cls, lattice: Lattice, mesh: Any, dispersion: Any = None) -> "Spectra | None":
        """``Spectra.of(lattice, dispersion(lattice.momenta())).split_over(mesh)`` (real fields) built block by
        block, never on the whole FFT grid (session 45: with the initial data built split,
        ``nnfield.runner.build_split``, these tables were a process's last whole-lattice arrays, about 80 bytes per
        site while built). The shells are counted plane by plane of the first axis (which shells are used, their
        modes, their mean ``|k|``, the modes with ``omega_k > 0``); each device's block of the tables (the half
        grid's columns it holds after the distributed FFT) is computed from its own momenta. The same tables, the
        shells' mean ``|k|`` summed in another order (round-off); ``None`` for a 1D lattice (as
        :meth:`split_over`). ``dispersion(k)``: ``omega`` at momenta ``k`` (e.g. ``model.dispersion``), or
        ``None``: no occupation numbers."""
        from jax.sharding import NamedSharding, PartitionSpec

        from .sharding import AXIS

        shape = tuple(int(n) for n in lattice.shape)
        D = len(shape)
        if D < 2:
            return None
        k1d = lattice.momenta_1d()
        dk = 2 * np.pi / max(lattice.lengths)

        def kabs_of(k: list[np.ndarray]) -> np.ndarray:
            return np.sqrt(sum(x**2 for x in k))

        def omega_ok(k: list[np.ndarray], like: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
            if dispersion is None:
                return None
            w = dispersion(k)
            if w is None:
                return None
            w = np.asarray(w, dtype=np.float64)
            if w.shape != like.shape:
                return None
            with np.errstate(invalid="ignore"):
                ok = np.isfinite(w) & (w > 0)
            return w, ok

        # the shells, plane by plane: raw shell of each mode, counts and |k| sums per raw shell
        top = int(np.floor(np.sqrt(sum((np.abs(k).max() / dk) ** 2 for k in k1d)) + 0.5)) + 2
        counts, ksum = np.zeros(top, np.int64), np.zeros(top)
        valid_counts = np.zeros(top)
        any_valid, has_omega = False, dispersion is not None
        for r in range(shape[0]):
            k = list(np.meshgrid(k1d[0][r:r + 1], *k1d[1:], indexing="ij"))
            kabs = kabs_of(k)
            raw = np.floor(kabs / dk + 0.5).astype(np.int64).ravel()
            counts += np.bincount(raw, minlength=top)
            ksum += np.bincount(raw, weights=kabs.ravel(), minlength=top)
            if has_omega:
                got = omega_ok(k, kabs)
                if got is None:
                    has_omega = False
                else:
                    any_valid = any_valid or bool(got[1].any())
                    valid_counts += np.bincount(raw, weights=got[1].ravel().astype(np.float64), minlength=top)
        used = np.flatnonzero(counts)
        n_bins = int(used.size)
        modes = counts[used].astype(np.float64)
        occupation = has_omega and any_valid

        n_last = shape[-1]
        half = n_last // 2 + 1
        pad = (-half) % mesh.size
        padded = (*shape[:-1], half + pad)
        k_last = k1d[-1][:half]
        j_all = np.arange(half)

        def block(index: tuple[slice, ...]) -> tuple[list[np.ndarray], np.ndarray, slice]:
            cols = slice(*index[-1].indices(padded[-1])[:2])
            real = slice(min(cols.start, half), min(cols.stop, half))
            k = list(np.meshgrid(*k1d[:-1], k_last[real], indexing="ij"))
            return k, kabs_of(k), cols

        def table(values: Any, fill: Any, dtype: Any) -> jax.Array:
            split = NamedSharding(mesh, PartitionSpec(*([None] * (D - 1)), AXIS))

            def slab(index: tuple[slice, ...]) -> np.ndarray:
                k, kabs, cols = block(index)
                out = np.full((*shape[:-1], cols.stop - cols.start), fill, dtype)
                n_real = kabs.shape[-1]
                if n_real:
                    out[..., :n_real] = values(k, kabs, slice(cols.start, cols.start + n_real))
                return out

            return jax.make_array_from_callback(padded, split, slab)

        def shell_index(k: list[np.ndarray], kabs: np.ndarray, cols: slice) -> np.ndarray:
            raw = np.floor(kabs / dk + 0.5).astype(np.int64)
            return np.searchsorted(used, raw).astype(np.int32)

        def weight(k: list[np.ndarray], kabs: np.ndarray, cols: slice) -> np.ndarray:
            j = j_all[cols]
            return np.broadcast_to(np.where((j > 0) & (2 * j != n_last), 2.0, 1.0), kabs.shape)

        shells = Shells(np.zeros((1,) * D, np.int32), table(shell_index, n_bins, np.int32),
                        table(weight, 0.0, np.float64), modes, ksum[used] / modes, n_bins,
                        float(lattice.size * lattice.cell_volume), float(lattice.cell_volume))
        if not occupation:
            return cls(shells, mesh=mesh)

        def omega(k: list[np.ndarray], kabs: np.ndarray, cols: slice) -> np.ndarray:
            w, ok = omega_ok(k, kabs)  # type: ignore[misc]
            return np.where(ok, w, 0.0)

        def valid(k: list[np.ndarray], kabs: np.ndarray, cols: slice) -> np.ndarray:
            return omega_ok(k, kabs)[1].astype(np.float64)  # type: ignore[index]

        return cls(shells, table(omega, 0.0, np.float64), table(valid, 0.0, np.float64), mesh,
                   occupied_modes=valid_counts[used])

    def split_over(self, mesh: Any, mode_tables: dict[str, np.ndarray] | None = None,
                   dtype: Any = np.float64) -> "Spectra | None":
        """These spectra on a lattice split along its first axis over the devices of ``mesh`` (a 1D mesh,
        :func:`nnfield.sharding.lattice_mesh`), computed by a distributed FFT (:func:`split_modes`) instead of one
        FFT of the whole field (for which XLA gathers the whole field on every device: 4 fields' bytes on each
        device, whatever their number). ``None`` for a 1D lattice (its only axis is the split one; it keeps the
        whole FFT).

        - Without ``mode_tables``: for real fields (:meth:`__call__`), on the half grid of ``rfftn``.
        - With ``mode_tables`` (``{name: (..., *lattice.shape)}`` on the full FFT grid, the model's
          :meth:`~nnfield.model.AbstractModel.mode_tables`): for a model whose spectral modes are a per-mode map of
          the modes of its sources (:meth:`of_model`; the Dirac spinor's positive- and negative-energy parts), on
          the full grid of ``fftn``; the tables are cast to ``dtype`` (its complex counterpart for complex ones).

        The tables (each mode's shell, its weight, ``omega_k``, the model's) are laid out as that FFT leaves its
        modes: the last axis padded to a multiple of the device count (the pads in an extra shell that is dropped,
        of weight 0) and split over the devices, each placed on its device. The weight table is ``half_weight``:
        how many modes of the full grid a mode stands for (2 or 1 on the half grid, 1 on the full grid), 0 on the
        pads. The values equal the one-device spectra to round-off (another order of the same FFTs)."""
        from jax.sharding import NamedSharding, PartitionSpec

        from .sharding import AXIS

        sh = self.shells
        D = sh.index.ndim
        if D < 2:
            return None
        full = mode_tables is not None
        last = sh.index.shape[-1] if full else sh.half_index.shape[-1]
        pad = (-last) % mesh.size

        def place(x: np.ndarray, value: Any) -> jax.Array:
            x = np.asarray(x)
            full_x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, pad)], constant_values=value)
            split = NamedSharding(mesh, PartitionSpec(*([None] * (x.ndim - 1)), AXIS))
            return jax.make_array_from_callback(full_x.shape, split, lambda i: np.array(full_x[i], copy=True))

        cut = (Ellipsis, slice(0, last))
        omega = None if self.omega is None else place(np.asarray(self.omega)[cut], 0.0)
        valid = None if self.valid is None else place(np.asarray(self.valid)[cut], 0.0)
        index, weight = (sh.index, np.ones(sh.index.shape)) if full else (sh.half_index, sh.half_weight)
        shells = Shells(np.zeros((1,) * D, np.int32),  # (the unsplit full grid's shells: not used when split)
                        place(index, sh.n_bins), place(weight, 0.0), sh.modes, sh.k, sh.n_bins, sh.volume, sh.cell)
        tables = None
        if full:
            complex_dtype = np.result_type(dtype, np.complex64)
            tables = {name: place(np.asarray(t, complex_dtype if np.iscomplexobj(t) else dtype), 0)
                      for name, t in mode_tables.items()}
        return Spectra(shells, omega, valid, mesh, tables)

    def __call__(self, fields: dict[str, jax.Array]) -> dict[str, jax.Array]:
        """``{spectrum_<name>: (n_bins,)}`` for each field ``(components, *shape)`` and ``occupation``."""
        if self.mesh is not None:
            return self._split_call(fields)
        sh = self.shells
        out: dict[str, jax.Array] = {}
        per_mode: dict[str, jax.Array] = {}
        real = {name: not jnp.iscomplexobj(f) for name, f in fields.items()}
        for name, f in fields.items():
            axes = tuple(range(f.ndim - len(sh.index.shape), f.ndim))
            per_mode[name] = power(f, sh.cell, sh.volume, axes, half=real[name])
            average = sh.average_half if real[name] else sh.average
            out[SPECTRUM_PREFIX + name] = average(per_mode[name])
        if self.omega is not None and "phi" in per_mode and "pi" in per_mode:
            half = real["phi"] and real["pi"]
            if real["phi"] != real["pi"]:  # (not met by the shipped theories) both on the full grid
                for name in ("phi", "pi"):
                    f = fields[name]
                    per_mode[name] = power(f, sh.cell, sh.volume, tuple(range(f.ndim - sh.index.ndim, f.ndim)))
            dtype = per_mode["phi"].dtype
            cut = (Ellipsis, slice(0, sh.half_index.shape[-1])) if half else (Ellipsis,)
            w = jnp.asarray(self.omega, dtype)[cut]
            ok = jnp.asarray(self.valid, dtype)[cut]
            n = _occupation(w, ok, per_mode["phi"], per_mode["pi"])
            out[OCCUPATION] = (sh.average_half if half else sh.average)(n, ok)
        return out

    def of_model(self, model: Any, state: Any) -> dict[str, jax.Array]:
        """The spectra of ``model``'s spectral fields on ``state``: from the modes the model gives
        (:meth:`~nnfield.model.AbstractModel.spectral_modes`) on a lattice held whole, from the distributed FFT of
        its sources (:meth:`~nnfield.model.AbstractModel.modes_from_sources`) on a split one made with its mode
        tables (:meth:`split_over`), else by transforming :meth:`~nnfield.model.AbstractModel.spectral_fields`
        (:meth:`__call__`). They agree to round-off."""
        if self.mesh is None:
            modes = model.spectral_modes(state)
            if modes is not None:
                return self.of_modes(modes)
        elif self.mode_tables is not None:
            return self._split_of_sources(model, model.spectral_sources(state))
        return self(model.spectral_fields(state))

    def of_modes(self, modes: dict[str, jax.Array]) -> dict[str, jax.Array]:
        """:meth:`__call__` of fields given by their FFT modes (``jnp.fft.fftn`` over the lattice axes, each
        ``(components, *shape)``, on the full grid): ``{spectrum_<name>}`` and, with ``phi`` and ``pi``,
        ``occupation``."""
        sh = self.shells
        per_mode = {name: mode_power(fk, sh.cell, sh.volume, sh.index.ndim) for name, fk in modes.items()}
        out = {SPECTRUM_PREFIX + name: sh.average(p) for name, p in per_mode.items()}
        if self.omega is not None and "phi" in per_mode and "pi" in per_mode:
            dtype = per_mode["phi"].dtype
            w, ok = jnp.asarray(self.omega, dtype), jnp.asarray(self.valid, dtype)
            out[OCCUPATION] = sh.average(_occupation(w, ok, per_mode["phi"], per_mode["pi"]), ok)
        return out

    def _split_call(self, fields: dict[str, jax.Array]) -> dict[str, jax.Array]:
        """:meth:`__call__` on a split lattice (:meth:`split_over` without mode tables): each device transforms its
        block (:func:`split_power`) and sums its modes into the shells; the sums are added over the devices."""
        if any(jnp.iscomplexobj(f) for f in fields.values()):
            raise ValueError("Spectra.split_over: real fields only (a complex field keeps the whole FFT)")
        if self.mode_tables is not None:
            raise ValueError("Spectra.split_over with mode tables: spectra of a model's sources (of_model)")
        sh = self.shells
        D = sh.half_index.ndim

        def per_mode(fs: dict[str, jax.Array], _tables: Any) -> dict[str, jax.Array]:
            return {name: split_power(f, D, sh.cell, sh.volume) for name, f in fs.items()}

        return self._split_reduce(per_mode, fields)

    def _split_of_sources(self, model: Any, sources: dict[str, jax.Array]) -> dict[str, jax.Array]:
        """:meth:`of_model` on a split lattice (:meth:`split_over` with the model's mode tables): each device
        transforms its block of the model's sources (:func:`split_modes`, full grid), maps them to the spectral
        modes with its block of the tables (``model.modes_from_sources``) and sums their power into the shells."""
        sh = self.shells
        D = sh.index.ndim

        def per_mode(src: dict[str, jax.Array], tables: dict[str, jax.Array]) -> dict[str, jax.Array]:
            modes = model.modes_from_sources({name: split_modes(f, D, real=False) for name, f in src.items()},
                                             tables)
            return {name: mode_power(fk, sh.cell, sh.volume, D) for name, fk in modes.items()}

        return self._split_reduce(per_mode, sources)

    def _split_reduce(self, per_mode: Any, fields: dict[str, jax.Array]) -> dict[str, jax.Array]:
        """The spectra on a split lattice, in ``jax.shard_map``: ``per_mode(block of fields, block of the mode
        tables)`` gives each device's ``{name: P(k)}`` in the layout of :meth:`split_over`; each is summed into the
        shells with the weight table, the sums added over the devices; ``occupation`` where they include ``phi``
        and ``pi`` and the spectra have ``omega_k``."""
        from jax.sharding import PartitionSpec

        from .sharding import AXIS

        sh = self.shells
        D = sh.half_index.ndim
        n_bins, modes = sh.n_bins, jnp.asarray(sh.modes)

        def shells_sum(x: jax.Array, index: jax.Array) -> jax.Array:
            part = jax.ops.segment_sum(x.ravel(), index.ravel(), num_segments=n_bins + 1)[:n_bins]
            return jax.lax.psum(part, AXIS)

        def local(fs: dict[str, jax.Array], tables: Any, index: jax.Array, weight: jax.Array, *extra: jax.Array
                  ) -> dict[str, jax.Array]:
            out: dict[str, jax.Array] = {}
            powers = per_mode(fs, tables)
            for name, p in powers.items():
                total = shells_sum(weight.astype(p.dtype) * p, index)
                out[SPECTRUM_PREFIX + name] = total / jnp.maximum(modes.astype(total.dtype), 1)
            if extra and "phi" in powers and "pi" in powers:
                dtype = powers["phi"].dtype
                w, ok = (x.astype(dtype) for x in extra)  # omega_k and its validity
                n = _occupation(w, ok, powers["phi"], powers["pi"])
                wt = weight.astype(dtype)
                out[OCCUPATION] = shells_sum(wt * n, index) / jnp.maximum(shells_sum(wt * ok, index), 1)
            return out

        def split_last(x: Any) -> PartitionSpec:
            return PartitionSpec(*([None] * (x.ndim - 1)), AXIS)

        field_specs = {name: PartitionSpec(*([None] * (f.ndim - D)), AXIS, *([None] * (D - 1)))
                       for name, f in fields.items()}
        tables = self.mode_tables or {}
        table_specs = {name: split_last(t) for name, t in tables.items()}
        extra = () if self.omega is None else (self.omega, self.valid)
        specs = (field_specs, table_specs, split_last(sh.half_index), split_last(sh.half_weight),
                 *(split_last(x) for x in extra))
        mapped = jax.shard_map(local, mesh=self.mesh, in_specs=specs, out_specs=PartitionSpec(), check_vma=False)
        return mapped(fields, tables, sh.half_index, sh.half_weight, *extra)


def split_modes(f: jax.Array, D: int, real: bool = True) -> jax.Array:
    """The FFT modes of the block ``f`` of a field split along its first lattice axis over the mesh axis
    ``"lattice"`` (inside ``shard_map``; ``f`` is ``(components..., N_1 / n, N_2, ..., N_D)``), in the layout of
    :meth:`Spectra.split_over`: the FFT along the last axis (``rfft`` of a ``real`` field: the half grid) and the
    FFTs along the middle axes on the device's own block, the last axis padded with zeros to a multiple of the
    device count ``n``, one all-to-all that splits it instead of the first axis, and the FFT along the first axis.
    Returns ``(components..., N_1, ..., N_{D-1}, M / n)`` with ``M`` the padded last axis (of the half grid of
    ``rfftn`` for a real field, of the full grid of ``fftn`` otherwise); ``D >= 2``. Exact up to round-off: the
    same transform as ``rfftn`` / ``fftn``, its one-dimensional FFTs in another order."""
    from .sharding import AXIS

    first = f.ndim - D
    fk = jnp.fft.rfft(f, axis=-1) if real else jnp.fft.fft(f, axis=-1)
    if D > 2:
        fk = jnp.fft.fftn(fk, axes=tuple(range(first + 1, f.ndim - 1)))
    n = jax.lax.axis_size(AXIS)
    pad = (-fk.shape[-1]) % n
    if pad:
        fk = jnp.pad(fk, [(0, 0)] * (fk.ndim - 1) + [(0, pad)])
    fk = jax.lax.all_to_all(fk, AXIS, split_axis=fk.ndim - 1, concat_axis=first, tiled=True)
    return jnp.fft.fft(fk, axis=first)


def split_power(f: jax.Array, D: int, cell: float, volume: float) -> jax.Array:
    """:func:`power` of a real field's block on one device of a lattice split along its first axis over the mesh
    axis ``"lattice"`` (inside ``shard_map``; ``f`` is ``(components..., N_1 / n, N_2, ..., N_D)``), on the half grid
    of ``rfftn`` laid out as :meth:`Spectra.split_over` says (:func:`split_modes`). Returns
    ``(N_1, ..., N_{D-1}, M / n)`` with ``M`` the padded half grid; ``D >= 2``. Exact up to round-off: the same
    transform as ``rfftn``, its one-dimensional FFTs in another order."""
    return mode_power(split_modes(f, D, real=True), cell, volume, D)
