"""Throughput and memory of the HIGGS reader.

Measures, on a ``HIGGS.csv.gz`` (the real one with ``--file``, or a file in
the same format written here with ``--rows`` events):

* rows/s of the first read: gunzip, parse, write the ``.npy`` cache;
* rows/s of a second read from the cache (memory map, copy out the used rows,
  standardise) in a fresh process;
* the arrays a ``limit``-row training subset holds, and the peak resident
  memory of that fresh process.

Usage::

    python benchmarks/bench_higgs.py --rows 1500000 --limit 1000000
    python benchmarks/bench_higgs.py --file /data/HIGGS.csv.gz --limit 1000000
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BLOCK = 100_000


def write_file(path: Path, rows: int, seed: int = 0) -> None:
    """A HIGGS-format file: ``%.18e`` values as in the real one; blocks of
    100,000 distinct random events, cycled."""
    rng = np.random.default_rng(seed)
    blocks = []
    for _ in range(3):
        y = rng.integers(0, 2, BLOCK)
        x = rng.standard_normal((BLOCK, 28))
        x[:, :4] += 0.5 * y[:, None]
        blocks.append(
            "".join(
                ",".join(f"{v:.18e}" for v in r) + "\n" for r in np.column_stack([y, x])
            ).encode()
        )
    with gzip.open(path, "wb", compresslevel=6) as f:
        done = 0
        while done < rows:
            n = min(BLOCK, rows - done)
            b = blocks[(done // BLOCK) % 3]
            if n < BLOCK:
                b = b"".join(b.splitlines(keepends=True)[:n])
            f.write(b)
            done += n


def child(path: str, limit: int) -> None:
    """Second start: load the data set from the cache; print JSON figures."""
    from neurosim.data.datasets import load_dataset

    t = time.perf_counter()
    ds = load_dataset("higgs", str(Path(path).parent), limit=limit)
    dt = time.perf_counter() - t
    arrays = sum(a.nbytes for a in (ds.x_train, ds.y_train, ds.x_test, ds.y_test))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    rows = ds.x_train.shape[0] + ds.x_test.shape[0]
    print(json.dumps(dict(seconds=dt, rows=rows, arrays=arrays, peak_rss=peak)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", help="an existing HIGGS.csv.gz (else one is written)")
    ap.add_argument("--rows", type=int, default=1_500_000, help="events of the written file")
    ap.add_argument("--limit", type=int, default=1_000_000, help="training subset rows")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.limit)
        return
    from neurosim.data.higgs import cache_path, load_higgs_rows

    with tempfile.TemporaryDirectory() as tmp:
        if args.file:
            path = Path(args.file)
        else:
            path = Path(tmp) / "HIGGS.csv.gz"
            t = time.perf_counter()
            write_file(path, args.rows)
            print(f"wrote {path} ({args.rows} rows, {path.stat().st_size / 1e6:.0f} MB) "
                  f"in {time.perf_counter() - t:.1f} s")  # fmt: skip
        cache = cache_path(path)
        cache.unlink(missing_ok=True)
        cache.with_suffix(".json").unlink(missing_ok=True)
        t = time.perf_counter()
        with gzip.open(path, "rb") as f:
            while f.read(1 << 24):
                pass
        gunzip = time.perf_counter() - t
        t = time.perf_counter()
        rows, origin = load_higgs_rows(path)
        first = time.perf_counter() - t
        n = rows.shape[0]
        del rows
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(path), "--limit", str(args.limit)],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        c = json.loads(out)
        print(f"rows in file                  {n}")
        print(f"gunzip only                   {n / gunzip:12,.0f} rows/s  ({gunzip:.1f} s)")
        print(f"first read, gunzip+parse+cache {n / first:10,.0f} rows/s  ({first:.1f} s)")
        rate = c["rows"] / c["seconds"]
        print(f"second start, from the cache  {rate:12,.0f} rows/s  "
              f"({c['seconds']:.2f} s, {c['rows']} rows: limit {args.limit} + test)")
        print(f"arrays held (limit {args.limit})  {c['arrays'] / 2**20:10.1f} MiB")
        print(f"peak RSS of that process      {c['peak_rss'] / 2**20:10.1f} MiB")
        if not args.file:
            cache.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
