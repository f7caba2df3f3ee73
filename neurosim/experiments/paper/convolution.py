"""``convolution`` and ``convolution-cifar``: the rules through convolutional layers."""

from __future__ import annotations

from typing import Any

from neurosim.experiments.paper.common import Claim, Experiment, Variant, above, rule_label


def _conv_variants(cfg: Any) -> list[Variant]:
    return [Variant(rule_label(r), {"rule": r}) for r in ("bp", "rbp", "srbp", "top-only")]


def _conv_claims(runs: dict) -> list[Claim]:
    return [
        above(runs, ["RBP", "SRBP"], "top-only",
              "RBP and SRBP learn through convolutional layers (clearly above top-only)"),
        above(runs, ["BP"], "top-only",
              "BP (the true gradient through conv and pool) learns: clearly above top-only"),
    ]  # fmt: skip


CONV_FULL = dict(data="fashion-mnist", limit=8000, epochs=1, batch=32, lr=0.1, mode="fixed")
"""``convolution``: the paper's CIFAR-10 network (preset ``cifar-conv``) on
Fashion-MNIST, on the chip, shortened to fit well under 30 minutes on one core:
the first 8,000 training images once (250 steps of 32). lr 0.1 without
momentum stands for the paper's lr 0.01 with momentum 0.9 (the same step in
the long run); the committed runs used this setting, from before the conv
blocks had momentum."""


CONV_QUICK = dict(data="digits", conv="c8k3p3s2", hidden=(32,), batch=16, lr=0.2, epochs=4,
                  mode="fixed")  # fmt: skip
"""``convolution --quick``: one block of 8 3x3 filters on ``digits``."""


EXPERIMENT = Experiment(
    "convolution", "Convolutional net (3 x conv 64 5x5 + max-pool, dense 1024)",
    _conv_variants, _conv_claims, preset="cifar-conv", full=CONV_FULL, quick=CONV_QUICK,
)
CIFAR_EXPERIMENT = Experiment(
    "convolution-cifar", "CIFAR-10, convolutional net (the paper's setup)",
    _conv_variants, _conv_claims, preset="cifar-conv",
    full=dict(CONV_FULL, data="cifar10", limit=10_000),
    quick=dict(CONV_QUICK, data="cifar10", limit=500, epochs=1),
)
