"""How often ``nnfield.conservation.verdict`` calls a bounded two-frequency quantity DRIFTS (a known limit).

``q(t) = 1 + 1e-6 [cos(2 pi s t + p1) + r cos(2 pi f t + p2)]`` on ``t in [0, 1]`` (``n`` samples, ``s`` slow periods
per record, ``f`` fast ones), 400 random phase pairs per cell; prints the percentage of DRIFTS and NOT JUDGED.
Every such series is bounded: each DRIFTS is wrong. The numbers in ``docs/cli.md`` (run summary, known limit).

    python scripts/conservation_two_frequency.py
"""

from __future__ import annotations

import numpy as np

from nnfield.conservation import verdict
from nnfield.model import Conserved

BOUNDED = Conserved("energy", "bounded", "")
SLOW = (0.15, 0.3, 0.5, 0.7, 0.9, 1.0, 1.5)


def main() -> None:
    rng = np.random.default_rng(0)
    for n, f in ((41, 7.3), (200, 7.3), (200, 13.37)):
        t = np.linspace(0.0, 1.0, n)
        for r in (0.05, 0.15, 0.4):
            row = []
            for s in SLOW:
                drifts = unjudged = 0
                for _ in range(400):
                    q = 1 + 1e-6 * (np.cos(2 * np.pi * s * t + rng.uniform(0, 2 * np.pi))
                                    + r * np.cos(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)))
                    v = verdict(BOUNDED, q, 2000, np.float64)
                    drifts += v.judged and not v.ok
                    unjudged += not v.judged
                row.append(f"s={s}: {drifts / 4:3.0f}% DRIFTS {unjudged / 4:3.0f}% n.j.")
            print(f"n = {n:3d}, f = {f:5.2f}, r = {r:4.2f} | " + " | ".join(row))


if __name__ == "__main__":
    main()
