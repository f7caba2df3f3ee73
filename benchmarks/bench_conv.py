"""Convolution throughput: neurosim's conv blocks against NumPy and PyTorch im2col DFA.

The paper's CIFAR-10 network (``--preset cifar-conv``: three blocks of 64
5x5 'same' convolutions, tanh, 3x3 stride-2 max-pool; a dense 1024 tanh
layer; softmax) on Fashion-MNIST images (1 x 28 x 28: maps 28 -> 13 -> 6 ->
2), trained with SRBP (direct feedback alignment: every hidden layer and
every block's pooled map receives ``C R^L``), batch 32, every contestant in
its own one-thread process on the same batches:

* ``fixed w8``: neurosim's fixed engine (8-bit weights and activations,
  4-bit log errors, stochastic rounding) with the full chip accounting on
  ``ref45``, as ``neurosim train --preset cifar-conv`` runs it;
* ``float``: neurosim's float32 engine with the same accounting;
* ``numpy DFA``: a plain float32 NumPy step: im2col by
  ``sliding_window_view``, GEMMs, max-pool by argmax, the error routed to
  each window's argmax (summed where windows overlap), ``f'``, the kernel
  gradient ``R_b^T cols``;
* ``torch DFA``: the same step in PyTorch (``conv2d``, ``max_pool2d``; the
  routing and ``f'`` by ``autograd.grad`` of the block alone, the kernel
  gradient by ``conv2d_weight``), skipped without PyTorch.

    python benchmarks/bench_conv.py                   # 512 samples, 2 timed epochs, 1 round
    python benchmarks/bench_conv.py --samples 1024 --rounds 3 --json conv.json
    python benchmarks/bench_conv.py --cifar-shape      # CIFAR-10's 3 x 32 x 32 inputs

``--cifar-shape`` feeds every contestant CIFAR-10's input shape, 3 x 32 x 32
(maps 32 -> 15 -> 7 -> 3): each Fashion-MNIST image zero-padded by 2 pixels a
side and repeated over 3 channels (real images in the paper's CIFAR-10
geometry; CIFAR-10 itself is not in the package registries this benchmark
installs from). The network and its cost per image are then CIFAR-10's.

Ratios are samples/s over ``numpy DFA``'s (median over every timed epoch).
"""

# Pin every thread pool to one thread before numpy (or numba, torch) is imported.
import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench import as_batches, glorot, run_epoch  # noqa: E402  (the dense benchmark's helpers)

CONV = "c64k5p3s2,c64k5p3s2,c64k5p3s2"
HIDDEN = (1024,)
LR = 0.1
SEED = 0
CONTESTANTS = ("fixed w8", "float", "numpy DFA", "torch DFA")
REF = "numpy DFA"


def geometry(shape: tuple[int, int, int]) -> list[tuple[int, ...]]:
    """Per block ``(H, W, C, F, K, P, S, Ho, Wo)`` on images ``(C, H, W)``."""
    c, h, w = shape
    out = []
    for part in CONV.split(","):
        f, k, p, s = (int(v) for v in part[1:].replace("k", " ").replace("p", " ")
                      .replace("s", " ").split())  # fmt: skip
        ho, wo = (h - p) // s + 1, (w - p) // s + 1
        out.append((h, w, c, f, k, p, s, ho, wo))
        h, w, c = ho, wo, f
    return out


