"""Whole-process speed: ``neurosim train`` against a plain NumPy DFA script.

Each pair runs, one after the other in fresh one-thread processes, the
bit-exact chip run (fixed SRBP with the full chip accounting and timing, as
``neurosim train`` prints it) and ``numpy_dfa_fashion.py`` (float32 DFA,
the same network, data, batch and epochs: load, train, test). The pairs
alternate the order, so a noisy neighbour slows both alike; the ratio is
NumPy's wall time over neurosim's (above 1: neurosim is faster), the median
over pairs.

    python benchmarks/bench_process.py                      # fixed w8, 3 pairs, 5 epochs
    python benchmarks/bench_process.py --weight-bits 16 --pairs 3 --json process.json

Needs Debian's ``dataset-fashion-mnist``. Both processes start warm: one
untimed neurosim run fills numba's cache first, and with ``--kernels aot``
(the default) ``neurosim kernels build`` first compiles the kernels ahead of
time, so neurosim's processes never import numba; ``--kernels numba`` times
the numba start (``NEUROSIM_AOT=0``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def env() -> dict:
    e = dict(os.environ)
    # an installed package keeps its bytecode: compiling every module's source
    # again (~0.1 s a process) would time the machine's PYTHONDONTWRITEBYTECODE
    e.pop("PYTHONDONTWRITEBYTECODE", None)
    e.update({k: "1" for k in THREADS})
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), e.get("PYTHONPATH")]))
    return e


def commands(args) -> dict[str, list[str]]:
    py = sys.executable
    ns = [
        py, "-m", "neurosim", "train", "--data", "fashion-mnist", "--epochs", str(args.epochs),
        "--rule", "srbp", "--mode", "fixed", "--weight-bits", str(args.weight_bits),
        "--act-bits", "8", "--error-bits", "4", "--batch", str(args.batch), "--no-progress",
    ]  # fmt: skip
    npy = [py, str(ROOT / "benchmarks" / "numpy_dfa_fashion.py"), "--epochs", str(args.epochs),
           "--batch", str(args.batch)]  # fmt: skip
    return {f"neurosim fixed w{args.weight_bits}": ns, "numpy DFA": npy}


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, test accuracy) of one fresh process."""
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env(), capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - t0
    m = re.search(r"test accuracy\s+([0-9.]+)", out)
    return wall, float(m.group(1)) if m else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--weight-bits", type=int, default=8, choices=(8, 16))
    ap.add_argument("--kernels", choices=("aot", "numba"), default="aot",
                    help="neurosim's kernels: compiled ahead of time (default) or numba")
    ap.add_argument("--json", type=Path, metavar="PATH")
    args = ap.parse_args(argv)
    os.environ["NEUROSIM_AOT"] = "1" if args.kernels == "aot" else "0"  # env() copies it
    if args.kernels == "aot":
        subprocess.run([sys.executable, "-m", "neurosim", "kernels", "build"], env=env(),
                       check=True, capture_output=True)  # fmt: skip
    cmds = commands(args)
    names = list(cmds)
    warm = list(cmds[names[0]])
    warm[warm.index("--epochs") + 1] = "1"
    timed(warm)  # fill numba's cache (one epoch)
    walls: dict[str, list[float]] = {n: [] for n in names}
    accs: dict[str, list[float]] = {n: [] for n in names}
    ratios = []
    for p in range(args.pairs):
        pair = {}
        for n in names if p % 2 == 0 else names[::-1]:
            pair[n], acc = timed(cmds[n])
            walls[n].append(pair[n])
            accs[n].append(acc)
        ratios.append(pair[names[1]] / pair[names[0]])
        print(f"pair {p + 1}: " + ", ".join(f"{n} {pair[n]:.2f} s" for n in names), flush=True)
    print(f"\n{'contestant':<22} {'median s':>9} {'min s':>7} {'max s':>7} {'test acc':>9}")
    for n in names:
        w = walls[n]
        print(f"{n:<22} {statistics.median(w):9.2f} {min(w):7.2f} {max(w):7.2f} "
              f"{statistics.median(accs[n]):9.4f}")  # fmt: skip
    ratio = statistics.median(ratios)
    print(f"\nwhole process, {args.epochs} epochs of Fashion-MNIST, batch {args.batch}, "
          f"kernels {args.kernels}: "
          f"neurosim at {ratio:.2f}x the NumPy script (median of {args.pairs} pairs; "
          "above 1 = faster)")  # fmt: skip
    for n in names:
        print(f"  {n}: {' '.join(cmds[n][1:])}")
    if args.json:
        rec = {"walls": walls, "test_acc": accs, "ratios": ratios, "ratio": ratio,
               "commands": cmds, "epochs": args.epochs, "batch": args.batch,
               "kernels": args.kernels}  # fmt: skip
        args.json.write_text(json.dumps(rec, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
