"""Training throughput of neurosim against plain float32 DFA and BP, one process per contestant.

One command runs every contestant on the same mnist5k batches, each in its own
fresh process with every thread pool pinned to one thread:

* ``fixed w8`` / ``fixed w16``: :class:`neurosim.nn.fixed.FixedEngine`, SRBP,
  weight_bits 8 (16), act_bits 8, 4-bit log errors, stochastic rounding, with
  the full chip accounting (event packets on the ``ref45`` chip: every batch's
  errors and messages tallied as ``neurosim train`` does);
* ``float``: :class:`neurosim.nn.float_engine.FloatEngine`, SRBP, float32, with the
  same chip accounting;
* ``numpy DFA``: a plain float32 NumPy step of the same network and rule
  (SRBP is direct feedback alignment);
* ``torch DFA``: the same step written by hand in PyTorch (float32, no
  autograd);
* ``torch BP``: PyTorch autograd backpropagation with SGD (no biases).

PyTorch is a benchmark-only extra (``pip install torch==2.13.0``); without it
the torch rows are skipped.

Each process builds its contestant, trains one warm-up epoch ("first epoch":
numba compilation or cache loading lands there), then ``--repeats`` timed
epochs, and reports its peak resident memory (``ru_maxrss``). ``--rounds``
repeats the whole set of processes, interleaved, so a noisy neighbour hurts
all contestants alike; the table shows the median over every timed epoch.

Also measured: the float32 GEMM roofline (best sgemm rate of the first
layer's shape, one thread), the cold start of ``neurosim train --help``, and
the numba compilation a fresh process pays on first start (empty
``NUMBA_CACHE_DIR``) and on second start (warm cache), both with
``NEUROSIM_AOT=0`` (``bench_startup.py`` times the start with the kernels
compiled ahead of time).

    python benchmarks/bench.py                       # full table
    python benchmarks/bench.py --nets 100x4 --batches 64 --rounds 3 --profile 200
"""

# Pin every thread pool to one thread before numpy (or numba, torch) is imported.
import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

T_START = time.perf_counter()
ROOT = Path(__file__).resolve().parent.parent
LR = 0.1
SEED = 0
CONTESTANTS = ("fixed w8", "fixed w16", "float", "numpy DFA", "torch DFA", "torch BP")
REF, TORCH_REF = "numpy DFA", "torch DFA"


# --------------------------------------------------------------------------- #
# contestants (run inside the worker process)
# --------------------------------------------------------------------------- #


def glorot(rng, n_out: int, n_in: int):
    a = math.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-a, a, size=(n_out, n_in))


class NumpyDFA:
    """Plain float32 NumPy SRBP/DFA: tanh hidden layers, softmax output, no biases.

    ``W[i]`` has shape ``(N_{i+1}, N_i)``; ``Bf[h]`` (shape ``(N_{h+1}, N_L)``)
    carries the output error ``R^L = T - O^L`` to hidden layer ``h + 1``:
    ``R^h = (1 - O_h^2) * (R^L @ Bf_h^T)``, and every layer learns
    ``W += lr / B * R^T @ O_in``.
    """

    def __init__(self, sizes: list[int], lr: float, seed: int) -> None:
        import numpy as np

        rng = np.random.default_rng(seed)
        pairs = zip(sizes[:-1], sizes[1:], strict=True)
        self.W = [glorot(rng, b, a).astype(np.float32) for a, b in pairs]
        self.Bf = [glorot(rng, h, sizes[-1]).astype(np.float32) for h in sizes[1:-1]]
        self.lr = lr

    def train_batch(self, x, t, y):
        import numpy as np

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


class TorchDFA:
    """The same DFA step in PyTorch float32, by hand (no autograd)."""

    def __init__(self, sizes: list[int], lr: float, seed: int) -> None:
        import torch

        ref = NumpyDFA(sizes, lr, seed)
        self.torch = torch
        self.W = [torch.from_numpy(w.copy()) for w in ref.W]
        self.Bf = [torch.from_numpy(b.copy()) for b in ref.Bf]
        self.lr = lr

    def train_batch(self, x, t, y):
        torch = self.torch
        with torch.no_grad():
            xt, tt = torch.from_numpy(x), torch.from_numpy(t)
            A = [xt]
            for w in self.W[:-1]:
                A.append(torch.tanh(A[-1] @ w.T))
            out = torch.softmax(A[-1] @ self.W[-1].T, dim=1)
            r_top = tt - out
            scale = self.lr / x.shape[0]
            for i, bf in enumerate(self.Bf):
                o = A[i + 1]
                r = (1 - o * o) * (r_top @ bf.T)
                self.W[i].addmm_(r.T, A[i], alpha=scale)
            self.W[-1].addmm_(r_top.T, A[-1], alpha=scale)
        return out.numpy()


