"""The fixed-point engine as the chip's units: parameter memory, forward
unit, error unit and update unit, wired by :class:`FixedEngine`."""

from neurosim.nn.fixed.engine import FixedEngine
from neurosim.nn.fixed.error import ErrorUnit
from neurosim.nn.fixed.forward import ForwardUnit
from neurosim.nn.fixed.memory import DenseMemory
from neurosim.nn.fixed.update import UpdateUnit

__all__ = ["DenseMemory", "ErrorUnit", "FixedEngine", "ForwardUnit", "UpdateUnit"]
