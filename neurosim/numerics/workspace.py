"""Reusable arrays of a training step (plain NumPy: the float engine uses them without numba)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Workspace"]


class Workspace:
    """Arrays of a training step, allocated once per name, shape and dtype.

    Reusing them keeps the step free of allocations: temporaries of a few
    hundred KB would otherwise go back to the OS and fault in again every
    step. ``Workspace(reuse=False)`` hands out fresh arrays (for callers
    that keep the results).
    """

    def __init__(self, reuse: bool = True) -> None:
        self.reuse = reuse
        self._arrays: dict = {}

    def get(self, name: str, shape: tuple, dtype=np.float32) -> np.ndarray:
        """An uninitialised C-contiguous array of this shape and dtype.

        One buffer per name, grown when a request needs more room; a smaller
        shape (the last batch of an epoch, a varying number of columns) is a
        view of its first elements.
        """
        if not self.reuse:
            return np.empty(shape, dtype)
        ent = self._arrays.get(name)
        if ent is not None and ent[1].shape == shape and ent[0].dtype == dtype:
            return ent[1]
        n = math.prod(shape)
        buf = None if ent is None else ent[0]
        if buf is None or buf.dtype != dtype or buf.size < n:
            buf = np.empty(n, dtype)
        view = buf[:n].reshape(shape)
        self._arrays[name] = (buf, view)
        return view

    def cast(self, name: str, a: np.ndarray, dtype) -> np.ndarray:
        """``a`` in ``dtype`` (itself when it already is)."""
        if a.dtype == dtype:
            return a
        out = self.get(name, a.shape, dtype)
        np.copyto(out, a)
        return out
