"""The engine for a run: float or fixed, with conv blocks or without."""

from __future__ import annotations

from neurosim.nn.conv import make_conv_engine
from neurosim.nn.engine import Engine, FixedEngine, FloatEngine
from neurosim.plan import Plan


def make_engine(plan: Plan) -> Engine:
    """The engine for ``plan.cfg.mode``, with the plan's conv blocks in front
    of the dense layers when it has any."""
    cfg = plan.cfg
    if plan.blocks:
        return make_conv_engine(cfg, plan.n_in, plan.n_out, plan.image_shape)
    return (FixedEngine if cfg.mode == "fixed" else FloatEngine)(cfg, plan.n_in, plan.n_out)
