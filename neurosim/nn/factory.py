"""The engine for a run: float or fixed, with conv blocks or without."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from neurosim.nn.base import Engine
    from neurosim.plan import Plan


def make_engine(plan: Plan) -> Engine:
    """The engine for ``plan.cfg.mode``, with the plan's conv blocks in front
    of the dense layers when it has any."""
    # each engine's modules load here, so that a run imports only its own
    fixed = plan.cfg.mode == "fixed"
    if plan.blocks:
        from neurosim.nn.conv import ConvFixedEngine, ConvFloatEngine

        return (ConvFixedEngine if fixed else ConvFloatEngine)(plan)
    if fixed:
        from neurosim.nn.fixed import FixedEngine

        return FixedEngine(plan)
    from neurosim.nn.float_engine import FloatEngine

    return FloatEngine(plan)