class TorchBP:
    """PyTorch autograd backpropagation: tanh MLP without biases, softmax cross-entropy, SGD."""

    def __init__(self, sizes: list[int], lr: float, seed: int) -> None:
        import torch

        ref = NumpyDFA(sizes, lr, seed)
        self.torch = torch
        layers = []
        for i, w in enumerate(ref.W):
            lin = torch.nn.Linear(w.shape[1], w.shape[0], bias=False)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(w))
            layers.append(lin)
            if i < len(ref.W) - 1:
                layers.append(torch.nn.Tanh())
        self.model = torch.nn.Sequential(*layers)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=lr)

    def train_batch(self, x, t, y):
        torch = self.torch
        logits = self.model(torch.from_numpy(x))
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return logits.detach().numpy()


class Neurosim:
    """A neurosim engine with the chip accounting, as ``neurosim train`` runs it."""

    def __init__(self, mode: str, wbits: int, hidden: tuple, batch: int, n_in: int, n_out: int):
        from hw_models.chip import load_chip
        from neurosim.config import TrainConfig
        from neurosim.cost.factory import make_accountant
        from neurosim.nn.factory import make_engine
        from neurosim.plan import make_plan

        kw = dict(weight_bits=wbits, act_bits=8, error_bits=4, rounding="stochastic")
        cfg = TrainConfig(
            mode=mode, rule="srbp", hidden=hidden, batch=batch, lr=LR, seed=SEED,
            packets="event", **(kw if mode == "fixed" else {}),
        ).validate()  # fmt: skip
        plan = make_plan(cfg, n_in, n_out, chip=load_chip("ref45"))
        self.engine = make_engine(plan)
        self.engine.accountant = make_accountant(plan)

    def train_batch(self, x, t, y):
        return self.engine.train_batch(x, t)


def build(name: str, sizes: list[int], batch: int):
    hidden = tuple(sizes[1:-1])
    if name == "fixed w8":
        return Neurosim("fixed", 8, hidden, batch, sizes[0], sizes[-1])
    if name == "fixed w16":
        return Neurosim("fixed", 16, hidden, batch, sizes[0], sizes[-1])
    if name == "float":
        return Neurosim("float", 16, hidden, batch, sizes[0], sizes[-1])
    if name == "numpy DFA":
        return NumpyDFA(sizes, LR, SEED)
    if name == "torch DFA":
        return TorchDFA(sizes, LR, SEED)
    if name == "torch BP":
        return TorchBP(sizes, LR, SEED)
    raise ValueError(f"unknown contestant {name!r}")


