"""The tiles' parameter memories of the dense layers, as stored codes.

Forward weights ``W^h`` (weight format), biases ``b^h`` (weight format,
``bias`` only) and the learning channel's ``C^h`` (feedback format), all
float32 arrays holding integers (every format is at most 24 bits wide, so
float32 holds them exactly and feeds float32 BLAS directly). The forward
unit reads them, the error unit projects through them and the update unit
writes them (and their float64 mirrors) in place.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from neurosim.nn.draws import build_feedback, init_biases, init_weights
from neurosim.nn.network import Formats
from neurosim.numerics import kernels
from neurosim.plan import Plan


class DenseMemory:
    """Parameter codes of the dense layers and their float64 mirrors.

    ``W[i]`` and ``b[i]`` hold codes of layer ``i + 1``'s weight format
    (``fm.weights[i]``: per-layer weight widths each keep their own).

    Parameters
    ----------
    plan : Plan
        The run (seed, rule, layer sizes).
    fm : Formats
        The dense part's formats (the conv engine reads the pooled map in the
        activation format).
    counts : Counter
        Receives ``sat:W^h:init`` and ``sat:C^h:init``.

    Attributes
    ----------
    W, C : list of ndarray (float32 holding integers)
        ``W[i]`` of shape ``(N_{i+1}, N_i)``; ``C[i]`` the learning channel
        of hidden layer ``i``. ``W[0]`` is a view of ``WT0`` (stored
        transposed: an input column that is zero in a whole batch is then a
        contiguous row that the product and the update unit skip).
    b : list of ndarray or None
        Bias codes ``(N_h,)``; None without ``bias``.
    W64 : list of ndarray or None
        float64 copies of ``W[i]`` for layers whose forward products are
        float64 BLAS in practice (wide weights), unless the forward unit
        multiplies their codes in byte planes (:meth:`drop_mirrors`); None
        elsewhere.
    """

    def __init__(self, plan: Plan, fm: Formats, counts: Counter) -> None:
        cfg, sizes = plan.cfg, list(plan.sizes)
        self.plan, self.fm, self.counts = plan, fm, counts
        self.W = []
        for i, w in enumerate(init_weights(cfg, sizes)):
            q, n = fm.weights[i].quantize(w)  # layer i+1's own format
            counts[f"sat:W^{i + 1}:init"] += n
            self.W.append(q.astype(np.float32))
        self.b = init_biases(cfg, sizes, np.float32)  # codes in the weight format
        qs = []
        for i, c in enumerate(build_feedback(cfg, plan.rule, sizes)):
            q, n = fm.feedbacks[i].quantize(c)  # C^{i+1} in hidden layer i+1's own format
            counts[f"sat:C^{i + 1}:init"] += n
            qs.append(q.astype(np.float32))
        # SRBP-type C^h all take R^L (DRTP's: the label): stack them so one
        # product feeds every hidden layer; C[i] are row views into the stack
        self.C_all = np.vstack(qs) if qs and plan.rule.skip else None
        if self.C_all is not None:
            edges = np.cumsum([0] + [q.shape[0] for q in qs])
            self.C = [self.C_all[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]
        else:
            self.C = qs
        self.C_mag = [np.abs(c) for c in self.C]  # sign-concordant: magnitudes
        self.W64 = []
        for i, w in enumerate(self.W):
            src = fm.src(i)
            wide = w.shape[1] * src.max_abs * fm.weights[i].max_abs >= 16 * kernels.F32_EXACT
            self.W64.append(w.astype(np.float64) if wide else None)
        self.WT0 = np.ascontiguousarray(self.W[0].T)
        self.W[0] = self.WT0.T
        self.W64T0 = None
        if self.W64[0] is not None:
            self.W64T0 = np.ascontiguousarray(self.W64[0].T)
            self.W64[0] = self.W64T0.T

    def drop_mirrors(self, layers: list[int]) -> None:
        """No float64 copies of these layers' ``W`` (the forward unit
        multiplies their codes in byte planes: nothing reads the copies, and
        the update unit stops writing them)."""
        for i in layers:
            self.W64[i] = None
            if i == 0:
                self.W64T0 = None

    def feedback_codes(self, draw: int) -> list[np.ndarray]:
        """C^h codes of a ``feedback_resample`` draw (see
        :func:`neurosim.nn.draws.build_feedback`); saturations are counted as
        ``sat:C^h:resample``."""
        out = []
        plan = self.plan
        for i, c in enumerate(build_feedback(plan.cfg, plan.rule, list(plan.sizes), draw)):
            q, n = self.fm.feedbacks[i].quantize(c)
            self.counts[f"sat:C^{i + 1}:resample"] += n
            out.append(q.astype(np.float32))
        return out

    def channel_step(self, step: int) -> None:
        """Minibatch ``step``'s C^h codes (resampled and/or sign-concordant), in place."""
        cfg = self.plan.cfg
        if cfg.feedback_resample:
            for c, q in zip(self.C, self.feedback_codes(step + 1), strict=True):
                np.copyto(c, q)
            self.C_mag = [np.abs(c) for c in self.C]
        if cfg.feedback_sign == "concordant":
            for i, m in enumerate(self.C_mag):
                np.multiply(m, np.sign(self.W[i + 1].T), out=self.C[i])