class NumpyConvDFA:
    """Plain float32 NumPy SRBP (DFA) through conv blocks and dense layers.

    Maps are ``(B, H, W, C)``; a block's kernel ``K`` is ``(F, K*K*C)``, columns
    in ``(row, col, channel)`` order; ``Cb[b]`` ``(n_pool_b, N_L)`` carries
    ``R^L`` to block ``b``'s pooled map, ``Bf[h]`` to dense hidden layer ``h``.
    """

    def __init__(self, shape: tuple[int, int, int], n_out: int, lr: float, seed: int) -> None:
        import numpy as np

        rng = np.random.default_rng(seed)
        self.shape = shape
        self.geo = geometry(shape)
        self.K = [glorot(rng, g[3], g[4] * g[4] * g[2]).astype(np.float32) for g in self.geo]
        h, w, f = self.geo[-1][7], self.geo[-1][8], self.geo[-1][3]
        sizes = [h * w * f, *HIDDEN, n_out]
        pairs = zip(sizes[:-1], sizes[1:], strict=True)
        self.W = [glorot(rng, b, a).astype(np.float32) for a, b in pairs]
        self.Bf = [glorot(rng, n, n_out).astype(np.float32) for n in sizes[1:-1]]
        self.Cb = [glorot(rng, g[7] * g[8] * g[3], n_out).astype(np.float32) for g in self.geo]
        self.lr = lr

    def train_batch(self, x, t, y):
        import numpy as np
        from numpy.lib.stride_tricks import sliding_window_view as windows

        n = x.shape[0]
        c, hh, ww = self.shape
        a = x.reshape(n, c, hh, ww).transpose(0, 2, 3, 1)
        cache = []
        for (h, w, c, f, k, p, s, ho, wo), kern in zip(self.geo, self.K, strict=True):
            pad = (k - 1) // 2
            ap = np.pad(a, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
            cols = windows(ap, (k, k), axis=(1, 2)).transpose(0, 1, 2, 4, 5, 3)
            cols = cols.reshape(n * h * w, k * k * c)  # im2col (a copy)
            o = np.tanh(cols @ kern.T).reshape(n, h, w, f)
            win = windows(o, (p, p), axis=(1, 2))[:, : s * (ho - 1) + 1 : s, : s * (wo - 1) + 1 : s]
            win = win.reshape(n, ho, wo, f, p * p)
            idx = win.argmax(axis=-1)
            a = np.take_along_axis(win, idx[..., None], axis=-1)[..., 0]
            cache.append((cols, o, idx))
        A = [a.reshape(n, -1)]
        for wgt in self.W[:-1]:
            A.append(np.tanh(A[-1] @ wgt.T))
        z = A[-1] @ self.W[-1].T
        e = np.exp(z - z.max(axis=1, keepdims=True))
        out = e / e.sum(axis=1, keepdims=True)
        r_top = t - out
        scale = np.float32(self.lr / n)
        for i, bf in enumerate(self.Bf):
            o = A[i + 1]
            self.W[i] += scale * (((1 - o * o) * (r_top @ bf.T)).T @ A[i])
        self.W[-1] += scale * (r_top.T @ A[-1])
        for g, kern, cb, (cols, o, idx) in zip(self.geo, self.K, self.Cb, cache, strict=True):
            h, w, f, p, s, ho, wo = g[0], g[1], g[3], g[5], g[6], g[7], g[8]
            ep = (r_top @ cb.T).reshape(n, ho, wo, f)
            r = np.zeros((n, h, w, f), dtype=np.float32)
            for j in range(p * p):  # route to each window's argmax, summing overlaps
                di, dj = divmod(j, p)
                r[:, di : di + s * (ho - 1) + 1 : s, dj : dj + s * (wo - 1) + 1 : s] += np.where(
                    idx == j, ep, 0
                )
            r *= 1 - o * o
            kern += scale * (r.reshape(-1, f).T @ cols)
        return out


class TorchConvDFA:
    """The same SRBP step in PyTorch float32 (NCHW maps, OIHW kernels)."""

    def __init__(self, shape: tuple[int, int, int], n_out: int, lr: float, seed: int) -> None:
        import torch

        ref = NumpyConvDFA(shape, n_out, lr, seed)
        self.torch, self.shape, self.geo, self.lr = torch, shape, ref.geo, lr
        # (F, K*K*C) in (row, col, channel) order -> (F, C, K, K)
        self.K = [
            torch.from_numpy(kk.reshape(g[3], g[4], g[4], g[2]).transpose(0, 3, 1, 2).copy())
            for kk, g in zip(ref.K, ref.geo, strict=True)
        ]
        self.W = [torch.from_numpy(w.copy()) for w in ref.W]
        self.Bf = [torch.from_numpy(b.copy()) for b in ref.Bf]
        # Cb rows are (h, w, c)-ordered pooled units: keep NHWC order for the flatten
        self.Cb = [torch.from_numpy(cb.copy()) for cb in ref.Cb]

    def train_batch(self, x, t, y):
        torch = self.torch
        fn = torch.nn.functional
        n = x.shape[0]
        c, hh, ww = self.shape
        a = torch.from_numpy(x).reshape(n, c, hh, ww)
        cache = []
        for g, kern in zip(self.geo, self.K, strict=True):
            k, p, s = g[4], g[5], g[6]
            inp = a.detach()
            pre = fn.conv2d(inp, kern, padding=(k - 1) // 2).requires_grad_(True)
            with torch.enable_grad():
                pooled = fn.max_pool2d(torch.tanh(pre), p, s)
            cache.append((inp, pre, pooled))
            a = pooled.detach()
        with torch.no_grad():
            A = [a.permute(0, 2, 3, 1).reshape(n, -1)]
            for wgt in self.W[:-1]:
                A.append(torch.tanh(A[-1] @ wgt.T))
            out = torch.softmax(A[-1] @ self.W[-1].T, dim=1)
            r_top = torch.from_numpy(t) - out
            scale = self.lr / n
            for i, bf in enumerate(self.Bf):
                o = A[i + 1]
                self.W[i].addmm_(((1 - o * o) * (r_top @ bf.T)).T, A[i], alpha=scale)
            self.W[-1].addmm_(r_top.T, A[-1], alpha=scale)
        for g, kern, cb, (inp, pre, pooled) in zip(self.geo, self.K, self.Cb, cache, strict=True):
            f, k, ho, wo = g[3], g[4], g[7], g[8]
            ep = (r_top @ cb.T).reshape(n, ho, wo, f).permute(0, 3, 1, 2)
            (r,) = torch.autograd.grad(pooled, pre, grad_outputs=ep)  # route and f'
            with torch.no_grad():
                g = torch.nn.grad.conv2d_weight(inp, kern.shape, r, padding=(k - 1) // 2)
                kern.add_(g, alpha=scale)
        return out.numpy()


class Neurosim:
    """A neurosim engine with conv blocks and the chip accounting."""

    def __init__(self, mode: str, shape: tuple[int, int, int], n_in: int, n_out: int) -> None:
        from hw_models.chip import load_chip
        from neurosim.config import TrainConfig
        from neurosim.cost.factory import make_accountant
        from neurosim.nn.factory import make_engine
        from neurosim.plan import make_plan

        kw = dict(weight_bits=8, act_bits=8, error_bits=4, rounding="stochastic")
        cfg = TrainConfig(
            mode=mode, rule="srbp", conv=CONV, hidden=HIDDEN, batch=32, lr=LR, seed=SEED,
            data="fashion-mnist", packets="event", **(kw if mode == "fixed" else {}),
        ).validate()  # fmt: skip
        plan = make_plan(cfg, n_in, n_out, shape, chip=load_chip("ref45"))
        self.engine = make_engine(plan)
        self.engine.accountant = make_accountant(plan)

    def train_batch(self, x, t, y):
        return self.engine.train_batch(x, t)


def make_batches(samples: int, batch: int, cifar_shape: bool = False):
    """The first ``samples`` Fashion-MNIST training images, shuffled once, as
    batches; with ``cifar_shape`` each padded to 32 x 32 and repeated over 3
    channels (rows in (channel, row, column) order, as CIFAR-10's)."""
    import numpy as np

    from neurosim.data.datasets import load_dataset

    ds = load_dataset("fashion-mnist")
    rng = np.random.default_rng([SEED, 5])
    order = rng.permutation(samples)
    batches = as_batches(ds, order, batch)
    if not cifar_shape:
        return batches, ds.image_shape, ds.n_features, ds.n_classes
    out = []
    for x, t, y in batches:
        img = np.pad(x.reshape(-1, 1, 28, 28), ((0, 0), (0, 0), (2, 2), (2, 2)))
        out.append((np.ascontiguousarray(np.repeat(img, 3, axis=1).reshape(len(x), -1)), t, y))
    return out, (3, 32, 32), 3 * 32 * 32, ds.n_classes


def build(name: str, shape, n_in: int, n_out: int):
    if name == "fixed w8":
        return Neurosim("fixed", shape, n_in, n_out)
    if name == "float":
        return Neurosim("float", shape, n_in, n_out)
    if name == "numpy DFA":
        return NumpyConvDFA(shape, n_out, LR, SEED)
    if name == "torch DFA":
        return TorchConvDFA(shape, n_out, LR, SEED)
    raise ValueError(f"unknown contestant {name!r}")


def worker(args) -> int:
    if args.worker.startswith("torch"):
        import torch

        torch.set_num_threads(1)
        torch.set_num_interop_threads(1)
    batches, shape, n_in, n_out = make_batches(args.samples, args.batch, args.cifar_shape)
    model = build(args.worker, shape, n_in, n_out)
    first, _ = run_epoch(model, batches)
    epochs, acc = [], 0.0
    for _ in range(args.repeats):
        dt, acc = run_epoch(model, batches)
        epochs.append(dt)
    print(json.dumps({
        "name": args.worker, "samples": sum(len(y) for _, _, y in batches),
        "epoch_seconds": epochs, "first_epoch_seconds": first, "accuracy": acc,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))  # fmt: skip
    return 0


def spawn(name: str, args) -> dict:
    cmd = [sys.executable, __file__, "--worker", name, "--samples", str(args.samples),
           "--batch", str(args.batch), "--repeats", str(args.repeats)]  # fmt: skip
    if args.cifar_shape:
        cmd.append("--cifar-shape")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=512, help="samples per timed epoch")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=2, help="timed epochs per process")
    ap.add_argument("--rounds", type=int, default=1, help="processes per contestant")
    ap.add_argument("--contestants", default=",".join(CONTESTANTS))
    ap.add_argument("--json", type=Path, metavar="PATH")
    ap.add_argument("--cifar-shape", action="store_true",
                    help="CIFAR-10's 3x32x32 inputs (Fashion-MNIST images padded, 3 channels)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)
    import importlib.util

    names = [c.strip() for c in args.contestants.split(",") if c.strip()]
    if importlib.util.find_spec("torch") is None and "torch DFA" in names:
        print("torch not installed (pip install torch==2.13.0): torch row skipped")
        names.remove("torch DFA")
    per: dict[str, list[dict]] = {n: [] for n in names}
    for _ in range(args.rounds):
        for n in names:
            per[n].append(spawn(n, args))
    rows = []
    for n in names:
        rates = [r["samples"] / s for r in per[n] for s in r["epoch_seconds"]]
        rows.append({
            "contestant": n, "median_samples_per_s": statistics.median(rates),
            "min_samples_per_s": min(rates), "max_samples_per_s": max(rates),
            "first_epoch_seconds": statistics.median(r["first_epoch_seconds"] for r in per[n]),
            "maxrss_mb": max(r["maxrss_mb"] for r in per[n]), "accuracy": per[n][-1]["accuracy"],
        })  # fmt: skip
    ref = next((r["median_samples_per_s"] for r in rows if r["contestant"] == REF), None)
    images = "3x32x32 (padded, 3 channels)" if args.cifar_shape else "1x28x28"
    print(f"cifar-conv net ({CONV}, dense {HIDDEN[0]}) on Fashion-MNIST {images}, SRBP, batch "
          f"{args.batch}; {args.samples} samples/epoch, {args.repeats} timed epochs x "
          f"{args.rounds} rounds; one thread per process")  # fmt: skip
    hdr = (f"{'contestant':<11}{'samples/s':>10}{'min':>8}{'max':>8}{'xnumpy':>8}"
           f"{'peak MB':>9}{'1st ep s':>9}{'acc':>6}")  # fmt: skip
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        r["x_numpy"] = r["median_samples_per_s"] / ref if ref else None
        x = f"{r['x_numpy']:>8.2f}" if ref else f"{'-':>8}"
        print(f"{r['contestant']:<11}{r['median_samples_per_s']:>10,.1f}"
              f"{r['min_samples_per_s']:>8,.1f}{r['max_samples_per_s']:>8,.1f}{x}"
              f"{r['maxrss_mb']:>9.0f}{r['first_epoch_seconds']:>9.2f}"
              f"{r['accuracy']:>6.3f}")  # fmt: skip
    fixed = next((r for r in rows if r["contestant"] == "fixed w8"), None)
    if fixed:
        est = 50000 / fixed["median_samples_per_s"] / 60
        print(f"\nfixed w8: one epoch of 50,000 images at this rate: {est:.1f} min")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "runs": per}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
