"""phi^4 kink-antikink collisions from the network: escape, capture, two-bounce windows and the critical speed.

The double well ``V = lam/4 (phi^2 - v^2)^2`` (``[theory] name = "phi4"``, ``phase = "broken"``) on a 1D lattice: a
kink and an antikink approach each other at speed ``u`` each (``nnfield.initial.phi4_kink_pair``) and collide.
Below a critical speed ``u_c`` they are captured into a bion, except in narrow windows where they escape after
two bounces; above ``u_c`` they escape after one (Campbell, Schonfeld and Wingate, Physica D 9, 1 (1983);
``u_c = 0.2598``, Anninos, Oliveira and Matzner, Phys. Rev. D 44, 1147 (1991)). Speeds are independent of ``m``,
``lam`` and ``v`` (they scale out), so one network serves every ``u``: every speed is one member of a batch of
initial states advanced by one compiled program (``jax.vmap`` of ``Network.advance``).

Each member runs until ``t = s / (2 u) + T`` (``s`` the initial separation, ``T`` the time after the collision,
``--after``); the walls' half distance ``d`` (the outermost zero crossings of ``phi``) is read at ``t - 40`` and
``t``: a pair whose ``d`` grew by more than 0.2 between the two readings and is beyond 6 (a bion's crossings stay
within about 3) has escaped, with outgoing speed ``u_out = (d(t) - d(t - 40)) / 40``; anything else is captured (a
bion, or a pair still bound). Just above ``u_c`` the outgoing speed vanishes (``u_out`` below 0.005 is read as a
capture), so the bracket found is an upper bound of ``u_c``; the script also extrapolates ``u_out^2 = C (u^2 -
u_c^2)`` (the law Campbell et al. found) from the escapes within 0.03 above it.
``u_c`` is then bisected: the smallest speed above every capture of the scan, refined between the last capture
and the first escape above it (``--refine`` rounds).

    python scripts/phi4_collisions.py                    # a = 0.05: the scan, u_c and a plot
    python scripts/phi4_collisions.py --spacing 0.025    # the same at half the spacing (u_c's lattice error)

Prints a table of the scan, the escape windows found below ``u_c`` and ``u_c``; writes
``docs/gallery/phi4_collisions.png`` (``--plot``). Float64 on CPU; about 5 s on 2 cores at the default settings
(15 s at ``--spacing 0.025``).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from nnfield import initial  # noqa: E402
from nnfield.lattice import Lattice  # noqa: E402
from nnfield.state import State  # noqa: E402
from nnfield.theories import nonlinear as nl  # noqa: E402

M, LAM = 1.0, 1.0  # the config's mass and lambda: v = 1, meson mass sqrt 2 (speeds do not depend on them)
V0, MESON = M / math.sqrt(LAM), math.sqrt(2) * M
SEPARATION = 20.0
WINDOW = 40.0  # the time between the two readings of the walls' distance
ESCAPE_DISTANCE = 6.0  # a bion's zero crossings (when it has any) stay within about 3 of its centre
FIT_RANGE = 0.03  # the escapes above u_c that the fit of u_out^2 takes
ESCAPE_GROWTH = 0.2  # the walls' half distance must grow by this over WINDOW (an outgoing speed above 0.005)


def half_distance(phi: np.ndarray, spacing: float, length: float) -> float:
    """Half the distance between the outermost zero crossings of ``phi`` (0 without any), about the box centre."""
    crossings = np.flatnonzero(np.sign(phi[:-1]) * np.sign(phi[1:]) < 0)
    if len(crossings) == 0:
        return 0.0
    x = (crossings + 0.5) * spacing - 0.5 * length
    return float(np.max(np.abs(x)))


def collide(speeds: np.ndarray, spacing: float, dt: float, after: float) -> tuple[np.ndarray, np.ndarray]:
    """``(d_late, u_out)`` of every speed. Every member runs as long as the slowest needs
    (``t = s / (2 min u) + after``): one program for the batch; a faster pair has longer after its collision."""
    t_total = SEPARATION / (2 * float(np.min(speeds))) + after
    # outgoing walls (slower than the incoming ones) stay 10 from the seam until the end
    u_max = float(np.max(speeds))
    length = SEPARATION + 2 * u_max * (t_total - SEPARATION / (2 * u_max)) + 20.0
    n_sites = 2 * int(math.ceil(length / spacing / 2))
    lat = Lattice((n_sites,), spacing)
    length = lat.lengths[0]
    net = nl.double_well_model(lat, LAM, V0, dt).network
    data = [initial.phi4_kink_pair(lat, MESON, V0, float(u), 0.5, SEPARATION) for u in speeds]
    state = State(jnp.stack([d[0] for d in data]), jnp.stack([d[1] for d in data]))
    n1 = int(round((t_total - WINDOW) / dt))
    n2 = int(round(WINDOW / dt))
    advance = jax.jit(jax.vmap(net.advance, in_axes=(0, None)), static_argnums=1)
    early = advance(state, n1)
    late = advance(early, n2)
    d1 = np.array([half_distance(np.asarray(p[0]), spacing, length) for p in early.phi])
    d2 = np.array([half_distance(np.asarray(p[0]), spacing, length) for p in late.phi])
    escaped = (d2 - d1 > ESCAPE_GROWTH) & (d2 > ESCAPE_DISTANCE)
    return d2, np.where(escaped, (d2 - d1) / WINDOW, 0.0)


def windows(speeds: np.ndarray, u_out: np.ndarray, u_c: float) -> list[tuple[float, float]]:
    """The runs of escaping speeds below ``u_c`` (the escape windows: two bounces or more, as the scan resolves
    them)."""
    out: list[tuple[float, float]] = []
    start = prev = None
    for u, esc in zip(speeds, u_out > 0, strict=True):
        if u >= u_c:
            break
        if esc and start is None:
            start = u
        if not esc and start is not None:
            out.append((start, prev))
            start = None
        prev = u
    if start is not None:
        out.append((start, prev))
    return out


@dataclasses.dataclass
class Scan:
    """A scan of collision speeds and what it found (see the module docstring)."""

    speeds: np.ndarray
    half_distance: np.ndarray
    u_out: np.ndarray  #: 0 for a capture
    last_capture: float  #: the refined bracket of u_c
    first_escape: float
    u_c: float  #: from u_out^2 = C (u^2 - u_c^2) through the escapes within FIT_RANGE above the bracket
    C: float
    fitted: int  #: the escapes in that fit
    windows: list[tuple[float, float]]


def scan(spacing: float = 0.05, dt: float | None = None, low: float = 0.15, high: float = 0.33, n: int = 64,
         after: float = 120.0, refine: int = 2) -> Scan:
    """Collide at ``n`` speeds in ``[low, high]`` (one compiled batch), bracket ``u_c`` and refine it (``refine``
    rounds of 16 speeds), fit ``u_out^2 = C (u^2 - u_c^2)``. ``dt`` defaults to ``0.4 spacing``."""
    dt = 0.4 * spacing if dt is None else dt
    speeds = np.linspace(low, high, n)
    d, u_out = collide(speeds, spacing, dt, after)
    captured = speeds[u_out == 0]
    if len(captured) == 0 or captured[-1] == speeds[-1]:
        raise ValueError("no escape above every capture in the scan: widen the range (--low, --high)")
    lo = float(captured[-1])
    hi = float(speeds[np.searchsorted(speeds, lo) + 1])
    for _ in range(refine):
        fine = np.linspace(lo, hi, 18)[1:-1]
        _, fine_out = collide(fine, spacing, dt, after)
        caps = fine[fine_out == 0]
        if len(caps):
            lo = float(caps[-1])
        above = fine[(fine > lo) & (fine_out > 0)]
        hi = float(above[0]) if len(above) else hi
    # u_out^2 = C (u^2 - u_c^2) just above u_c (Campbell et al. 1983): a line through the first escapes
    near = (speeds >= hi) & (speeds <= hi + FIT_RANGE) & (u_out > 0)
    slope, intercept = np.polyfit(speeds[near] ** 2, u_out[near] ** 2, 1)
    u_fit = math.sqrt(-intercept / slope) if intercept < 0 < slope else math.nan
    return Scan(speeds, d, u_out, lo, hi, u_fit, float(slope), int(near.sum()), windows(speeds, u_out, lo))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spacing", type=float, default=0.05, help="lattice spacing a (default 0.05)")
    ap.add_argument("--dt", type=float, default=None, help="time step (default 0.4 a)")
    ap.add_argument("--low", type=float, default=0.15, help="slowest speed of the scan")
    ap.add_argument("--high", type=float, default=0.33, help="fastest speed of the scan")
    ap.add_argument("--n", type=int, default=64, help="speeds in the scan (one compiled batch)")
    ap.add_argument("--after", type=float, default=120.0, help="time after the collision before the first reading")
    ap.add_argument("--refine", type=int, default=2, help="rounds of 16 speeds that refine u_c")
    ap.add_argument("--plot", type=Path, default=Path("docs/gallery/phi4_collisions.png"),
                    help="where to write the figure ('-' for none)")
    args = ap.parse_args(argv)
    dt = args.dt if args.dt is not None else 0.4 * args.spacing
    t0 = time.perf_counter()
    try:
        r = scan(args.spacing, dt, args.low, args.high, args.n, args.after, args.refine)
    except ValueError as exc:
        print(f"phi4_collisions: {exc}", file=sys.stderr)
        return 1
    print(f"# phi^4 kink-antikink collisions: a = {args.spacing:g}, dt = {dt:g}, separation {SEPARATION:g}, "
          f"{args.n} speeds in [{args.low:g}, {args.high:g}], readings {args.after:g} and "
          f"{args.after + WINDOW:g} after the meeting of the slowest pair\n")
    print("| u_in | outcome | u_out | half distance at the end |")
    print("|---|---|---|---|")
    for u, dd, uo in zip(r.speeds, r.half_distance, r.u_out, strict=True):
        print(f"| {u:.5f} | {'escape' if uo > 0 else 'capture'} | {uo:.4f} | {dd:.2f} |")
    lo, hi, u_fit, slope = r.last_capture, r.first_escape, r.u_c, r.C
    print(f"\nu_c: the last capture {lo:.5f}, the first escape above it {hi:.5f} (an upper bound: an escape slower "
          f"than the criterion resolves reads as a capture); from u_out^2 = C (u^2 - u_c^2) through the "
          f"{r.fitted} escapes in [{hi:.4f}, {hi + FIT_RANGE:.4f}]: u_c = {u_fit:.5f} (C = {slope:.3f}); "
          f"literature 0.2598 (continuum)")
    print("escape windows below u_c (two-bounce and higher, as the scan resolves them): "
          + (", ".join(f"[{a:.4f}, {b:.4f}]" for a, b in r.windows) or "none"))
    print(f"wall time {time.perf_counter() - t0:.1f} s")
    speeds, u_out = r.speeds, r.u_out
    if str(args.plot) != "-":
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 3.6))
        ax.plot(speeds, u_out, "o", ms=3.5, color="C0", label="outgoing speed (0: captured)")
        ax.axvline(u_fit, color="C3", lw=1, label=f"u_c = {u_fit:.4f} (this lattice, fit)")
        uu = np.linspace(u_fit, hi + FIT_RANGE, 50)
        ax.plot(uu, np.sqrt(np.maximum(slope * (uu**2 - u_fit**2), 0)), color="C3", lw=0.8, ls="--",
                label="u_out^2 = C (u^2 - u_c^2)")
        ax.axvline(0.2598, color="k", ls=":", lw=1, label="u_c = 0.2598 (continuum)")
        ax.set_xlabel("u_in (each wall)")
        ax.set_ylabel("u_out")
        ax.set_title(f"phi^4 kink-antikink collisions from the network (a = {args.spacing:g}, dt = {dt:g})",
                     fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
        fig.tight_layout()
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=110)
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
