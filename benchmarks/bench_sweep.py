"""Sweep scaling: the same sweep on 1 and on 2 worker processes.

Runs ``neurosim sweep`` on a grid (mnist5k, 784-100x4-10, fixed mode,
the ``ref45`` chip, BP/RBP/SRBP x 8/16-bit weights x 2/4-bit errors, over
``--seeds`` seeds: by default 3 seeds of 10-epoch points, 36 points of
0.3-0.5 s, about 15 s on one worker) into fresh stores, once with ``--workers 1``
and once with ``--workers 2``, alternating the order over ``--pairs`` pairs,
and prints the wall times and the speed-up (one worker's wall over two
workers'; 2.0 is perfect scaling on this 2-core machine). Every worker
process pins its thread pools to one thread, as ``neurosim sweep`` does.

    python benchmarks/bench_sweep.py --pairs 3 --ceiling
    python benchmarks/bench_sweep.py --seeds 1 --pairs 5 --ceiling   # 12 points, ~5 s
    python benchmarks/bench_sweep.py --epochs 2 --seeds 1 --json sweep.json
    python benchmarks/bench_sweep.py --data fashion-mnist --epochs 2 --seeds 1 --ceiling

``--ceiling`` also measures what this machine allows for the same points
without the sweep: one process trains them all in a loop (after a warm-up
point, so no start-up is timed), alone and then as two identical processes
side by side; the ceiling is the pair's throughput in lone processes' worth,
``alone / t_1 + alone / t_2`` (``alone`` the mean of one lone run before and
one after the pair; 2.0 when two processes do not slow each other). The sweep's speed-up over
that ceiling is what the sweep machinery (start-up, the last point alone,
scheduling) keeps of it.

A sweep pays a fixed start (the parent, a worker's interpreter and imports,
its first point's data and kernels: about 0.4 s with the kernels compiled
ahead of time, which this benchmark builds first unless ``NEUROSIM_AOT=0``;
numba's start adds ~0.7 s a worker) that a second worker does not shorten,
and ends with one worker idle for up to one point: short sweeps scale less
(Amdahl: with 0.4 s of start and half a 0.4-s point of tail, 1.9x needs
about 15 s of points on one worker even when two processes do not slow
each other).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SPEC = """[sweep]
name = "bench-sweep"

[base]
data = "{data}"
mode = "fixed"
epochs = {epochs}
hidden = [100, 100, 100, 100]
act_bits = 8
packets = "event"
chip = "ref45"

[axes]
rule = ["bp", "rbp", "srbp"]
weight_bits = [8, 16]
error_bits = [2, 4]
seed = {seeds}
"""


def run(spec: Path, workers: int, tmp: Path) -> float:
    """Wall seconds of one sweep into a fresh store."""
    store = tmp / f"w{workers}-{time.monotonic_ns()}.db"
    env = _env()
    cmd = [sys.executable, "-m", "neurosim", "sweep", str(spec), "--store", str(store),
           "--workers", str(workers), "--no-progress"]  # fmt: skip
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # an installed package keeps its bytecode: compiling every module's source
    # again (~0.1 s a process) would time the machine's PYTHONDONTWRITEBYTECODE
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update({k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    return env


def run_points(spec: Path) -> float:
    """Seconds to train every point of ``spec`` in this process, one after
    another, after one untimed warm-up point (imports, kernels, data)."""
    from neurosim.experiments.sweep import load_spec, run_point

    points = load_spec(spec).points()
    run_point(points[0].config.to_dict())
    t0 = time.perf_counter()
    for p in points:
        out = run_point(p.config.to_dict())
        if out["status"] != "ok":
            raise RuntimeError(out["error"])
    return time.perf_counter() - t0


def ceiling(spec: Path) -> float:
    """The throughput of two processes training the points side by side, in
    lone processes' worth: the speed-up two processes get here."""
    cmd = [sys.executable, __file__, "--run-points", str(spec)]

    def start() -> subprocess.Popen:
        return subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, text=True)

    def seconds(proc: subprocess.Popen) -> float:
        out, _ = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"{cmd} failed ({proc.returncode})")
        return float(out.split()[-1])

    before = seconds(start())
    pair = [start(), start()]
    pair_s = [seconds(p) for p in pair]
    alone = 0.5 * (before + seconds(start()))  # before and after: the load drifts
    # the pair's throughput in lone processes' worth: a sweep hands the next
    # point to whichever worker is free, so a slower one does fewer points
    return sum(alone / t for t in pair_s)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=3, help="repeat the grid over this many seeds")
    ap.add_argument("--data", default="mnist5k", help="the points' data set")
    ap.add_argument(
        "--ceiling",
        action="store_true",
        help="also measure two processes side by side on the same points",
    )
    ap.add_argument("--json", type=Path, metavar="PATH")
    ap.add_argument("--run-points", type=Path, help=argparse.SUPPRESS)  # a ceiling child
    args = ap.parse_args(argv)
    if args.run_points:
        print(f"{run_points(args.run_points):.6f}")
        return 0
    if os.environ.get("NEUROSIM_AOT", "1") != "0":  # the workers start without numba
        subprocess.run([sys.executable, "-m", "neurosim", "kernels", "build"], check=True,
                       capture_output=True, cwd=ROOT)  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        spec = tmp / "bench-sweep.toml"
        spec.write_text(SPEC.format(data=args.data, epochs=args.epochs,
                                     seeds=list(range(args.seeds))))  # fmt: skip
        one, two, ratios, ceilings = [], [], [], []
        for p in range(args.pairs):
            order = (1, 2) if p % 2 == 0 else (2, 1)
            wall = {w: run(spec, w, tmp) for w in order}
            one.append(wall[1])
            two.append(wall[2])
            ratios.append(wall[1] / wall[2])
            line = (f"pair {p + 1}: 1 worker {wall[1]:.1f} s, 2 workers {wall[2]:.1f} s, "
                    f"speed-up {ratios[-1]:.2f}x")  # fmt: skip
            if args.ceiling:  # measured next to each pair: the machine's load drifts
                ceilings.append(ceiling(spec))
                line += f"; two processes side by side {ceilings[-1]:.2f}x"
            print(line, flush=True)
    speedup = statistics.median(ratios)
    print(f"\n{12 * args.seeds} points x {args.epochs} epochs ({args.data}): "
          f"1 worker {statistics.median(one):.1f} s, 2 workers {statistics.median(two):.1f} s "
          f"(medians); speed-up {speedup:.2f}x "
          f"(median of {args.pairs} pairs)")  # fmt: skip
    report = {"one": one, "two": two, "ratios": ratios, "speedup": speedup}
    if ceilings:
        top = statistics.median(ceilings)
        print(f"ceiling (the same points, two processes side by side, no sweep): {top:.2f}x; "
              f"the sweep reaches {speedup / top:.0%} of it")  # fmt: skip
        report.update(ceilings=ceilings, ceiling=top)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
