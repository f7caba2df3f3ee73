"""A plain float32 NumPy DFA script on Fashion-MNIST: load, train, test.

The whole-process contestant of ``bench_process.py``: what a researcher would
write by hand for the network ``neurosim train --data fashion-mnist`` trains
(784-100x4-10, tanh hidden units, softmax output, no biases, Glorot
initialisation, one random feedback matrix per hidden layer from the output
error, minibatch SGD), reading Debian's IDX files with ``gzip`` and NumPy.

    python benchmarks/numpy_dfa_fashion.py --epochs 5 --batch 64
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import time
from pathlib import Path

import numpy as np

DATA = Path("/usr/share/datasets/fashion-mnist")


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes (gzip-compressed) as a uint8 array."""
    raw = gzip.decompress(path.read_bytes())
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def glorot(rng: np.random.Generator, n_out: int, n_in: int) -> np.ndarray:
    a = math.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-a, a, size=(n_out, n_in)).astype(np.float32)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir", type=Path, default=Path(os.environ.get("FASHION_DIR", DATA)))
    args = ap.parse_args()
    t0 = time.perf_counter()
    d = args.data_dir
    x_tr = read_idx(d / "train-images-idx3-ubyte.gz").reshape(60000, -1).astype(np.float32) / 256
    y_tr = read_idx(d / "train-labels-idx1-ubyte.gz").astype(np.int64)
    x_te = read_idx(d / "t10k-images-idx3-ubyte.gz").reshape(10000, -1).astype(np.float32) / 256
    y_te = read_idx(d / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    t_load = time.perf_counter() - t0

    sizes = [784, 100, 100, 100, 100, 10]
    rng = np.random.default_rng(args.seed)
    W = [glorot(rng, b, a) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    Bf = [glorot(rng, h, sizes[-1]) for h in sizes[1:-1]]
    eye = np.eye(10, dtype=np.float32)
    for _ in range(args.epochs):
        order = rng.permutation(len(x_tr))
        for s in range(0, len(order), args.batch):
            idx = order[s : s + args.batch]
            A = [x_tr[idx]]
            for w in W[:-1]:
                A.append(np.tanh(A[-1] @ w.T))
            z = A[-1] @ W[-1].T
            e = np.exp(z - z.max(axis=1, keepdims=True))
            r_top = eye[y_tr[idx]] - e / e.sum(axis=1, keepdims=True)
            scale = np.float32(args.lr / len(idx))
            for i, bf in enumerate(Bf):
                o = A[i + 1]
                W[i] += scale * (((1 - o * o) * (r_top @ bf.T)).T @ A[i])
            W[-1] += scale * (r_top.T @ A[-1])
    a = x_te
    for w in W[:-1]:
        a = np.tanh(a @ w.T)
    acc = float(np.mean((a @ W[-1].T).argmax(axis=1) == y_te))
    print(f"test accuracy {acc:.4f}  load {t_load:.2f} s  total {time.perf_counter() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
