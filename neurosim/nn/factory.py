"""The engine for a run: float or fixed, with conv blocks or without."""

from __future__ import annotations

from neurosim.config import TrainConfig
from neurosim.nn.conv import make_conv_engine
from neurosim.nn.engine import Engine, FixedEngine, FloatEngine


def make_engine(
    cfg: TrainConfig, n_in: int, n_out: int, image_shape: tuple[int, ...] | None = None
) -> Engine:
    """The engine for ``cfg.mode`` (with conv blocks when ``cfg.conv`` is set;
    they need the data's ``image_shape``, ``(C, H, W)``)."""
    if cfg.conv:
        return make_conv_engine(cfg, n_in, n_out, image_shape)
    return (FixedEngine if cfg.mode == "fixed" else FloatEngine)(cfg, n_in, n_out)
