"""Sweep the error code width for two rules into a result store, then list it.

    python examples/sweep_error_bits.py                      # mnist5k, 2 epochs
    python examples/sweep_error_bits.py --store runs/eb.db   # where the store goes
    python examples/sweep_error_bits.py --quick              # digits, 1 epoch, tiny net

A rerun skips the points already in the store. The same sweep as a TOML file
runs with ``neurosim sweep FILE --store runs/eb.db``.
"""

from __future__ import annotations

import argparse
import os

import neurosim


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", default="error_bits.db", help="SQLite result store")
    p.add_argument("--workers", type=int, default=None, help="worker processes")
    p.add_argument("--quick", action="store_true", help="digits, 1 epoch, tiny net")
    args = p.parse_args()
    quick = args.quick or os.environ.get("NEUROSIM_QUICK") == "1"

    base = {"mode": "fixed", "epochs": 2}
    if quick:
        base.update(data="digits", hidden=[16, 16], epochs=1, batch=16, chip="small")
    spec = {
        "sweep": {"name": "error-bits"},
        "base": base,
        "axes": {"rule": ["rbp", "srbp"], "error_bits": [0, 2, 4] if quick else [0, 1, 2, 3, 4, 6]},
    }
    workers = args.workers or (1 if quick else None)
    with neurosim.run_sweep(spec, args.store, workers=workers, progress=not quick) as store:
        s = store.summary
        print(f"{s.total} points: {s.done} run, {s.skipped} already stored, {s.failed} failed")
        rows = neurosim.results(store, status="ok")
    print(f"{'rule':<6} {'error_bits':>10} {'test acc':>8} {'nJ/sample':>10} {'err bits':>9}")
    for r in sorted(rows, key=lambda r: (r["rule"], r["error_bits"])):
        print(f"{r['rule']:<6} {r['error_bits']:>10} {r['test_accuracy']:>8.4f} "
              f"{r['energy_pj_per_sample'] / 1e3:>10.1f} {r['transport_bits_per_sample']:>9.1f}")


if __name__ == "__main__":
    main()
