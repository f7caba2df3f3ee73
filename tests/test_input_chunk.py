"""The input quantizer run once per chunk of minibatches, fused with the row
gather: the same codes and tallies as quantizing each minibatch, and the same
run, bit for bit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurosim.config import TrainConfig
from neurosim.experiments.sweep import strip_wall_times
from neurosim.experiments.train import train
from neurosim.nn.fixed.engine import FixedEngine
from neurosim.numerics import kernels
from neurosim.numerics.fixedpoint import FixedFormat, ref_quantize


@pytest.mark.parametrize(
    "fmt", [FixedFormat(8, 7), FixedFormat(4, 4, signed=False), FixedFormat(6, 2)]
)
def test_gather_quantize_matches_quantizing_each_minibatch(fmt):
    rng = np.random.default_rng(fmt.bits)
    x = rng.normal(0, 2.0 ** (fmt.bits - 1 - fmt.frac), size=(40, 11)).astype(np.float32)
    x[3, :6] = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5], np.float32) * fmt.lsb  # ties
    x[5, :2] = [-0.0, 1e-30]
    idx = rng.integers(0, 40, 23)  # repeats, and a last minibatch of 3 rows
    idx[:2] = [3, 5]
    batch = 5
    n = -(-idx.size // batch)
    out = np.full((idx.size + 4, 11), np.nan, np.float32)[: idx.size]
    sat, rowmax = np.full(n, -1, np.int64), np.full(n, -1.0)
    kernels.gather_quantize_kernel(x, idx, fmt.frac, fmt.qmin, fmt.qmax, batch, out, sat, rowmax)
    for b in range(n):
        rows = x[idx[b * batch : (b + 1) * batch]]
        ref = np.empty(rows.shape, np.float32)
        s, m = kernels.quantize_kernel(rows, fmt.frac, fmt.qmin, fmt.qmax, ref)
        part = out[b * batch : (b + 1) * batch]
        assert part.tolist() == ref.tolist()
        assert np.signbit(part).tolist() == (part < 0).tolist()  # no -0.0
        assert (int(sat[b]), float(rowmax[b])) == (s, m)
        # and against the golden quantizer, built its own way
        expect = [[ref_quantize(float(v), fmt) for v in row] for row in rows.tolist()]
        assert part.tolist() == [[q for q, _ in r] for r in expect]
        assert sat[b] == sum(k for r in expect for _, k in r)
    assert sat.sum() > 0  # the cases saturate


def records(cfg: TrainConfig, monkeypatch) -> tuple[str, str]:
    chunks = []
    real = FixedEngine.input_chunk
    with monkeypatch.context() as m:
        m.setattr(FixedEngine, "input_chunk",
                  lambda self, *a: chunks.append(real(self, *a)) or chunks[-1])  # fmt: skip
        fused = train(cfg)[0].to_record()
    assert chunks and all(c is not None for c in chunks)  # the fused path ran
    with monkeypatch.context() as m:
        m.setattr(FixedEngine, "input_chunk", lambda self, x, idx, batch: None)
        per_batch = train(cfg)[0].to_record()
    return (json.dumps(strip_wall_times(fused), sort_keys=True),
            json.dumps(strip_wall_times(per_batch), sort_keys=True))  # fmt: skip


@pytest.mark.parametrize("rule", ["srbp", "bp"])
def test_a_run_is_the_same_with_chunked_inputs(rule, monkeypatch):
    # 4-bit inputs saturate (p/256 * 16 rounds to 16 > 15); batch 7 leaves a
    # short last minibatch in every chunk of the shuffled order
    cfg = TrainConfig(data="mnist5k", mode="fixed", rule=rule, act_bits=4, batch=7,
                      epochs=2, hidden=[16], limit=200, chip="ref45").validate()  # fmt: skip
    fused, per_batch = records(cfg, monkeypatch)
    assert fused == per_batch
    counts = json.loads(fused)["results"]["counts"]
    assert counts["sat:O^0"] > 0