def make_batches(samples: int, batch: int):
    """``samples`` mnist5k training samples in a fixed shuffled order, as batches."""
    import numpy as np

    from neurosim.data.datasets import load_dataset

    ds = load_dataset("mnist5k")
    rng = np.random.default_rng([SEED, 3])
    n = ds.x_train.shape[0]
    order = np.concatenate([rng.permutation(n) for _ in range(-(-samples // n))])[:samples]
    return as_batches(ds, order, batch), ds.n_features, ds.n_classes


def as_batches(ds, order, batch: int) -> list:
    """``(x, one-hot t, y)`` minibatches of ``ds``'s training rows in ``order``."""
    import numpy as np

    out = []
    for s in range(0, len(order), batch):
        idx = order[s : s + batch]
        y = ds.y_train[idx].astype(np.int64)
        t = np.zeros((len(idx), ds.n_classes), dtype=np.float32)
        t[np.arange(len(idx)), y] = 1
        out.append((np.ascontiguousarray(ds.x_train[idx], dtype=np.float32), t, y))
    return out


def run_epoch(model, batches) -> tuple[float, float]:
    """Train one epoch; (seconds, accuracy of the outputs seen while training)."""
    outs = []
    t0 = time.perf_counter()
    for x, t, y in batches:
        outs.append(model.train_batch(x, t, y))
    dt = time.perf_counter() - t0
    pairs = zip(outs, batches, strict=True)
    correct = sum(int((o.argmax(axis=1) == y).sum()) for o, (_, _, y) in pairs)
    return dt, correct / sum(len(y) for _, _, y in batches)


def worker(args) -> int:
    """Run one contestant and print its figures as one JSON line."""
    if args.worker == "sgemm":
        print(json.dumps(sgemm_probe(args.batch, 784, int(args.hidden.split(",")[0]))))
        return 0
    if args.worker.startswith("torch"):
        import torch

        torch.set_num_threads(1)
        torch.set_num_interop_threads(1)
    hidden = [int(h) for h in args.hidden.split(",")]
    batches, n_in, n_out = make_batches(args.samples, args.batch)
    sizes = [n_in, *hidden, n_out]
    t_import = time.perf_counter() - T_START
    t0 = time.perf_counter()
    model = build(args.worker, sizes, args.batch)
    t_build = time.perf_counter() - t0
    first, _ = run_epoch(model, batches)
    epochs, acc = [], 0.0
    for _ in range(args.repeats):
        dt, acc = run_epoch(model, batches)
        epochs.append(dt)
    samples = sum(len(y) for _, _, y in batches)
    rec = {
        "name": args.worker,
        "samples": samples,
        "epoch_seconds": epochs,
        "first_epoch_seconds": first,
        "import_seconds": t_import,
        "build_seconds": t_build,
        "accuracy": acc,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if args.profile:
        rec["profile"] = profile_steps(model, batches, args.profile)
    print(json.dumps(rec))
    return 0


# --------------------------------------------------------------------------- #
# profile: where a fixed-engine step spends its time
# --------------------------------------------------------------------------- #

PARTS = {
    "quantize_kernel": "input quantizer",
    "product_into": "GEMMs (BLAS)",
    "exact_matmul": "GEMMs (saturating path)",
    "act_kernel": "activation unit (LUT)",
    "act_deriv_kernel": "activation unit (LUT)",
    "apply_update_rows_t": "update unit (rounding, write-back)",
    "apply_update_flat": "update unit (rounding, write-back)",
    "gather_rows": "zero-column skipping (find, gather)",
    "gather_columns": "zero-column skipping (find, gather)",
    "nonzero_columns": "zero-column skipping (find, gather)",
    "softmax_kernel": "softmax unit",
    "error_kernel": "error unit (x f', log quantizer)",
    "apply_update": "update unit (rounding, write-back)",
}


def profile_steps(model, batches, steps: int) -> dict:
    """Wall time per step of each kernel family (timers wrapped around them)."""
    from neurosim.cost import accounting
    from neurosim.numerics import kernels

    if not isinstance(model, Neurosim):
        return {}
    spent: dict[str, float] = {}

    def timed(fn, label):
        def wrap(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - t0

        return wrap

    from neurosim.numerics.kernels import imac

    saved = {n: getattr(kernels, n) for n in PARTS}
    obs = accounting.Accountant.observe
    # the compiled 8-bit MAC products (forward, gradients, skip channel)
    # and the compiled activation unit, where built
    lib = imac.load()
    saved_imac = {n: getattr(imac, n) for n in ("product_into", "product16_into")}
    saved_act = {n: getattr(lib, n) for n in ("act", "act64")} if lib is not None else {}
    try:
        for n, label in PARTS.items():
            setattr(kernels, n, timed(saved[n], label))
        for n, fn in saved_imac.items():
            setattr(imac, n, timed(fn, "GEMMs (int8 VNNI, with packing)"))
        for name, fn in saved_act.items():  # float32 and float64 sums
            setattr(lib, name, timed(fn, "activation unit (LUT)"))
        accounting.Accountant.observe = timed(obs, "chip accounting (observe)")
        n = 0
        t0 = time.perf_counter()
        while n < steps:
            for x, t, y in batches:
                model.train_batch(x, t, y)
                n += 1
                if n == steps:
                    break
        wall = time.perf_counter() - t0
    finally:
        for name, fn in saved.items():
            setattr(kernels, name, fn)
        for name, fn in saved_imac.items():
            setattr(imac, name, fn)
        for name, fn in saved_act.items():
            setattr(lib, name, fn)
        accounting.Accountant.observe = obs
    per = {k: v / steps * 1e6 for k, v in sorted(spent.items(), key=lambda kv: -kv[1])}
    per["other (Python, small numpy ops)"] = wall / steps * 1e6 - sum(per.values())
    per["step total"] = wall / steps * 1e6
    return per


def sgemm_probe(m: int, k: int, n: int) -> float:
    """Best float32 ``(m, k) @ (k, n)`` rate in GFLOP/s (one thread)."""
    import numpy as np

    rng = np.random.default_rng(1)
    a = rng.random((m, k), dtype=np.float32)
    b = rng.random((n, k), dtype=np.float32).T  # transposed view, like x @ W.T
    out = np.empty((m, n), dtype=np.float32)
    best = math.inf
    for _ in range(7):
        reps = 50
        t0 = time.perf_counter()
        for _ in range(reps):
            np.matmul(a, b, out=out)
        best = min(best, (time.perf_counter() - t0) / reps)
    return 2.0 * m * k * n / best / 1e9


# --------------------------------------------------------------------------- #
# the driver
# --------------------------------------------------------------------------- #


def child_env(cache_dir: str | None = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if cache_dir is not None:  # numba's own first and second start
        env["NUMBA_CACHE_DIR"] = cache_dir
        env["NEUROSIM_AOT"] = "0"  # not the kernels `neurosim kernels build` compiled
    return env


def spawn(name: str, hidden: str, batch: int, args, cache_dir=None, profile=0) -> dict:
    cmd = [
        sys.executable, __file__, "--worker", name, "--hidden", hidden, "--batch", str(batch),
        "--samples", str(args.samples), "--repeats", str(args.repeats),
        "--profile", str(profile),
    ]  # fmt: skip
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=child_env(cache_dir))
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{p.stderr}")
    rec = json.loads(p.stdout.strip().splitlines()[-1])
    rec["process_seconds"] = wall
    return rec


def has_torch() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def dfa_flops_per_sample(sizes: list[int]) -> int:
    """GEMM flops of one DFA sample: 2 * (forward + update + feedback MACs)."""
    fwd = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    return 2 * (2 * fwd + sum(sizes[1:-1]) * sizes[-1])


def help_seconds(runs: int = 3) -> float:
    """Median wall time of ``neurosim train --help`` in a fresh process."""
    code = "import sys; from neurosim.cli import main; sys.exit(main(['train', '--help']))"
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], capture_output=True, env=child_env())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def parse_net(s: str) -> str:
    """``100x4`` -> ``100,100,100,100``."""
    width, _, depth = s.partition("x")
    return ",".join([width] * int(depth or 1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nets", default="100x4,240x7", help="hidden layers WIDTHxDEPTH, comma list")
    ap.add_argument("--batches", default="64,100", help="batch sizes, comma list")
    ap.add_argument("--contestants", default=",".join(CONTESTANTS))
    ap.add_argument("--samples", type=int, default=4096, help="samples per timed epoch")
    ap.add_argument("--repeats", type=int, default=3, help="timed epochs per process")
    ap.add_argument("--rounds", type=int, default=2, help="processes per contestant (interleaved)")
    ap.add_argument("--profile", type=int, default=0, metavar="STEPS",
                    help="time the kernels of this many fixed-engine steps (first net and batch)")
    ap.add_argument("--no-compile", action="store_true", help="skip the compile/cold-start runs")
    ap.add_argument("--json", metavar="PATH", help="write every figure as JSON")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--hidden", help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)

    nets = [n.strip() for n in args.nets.split(",") if n.strip()]
    batches = [int(b) for b in args.batches.split(",")]
    names = [c.strip() for c in args.contestants.split(",") if c.strip()]
    if not has_torch():
        print("torch not installed (pip install torch==2.13.0): torch rows skipped")
        names = [n for n in names if not n.startswith("torch")]
    import numba
    import numpy as np

    print(f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}"
          + (f", torch {__import__('torch').__version__}" if has_torch() else ""))
    print(f"cpu: {cpu_name()}, {os.cpu_count()} cores; every process: one thread;"
          f" {args.samples} samples/epoch, {args.repeats} timed epochs x {args.rounds} rounds")

    results: dict = {}
    for net in nets:
        for batch in batches:
            key = (net, batch)
            results[key] = {n: [] for n in names}
            for _ in range(args.rounds):
                for n in names:
                    results[key][n].append(spawn(n, parse_net(net), batch, args))
            print(f"  done {net} batch {batch}", file=sys.stderr)

    # roofline: the first layer's GEMM shape, float32, one thread
    rows = []
    for (net, batch), per in results.items():
        hidden = [int(h) for h in parse_net(net).split(",")]
        sizes = [784, *hidden, 10]
        peak = json.loads(subprocess.run(
            [sys.executable, __file__, "--worker", "sgemm", "--hidden", str(hidden[0]),
             "--batch", str(batch)], capture_output=True, text=True, env=child_env(),
        ).stdout)  # fmt: skip
        roof = peak * 1e9 / dfa_flops_per_sample(sizes)
        med = {}
        for n, recs in per.items():
            sps = [r["samples"] / t for r in recs for t in r["epoch_seconds"]]
            med[n] = statistics.median(sps)
            rows.append({
                "net": "-".join(map(str, sizes)), "batch": batch, "contestant": n,
                "median_samples_per_s": med[n], "min_samples_per_s": min(sps),
                "max_samples_per_s": max(sps),
                "maxrss_mb": max(r["maxrss_mb"] for r in recs),
                "first_epoch_seconds": statistics.median(r["first_epoch_seconds"] for r in recs),
                "accuracy": recs[-1]["accuracy"], "sgemm_gflops": peak,
                "roofline_samples_per_s": roof, "roofline_fraction": med[n] / roof,
            })  # fmt: skip
        for r in rows[-len(per):]:
            r["x_numpy"] = r["median_samples_per_s"] / med[REF] if REF in med else None
            r["x_torch_dfa"] = (
                r["median_samples_per_s"] / med[TORCH_REF] if TORCH_REF in med else None
            )

    print()
    hdr = (f"{'net':<24}{'B':>4}  {'contestant':<11}{'samples/s':>10}{'min':>9}{'max':>9}"
           f"{'xnumpy':>8}{'xtorch':>8}{'roofline':>9}{'peak MB':>9}{'1st ep s':>9}{'acc':>6}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        def ratio(v):
            return f"{v:>8.2f}" if v is not None else f"{'-':>8}"
        print(f"{r['net']:<24}{r['batch']:>4}  {r['contestant']:<11}"
              f"{r['median_samples_per_s']:>10,.0f}{r['min_samples_per_s']:>9,.0f}"
              f"{r['max_samples_per_s']:>9,.0f}{ratio(r['x_numpy'])}{ratio(r['x_torch_dfa'])}"
              f"{r['roofline_fraction']:>9.1%}{r['maxrss_mb']:>9.0f}"
              f"{r['first_epoch_seconds']:>9.2f}{r['accuracy']:>6.3f}")
    print()
    seen = set()
    for r in rows:
        if (r["net"], r["batch"]) in seen:
            continue
        seen.add((r["net"], r["batch"]))
        n1 = r["net"].split("-")[1]
        print(f"roofline {r['net']} B{r['batch']}: sgemm ({r['batch']}x784)@(784x{n1}) float32"
              f" {r['sgemm_gflops']:.1f} GFLOP/s -> {r['roofline_samples_per_s']:,.0f} samples/s")

    record = {"argv": sys.argv[1:], "cpu": cpu_name(), "rows": rows}
    if not args.no_compile:
        cold = compile_times(args, nets[0], batches[0])
        record["cold_start"] = cold
        print()
        print(f"cold start: neurosim train --help {cold['help_seconds']:.2f} s (median of 3)")
        for k in ("first start", "second start"):
            c = cold[k]
            print(f"  fixed w8 {k:<12}: import {c['import_seconds']:.2f} s, build"
                  f" {c['build_seconds']:.2f} s, first epoch {c['first_epoch_seconds']:.2f} s,"
                  f" steady epoch {c['steady_epoch_seconds']:.2f} s -> compilation/cache"
                  f" {c['compile_seconds']:.2f} s; process {c['process_seconds']:.2f} s")
    if args.profile:
        record["profile"] = {}
        for n in ("fixed w8", "fixed w16"):
            rec = spawn(n, parse_net(nets[0]), batches[0], args, profile=args.profile)
            record["profile"][n] = rec["profile"]
            print()
            print(f"profile {n}, {nets[0]} batch {batches[0]}, {args.profile} steps"
                  f" (microseconds per step):")
            for k, v in rec["profile"].items():
                print(f"  {k:<38}{v:>9.1f}")
    if args.json:
        for r in record["rows"]:
            r["batch"] = int(r["batch"])
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def compile_times(args, net: str, batch: int) -> dict:
    """First and second start of ``fixed w8`` on an empty numba cache."""
    out = {"help_seconds": help_seconds()}
    one = argparse.Namespace(samples=args.samples, repeats=1)
    with tempfile.TemporaryDirectory(prefix="neurosim-numba-") as cache:
        for k in ("first start", "second start"):
            r = spawn("fixed w8", parse_net(net), batch, one, cache_dir=cache)
            steady = r["epoch_seconds"][0]
            r["steady_epoch_seconds"] = steady
            # what a fresh process pays beyond a steady epoch: compiling or
            # loading the kernels (and the data set) before and in epoch 1
            r["compile_seconds"] = r["import_seconds"] + r["build_seconds"] + (
                r["first_epoch_seconds"] - steady)
            out[k] = r
    return out


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    sys.exit(main())
