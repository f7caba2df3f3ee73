"""The engine pairs and config variants every fast engine is checked on.

One table (:data:`CASES`) of (engine pair, config variant): ``dense`` is
:class:`~neurosim.nn.fixed.FixedEngine` against
:class:`~neurosim.golden.reference.ReferenceEngine`, ``conv`` is
:class:`~neurosim.nn.conv.ConvFixedEngine` against
:class:`~neurosim.golden.conv_reference.ConvReferenceEngine`; ``float`` and
``convfloat`` run the float engines on the same data (their bit-exactness
is run-to-run). :func:`run_pair` trains a pair on seeded batches and
:func:`assert_bit_exact` compares weights, biases, C^h, kernels, velocities,
event counts and the activations of a fresh batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from neurosim.config import TrainConfig
from neurosim.experiments.train import one_hot
from neurosim.golden.conv_reference import ConvReferenceEngine
from neurosim.golden.reference import ReferenceEngine
from neurosim.nn.conv import ConvFixedEngine, ConvFloatEngine
from neurosim.nn.fixed import FixedEngine
from neurosim.nn.float_engine import FloatEngine
from neurosim.nn.rules import RULES
from neurosim.plan import make_plan

N_IN, N_OUT, B = 20, 4, 5
IMG, CONV_B = (2, 6, 6), 3
HIDDEN = (12, 9, 7)
CONV_FIELDS = dict(data="digits", conv="c2k3p2s2,c3k3p2s1", hidden=(5,), batch=CONV_B)

WIDTHS = {
    "w16a8": dict(),
    "w8a6-log4": dict(weight_bits=8, act_bits=6, error_bits=4),
    "w12-log1-nearest-upd3": dict(weight_bits=12, error_bits=1, rounding="nearest", update_bits=3),
    "narrow-acc": dict(acc_bits=12, weight_bits=10, lr=0.5),
}


def plan_for(pair: str, **kw):
    """The plan of a test network of ``pair`` with config fields ``kw``."""
    mode = "float" if pair in ("float", "convfloat") else "fixed"
    if pair in ("conv", "convfloat"):
        cfg = TrainConfig(mode=mode, **{**CONV_FIELDS, **kw}).validate()
        return make_plan(cfg, int(np.prod(IMG)), N_OUT, IMG)
    n_in = kw.pop("n_in", N_IN)
    cfg = TrainConfig(mode=mode, **{"hidden": HIDDEN, "batch": B, **kw}).validate()
    return make_plan(cfg, n_in, N_OUT)


def engine_for(pair: str, **kw):
    """A fresh fast engine of ``pair`` (``dense``, ``conv``, ``float``, ``convfloat``)."""
    cls = {"dense": FixedEngine, "conv": ConvFixedEngine, "float": FloatEngine,
           "convfloat": ConvFloatEngine}[pair]  # fmt: skip
    return cls(plan_for(pair, **kw))


def batches(seed: int, n: int, b: int = B, n_in: int = N_IN, sparse: bool = False):
    """``n`` seeded batches ``(x, t)`` of ``b`` samples (``sparse``: the last
    two thirds of the input columns are zero, as image borders)."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        x = (rng.integers(0, 256, size=(b, n_in)) / 256).astype(np.float32)
        if sparse:
            x[:, n_in // 3 :] = 0
        yield x, one_hot(rng.integers(0, N_OUT, size=b), N_OUT)


@dataclass(frozen=True)
class Case:
    """One engine pair on one config variant.

    ``check`` runs after the bit-exactness assertions on ``(fast, cfg_fields)``
    (what the family asserts besides: e.g. that weights moved).
    """

    pair: str
    fields: dict
    steps: int = 3
    sparse: bool = False
    check: Callable | None = field(default=None, compare=False)

    @property
    def id(self) -> str:
        def show(k: str, v) -> str:  # per-layer widths read 16x8x10x16
            return "x".join(map(str, v)) if k.endswith("_bits") and isinstance(v, tuple) else v

        tag = "-".join(f"{k}={show(k, v)}" for k, v in self.fields.items())
        return f"{self.pair}[{self.steps}]-{tag}" + ("-sparse" if self.sparse else "")


def run_pair(case: Case):
    """Train the fast engine and its reference on the case's batches.

    Returns ``(fast, ref, x)`` with ``x`` the last batch (conv) or a fresh
    batch to compare activations on (dense); ``ref`` is None for float pairs.
    """
    kw = dict(case.fields)
    fast = engine_for(case.pair, **kw)
    ref = None
    if case.pair == "dense":
        ref = ReferenceEngine(fast)
    elif case.pair == "conv":
        ref = ConvReferenceEngine(fast)
    if case.pair in ("conv", "convfloat"):
        data = list(_conv_batches(case.steps))
    else:
        data = list(batches(1, case.steps, n_in=fast.sizes[0], sparse=case.sparse))
    for x, t in data:
        fast.train_batch(x, t)
        if ref is not None:
            ref.train_batch(x, t)
    if case.pair in ("conv", "convfloat"):
        x = data[-1][0] if data else None
    else:
        x = next(batches(7, 1, n_in=fast.sizes[0]))[0]
    return fast, ref, x


def _conv_batches(steps: int):
    rng = np.random.default_rng(3)
    for _ in range(steps):
        x = (rng.integers(0, 256, size=(CONV_B, int(np.prod(IMG)))) / 256).astype(np.float32)
        yield x, np.eye(N_OUT, dtype=np.float32)[rng.integers(0, N_OUT, size=CONV_B)]


def events(counts) -> dict:
    """Counts that happened (non-zero), initial quantization left out."""
    return {k: v for k, v in counts.items() if v and not k.endswith(":init")}


def _same(name: str, ref_list, fast_list) -> None:
    assert (ref_list is None) == (fast_list is None), name
    for i, (r, f) in enumerate(zip(ref_list or [], fast_list or [], strict=True)):
        if r is None:
            assert f is None, f"{name}{i}"
            continue
        np.testing.assert_array_equal(np.array(r, dtype=np.float64), f, err_msg=f"{name}{i}")


def ref_velocity_name(name: str) -> str:
    """The reference's name of a fast velocity ("W0" -> "W^1", "B0" -> "bK^1")."""
    kind = {"B": "bK"}.get(name[0], name[0])
    return f"{kind}^{int(name[1:]) + 1}"


def assert_bit_exact(fast, ref, x) -> None:
    """Weights, biases, C^h, kernels, velocities, counts and activations equal."""
    _same("W", ref.W, fast.W)
    _same("C", ref.C, fast.C)
    _same("b", ref.b, fast.b)
    if hasattr(fast, "K"):
        _same("K", ref.K, fast.K)
        _same("bK", ref.bK, fast.bK)
        _same("KC", ref.KC, fast.KC)
    seen = 0
    for name, v in fast.upd.V.items():
        ref_v = ref.V.get(ref_velocity_name(name))
        if ref_v is None:  # a parameter the run never updates keeps a zero velocity
            assert not v.any(), name
            continue
        np.testing.assert_array_equal(np.array(ref_v).reshape(v.shape), v, err_msg=name)
        seen += int(np.count_nonzero(v))
    assert seen > 0 or not fast.upd.V  # not vacuous: velocities hold something
    assert events(fast.counts) == events(ref.counts)
    if x is None:
        return
    if hasattr(fast, "conv_forward"):
        A, D = fast.forward(fast.conv_forward(x, count=False), count=False)
    else:
        A, D = fast.forward(fast.quantize_input(x), count=False)
    for b in range(x.shape[0]):
        rA, rD = ref.forward_sample(x[b], count=False)
        for h, (ra, fa) in enumerate(zip(rA, A, strict=True)):
            assert [int(v) for v in fa[b]] == ra, f"O^{h} sample {b}"
        for h, (rd, fd) in enumerate(zip(rD, D, strict=True)):
            assert [int(v) for v in fd[b]] == rd, f"f'(S^{h + 1}) sample {b}"


# --------------------------------------------------------------------------- #
# what each family asserts besides bit-exactness
# --------------------------------------------------------------------------- #


def weights_moved(fast, fields: dict) -> None:
    """Not vacuous: some weights changed."""
    assert sum(v for k, v in fast.counts.items() if k.startswith("changed:W")) > 0


def biases_moved(fast, fields: dict) -> None:
    """The trained biases moved, the others stayed at 0 (top-only)."""
    L = fast.L
    trained = range(L) if fields["rule"] != "top-only" else [L - 1]
    assert sum(fast.counts[f"changed:b^{i + 1}"] for i in trained) > 0
    if fields["rule"] == "top-only":
        assert all(not b.any() for b in fast.b[:-1])
        assert "changed:b^1" not in fast.counts


def velocities_moved(fast, fields: dict) -> None:
    """Momentum drew velocity bits and weights moved."""
    assert fast.counts["rng_bits:velocity"] > 0
    weights_moved(fast, fields)


def conv_checks(fast, fields: dict) -> None:
    """Kernels moved unless frozen; frozen dense layers stayed; saturations,
    velocities and random bits where the variant makes them."""
    if fields.get("bias"):
        assert sum(v for k, v in fast.counts.items() if k.startswith("changed:b")) > 0
    for b in range(2):
        changed = fast.counts[f"changed:K^{b + 1}"]
        frozen = fields["rule"] == "top-only" or b + 1 in fields.get("freeze", [])
        if frozen:
            assert changed == 0
        elif not fields.get("update_bits"):
            assert changed > 0
    for i in range(len(fast.W)):  # freeze numbers the dense layers after the 2 blocks
        if i + 3 in fields.get("freeze", []):
            assert fast.counts[f"changed:W^{i + 1}"] == 0
    if fields.get("acc_bits"):
        assert fast.counts["sat:accK^1"] + fast.counts["sat:accK^2"] > 0
    if fields.get("momentum"):
        assert fast.upd.V.keys() >= {"K0", "K1"}
        if fields.get("bias"):
            assert fast.upd.V.keys() >= {"B0", "B1"}
        stoch = fields.get("rounding", "stochastic") == "stochastic"
        assert (fast.counts["rng_bits:velocity"] > 0) == stoch


def feedback_moved(fast, fields: dict) -> None:
    """Adaptive C^h: every C^h changed (each at its width), and weights moved."""
    assert all(fast.counts[f"changed:C^{i + 1}"] > 0 for i in range(fast.L - 1))
    weights_moved(fast, fields)


def narrow_accumulator(fast, fields: dict) -> None:
    """The sequential saturating path really ran, and weights moved."""
    assert fast.counts["sat:acc^1"] > 0
    weights_moved(fast, fields)


def transposed_storage(fast, fields: dict) -> None:
    """``W^1``, its transposed storage and its float64 copy stay equal."""
    mem = fast.mem
    np.testing.assert_array_equal(mem.WT0, fast.W[0].T)
    wb = fields.get("weight_bits")
    if wb == 24 or (isinstance(wb, tuple) and wb[0] == 24):  # W^1 at 24 bits
        assert mem.W64T0 is not None
        np.testing.assert_array_equal(mem.W64T0, mem.WT0)
        for m, w in zip(mem.W64, fast.W, strict=True):
            if m is not None:
                np.testing.assert_array_equal(m, w)


# --------------------------------------------------------------------------- #
# the table
# --------------------------------------------------------------------------- #

DENSE_VARIANTS = [
    dict(rule="srbp", output="sigmoid", act="relu", act_int_bits=2, no_derivative=True),
    dict(rule="bp", output="linear", act="logistic"),
    dict(rule="rbp", feedback="binary"),
    dict(rule="srbp", feedback="sparse", feedback_n=2),
    dict(rule="rbp", feedback="lowrank", rank=2),
    dict(rule="sbp", act="linear", error_bits=3),
    # products above 2**53: the error unit's int64 path
    dict(rule="bp", weight_bits=20, error_word_bits=22, act_bits=10, error_bits=5),
]

BIAS_RULES = ["bp", "rbp", "srbp", "sbp", "top-only", "drtp"]
BIAS_VARIANTS = [
    dict(rule="srbp", update_mode="sign"),
    dict(rule="rbp", update_mode="magnitude", error_bits=3),
    dict(rule="srbp", freeze=(4,)),
    dict(rule="bp", act="relu", act_int_bits=2, output="sigmoid"),
    dict(rule="srbp", act="logistic", update_bits=2, error_bits=4),
    dict(rule="sbp", rounding="nearest", weight_bits=12),
    dict(rule="asrbp", error_bits=4),
]

MOMENTUM_VARIANTS = [
    dict(rule="srbp", bias=True),
    dict(rule="bp", bias=True, momentum=0.5),
    dict(rule="rbp", rounding="nearest"),
    dict(rule="asrbp", rounding="nearest", bias=True, momentum=0.5),
    dict(rule="srbp", error_bits=4, weight_bits=8, act_bits=6, velocity_bits=12),
    dict(rule="sbp", error_bits=3, error_rounding="stochastic"),
    dict(rule="srbp", update_bits=3),
    dict(rule="arbp", update_bits=2, rounding="nearest"),
    dict(rule="bp", update_bits=1, bias=True),
    dict(rule="srbp", update_mode="sign", bias=True),
    dict(rule="rbp", update_mode="magnitude"),
    dict(rule="srbp", freeze=(4,)),
    dict(rule="srbp", velocity_bits=16),  # extra = 0: the velocity is the weight's step
    dict(rule="srbp", velocity_bits=17, lr=0.9),  # narrow velocity: it saturates
    dict(rule="srbp", acc_bits=12, weight_bits=10, lr=0.5, velocity_bits=20),
]

SWITCHES = [
    dict(rule="srbp", freeze=(4,)),
    dict(rule="bp", freeze=(1, 3)),
    dict(rule="srbp", update_mode="sign"),
    dict(rule="rbp", update_mode="magnitude"),
    dict(rule="bp", update_mode="sign", error_bits=4),
    dict(rule="srbp", feedback_resample=True),
    dict(rule="rbp", feedback_resample=True, feedback="binary"),
    dict(rule="rbp", feedback_sign="concordant"),
    dict(rule="rbp", feedback_sign="concordant", feedback_resample=True, error_bits=3),
    dict(rule="srbp", channel_dropout=0.5),
    dict(rule="rbp", channel_dropout=0.25, error_bits=4),
    dict(rule="bp", channel_dropout=0.3),
]

# where the error code sits (error_coding) and what the top layer trains on
# (top_error), with the experiment's block-scaled codes
BEFORE = dict(error_coding="before_derivative")
FULL_TOP = dict(top_error="full")
ERROR_DATAPATH = [
    *(dict(rule=r, error_bits=k, error_scale="block", **BEFORE, **FULL_TOP,
           **({"error_rounding": "stochastic"} if k > 1 else {}))
      for r in ("bp", "rbp", "srbp", "drtp") for k in (1, 3)),  # fmt: skip
    *(dict(rule=r, error_bits=2, **BEFORE) for r in ("bp", "rbp", "srbp", "sbp")),
    *(dict(rule=r, error_bits=1, **FULL_TOP) for r in ("bp", "rbp", "srbp", "sbp", "drtp")),
    dict(rule="arbp", error_bits=3, error_rounding="stochastic", **BEFORE, **FULL_TOP),
    dict(rule="asrbp", error_bits=2, error_scale="block", **BEFORE, **FULL_TOP),
    dict(rule="rbp", error_bits=4, no_derivative=True, bias=True, **BEFORE),
    dict(rule="srbp", error_bits=3, channel_dropout=0.5, momentum=0.5, **BEFORE, **FULL_TOP),
    dict(rule="top-only", error_bits=2, **FULL_TOP),
    # 1-bit codes scaled by the message's rms (error_sign_scale)
    *(dict(rule=r, error_bits=1, error_scale="block", error_sign_scale="rms", **BEFORE,
           **FULL_TOP) for r in ("bp", "rbp", "srbp", "arbp")),  # fmt: skip
    dict(rule="sbp", error_bits=1, error_scale="block", error_sign_scale="rms"),
    dict(rule="rbp", error_bits=1, error_scale="block", error_sign_scale="rms", bias=True),
]

# per-layer weight formats (weight_bits, weight_int_bits: one per dense layer,
# HIDDEN gives L = 4): each layer's codes, accumulators, projections and updates
# at its own width
PER_LAYER_W = dict(weight_bits=(16, 8, 10, 16))
PER_LAYER_VARIANTS = [
    *(dict(rule=r, **PER_LAYER_W) for r in RULES),
    dict(rule="bp", weight_bits=(8, 12, 6, 16), weight_int_bits=(0, 1, -1, 2), bias=True,
         error_bits=3),  # fmt: skip
    dict(rule="srbp", weight_bits=(8, 12, 6, 16), weight_int_bits=(0, 1, -1, 2), bias=True,
         error_bits=3, update_mode="sign"),  # fmt: skip
    dict(rule="rbp", weight_bits=(16, 8, 8, 8), error_bits=2, **BEFORE),
    dict(rule="bp", weight_bits=(12, 6, 20, 8), error_bits=1, error_scale="block", **BEFORE,
         **FULL_TOP),  # fmt: skip
    dict(rule="sbp", weight_bits=(10, 10, 12, 6), rounding="nearest", update_bits=3),
    dict(rule="srbp", weight_bits=(10, 8, 8, 12), acc_bits=12, lr=0.5),  # saturating
    dict(rule="asrbp", weight_bits=(16, 8, 8, 16), weight_int_bits=2, error_bits=4),
    dict(rule="bp", weight_bits=(8, 8, 8, 8), momentum=0.9, velocity_bits=16),  # uniform list
]

PER_LAYER_E = dict(error_bits=(2, 5, 3, 4))  # R^1 .. R^4 of 20-12-9-7-4
PER_LAYER_ERROR_VARIANTS = [
    *(dict(rule=r, **PER_LAYER_E) for r in RULES),
    dict(rule="srbp", error_bits=(1, 4, 6, 3), error_scale="block"),
    dict(rule="srbp", error_bits=(3, 2, 5, 4), error_rounding="stochastic", bias=True),
    dict(rule="srbp", error_bits=(4, 4, 2, 6), **BEFORE),  # each layer re-codes B^h
    dict(rule="rbp", error_bits=(5, 2, 3, 6), error_scale="block", error_rounding="stochastic"),
    dict(rule="rbp", error_bits=(2, 6, 3, 1), **BEFORE, **FULL_TOP),
    dict(rule="bp", error_bits=(3, 1, 4, 2), error_scale="block", **BEFORE),
    dict(rule="sbp", error_bits=(6, 2, 4, 3), error_rounding="stochastic"),
    dict(rule="asrbp", error_bits=(2, 3, 4, 5), weight_bits=(16, 8, 10, 16)),
    dict(rule="arbp", error_bits=(5, 4, 3, 2), bias=True),
    dict(rule="rbp", error_bits=(4, 4, 4, 4), error_scale="block"),  # uniform list
]

# per-layer feedback widths (feedback_bits, feedback_int_bits: one per dense
# layer, entry h - 1 for C^h; the output layer's entry is unused): each C^h's
# codes, projections (SRBP's stacked product) and adaptive updates at its width
PER_LAYER_F = dict(feedback_bits=(8, 4, 6, 12))
PER_LAYER_FEEDBACK_VARIANTS = [
    *(dict(rule=r, **PER_LAYER_F) for r in RULES),
    dict(rule="srbp", feedback_bits=(6, 10, 3, 8), feedback_int_bits=(1, -1, 0, 0), bias=True,
         error_bits=3),  # fmt: skip
    dict(rule="rbp", feedback_bits=(10, 5, 7, 8), feedback_int_bits=(2, 0, -2, 3),
         error_bits=2, **BEFORE),  # fmt: skip
    dict(rule="srbp", feedback_bits=(12, 3, 5, 8), error_bits=(2, 5, 3, 4), error_scale="block",
         **BEFORE, **FULL_TOP),  # fmt: skip
    dict(rule="rbp", feedback="binary", feedback_bits=(4, 8, 3, 8)),
    dict(rule="srbp", feedback="sparse", feedback_n=2, feedback_bits=(5, 9, 3, 8)),
    dict(rule="rbp", feedback="lowrank", rank=2, feedback_bits=(12, 4, 6, 8)),
    dict(rule="srbp", feedback="ternary", feedback_n=2, feedback_bits=(3, 6, 8, 8)),
    dict(rule="drtp", feedback_bits=(3, 7, 5, 8), feedback_int_bits=(0, 1, -1, 0), bias=True),
    dict(rule="srbp", feedback_resample=True, feedback_bits=(6, 3, 10, 8)),
    dict(rule="rbp", feedback_sign="concordant", feedback_bits=(5, 8, 4, 8)),
    dict(rule="arbp", feedback_bits=(12, 6, 8, 8), error_bits=3, bias=True),
    dict(rule="asrbp", feedback_bits=(6, 12, 8, 8), feedback_int_bits=(0, 2, 1, 0),
         weight_bits=(16, 8, 10, 16), error_bits=4),  # fmt: skip
    dict(rule="srbp", feedback_bits=(10, 8, 16, 8), acc_bits=12, lr=0.5),  # saturating
    dict(rule="rbp", feedback_bits=(8, 8, 8, 8), error_bits=3),  # uniform list
]
PER_LAYER_FEEDBACK_MOMENTUM = [
    dict(rule="arbp", feedback_bits=(12, 6, 8, 8), momentum=0.9, velocity_bits=20),
    dict(rule="asrbp", feedback_bits=(4, 10, 7, 8), feedback_int_bits=(1, 0, 2, 0),
         momentum=0.5, bias=True, error_bits=3),  # fmt: skip
]

# per-layer activation widths (act_bits, act_int_bits: one per dense layer,
# entry h - 1 for O^h and f'(S^h), the last for O^L; O^0 as wide as the first):
# each layer's LUTs, accumulator fractions, f' products and updates at its width
PER_LAYER_A = dict(act_bits=(8, 6, 10, 8))
PER_LAYER_ACT_VARIANTS = [
    *(dict(rule=r, **PER_LAYER_A) for r in RULES),
    dict(rule="bp", act_bits=(6, 10, 8, 7), act_int_bits=(0, 2, -1, 1), bias=True,
         output="linear", error_bits=3),  # fmt: skip
    dict(rule="srbp", act="relu", act_bits=(10, 6, 8, 8), act_int_bits=(2, 1, 3, 0),
         output="sigmoid", bias=True),  # fmt: skip
    dict(rule="rbp", act="logistic", act_bits=(12, 5, 7, 6), error_bits=(2, 5, 3, 4),
         error_scale="block", **BEFORE),  # fmt: skip
    dict(rule="sbp", act_bits=(7, 9, 5, 8), error_bits=4, error_rounding="stochastic"),
    dict(rule="srbp", act_bits=(5, 8, 12, 6), error_bits=1, error_scale="block", **BEFORE,
         **FULL_TOP),  # fmt: skip
    dict(rule="asrbp", act_bits=(10, 6, 8, 8), act_int_bits=(1, 0, 2, 0),
         feedback_bits=(8, 4, 6, 12), weight_bits=(16, 8, 10, 16), error_bits=4),  # fmt: skip
    dict(rule="arbp", act_bits=(6, 12, 8, 8), bias=True, update_bits=2, rounding="nearest"),
    dict(rule="drtp", act_bits=(9, 5, 7, 8), act_int_bits=(0, -1, 1, 0), bias=True),
    dict(rule="srbp", act_bits=(12, 8, 6, 8), acc_bits=12, weight_bits=10, lr=0.5),  # saturating
    dict(rule="rbp", act_bits=(10, 6, 8, 8), no_derivative=True, error_bits=3),
    dict(rule="bp", act_bits=(6, 6, 6, 6), error_bits=3),  # uniform list
]
PER_LAYER_ACT_MOMENTUM = [
    dict(rule="bp", act_bits=(10, 6, 8, 8), momentum=0.9, velocity_bits=20),
    dict(rule="asrbp", act_bits=(6, 10, 7, 8), act_int_bits=(1, 0, 2, 0), momentum=0.5,
         bias=True, error_bits=3),  # fmt: skip
]

CONV_VARIANTS = [
    dict(rule="bp"),
    dict(rule="rbp"),
    dict(rule="srbp"),
    dict(rule="top-only"),
    dict(rule="srbp", error_bits=3, no_derivative=True),
    dict(rule="rbp", rounding="nearest", lr=0.5, error_bits=1),
    dict(rule="bp", acc_bits=10, weight_bits=10, lr=0.5),  # saturating accumulators
    dict(rule="srbp", error_bits=2, error_scale="block"),
    dict(rule="rbp", error_bits=3, error_scale="block", no_derivative=True),
    dict(rule="bp", error_bits=4, error_scale="block"),
    dict(rule="rbp", error_bits=3, error_rounding="stochastic"),
    dict(rule="srbp", error_bits=2, error_scale="block", error_rounding="stochastic"),
    dict(rule="bp", error_bits=1, error_scale="block", error_rounding="stochastic"),
    dict(rule="srbp", bias=True),
    dict(rule="rbp", bias=True, error_bits=3, error_scale="block"),
    dict(rule="bp", bias=True, acc_bits=10, weight_bits=10, lr=0.5),
    dict(rule="top-only", bias=True),
    dict(rule="rbp", bias=True, update_mode="sign"),
    dict(rule="bp", update_mode="magnitude", error_bits=3),
    dict(rule="srbp", bias=True, update_mode="full", update_bits=2),
    dict(rule="rbp", freeze=[2, 4]),  # block 2 and the output layer
    dict(rule="bp", bias=True, freeze=[1, 3]),  # block 1 and the dense hidden layer
    dict(rule="rbp", channel_dropout=0.5),
    dict(rule="bp", channel_dropout=0.25, error_bits=3, error_rounding="stochastic"),
    dict(rule="srbp", channel_dropout=0.5, bias=True, error_bits=3, error_scale="block"),
    *(
        dict(rule=r, momentum=0.9, **b, **n)
        for r in ("bp", "rbp", "srbp")
        for b in ({}, {"bias": True})
        for n in ({}, {"rounding": "nearest"})
    ),
    dict(rule="rbp", momentum=0.9, bias=True, update_mode="sign"),
    dict(rule="srbp", momentum=0.9, update_bits=2, error_bits=3, error_scale="block"),
    dict(rule="bp", momentum=0.5, bias=True, freeze=[1], velocity_bits=16),
]

# inverted channel dropout (channel_dropout_rescale): kept errors times the
# UQ9.10 register, rounded back onto the error word; linear R^h only (log codes
# with before_derivative); p = 0.9 on a 10-bit error word saturates
RESCALE = dict(channel_dropout_rescale=True)
RESCALE_VARIANTS = [
    dict(rule="rbp", channel_dropout=0.25, **RESCALE),
    dict(rule="srbp", channel_dropout=0.5, **RESCALE),
    dict(rule="bp", channel_dropout=0.3, bias=True, **RESCALE),
    dict(rule="rbp", channel_dropout=0.9, error_word_bits=10, lr=0.5, **RESCALE),
    dict(rule="srbp", channel_dropout=0.25, error_bits=3, error_rounding="stochastic", **BEFORE,
         **RESCALE),
    dict(rule="rbp", channel_dropout=0.5, error_bits=3, error_scale="block", bias=True, **BEFORE,
         **FULL_TOP, **RESCALE),
    dict(rule="rbp", channel_dropout=0.25, momentum=0.9, **RESCALE),
]
CONV_RESCALE_VARIANTS = [
    dict(rule="rbp", channel_dropout=0.25, **RESCALE),
    dict(rule="srbp", channel_dropout=0.5, bias=True, **RESCALE),
    dict(rule="bp", channel_dropout=0.3, **RESCALE),
]

STOCH_CODES = dict(update_code_rounding="stochastic")
UPDATE_CODE_VARIANTS = [
    *(dict(rule=r, update_bits=k, **STOCH_CODES)
      for r, k in (("bp", 2), ("rbp", 3), ("srbp", 2), ("sbp", 4), ("drtp", 2))),  # fmt: skip
    dict(rule="srbp", update_bits=2, rounding="nearest", bias=True, **STOCH_CODES),
    dict(rule="bp", update_bits=3, bias=True, update_mode="magnitude", **STOCH_CODES),
    dict(rule="asrbp", update_bits=2, bias=True, **STOCH_CODES),  # adaptive C^h codes
    dict(rule="arbp", update_bits=3, rounding="nearest", **STOCH_CODES),
    dict(rule="srbp", update_bits=2, weight_bits=(10, 12, 8, 16), **STOCH_CODES),
    dict(rule="sbp", update_bits=3, weight_bits=(8, 8, 12, 6), rounding="nearest", bias=True,
         error_bits=3, **STOCH_CODES),  # fmt: skip
    dict(rule="rbp", update_bits=8, error_bits=4, error_rounding="stochastic", **STOCH_CODES),
]
UPDATE_CODE_MOMENTUM = [
    dict(rule="srbp", momentum=0.9, update_bits=2, **STOCH_CODES),
    dict(rule="bp", momentum=0.5, update_bits=3, bias=True, rounding="nearest", **STOCH_CODES),
    dict(rule="asrbp", momentum=0.9, update_bits=2, bias=True, **STOCH_CODES),
]


def update_codes_drawn(fast, fields: dict) -> None:
    """Stochastic update codes drew their bits, and weights moved."""
    assert fast.counts["rng_bits:update_code"] > 0
    weights_moved(fast, fields)


CASES: list[Case] = [
    # every rule at every width
    *(Case("dense", dict(rule=r, **w), check=narrow_accumulator if n == "narrow-acc" and
           r == "srbp" else weights_moved)
      for n, w in WIDTHS.items() for r in RULES),  # fmt: skip
    *(Case("dense", v) for v in DENSE_VARIANTS),
    # biases
    *(Case("dense", dict(rule=r, bias=True, **w), check=biases_moved)
      for w in WIDTHS.values() for r in BIAS_RULES),  # fmt: skip
    *(Case("dense", dict(v, bias=True)) for v in BIAS_VARIANTS),
    # momentum
    *(Case("dense", dict(rule=r, momentum=mu), steps=4, check=velocities_moved)
      for mu in (0.5, 0.9) for r in RULES),  # fmt: skip
    *(Case("dense", {"momentum": 0.9, **v}, steps=4) for v in MOMENTUM_VARIANTS),
    # W^1 stored transposed with momentum: 100 inputs, two thirds zero
    Case("dense", dict(rule="bp", momentum=0.9, n_in=100), steps=4, sparse=True,
         check=transposed_storage),
    Case("dense", dict(rule="bp", momentum=0.9, n_in=100, weight_bits=24, act_bits=12,
                       velocity_bits=30), steps=4, sparse=True, check=transposed_storage),
    # learning-channel switches
    *(Case("dense", v, check=weights_moved) for v in SWITCHES),
    # the error datapath switches
    *(Case("dense", v, check=weights_moved) for v in ERROR_DATAPATH),
    # per-layer weight formats
    *(Case("dense", v, check=narrow_accumulator if v.get("acc_bits") else weights_moved)
      for v in PER_LAYER_VARIANTS),  # fmt: skip
    Case("dense", dict(rule="bp", n_in=100, weight_bits=(24, 8, 8, 12), act_bits=12),
         steps=4, sparse=True, check=transposed_storage),  # fmt: skip
    # per-layer error code widths
    *(Case("dense", v, check=weights_moved) for v in PER_LAYER_ERROR_VARIANTS),
    # per-layer feedback widths
    *(Case("dense", v, check=narrow_accumulator if v.get("acc_bits") else feedback_moved
           if RULES[v["rule"]].adaptive else weights_moved)
      for v in PER_LAYER_FEEDBACK_VARIANTS),  # fmt: skip
    *(Case("dense", v, steps=4, check=velocities_moved) for v in PER_LAYER_FEEDBACK_MOMENTUM),
    # per-layer activation widths
    *(Case("dense", v, check=narrow_accumulator if v.get("acc_bits") else feedback_moved
           if RULES[v["rule"]].adaptive else weights_moved)
      for v in PER_LAYER_ACT_VARIANTS),  # fmt: skip
    *(Case("dense", v, steps=4, check=velocities_moved) for v in PER_LAYER_ACT_MOMENTUM),
    Case("dense", dict(rule="bp", n_in=100, act_bits=(12, 8, 6, 8), weight_bits=24,
                       momentum=0.9, velocity_bits=30), steps=4, sparse=True,
         check=transposed_storage),  # fmt: skip
    # conv blocks
    *(Case("conv", v, steps=2, check=conv_checks) for v in CONV_VARIANTS),
    # inverted channel dropout
    *(Case("dense", v, steps=3, check=weights_moved) for v in RESCALE_VARIANTS),
    *(Case("conv", v, steps=2, check=conv_checks) for v in CONV_RESCALE_VARIANTS),
    # stochastic update codes
    *(Case("dense", v, check=update_codes_drawn) for v in UPDATE_CODE_VARIANTS),
    *(Case("dense", v, steps=4, check=update_codes_drawn) for v in UPDATE_CODE_MOMENTUM),
    Case("dense", dict(rule="bp", n_in=100, update_bits=2, **STOCH_CODES), steps=4,
         sparse=True, check=transposed_storage),  # fmt: skip
]
"""Every (engine pair, config variant) checked bit for bit."""

FLOAT_CASES: list[Case] = [
    *(Case("float", dict(rule=r)) for r in RULES),
    *(Case("float", v) for v in (*SWITCHES, *(dict(v, bias=True) for v in BIAS_VARIANTS))),
    *(Case("float", {"momentum": 0.9, **v}) for v in MOMENTUM_VARIANTS[:4]),
    *(Case("float", v) for v in ERROR_DATAPATH),
    *(Case("float", v) for v in PER_LAYER_VARIANTS[:3]),
    *(Case("float", v) for v in PER_LAYER_ERROR_VARIANTS),
    *(Case("float", v) for v in PER_LAYER_FEEDBACK_VARIANTS[:6]),
    *(Case("float", v) for v in PER_LAYER_ACT_VARIANTS[:3]),
    *(Case("convfloat", v, steps=2) for v in CONV_VARIANTS[:4] + CONV_VARIANTS[13:26]),
    *(Case("float", v) for v in RESCALE_VARIANTS),
    *(Case("convfloat", v, steps=2) for v in CONV_RESCALE_VARIANTS),
    *(Case("float", v) for v in (*UPDATE_CODE_VARIANTS, *UPDATE_CODE_MOMENTUM)),
]
"""Float engines on the same variants: a run repeats bit for bit."""
