"""Config presets: named sets of defaults (``--preset``, ``preset = "..."``).

A preset only changes defaults; the file and the flags apply on top of it.
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    # Baldi, Sadowski and Whiteson (2014): 5 hidden layers of 300 tanh units on
    # the 28 HIGGS features, one sigmoid output; minibatches of 100.
    "higgs": {
        "data": "higgs",
        "hidden": (300, 300, 300, 300, 300),
        "act": "tanh",
        "output": "sigmoid",
        "batch": 100,
        "lr": 0.05,
        "epochs": 10,
    },
    # The paper's CIFAR-10 network (full version, section 5): three blocks of
    # [conv 64 filters 5x5 tanh, max-pool 3x3 stride 2], one dense layer of
    # 1024 tanh units, softmax; minibatches of 128, lr 0.01 (the paper adds
    # momentum 0.9; this preset keeps momentum 0, the setting its committed
    # runs used).
    "cifar-conv": {
        "data": "cifar10",
        "conv": "c64k5p3s2,c64k5p3s2,c64k5p3s2",
        "hidden": (1024,),
        "act": "tanh",
        "output": "softmax",
        "batch": 128,
        "lr": 0.01,
        "epochs": 10,
    },
}
"""Named sets of defaults (``--preset``, or ``preset = "..."`` in a config file)."""
