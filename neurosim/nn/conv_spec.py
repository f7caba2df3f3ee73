"""The conv blocks' specification: the ``c<F>k<K>p<P>s<S>`` grammar, each
block's geometry and the config checks that concern ``conv``.

It imports no engine, so the config can check a conv spec without loading the
conv engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from neurosim.data.datasets import SIGNED_INPUT
from neurosim.errors import ConfigError

CONV_RULES = ("bp", "rbp", "srbp", "top-only")
_BLOCK = re.compile(r"c(\d+)k(\d+)p(\d+)s(\d+)")
_ALLOWED = (
    "comma-separated blocks c<F>k<K>p<P>s<S> (F filters of K x K, K odd; max-pool P x P, "
    "stride S), e.g. c64k5p3s2,c64k5p3s2,c64k5p3s2"
)


@dataclass(frozen=True)
class ConvBlock:
    """One block: convolution, activation, max-pool, with its geometry.

    Attributes
    ----------
    filters, kernel, pool, stride : int
        F, K, P and S of ``c<F>k<K>p<P>s<S>``.
    height, width, channels : int
        Input map ``(H, W, C)``; the conv output is ``(H, W, F)``.
    """

    filters: int
    kernel: int
    pool: int
    stride: int
    height: int
    width: int
    channels: int

    @property
    def fan_in(self) -> int:
        """``K * K * C``: inputs of one conv output (columns of ``K^b``)."""
        return self.kernel * self.kernel * self.channels

    @property
    def pooled(self) -> tuple[int, int]:
        """Pooled map height and width (valid windows)."""
        return (
            (self.height - self.pool) // self.stride + 1,
            (self.width - self.pool) // self.stride + 1,
        )

    @property
    def n_conv(self) -> int:
        """Conv output units ``H * W * F`` of one sample."""
        return self.height * self.width * self.filters

    @property
    def n_pool(self) -> int:
        """Pooled output units ``H_out * W_out * F`` of one sample."""
        ho, wo = self.pooled
        return ho * wo * self.filters

    @property
    def overlap(self) -> int:
        """Most pooling windows one position belongs to (``ceil(P/S)**2``)."""
        return (-(-self.pool // self.stride)) ** 2


def parse_conv(spec: str) -> list[tuple[int, int, int, int]]:
    """``"c64k5p3s2,..."`` to ``[(F, K, P, S), ...]``; ConfigError if malformed."""
    out = []
    for part in spec.split(","):
        m = _BLOCK.fullmatch(part.strip())
        if not m:
            raise ConfigError("conv", spec, _ALLOWED)
        f, k, p, s = (int(g) for g in m.groups())
        if not (1 <= f <= 4096 and 1 <= k <= 15 and k % 2 == 1 and 1 <= p <= 15 and 1 <= s <= p):
            raise ConfigError(
                "conv", spec, f"{_ALLOWED}; 1 <= F <= 4096, K odd in 1..15, 1 <= S <= P <= 15"
            )
        out.append((f, k, p, s))
    return out


def conv_blocks(spec: str, image_shape: tuple[int, ...] | None) -> list[ConvBlock]:
    """The blocks of ``spec`` on images of ``(C, H, W)``, with their geometry."""
    if image_shape is None or len(image_shape) != 3:
        raise ConfigError("conv", spec, "empty for data sets that are not images")
    c, h, w = image_shape
    blocks = []
    for i, (f, k, p, s) in enumerate(parse_conv(spec)):
        if h < p or w < p:
            raise ConfigError(
                "conv", spec, f"blocks whose pool fits the map (block {i + 1} gets {h}x{w} "
                f"for a {p}x{p} pool; use fewer blocks or smaller pools)"
            )  # fmt: skip
        b = ConvBlock(f, k, p, s, h, w, c)
        blocks.append(b)
        (h, w), c = b.pooled, f
    return blocks


NEUTRAL_WITH_CONV: dict[str, object] = {
    "feedback_resample": False,
    "feedback_sign": "random",
    "feedback_per_synapse": False,
}
"""Learning-channel switches the conv blocks do not model: with ``conv`` set
they must keep these values (a config without the field passes)."""


def check_conv_config(cfg: Any) -> None:
    """The config checks of ``conv`` for a TrainConfig ``cfg`` (shapes: with the data)."""
    parse_conv(cfg.conv)
    if cfg.rule not in CONV_RULES:
        raise ConfigError("rule", cfg.rule, f"one of {', '.join(CONV_RULES)} with conv layers")
    if cfg.feedback != "dense":
        raise ConfigError("feedback", cfg.feedback, "dense with conv layers")
    for name, neutral in NEUTRAL_WITH_CONV.items():
        value = getattr(cfg, name, neutral)
        if (list(value) if isinstance(value, tuple) else value) != neutral:
            raise ConfigError(name, value, f"{neutral!r} with conv layers (not modelled there)")
    if cfg.data in SIGNED_INPUT:
        raise ConfigError("conv", cfg.conv, f"empty for {cfg.data} (not an image data set)")
