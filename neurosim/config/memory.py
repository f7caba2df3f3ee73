"""The memory a run needs, estimated from its widths before anything is allocated.

Every width passes its own range check, yet ``--hidden 1000000,1000000``
would ask for terabytes; :func:`check_memory` refuses such a network before
the run prints anything. The estimate counts 8-byte words (the engines hold
weights, feedback and their draws in float64 or int64 arrays): per synapse
the weight, its draw, its gradient and its velocity (with momentum); per
feedback entry the entry and its draw; for one minibatch the activations,
pre-activations, derivatives and errors of every layer, and the im2col
buffer of every conv block. It is a lower bound of what the run holds at
its peak, close enough to tell a laptop-sized net from an impossible one.
"""

from __future__ import annotations

from typing import Any

from neurosim.errors import ConfigError

DEFAULT_MAX_MEMORY_GIB = 8.0
"""Default limit of :func:`check_memory` (GiB): a third of a 24 GiB machine,
far above every preset (the paper's CIFAR-10 net needs well under 1 GiB)."""

IMAGE_SHAPES: dict[str, tuple[int, ...] | None] = {
    "mnist5k": (1, 28, 28), "digits": (1, 8, 8), "fashion-mnist": (1, 28, 28),
    "mnist": (1, 28, 28), "higgs": None, "cifar10": (3, 32, 32),
}  # fmt: skip
"""``(C, H, W)`` of each data set's samples (None: a feature vector)."""

N_FEATURES: dict[str, int] = {"higgs": 28}
"""Inputs of the data sets that are not images (images: ``C * H * W``)."""

_WORD = 8  # bytes: float64 / int64 arrays


def n_features(data: str) -> int:
    """Inputs ``N_0`` of data set `data` as shipped (``C * H * W`` for images)."""
    shape = IMAGE_SHAPES[data]
    return N_FEATURES[data] if shape is None else shape[0] * shape[1] * shape[2]


def estimate_bytes(
    cfg: Any, n_in: int, n_out: int, image_shape: tuple[int, ...] | None = None
) -> tuple[int, list[int]]:
    """Bytes a run of `cfg` holds at least, and its dense layer widths.

    Parameters
    ----------
    cfg : TrainConfig
        The run (``hidden``, ``conv``, ``batch``, ``rule``, ``momentum``,
        ``feedback_per_synapse`` are read).
    n_in, n_out : int
        Inputs ``N_0`` of the data and output units ``N_L``.
    image_shape : tuple of int, optional
        ``(C, H, W)`` of the samples; needed with conv blocks (their geometry
        is checked here too: a pool larger than its map is a ConfigError).

    Returns
    -------
    (int, list of int)
        The estimate in bytes, and ``[N_0', N_1, ..., N_L]`` (``N_0'``: the
        last conv block's pooled outputs with conv blocks).
    """
    from neurosim.nn.rules import RULES, feedback_shapes

    words = 0
    if cfg.conv:
        from neurosim.nn.conv_spec import conv_blocks

        for b in conv_blocks(cfg.conv, image_shape):
            words += 3 * b.filters * b.fan_in  # kernel, draw, gradient
            # im2col columns, conv outputs and their derivatives, pooled map
            words += cfg.batch * (b.height * b.width * b.fan_in + 3 * b.n_conv + b.n_pool)
        n_in = b.n_pool
    sizes = [n_in, *cfg.hidden, n_out]
    rule = RULES[cfg.rule]
    per_synapse = 4 if cfg.momentum else 3
    words += per_synapse * sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    if cfg.feedback_per_synapse:
        words += 2 * sum(sizes[h] * sizes[h - 1] * sizes[-1] for h in range(1, len(sizes) - 1))
    else:
        words += 2 * sum(r * c for r, c in feedback_shapes(rule, sizes))
    words += 4 * cfg.batch * sum(sizes)
    return words * _WORD, sizes


def check_memory(
    cfg: Any,
    n_in: int,
    n_out: int,
    image_shape: tuple[int, ...] | None = None,
    max_gib: float = DEFAULT_MAX_MEMORY_GIB,
) -> int:
    """Refuse a network whose :func:`estimate_bytes` exceeds `max_gib` GiB.

    Returns
    -------
    int
        The estimate in bytes.

    Raises
    ------
    ConfigError
        On ``hidden`` (or ``conv`` when the blocks dominate), naming the
        estimate, the limit and the flag that raises it.
    """
    need, sizes = estimate_bytes(cfg, n_in, n_out, image_shape)
    if need > max_gib * 2**30:
        net = "-".join(str(n) for n in sizes)
        dense, _ = estimate_bytes(_no_conv(cfg), sizes[0], n_out) if cfg.conv else (need, None)
        field, value = ("conv", cfg.conv) if dense * 2 < need else ("hidden", _widths(cfg))
        raise ConfigError(
            field, value,
            f"a network that fits in {max_gib:g} GiB of memory (net {_short(net)} needs "
            f"about {_gib(need)}; use smaller widths or a smaller batch, or raise "
            "--max-memory-gib)",
        )  # fmt: skip
    return need


def _no_conv(cfg: Any) -> Any:
    import dataclasses

    return dataclasses.replace(cfg, conv="")


def _widths(cfg: Any) -> str:
    return ",".join(str(n) for n in cfg.hidden)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _gib(n: int) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n / 2**20:.1f} MiB"
