"""Training throughput of the neurosim engines against a plain NumPy DFA step.

Times one epoch of training, in one process and on the same mnist5k batches,
for:

* ``fixed w16`` / ``fixed w8``: :class:`neurosim.engine.FixedEngine`, SRBP,
  weight_bits 16 (and 8), act_bits 8, error_bits 4, stochastic rounding;
* ``float``: :class:`neurosim.engine.FloatEngine`, SRBP, float32;
* ``numpy DFA``: the reference below -- a plain float32 NumPy step of the
  same network and rule (SRBP is direct feedback alignment: every hidden
  layer gets the output error through its own fixed random matrix).

Each contestant trains one warm-up epoch first (numba compilation or cache
loading lands there and is reported as "first epoch"), then ``--repeats``
timed epochs, round-robin across contestants. BLAS is pinned to one thread.
The GEMM roofline is a float32 sgemm loop of the forward layer-1 shape;
"roofline" is the fraction of it that the DFA step's GEMM flops would use at
the measured rate.

    python benchmarks/bench_train.py [--hidden 100,100,100,100] [--batch 64]
        [--samples 4096] [--repeats 5] [--json PATH] [--profile STEPS]
"""

# Pin every thread pool to one thread before numpy (or numba) is imported.
import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ["NUMBA_NUM_THREADS"] = "1"

import argparse
import cProfile
import io
import json
import math
import platform
import pstats
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np

from hw_models.chip import load_chip
from neurosim.config import TrainConfig, parse_hidden
from neurosim.data import load_dataset
from neurosim.engine import FixedEngine, FloatEngine
from neurosim.hardware import make_accountant
from neurosim.train import one_hot

LR = 0.1
SEED = 0


# --------------------------------------------------------------------------- #
# the NumPy float32 DFA reference
# --------------------------------------------------------------------------- #


