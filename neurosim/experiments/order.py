"""The order in which a sweep on several workers starts its points: longest first.

Points go to workers as workers free up, so a long point started last runs
alone while the other workers idle. Starting the longest points first
(Graham's longest-processing-time rule) leaves the short ones for the end,
where they fill the gaps. Only the order matters, so the estimate is coarse:
multiply-accumulates per training sample (the forward pass, the weight
gradients, and the rule's error path: ``W^T`` or ``C^h`` down the chain for
BP- and RBP-type rules, the ``N_L``-wide ``C^h`` products for skip rules;
conv blocks by their output units times their fan-in; in fixed mode a
product with weights wider than 8 bits counts twice, as two byte planes or
float64 BLAS take twice the time), times the training samples and the
epochs. Measured on a sweep whose widest point comes last
in the spec (mnist5k, SRBP, 6 epochs, hidden 50 / 100 / 200 / 800, points of
0.4 / 0.5 / 1.2 / 2.3 s, 2 workers, 3 runs each): 3.47-3.69 s in the spec's
order, 2.93-3.19 s longest first. A sweep on one worker keeps the spec's
order.
"""

from __future__ import annotations

import math

from neurosim.config import TrainConfig
from neurosim.errors import ConfigError
from neurosim.nn.conv_spec import conv_blocks
from neurosim.nn.rules import get_rule

#: Training samples, image shape (or feature count) and classes of the known
#: data sets: what a point's cost needs before its data is loaded.
DATA_SHAPES: dict[str, tuple[int, tuple[int, ...], int]] = {
    "mnist5k": (4000, (1, 28, 28), 10),
    "digits": (1437, (1, 8, 8), 10),
    "fashion-mnist": (60000, (1, 28, 28), 10),
    "mnist": (60000, (1, 28, 28), 10),
    "cifar10": (50000, (3, 32, 32), 10),
    "higgs": (10_500_000, (28,), 1),
}


def estimated_cost(cfg: TrainConfig) -> float:
    """Relative work of training ``cfg`` (multiply-accumulates; only the order
    of two points' costs means anything)."""
    n_train, shape, n_out = DATA_SHAPES.get(cfg.data, (1, (784,), 10))
    samples = n_train if cfg.limit is None else min(cfg.limit, n_train)
    if cfg.validation:
        samples = max(1, samples - cfg.validation)
    n_in, conv = math.prod(shape), 0.0
    if cfg.conv:
        try:
            blocks = conv_blocks(cfg.conv, shape)
        except ConfigError:
            blocks = []
        for b in blocks:
            conv += 3.0 * b.n_conv * b.fan_in  # forward, kernel gradient, error routing
        if blocks:
            n_in = blocks[-1].n_pool
    sizes = [n_in, *cfg.hidden, n_out]
    # a fixed run's 16-bit weight codes cost two 8-bit MACs each (two byte
    # planes, or float64 BLAS at half float32's rate): its products with W
    wide = 2.0 if cfg.mode == "fixed" and cfg.weight_bits > 8 else 1.0
    forward = wide * sum(a * b for a, b in zip(sizes, sizes[1:], strict=False))
    rule = get_rule(cfg.rule)
    if not rule.trains_hidden:
        back = 0.0
    elif rule.skip:
        back = float(sum(sizes[1:-1]) * n_out)
    else:
        back = float(sum(a * b for a, b in zip(sizes[1:], sizes[2:], strict=False)))
        if rule.matrix == "W":
            back *= wide
    return float(cfg.epochs) * samples * (conv + 2.0 * forward + back)


def longest_first(points: list) -> list:
    """``points`` (each with a ``config``) by estimated cost, longest first;
    equal costs keep their order."""
    return sorted(points, key=lambda p: -estimated_cost(p.config))
