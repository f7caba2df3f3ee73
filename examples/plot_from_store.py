"""Draw your own figure from a result store: accuracy and error traffic versus error bits.

    python examples/plot_from_store.py error_bits.db              # a store from a sweep
    python examples/plot_from_store.py error_bits.db -o fig.png
    python examples/plot_from_store.py --quick                    # makes a tiny store first

Uses the store's flat rows (``neurosim.results``); with pandas installed the
same rows come as a DataFrame (``neurosim.results(store, dataframe=True)``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402

import neurosim  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("store", nargs="?", default="error_bits.db", help="SQLite result store")
    p.add_argument("-o", "--out", default="error_bits.png", help="figure file (PNG, SVG, PDF)")
    p.add_argument("--quick", action="store_true", help="make a tiny store first if missing")
    args = p.parse_args()
    quick = args.quick or os.environ.get("NEUROSIM_QUICK") == "1"
    if quick and not Path(args.store).exists():
        sweep = Path(__file__).with_name("sweep_error_bits.py")
        subprocess.run([sys.executable, str(sweep), "--quick", "--store", args.store], check=True)

    rows = neurosim.results(args.store, status="ok")
    fig, (ax_acc, ax_bits) = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
    for rule in sorted({r["rule"] for r in rows}):
        pts = sorted((r["error_bits"], r) for r in rows if r["rule"] == rule)
        xs = [x for x, _ in pts]
        ax_acc.plot(xs, [r["test_accuracy"] for _, r in pts], "o-", label=rule)
        ax_bits.plot(xs, [r["transport_bits_per_sample"] for _, r in pts], "o-", label=rule)
    ax_acc.set(xlabel="error code bits (0 = linear)", ylabel="test accuracy")
    ax_bits.set(xlabel="error code bits (0 = linear)", ylabel="error bits sent per sample")
    ax_acc.legend()
    fig.savefig(args.out, dpi=120)
    print(f"figure {args.out} ({len(rows)} points)")


if __name__ == "__main__":
    main()
