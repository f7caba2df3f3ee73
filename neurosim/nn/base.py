"""What every engine shares: the rule table's error flow and the run's state.

:func:`hidden_errors` walks the rule table (:mod:`neurosim.nn.rules`) for
any engine that supplies the three error-path operations; :class:`Engine`
holds what a run's engine keeps whatever its arithmetic (the plan, the
counts, the step index, the learning rate).

Layer indices are 0-based in code: layer ``i`` has weights ``W[i]`` of shape
``(N_{i+1}, N_i)`` and is the paper's layer ``h = i + 1``; the last one is the
output layer. Activations are batch-major ``(B, N)``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim.nn.draws import channel_keep, rescale_float
from neurosim.nn.rules import Rule, projects_at_sender, trained_layers
from neurosim.plan import Plan


def hidden_errors(rule: Rule, L: int, r_top, ops, msg_top=None) -> tuple[list, dict, dict]:
    """Error signals of all layers, following the rule table.

    Parameters
    ----------
    rule : Rule
        The learning rule.
    L : int
        Number of weight layers.
    r_top : array
        The output layer's error ``R^L``, shape ``(B, N_L)``: log-coded, or
        its full error word with ``top_error = "full"``.
    ops : object
        The engine: ``project(i, src)`` gives ``src`` carried to layer ``i``
        by ``W[i+1]^T`` or ``C[i]``; ``carry(i, p, log)`` rounds a
        projection made at layer ``i+1`` into the error word sent down the
        chain (log-coded if ``log``); ``finish(i, p)`` turns what layer ``i``
        holds into its ``R``. BP, SBP and RBP with ``error_coding =
        "before_derivative"`` project where ``R^{h+1}`` lives and send the
        projection (:func:`neurosim.nn.rules.projects_at_sender`).
    msg_top : array, optional
        The coded ``R^L`` message sent on the skip bus or chain (default:
        ``r_top``); for DRTP (source ``"target"``) the skip message ``-T``
        (the engine's codes of it), which every hidden layer projects.

    Returns
    -------
    R : list
        ``R`` per layer (``None`` for layers the rule does not train).
    messages : dict
        What travels between tiles per sample: ``skip`` (``R^L`` or, for
        DRTP, ``-T`` broadcast) or ``chain{h}`` (1-based: from layer h+1 down to layer h), each
        ``(B, n)``.
    sources : dict
        Per hidden layer ``i``, the array that was projected for it (what
        reached its tile: adaptive rules update ``C^h`` with it).
    """
    msg_top = r_top if msg_top is None else msg_top
    before = ops.cfg.error_coding == "before_derivative"
    R: list = [None] * L
    R[L - 1] = r_top
    messages: dict = {}
    sources: dict = {}
    if not rule.trains_hidden:
        return R, messages, sources
    if rule.skip:
        messages["skip"] = msg_top
    raw_next = r_top
    sender = projects_at_sender(rule, ops.cfg)
    for i in range(L - 2, -1, -1):
        if rule.skip:
            src = msg_top
        elif rule.source == "next_raw":  # SBP carries the signal without the f' above
            src = raw_next
        elif sender or i + 1 < L - 1:  # R^{h+1}: where it lives, or RBP's coded message
            src = R[i + 1]
        else:  # RBP: the coded R^L message on the chain
            src = msg_top
        sources[i] = src
        p = ops.project(i, src)
        if sender:
            # the projection happens where W^{h+1} (or RBP's C^h) and R^{h+1}
            # live; layer h receives it rounded to the error word (log-coded
            # for SBP, and for every rule when B^h is coded before f') and
            # computes its R^h from what it received
            p = ops.carry(i, p, rule.source == "next_raw" or before)
            messages[f"chain{i + 1}"] = raw_next = p
        elif rule.source == "next":
            messages[f"chain{i + 1}"] = src
        R[i] = ops.finish(i, p)
        if ops.cfg.channel_dropout:
            R[i] = ops.drop(i, R[i])
    return R, messages, sources


def code_dtype(qmin: int, qmax: int) -> np.dtype:
    """The narrowest of uint8, int8, int16 holding the codes ``[qmin, qmax]``,
    else float32 (exact for codes of at most 24 bits)."""
    for d in (np.uint8, np.int8, np.int16):
        if np.iinfo(d).min <= qmin and qmax <= np.iinfo(d).max:
            return np.dtype(d)
    return np.dtype(np.float32)


@dataclass
class InputCodes:
    """The input quantizer's output for every row of a training set, computed
    once per run (:meth:`Engine.input_codes`): the codes ``O^0`` the host
    writes to the chip's input memory. A minibatch takes its rows
    (:meth:`batch`) with the same codes and tallies as quantizing them.

    Attributes
    ----------
    codes : ndarray, shape (n, N_0)
        ``O^0`` codes, in the narrowest of uint8, int8, int16 holding the
        input format's range (float32 beyond).
    sat : ndarray of int64, shape (n,)
        Saturations of each row (``sat:O^0``).
    rowsum : ndarray of float64, shape (n,)
        Each row's sum of ``|O^0|`` (partial-sum bounds).
    """

    codes: np.ndarray
    sat: np.ndarray
    rowsum: np.ndarray
    _buf: np.ndarray | None = None
    _lib: Any = None  # the compiled gather (uint8 codes), if any
    _none: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        from neurosim.numerics.kernels import imac

        if self.codes.dtype == np.uint8 and self.codes.flags.c_contiguous:
            self._lib = imac.load()

    def batch(
        self, idx: np.ndarray, following: np.ndarray | None = None
    ) -> tuple[np.ndarray, int, float]:
        """Rows ``idx`` (int64, 1-D): their codes as float32 ``(B, N_0)`` (a
        buffer the next call overwrites), saturations and largest row sum.
        ``following``: the rows the next call will take, fetched into the
        cache ahead (with the compiled gather; the result is the same)."""
        buf = self._buf
        if buf is None or buf.shape[0] < idx.size:
            buf = self._buf = np.empty((idx.size, self.codes.shape[1]), np.float32)
        out = buf[: idx.size]
        if self._lib is not None:
            nxt = self._none if following is None else following
            nsat, best = self._lib.gather(self.codes, self.sat, self.rowsum, idx, out, nxt)
        else:
            from neurosim.numerics import kernels

            nsat, best = kernels.gather_codes_kernel(self.codes, self.sat, self.rowsum, idx, out)
        return out, int(nsat), float(best)


class Engine:
    """Common state of every engine.

    Parameters
    ----------
    plan : Plan
        The run, resolved once (:func:`neurosim.plan.make_plan`).

    Attributes
    ----------
    plan : Plan
    cfg : TrainConfig
    rule : Rule
    sizes : list of int
        ``[N_0, ..., N_L]`` (with conv blocks ``N_0`` is the last pooled map).
    counts : collections.Counter
        Named event counts accumulated over the run (saturations per tensor,
        ``changed:W^h``, ``rng_bits``).
    """

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.cfg = plan.cfg
        self.rule = plan.rule
        self.sizes = list(plan.sizes)
        self.L = len(self.sizes) - 1
        self.counts: Counter = Counter()
        self.step_index = 0
        self.lr = plan.cfg.lr
        self.accountant = None  # set by the caller to tally chip events

    def input_codes(self, x: np.ndarray) -> InputCodes | None:
        """The input codes of every row of ``x`` (:class:`InputCodes`),
        computed once for a run's training set, or None when this engine
        takes real inputs per minibatch (the default)."""
        return None

    def start_epoch(self, epoch: int) -> None:
        """Set the epoch's learning rate ``lr * lr_decay**epoch``."""
        self.lr = self.cfg.lr * self.cfg.lr_decay**epoch

    def drop(self, i: int, r: np.ndarray) -> np.ndarray:
        """Learning-channel dropout: zero the dropped components of ``R^h`` in place."""
        keep = channel_keep(self.cfg, self.step_index, i, r.shape)
        self.counts["rng_bits:channel"] += 8 * keep.size
        np.multiply(r, keep, out=r)
        if self.cfg.channel_dropout_rescale:
            r = self.rescale(i, r)
        return r

    def rescale(self, i: int, r: np.ndarray) -> np.ndarray:
        """Inverted dropout: scale the kept components of ``R^h`` (float32)
        by ``256 / (256 - k)`` in place (``channel_dropout_rescale``)."""
        np.multiply(r, r.dtype.type(rescale_float(self.cfg.channel_dropout)), out=r)
        return r

    def hidden_update_mode(self, i: int) -> str:
        """``update_mode`` for layer ``i``: the top layer always takes ``full``."""
        return self.cfg.update_mode if i < self.L - 1 else "full"

    def trained_layers(self) -> list[int]:
        """Indices of the layers whose weights the run updates (rule and ``freeze``)."""
        return trained_layers(self.rule, self.L, self.cfg.freeze)

