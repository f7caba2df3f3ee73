"""The input quantizer run once over the training set, its narrow codes
gathered per minibatch: the same codes and tallies as quantizing each
minibatch, and the same run, bit for bit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurosim.config import TrainConfig
from neurosim.experiments.sweep import strip_wall_times
from neurosim.experiments.train import train
from neurosim.nn.base import InputCodes, code_dtype
from neurosim.nn.fixed.engine import FixedEngine
from neurosim.numerics import kernels
from neurosim.numerics.fixedpoint import FixedFormat, ref_quantize


@pytest.mark.parametrize(
    ("qmin", "qmax", "dtype"),
    [(0, 255, np.uint8), (0, 15, np.uint8), (-128, 127, np.int8), (-32, 31, np.int8),
     (0, 256, np.int16), (-129, 127, np.int16), (-32768, 32767, np.int16),
     (0, 65535, np.float32), (-(2**19), 2**19 - 1, np.float32)],
)  # fmt: skip
def test_code_dtype_is_the_narrowest_that_holds_the_range(qmin, qmax, dtype):
    assert code_dtype(qmin, qmax) == np.dtype(dtype)


@pytest.mark.parametrize(
    "fmt",
    [FixedFormat(8, 7), FixedFormat(4, 4, signed=False), FixedFormat(6, 2),
     FixedFormat(8, 8, signed=False), FixedFormat(12, 8), FixedFormat(20, 12)],
)  # fmt: skip
def test_codes_gathered_per_minibatch_match_quantizing_it(fmt):
    rng = np.random.default_rng(fmt.bits)
    lo = 0.0 if not fmt.signed else -(2.0 ** (fmt.bits - 1 - fmt.frac))
    x = rng.uniform(1.2 * lo - 0.1, 1.2 * 2.0 ** (fmt.bits - fmt.signed - fmt.frac),
                    size=(40, 11)).astype(np.float32)  # fmt: skip
    x[3, :6] = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5], np.float32) * fmt.lsb  # ties
    x[5, :2] = [-0.0, 1e-30]
    codes = InputCodes(np.empty(x.shape, code_dtype(fmt.qmin, fmt.qmax)),
                       np.full(40, -1, np.int64), np.full(40, -1.0))  # fmt: skip
    kernels.quantize_rows_kernel(x, fmt.frac, fmt.qmin, fmt.qmax, codes.codes, codes.sat,
                                 codes.rowsum)  # fmt: skip
    idx = rng.integers(0, 40, 23)  # repeats, and a last minibatch of 3 rows
    idx[:2] = [3, 5]
    total = 0
    for b in range(0, idx.size, 5):
        rows = x[idx[b : b + 5]]
        ref = np.empty(rows.shape, np.float32)
        s, m = kernels.quantize_kernel(rows, fmt.frac, fmt.qmin, fmt.qmax, ref)
        part, nsat, best = codes.batch(idx[b : b + 5])
        assert part.dtype == np.float32 and part.shape == rows.shape
        assert part.tolist() == ref.tolist()
        assert np.signbit(part).tolist() == (part < 0).tolist()  # no -0.0
        assert (nsat, best) == (s, m)
        # and against the golden quantizer, built its own way
        expect = [[ref_quantize(float(v), fmt) for v in row] for row in rows.tolist()]
        assert part.tolist() == [[q for q, _ in r] for r in expect]
        assert nsat == sum(k for r in expect for _, k in r)
        assert best == max(sum(abs(q) for q, _ in r) for r in expect)
        total += nsat
    assert total > 0  # the cases saturate
    assert codes.batch(idx[:0])[1:] == (0, 0.0)


def records(cfg: TrainConfig, monkeypatch) -> tuple[str, str]:
    made = []
    real = FixedEngine.input_codes
    with monkeypatch.context() as m:
        m.setattr(FixedEngine, "input_codes",
                  lambda self, x: made.append(real(self, x)) or made[-1])  # fmt: skip
        once = train(cfg)[0].to_record()
    assert made and all(c is not None for c in made)  # the codes path ran
    with monkeypatch.context() as m:
        m.setattr(FixedEngine, "input_codes", lambda self, x: None)
        per_batch = train(cfg)[0].to_record()
    return (json.dumps(strip_wall_times(once), sort_keys=True),
            json.dumps(strip_wall_times(per_batch), sort_keys=True))  # fmt: skip


@pytest.mark.parametrize("rule", ["srbp", "bp"])
def test_a_run_is_the_same_with_input_codes(rule, monkeypatch):
    # 4-bit inputs saturate (p/256 * 16 rounds to 16 > 15); batch 7 leaves a
    # short last minibatch
    cfg = TrainConfig(data="mnist5k", mode="fixed", rule=rule, act_bits=4, batch=7,
                      epochs=2, hidden=[16], limit=200, chip="ref45").validate()  # fmt: skip
    once, per_batch = records(cfg, monkeypatch)
    assert once == per_batch
    counts = json.loads(once)["results"]["counts"]
    assert counts["sat:O^0"] > 0
