"""The update unit's two exact forms in one process: int64 against float64.

The engine's common update (stochastic rounding straight onto the codes)
computes in float64 wherever the gradient's bound makes that exact
(``neurosim.numerics.kernels.update._f64_exact``), and in int64 otherwise.
This benchmark forces the int64 form in one arm (``_f64_exact`` answering
False), alternates the arms run by run in one process -- on a shared
machine, separate processes of the same command vary by 30 % and more --
and checks that both arms end with the same weights.

    python benchmarks/bench_update_form.py                   # w8, 5 rounds
    python benchmarks/bench_update_form.py --weight-bits 16 --rounds 3
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from neurosim import api  # noqa: E402
from neurosim.numerics.kernels import update  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weight-bits", type=int, default=8)
    ap.add_argument("--samples", type=int, default=19200, help="training samples per run")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    cfg = dict(data="fashion-mnist", epochs=1, rule="srbp", mode="fixed",
               weight_bits=args.weight_bits, act_bits=8, error_bits=4, batch=64,
               limit=args.samples)  # fmt: skip
    ds = api.load_data("fashion-mnist")
    exact = update._f64_exact
    arms = {"int64": lambda *a: False, "float64": exact}
    times: dict[str, list[float]] = {k: [] for k in arms}
    hashes: dict[str, set[str]] = {k: set() for k in arms}
    try:
        for fn in arms.values():  # warm-up: load both kernels
            update._f64_exact = fn
            api.run(dict(cfg, limit=640), dataset=ds)
        for _ in range(args.rounds):
            for name, fn in arms.items():
                update._f64_exact = fn
                t = time.perf_counter()
                rec = api.run(cfg, dataset=ds)
                times[name].append(time.perf_counter() - t)
                hashes[name].add(rec.weights_sha256)
    finally:
        update._f64_exact = exact
    for name, ts in times.items():
        print(f"{name:8s} median {statistics.median(ts):.3f} s  "
              + " ".join(f"{t:.3f}" for t in ts))  # fmt: skip
    same = hashes["int64"] == hashes["float64"] and len(hashes["int64"]) == 1
    print(f"w{args.weight_bits}, {args.samples} samples per run: float64 / int64 = "
          f"{statistics.median(times['float64']) / statistics.median(times['int64']):.3f};"
          f" same weights: {same}")  # fmt: skip
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
