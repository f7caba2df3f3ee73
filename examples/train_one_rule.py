"""Train one network with one learning rule on the chip's arithmetic.

    python examples/train_one_rule.py            # SRBP, mnist5k, 5 epochs, ref45 chip
    python examples/train_one_rule.py --rule bp  # another rule
    python examples/train_one_rule.py --quick    # digits, one epoch, a tiny net (seconds)

Prints the per-epoch history as it trains, then accuracy and what the chip spent
per training sample, and writes the run's JSON record.
"""

from __future__ import annotations

import argparse
import os

import neurosim


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rule", default="srbp", help="bp, rbp, srbp, sbp, arbp, asrbp, top-only")
    p.add_argument("--quick", action="store_true", help="digits, 1 epoch, tiny net")
    p.add_argument("--json", default="run.json", help="where to write the record")
    args = p.parse_args()
    quick = args.quick or os.environ.get("NEUROSIM_QUICK") == "1"

    if quick:
        cfg = neurosim.make_config(data="digits", hidden=(16,), epochs=1, batch=16, chip="small")
    else:
        cfg = neurosim.make_config(epochs=5)  # the paper's 784-100-100-100-100-10 net
    # the chip's arithmetic: 16-bit weights, 8-bit activations, 4-bit log errors
    cfg = neurosim.make_config(cfg, rule=args.rule, mode="fixed", weight_bits=16,
                               act_bits=8, error_bits=4)
    print(cfg)

    def show(e: neurosim.EpochStats) -> None:
        print(f"epoch {e.epoch}: loss {e.train_loss:.4f}, test accuracy {e.test_accuracy:.4f}")

    run = neurosim.run(cfg, on_epoch=show, progress=not quick)
    hw = run.hardware
    print(f"test accuracy   {run.test_accuracy:.4f}")
    print(f"energy/sample   {run.energy_pj_per_sample / 1e3:.1f} nJ on {hw['chip']}")
    for phase, pj in hw["energy_pj_per_sample"]["by_phase"].items():
        print(f"  {phase:<12}  {pj / 1e3:.2f} nJ")
    print(f"cycles/sample   {run.cycles_per_sample:.0f}")
    print(f"saturations     {sum(run.saturations().values())}")
    run.to_json(args.json)
    print(f"record          {args.json}")


if __name__ == "__main__":
    main()
