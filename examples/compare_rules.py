"""Compare learning rules on one chip: accuracy, energy, cycles, error traffic.

    python examples/compare_rules.py                 # mnist5k, 3 epochs, ref45
    python examples/compare_rules.py --chip dfa65    # another preset or a chip file
    python examples/compare_rules.py --quick         # digits, 1 epoch, tiny net

Every rule trains from the same seed (same split, same initial weights).
"""

from __future__ import annotations

import argparse
import os

import neurosim

RULES = ("bp", "rbp", "srbp", "sbp", "top-only")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--chip", default="ref45", help="chip preset or chip TOML file")
    p.add_argument("--quick", action="store_true", help="digits, 1 epoch, tiny net")
    args = p.parse_args()
    quick = args.quick or os.environ.get("NEUROSIM_QUICK") == "1"

    base = dict(mode="fixed", error_bits=4, chip=args.chip)
    if quick:
        base.update(data="digits", hidden=(16, 16), epochs=1, batch=16, chip="small")
    else:
        base.update(epochs=3)
    data = neurosim.load_data(neurosim.make_config(**base))  # loaded once for every rule

    print(f"{'rule':<9} {'test acc':>8} {'nJ/sample':>10} {'cycles':>8} {'err bits':>9}")
    for rule in RULES:
        run = neurosim.run(rule=rule, dataset=data, **base)
        bits = run.hardware["bus"]["bits_per_sample"]
        err_bits = sum(v for k, v in bits.items() if k != "forward")  # skip bus + chain
        print(f"{rule:<9} {run.test_accuracy:>8.4f} {run.energy_pj_per_sample / 1e3:>10.1f} "
              f"{run.cycles_per_sample:>8.0f} {err_bits:>9.1f}")


if __name__ == "__main__":
    main()
