"""Does ``jax.device_put`` (and ``make_array_from_callback``) of a NumPy array share the array's buffer?

    XLA_FLAGS=--xla_force_host_platform_device_count=2 python scripts/device_put_aliasing.py [--trials 50]

For each way of placing a fresh ``np.zeros`` array, the script changes the array right after placing it (after
``block_until_ready``) and counts the placed arrays that show the change. ``nnfield._xla.device_array`` copies on
the host first because JAX 0.10.2 on CPU showed it for about a third of the arrays, even with
``may_alias=False`` (``docs/performance.md``, "Overhead of small runs"; ``tests/test_xla_options.py``). The sharded
rows need two devices (the command above fakes them on a CPU).
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=50)
    args = ap.parse_args()
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    from nnfield._xla import device_array

    ways = {
        "jax.device_put(x)": lambda x: jax.device_put(x),
        "jax.device_put(x, may_alias=False)": lambda x: jax.device_put(x, may_alias=False),
        "jnp.asarray(x)": lambda x: jax.numpy.asarray(x),
        "nnfield._xla.device_array(x)": device_array,
    }
    if jax.device_count() >= 2:
        mesh = Mesh(np.array(jax.devices()[:2]), ("x",))
        split = NamedSharding(mesh, PartitionSpec(None, "x"))
        ways["jax.device_put(x, NamedSharding over 2 devices)"] = lambda x: jax.device_put(x, split)
        ways["jax.make_array_from_callback (2 devices)"] = lambda x: jax.make_array_from_callback(
            x.shape, split, lambda i: x[i])
    print(f"JAX {jax.__version__}, backend {jax.default_backend()}, {jax.device_count()} devices, "
          f"{args.trials} trials of a (1, 64, 64) float64 array each")
    for name, put in ways.items():
        shown = 0
        for _ in range(args.trials):
            x = np.zeros((1, 64, 64))
            a = put(x)
            a.block_until_ready()
            x[:] = 1.0
            shown += bool(np.asarray(a).any())
        print(f"  {name}: the later change shows in {shown} of {args.trials}")


if __name__ == "__main__":
    main()
