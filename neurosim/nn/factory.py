"""The engine for a run: float or fixed, with conv blocks or without."""

from __future__ import annotations

from neurosim.nn.base import Engine
from neurosim.nn.conv import ConvFixedEngine, ConvFloatEngine
from neurosim.nn.fixed import FixedEngine
from neurosim.nn.float_engine import FloatEngine
from neurosim.plan import Plan


def make_engine(plan: Plan) -> Engine:
    """The engine for ``plan.cfg.mode``, with the plan's conv blocks in front
    of the dense layers when it has any."""
    fixed = plan.cfg.mode == "fixed"
    if plan.blocks:
        return (ConvFixedEngine if fixed else ConvFloatEngine)(plan)
    return (FixedEngine if fixed else FloatEngine)(plan)