class NumpyDFA:
    """Plain float32 NumPy SRBP/DFA: tanh hidden layers, softmax output, no biases.

    ``W[i]`` has shape ``(N_{i+1}, N_i)``; ``Bf[h]`` (shape ``(N_{h+1}, N_L)``)
    carries the output error ``R^L = T - O^L`` to hidden layer ``h + 1``:
    ``R^h = (1 - O_h^2) * (R^L @ Bf_h^T)``, and every layer learns
    ``W += lr / B * R^T @ O_in``.
    """

    def __init__(self, sizes: list[int], lr: float, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.W = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
            a = math.sqrt(6.0 / (n_in + n_out))
            self.W.append(rng.uniform(-a, a, size=(n_out, n_in)).astype(np.float32))
        n_top = sizes[-1]
        self.Bf = []
        for n_h in sizes[1:-1]:
            a = math.sqrt(6.0 / (n_h + n_top))
            self.Bf.append(rng.uniform(-a, a, size=(n_h, n_top)).astype(np.float32))
        self.lr = lr

    def train_batch(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        A = [x]
        for w in self.W[:-1]:
            A.append(np.tanh(A[-1] @ w.T))
        s = A[-1] @ self.W[-1].T
        e = np.exp(s - s.max(axis=1, keepdims=True))
        out = e / e.sum(axis=1, keepdims=True)
        r_top = t - out
        scale = np.float32(self.lr / x.shape[0])
        for i, bf in enumerate(self.Bf):
            o = A[i + 1]
            r = (1 - o * o) * (r_top @ bf.T)
            self.W[i] += scale * (r.T @ A[i])
        self.W[-1] += scale * (r_top.T @ A[-1])
        return out


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #


def dfa_flops_per_sample(sizes: list[int]) -> int:
    """GEMM flops of one DFA sample: 2 * (forward + update + feedback MACs)."""
    fwd = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    upd = fwd
    fb = sum(sizes[1:-1]) * sizes[-1]
    return 2 * (fwd + upd + fb)


def sgemm_gflops(m: int, k: int, n: int, seconds: float = 0.5, trials: int = 5) -> float:
    """Best float32 ``(m, k) @ (k, n)`` rate in GFLOP/s over a few timed loops."""
    rng = np.random.default_rng(1)
    a = rng.random((m, k), dtype=np.float32)
    b = rng.random((n, k), dtype=np.float32).T  # transposed view, like x @ W.T
    out = np.empty((m, n), dtype=np.float32)
    np.matmul(a, b, out=out)
    reps = 1
    while True:  # size the loop to about seconds / trials
        t0 = time.perf_counter()
        for _ in range(reps):
            np.matmul(a, b, out=out)
        dt = time.perf_counter() - t0
        if dt > seconds / trials / 4:
            break
        reps *= 2
    reps = max(1, int(reps * (seconds / trials) / dt))
    best = math.inf
    for _ in range(trials):
        t0 = time.perf_counter()
        for _ in range(reps):
            np.matmul(a, b, out=out)
        best = min(best, (time.perf_counter() - t0) / reps)
    return 2.0 * m * k * n / best / 1e9


def make_batches(x_all: np.ndarray, y_all: np.ndarray, n_classes: int, samples: int, batch: int):
    """``samples`` training samples in a fixed shuffled order (wrapping), as batches."""
    rng = np.random.default_rng([SEED, 3])
    n = x_all.shape[0]
    order = np.concatenate([rng.permutation(n) for _ in range(-(-samples // n))])[:samples]
    out = []
    for s in range(0, samples, batch):
        idx = order[s : s + batch]
        out.append((np.ascontiguousarray(x_all[idx]), one_hot(y_all[idx], n_classes), y_all[idx]))
    return out


def run_epoch(engine, batches) -> tuple[float, float]:
    """Train one epoch; return (seconds, accuracy of the outputs seen while training)."""
    outs = []
    t0 = time.perf_counter()
    for x, t, _ in batches:
        outs.append(engine.train_batch(x, t))
    dt = time.perf_counter() - t0
    correct = sum(
        int((o.argmax(axis=1) == y).sum()) for o, (_, _, y) in zip(outs, batches, strict=True)
    )
    return dt, correct / sum(len(y) for _, _, y in batches)


def thread_info() -> list[dict]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return threadpool_info()


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def profile_fixed(ds, steps: int, batch: int, top: int = 15) -> str:
    """cProfile ``steps`` FixedEngine steps of the default fixed config; top by tottime."""
    cfg = TrainConfig(mode="fixed", rule="srbp", batch=batch, error_bits=4, lr=LR, seed=SEED)
    cfg.validate()
    eng = FixedEngine(cfg, ds.n_features, ds.n_classes)
    batches = make_batches(ds.x_train, ds.y_train, ds.n_classes, steps * batch, batch)
    for x, t, _ in batches[:3]:  # load compiled kernels outside the profile
        eng.train_batch(x, t)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for x, t, _ in batches:
        eng.train_batch(x, t)
    prof.disable()
    wall = time.perf_counter() - t0
    buf = io.StringIO()
    st = pstats.Stats(prof, stream=buf)
    st.sort_stats("tottime").print_stats(top)
    head = (
        f"profile: FixedEngine.train_batch x {steps} steps, net {'-'.join(map(str, eng.sizes))},"
        f" batch {batch}, error_bits 4: {wall:.2f} s under cProfile"
        f" ({steps * batch / wall:,.0f} samples/s)\n"
    )
    return head + buf.getvalue()


# --------------------------------------------------------------------------- #
# main
# --------------------------------------------------------------------------- #


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hidden", default="100,100,100,100", help="hidden widths")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--samples", type=int, default=4096, help="samples per timed epoch")
    ap.add_argument("--repeats", type=int, default=5, help="timed epochs per contestant")
    ap.add_argument("--json", metavar="PATH", help="write the results as JSON")
    ap.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="STEPS",
        help="afterwards, cProfile this many fixed-engine steps (default net) and print top 15",
    )
    args = ap.parse_args(argv)
    hidden = parse_hidden(args.hidden)
    if args.batch < 1 or args.samples < args.batch or args.repeats < 1:
        ap.error("need batch >= 1, samples >= batch, repeats >= 1")

    ds = load_dataset("mnist5k")
    n_in, n_out = ds.n_features, ds.n_classes
    sizes = [n_in, *hidden, n_out]
    batches = make_batches(ds.x_train, ds.y_train, n_out, args.samples, args.batch)
    samples = sum(len(y) for _, _, y in batches)

    print(f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}")
    print(f"cpu: {cpu_name()}, os.cpu_count() = {os.cpu_count()}")
    tinfo = thread_info()
    if tinfo:
        for d in tinfo:
            print(
                f"threadpool: {d.get('user_api')} {d.get('internal_api')} {d.get('version')}"
                f" num_threads={d.get('num_threads')} ({Path(d.get('filepath', '')).name})"
            )
    else:
        print("threadpool: threadpoolctl not installed (env vars pin BLAS to 1 thread)")
    print(
        f"data: {ds.name} train {ds.x_train.shape}, net {'-'.join(map(str, sizes))}, "
        f"batch {args.batch}, {samples} samples/epoch ({len(batches)} steps), "
        f"{args.repeats} timed epochs"
    )

    def fixed_cfg(wbits: int) -> TrainConfig:
        return TrainConfig(
            mode="fixed",
            rule="srbp",
            hidden=hidden,
            batch=args.batch,
            lr=LR,
            weight_bits=wbits,
            act_bits=8,
            error_bits=4,
            rounding="stochastic",
            seed=SEED,
        ).validate()

    float_cfg = TrainConfig(
        mode="float", rule="srbp", hidden=hidden, batch=args.batch, lr=LR, seed=SEED
    ).validate()

    def with_chip(engine):
        # the full chip accounting: every batch's errors and messages tallied
        # for the energy/cycle report on the reference chip (event packets)
        chip = load_chip("ref45")
        engine.accountant = make_accountant(engine.cfg, engine.rule, engine.sizes, chip)
        return engine

    def fixed_event(wbits: int) -> FixedEngine:
        cfg = fixed_cfg(wbits)
        cfg.packets = "event"
        return with_chip(FixedEngine(cfg, n_in, n_out))

    factories = {
        "fixed SRBP w16": lambda: FixedEngine(fixed_cfg(16), n_in, n_out),
        "fixed SRBP w16+chip": lambda: fixed_event(16),
        "fixed SRBP w8": lambda: FixedEngine(fixed_cfg(8), n_in, n_out),
        "float SRBP": lambda: FloatEngine(float_cfg, n_in, n_out),
        "numpy DFA f32": lambda: NumpyDFA(sizes, LR, SEED),
    }
    ref_name = "numpy DFA f32"

    engines, first, build = {}, {}, {}
    for name, make in factories.items():
        t0 = time.perf_counter()
        engines[name] = make()
        build[name] = time.perf_counter() - t0
        first[name], _ = run_epoch(engines[name], batches)
    times: dict[str, list[float]] = {name: [] for name in engines}
    acc: dict[str, float] = {}
    for _ in range(args.repeats):
        for name, eng in engines.items():
            dt, acc[name] = run_epoch(eng, batches)
            times[name].append(dt)

    peak = sgemm_gflops(args.batch, n_in, sizes[1])
    flops = dfa_flops_per_sample(sizes)
    roof_sps = peak * 1e9 / flops

    rows = {}
    for name in engines:
        sps = [samples / t for t in times[name]]
        rows[name] = {
            "median_samples_per_s": statistics.median(sps),
            "min_samples_per_s": min(sps),
            "max_samples_per_s": max(sps),
            "epoch_seconds": times[name],
            "first_epoch_seconds": first[name],
            "build_seconds": build[name],
            "train_accuracy_last_epoch": acc[name],
        }
    ref = rows[ref_name]["median_samples_per_s"]
    for r in rows.values():
        r["ratio_to_numpy_dfa"] = r["median_samples_per_s"] / ref
        r["roofline_fraction"] = r["median_samples_per_s"] / roof_sps

    print()
    hdr = (
        f"{'contestant':<16}{'median/s':>10}{'min/s':>10}{'max/s':>10}{'ratio':>8}"
        f"{'roofline':>10}{'1st epoch s':>13}{'acc':>7}"
    )
    print(hdr)
    print("-" * len(hdr))
    for name, r in rows.items():
        print(
            f"{name:<16}{r['median_samples_per_s']:>10,.0f}{r['min_samples_per_s']:>10,.0f}"
            f"{r['max_samples_per_s']:>10,.0f}{r['ratio_to_numpy_dfa']:>8.2f}"
            f"{r['roofline_fraction']:>9.1%}{r['first_epoch_seconds']:>13.3f}"
            f"{r['train_accuracy_last_epoch']:>7.3f}"
        )
    print()
    print(
        f"sgemm ({args.batch}x{n_in})@({n_in}x{sizes[1]}) float32, 1 thread: {peak:.1f} GFLOP/s;"
        f" DFA GEMM flops/sample {flops:,} -> roofline {roof_sps:,.0f} samples/s"
    )
    print("ratio = median samples/s / numpy DFA f32; acc = train accuracy of last timed epoch")
    print(f"fixed SRBP / numpy float32 DFA = {rows['fixed SRBP w16']['ratio_to_numpy_dfa']:.2f}")
    print(f"fixed SRBP w8 / numpy float32 DFA = {rows['fixed SRBP w8']['ratio_to_numpy_dfa']:.2f}")
    plain = rows["fixed SRBP w16"]["median_samples_per_s"]
    full = rows["fixed SRBP w16+chip"]["median_samples_per_s"]
    print(f"chip accounting adds {100 * (plain / full - 1):.1f}% to the fixed SRBP w16 step time")

    if args.json:
        record = {
            "argv": sys.argv[1:],
            "python": platform.python_version(),
            "numpy": np.__version__,
            "numba": numba.__version__,
            "cpu": cpu_name(),
            "threadpools": tinfo,
            "sizes": sizes,
            "batch": args.batch,
            "samples_per_epoch": samples,
            "repeats": args.repeats,
            "sgemm_gflops": peak,
            "dfa_gemm_flops_per_sample": flops,
            "roofline_samples_per_s": roof_sps,
            "contestants": rows,
            "fixed_over_numpy_dfa": rows["fixed SRBP w16"]["ratio_to_numpy_dfa"],
        }
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {args.json}")

    if args.profile:
        print()
        print(profile_fixed(ds, args.profile, args.batch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
