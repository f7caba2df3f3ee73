"""One training step on the chip: forward, error transport, update.

Two engines share the rule logic (:func:`hidden_errors`):

* :class:`FloatEngine` -- float32 reference arithmetic;
* :class:`FixedEngine` -- the chip's integer semantics. Every tensor holds
  exact integers in float32/float64 arrays; matrix products go through
  :func:`neurosim.numerics.kernels.exact_matmul`, which picks float32 BLAS, float64
  BLAS or an int64 kernel from a bound on the partial sums, so the result is
  the exact integer result (and, where the accumulator could overflow, the
  tile's sequential saturating order). It agrees bit for bit with
  :mod:`neurosim.golden.reference`.

Layer indices are 0-based in code: layer ``i`` has weights ``W[i]`` of shape
``(N_{i+1}, N_i)`` and is the paper's layer ``h = i + 1``; the last one is the
output layer. Activations are batch-major ``(B, N)``.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from neurosim.channel.feedback import make_feedback
from neurosim.config import TrainConfig
from neurosim.errors import ConfigError
from neurosim.nn.network import (
    Formats,
    Luts,
    act_float,
    deriv_float,
    init_weights,
    softmax_float,
)
from neurosim.nn.rules import Rule, feedback_shapes, get_rule, trained_layers
from neurosim.numerics import kernels, streams
from neurosim.numerics.fixedpoint import (
    FixedFormat,
    LogQuantizer,
    block_log_quantize,
    log_quantize,
    stochastic_log_quantize,
)

# Counter layouts of the per-tile streams (names in neurosim.numerics.streams):
# - "momentum": the parameter array P (kind k: 0 W^{i+1}, 1 b^{i+1}, 2 C^{i+1})
#   of layer i, entry j in minibatch `step`, takes counter 2*step*P.size + j
#   for the decay mu*u and (2*step + 1)*P.size + j for the step u / 2**extra
#   onto the parameter's LSB; the gradient's own rounding keeps the
#   parameter's usual stream, so momentum 0 draws the words it always drew.
# - "bias_update": entry j of b^{i+1} in minibatch `step`, counter
#   step*N_{i+1} + j (the weights' streams are not touched).
# - "error_rounding": component j of sample b of message kind s (0: the
#   layer's error R^{i+1}, R^L for the output layer; 1: the SBP chain signal
#   carried down to layer i) in minibatch `step` takes counter
#   ((2*step + s)*batch + b)*N_{i+1} + j (error_counter), batch the configured
#   minibatch size, so every (step, message, sample, component) has its word.
# - the float engine's error rounding draws from the generator stream
#   "float_error_rounding", [seed, id, step] (not the fixed engine's bits).


def error_counter(step: int, kind: int, batch: int, n: int) -> int:
    """First counter of a message batch (sample 0, component 0); see
    the "error_rounding" layout above."""
    return (2 * step + kind) * batch * n


def build_feedback(
    cfg: TrainConfig, rule: Rule, sizes: list[int], draw: int = 0
) -> list[np.ndarray]:
    """Float learning-channel matrices ``C^h`` for every hidden layer.

    ``draw`` 0 is the run's fixed C^h; ``feedback_resample`` uses draw
    ``k + 1`` for minibatch ``k`` (an independent stream per draw).
    """
    rng = streams.generator(cfg.seed, "feedback", *((draw,) if draw else ()))
    out = []
    for i, shape in enumerate(feedback_shapes(rule, sizes)):
        try:
            out.append(
                make_feedback(
                    rng,
                    shape,
                    cfg.feedback,
                    cfg.feedback_dist,
                    cfg.feedback_mean,
                    cfg.feedback_n,
                    cfg.rank,
                )
            )
        except ConfigError as e:
            raise ConfigError(e.field, e.value, f"{e.allowed} (C^{i + 1})") from None
    return out


def build_synapse_feedback(cfg: TrainConfig, sizes: list[int]) -> list[np.ndarray]:
    """Per-synapse feedback tensors (no weight cooperation), float64.

    ``C^h`` of shape ``(N_h, N_{h-1}, N_L)``: synapse ``W^h_ij`` hears the
    output error through its own row ``C^h_ij``, drawn like a dense C^h row
    (Glorot-scaled for an ``(N_h, N_L)`` matrix).
    """
    rng = streams.generator(cfg.seed, "synapse_feedback")
    L = len(sizes) - 1
    out = []
    for i in range(L - 1):
        n_h, n_prev, n_top = sizes[i + 1], sizes[i], sizes[L]
        m = make_feedback(rng, (n_h * n_prev, n_top), "dense", cfg.feedback_dist, 0.0)
        # the Glorot scale of an (N_h, N_L) matrix, not of the stacked one
        m *= math.sqrt((n_h * n_prev + n_top) / (n_h + n_top))
        out.append((m + cfg.feedback_mean).reshape(n_h, n_prev, n_top))
    return out


DROPOUT_LEVELS = 256
"""Resolution of ``channel_dropout``: one 8-bit random word per component."""


def channel_keep(cfg: TrainConfig, step: int, layer: int, shape: tuple[int, int]) -> np.ndarray:
    """Keep mask of the learning channel's dropout for one hidden layer.

    Parameters
    ----------
    cfg : TrainConfig
        Its ``channel_dropout`` p (resolved to ``round(p * 256) / 256``) and seed.
    step : int
        Minibatch index of the run (0-based).
    layer : int
        0-based layer index ``i`` (the paper's ``h = i + 1``).
    shape : (int, int)
        ``(B, N_h)``.

    Returns
    -------
    ndarray of bool, shape ``shape``
        True where ``R^h`` is kept: an 8-bit word ``u`` is drawn per
        component and ``u >= round(256 p)`` keeps it.
    """
    thr = min(DROPOUT_LEVELS - 1, round(cfg.channel_dropout * DROPOUT_LEVELS))
    rng = streams.generator(cfg.seed, "channel_dropout", step, layer)
    return rng.integers(0, DROPOUT_LEVELS, size=shape, dtype=np.int16) >= thr


def init_biases(cfg: TrainConfig, sizes: list[int], dtype) -> list[np.ndarray] | None:
    """Initial biases ``b^1..b^L`` (zeros of ``dtype``), or None without ``bias``."""
    if not cfg.bias:
        return None
    return [np.zeros(n, dtype) for n in sizes[1:]]


def hidden_errors(rule: Rule, L: int, r_top, ops) -> tuple[list, dict, dict]:
    """Error signals of all layers, following the rule table.

    Parameters
    ----------
    rule : Rule
        The learning rule.
    L : int
        Number of weight layers.
    r_top : array
        Quantized output error ``R^L``, shape ``(B, N_L)``.
    ops : object
        The engine: ``project(i, src)`` gives ``src`` carried to layer ``i``
        by ``W[i+1]^T`` or ``C[i]``; ``carry(i, p, log)`` rounds a
        projection made at layer ``i+1`` into the error word sent down the
        chain (log-coded if ``log``); ``finish(i, p)`` turns what layer ``i``
        holds into its quantized ``R``.

    Returns
    -------
    R : list
        ``R`` per layer (``None`` for layers the rule does not train).
    messages : dict
        What travels between tiles per sample: ``skip`` (``R^L`` broadcast)
        or ``chain{h}`` (1-based: from layer h+1 down to layer h), each
        ``(B, n)``.
    sources : dict
        Per hidden layer ``i``, the array that was projected for it.
    """
    R: list = [None] * L
    R[L - 1] = r_top
    messages: dict = {}
    sources: dict = {}
    if not rule.trains_hidden:
        return R, messages, sources
    if rule.source == "top":
        messages["skip"] = r_top
    raw_next = r_top
    for i in range(L - 2, -1, -1):
        if rule.source == "top":
            src = r_top
        elif rule.source == "next":
            src = R[i + 1]
        else:  # "next_raw": SBP carries the signal without the f' of layers above
            src = raw_next
        sources[i] = src
        p = ops.project(i, src)
        if rule.matrix == "W":
            # the transposed read happens where W^{h+1} lives; layer h receives
            # the projection rounded to the error word (log-coded for SBP) and
            # computes its R^h from what it received
            p = ops.carry(i, p, rule.source == "next_raw")
            messages[f"chain{i + 1}"] = raw_next = p
        elif rule.source == "next":
            messages[f"chain{i + 1}"] = src
        R[i] = ops.finish(i, p)
        if ops.cfg.channel_dropout:
            R[i] = ops.drop(i, R[i])
    return R, messages, sources


class Engine:
    """Common state of both engines.

    Attributes
    ----------
    cfg : TrainConfig
    rule : Rule
    sizes : list of int
        ``[N_0, ..., N_L]``.
    counts : collections.Counter
        Named event counts accumulated over the run (saturations per tensor,
        ``changed:W^h``, ``rng_bits``).
    """

    def __init__(self, cfg: TrainConfig, n_in: int, n_out: int) -> None:
        self.cfg = cfg
        self.rule = get_rule(cfg.rule)
        self.sizes = cfg.sizes(n_in, n_out)
        self.L = len(self.sizes) - 1
        self.counts: Counter = Counter()
        self.step_index = 0
        self.lr = cfg.lr
        self.accountant = None  # set by the caller to tally chip events

    def start_epoch(self, epoch: int) -> None:
        """Set the epoch's learning rate ``lr * lr_decay**epoch``."""
        self.lr = self.cfg.lr * self.cfg.lr_decay**epoch

    def drop(self, i: int, r: np.ndarray) -> np.ndarray:
        """Learning-channel dropout: zero the dropped components of ``R^h`` in place."""
        keep = channel_keep(self.cfg, self.step_index, i, r.shape)
        self.counts["rng_bits:channel"] += 8 * keep.size
        np.multiply(r, keep, out=r)
        return r

    def hidden_update_mode(self, i: int) -> str:
        """``update_mode`` for layer ``i``: the top layer always takes ``full``."""
        return self.cfg.update_mode if i < self.L - 1 else "full"

    def trained_layers(self) -> list[int]:
        """Indices of the layers whose weights the run updates (rule and ``freeze``)."""
        return trained_layers(self.rule, self.L, self.cfg.freeze)


class FloatEngine(Engine):
    """float32 reference training (the paper's arithmetic).

    ``W`` are the weights, ``b`` the biases (``bias``; None otherwise) and
    ``C`` the learning-channel matrices, all float32.
    """

    def __init__(self, cfg: TrainConfig, n_in: int, n_out: int) -> None:
        super().__init__(cfg, n_in, n_out)
        self.W = [w.astype(np.float32) for w in init_weights(cfg.seed, self.sizes)]
        self.b = init_biases(cfg, self.sizes, np.float32)
        self.C = [c.astype(np.float32) for c in build_feedback(cfg, self.rule, self.sizes)]
        self._C_mag = [np.abs(c) for c in self.C]  # sign-concordant: magnitudes
        self.C3 = (
            [c.astype(np.float32) for c in build_synapse_feedback(cfg, self.sizes)]
            if cfg.feedback_per_synapse
            else []
        )
        self.lq = LogQuantizer(cfg.error_bits, cfg.error_alpha_log2) if cfg.error_bits else None
        self.block = bool(cfg.error_bits) and cfg.error_scale == "block"
        self.stochastic_errors = bool(cfg.error_bits) and cfg.error_rounding == "stochastic"
        self._err_rng = None
        frac = cfg.error_word_bits - 1 - cfg.error_int_bits
        # block scaling: the shared exponent ranges over the alphas the error
        # word can hold, 2**-frac .. 2**error_int_bits (real units)
        self._top_range = (-frac, cfg.error_int_bits)
        self._ws = kernels.Workspace()
        self._vel: dict = {}  # momentum: the velocity u of each parameter, by name

    def _step(self, name: str, p: np.ndarray, d: np.ndarray) -> None:
        """``p += d``, or with momentum ``u <- mu u + d; p += u`` (float32)."""
        mu = self.cfg.momentum
        if not mu:
            p += d
            return
        u = self._vel.get(name)
        if u is None:
            u = self._vel[name] = np.zeros(p.shape, np.float32)
        u *= np.float32(mu)
        u += d
        p += u

    def forward(self, x: np.ndarray) -> tuple[list, list, np.ndarray]:
        """Activations ``O^0..O^L`` and pre-activations ``S^1..S^L``."""
        A = [x]
        S = []
        for i, w in enumerate(self.W):
            s = A[-1] @ w.T
            if self.b is not None:
                s += self.b[i]
            S.append(s)
            if i < self.L - 1:
                A.append(act_float(self.cfg.act, s))
            elif self.cfg.output == "softmax":
                A.append(softmax_float(s))
            elif self.cfg.output == "sigmoid":
                A.append(act_float("logistic", s))
            else:
                A.append(s)
        return A, S, A[-1]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Output ``O^L`` as real values, shape ``(B, N_L)``."""
        return self.forward(x.astype(np.float32))[2]

    def _q(self, r: np.ndarray) -> np.ndarray:
        """Log-quantize error messages (rows of ``r``) as configured."""
        if self.lq is None:
            return r
        if self.stochastic_errors:
            return self._q_stochastic(r)
        if self.block:
            k = self.lq.bits
            q, _ = block_log_quantize(r, k, *self._top_range, self.lq.emax, None)
            return q.astype(np.float32)
        return self.lq(r).astype(np.float32)

    def _q_stochastic(self, r: np.ndarray) -> np.ndarray:
        """Stochastic (unbiased) log quantization of messages, in float.

        The rule of the fixed engine (:func:`stochastic_log_quantize`) with
        uniform reals from this step's generator (see
        :data:`FLOAT_ERROR_STREAM`); not the fixed engine's random bits.
        """
        k, emax = self.lq.bits, self.lq.emax
        if self._err_rng is None:
            self._err_rng = streams.generator(
                self.cfg.seed, "float_error_rounding", self.step_index
            )
        u = self._err_rng.random(r.shape)
        if self.block:
            _, top = block_log_quantize(r, k, *self._top_range, emax, None)
            t = top[:, None]
            q = stochastic_log_quantize(r, k, t, t - emax, u)
            q[top < self._top_range[0]] = 0.0  # an all-zero message stays zero
        else:
            q = stochastic_log_quantize(r, k, self.lq.top, self.lq.top - emax, u)
        return q.astype(np.float32)

    def train_batch(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        """One minibatch step; returns the output ``O^L`` before the update."""
        A, S, out = self.forward(x)
        if not np.isfinite(out).all():
            raise FloatingPointError("non-finite output")
        self._err_rng = None  # this step's error-rounding stream, drawn on first use
        r_top = self._q(t - out)
        self._A, self._S = A, S
        self._channel_step()
        R, msgs, srcs = hidden_errors(self.rule, self.L, r_top, self)
        if self.accountant is not None:
            self.accountant.observe(R, msgs, srcs)
        scale = np.float32(self.lr / x.shape[0])
        for i in self.trained_layers():
            mode = self.hidden_update_mode(i)
            if self.b is not None:
                self._step(f"b{i}", self.b[i], self._bias_step(R[i], scale, mode))
            if self.C3 and i < self.L - 1:
                self._step(f"W{i}", self.W[i], self._synapse_grad(i, r_top) * scale)
                continue
            if mode != "full":
                d = (R[i].T @ A[i]) * scale
                self._step(f"W{i}", self.W[i], self._sign_only(d) if mode == "sign" else np.abs(d))
                continue
            # the gradient in a kept buffer: a fresh (N_out, N_in) temporary
            # every step would go back to the OS and fault in again
            dw = self._ws.get(f"gW{i}", (R[i].shape[1], A[i].shape[1]),
                              np.result_type(R[i], A[i]))  # fmt: skip
            np.matmul(R[i].T, A[i], out=dw)
            if self.cfg.update_bits:
                self._step(f"W{i}", self.W[i], self._update_q(dw * scale))
            else:
                np.multiply(dw, scale, out=dw)
                self._step(f"W{i}", self.W[i], dw)
        if self.rule.adaptive:
            src_top = self.rule.source == "top"
            for i in range(self.L - 1):
                src = R[self.L - 1] if src_top else R[i + 1]
                self._step(f"C{i}", self.C[i], self._update_q((A[i + 1].T @ src) * scale))
        self.step_index += 1
        return out

    def _channel_step(self) -> None:
        """This minibatch's C^h: redrawn (``feedback_resample``) and/or with
        the signs of the current forward weights (``feedback_sign``)."""
        cfg = self.cfg
        if cfg.feedback_resample:
            fresh = build_feedback(cfg, self.rule, self.sizes, self.step_index + 1)
            self.C = [c.astype(np.float32) for c in fresh]
            self._C_mag = [np.abs(c) for c in self.C]
        if cfg.feedback_sign == "concordant":
            self.C = [m * np.sign(self.W[i + 1].T) for i, m in enumerate(self._C_mag)]

    def _bias_step(self, r: np.ndarray, scale: np.float32, mode: str) -> np.ndarray:
        """The update of a bias vector: ``eta / B * sum_b R_b`` (the weight
        rule on a constant input 1), through ``update_mode`` and ``update_bits``."""
        d = r.sum(axis=0, dtype=np.float32) * scale
        if mode == "sign":
            return self._sign_only(d)
        if mode == "magnitude":
            return np.abs(d)
        return self._update_q(d)

    @staticmethod
    def _sign_only(d: np.ndarray) -> np.ndarray:
        """``sign(d) * 2**t``, ``2**t`` the smallest power of two >= max |d|."""
        m = float(np.abs(d).max())
        if m == 0.0:
            return d
        return (np.sign(d) * 2.0 ** math.ceil(math.log2(m))).astype(np.float32)

    def _synapse_grad(self, i: int, r_top: np.ndarray) -> np.ndarray:
        """Batch-summed update of ``W^h`` without weight cooperation:
        ``sum_b f'(S_bi) (sum_k C_ijk R_bk) O_bj`` (float32, ``(N_h, N_{h-1})``)."""
        c = self.C3[i]
        n_h, n_prev, n_top = c.shape
        e = (r_top @ c.reshape(n_h * n_prev, n_top).T).reshape(-1, n_h, n_prev)
        if not self.cfg.no_derivative:
            e *= deriv_float(self.cfg.act, self._S[i], self._A[i + 1])[:, :, None]
        e *= self._A[i][:, None, :]
        return e.sum(axis=0)

    def _update_q(self, d: np.ndarray) -> np.ndarray:
        k = self.cfg.update_bits
        if not k:
            return d
        m = float(np.abs(d).max())
        if m == 0.0:
            return d
        top = math.ceil(math.log2(m))
        return log_quantize(d, k, top, (1 << (k - 1)) - 2 if k > 1 else 0).astype(np.float32)

    # ops for hidden_errors
    def project(self, i: int, src: np.ndarray) -> np.ndarray:
        if self.rule.matrix == "W":
            return src @ self.W[i + 1]
        return src @ self.C[i].T

    def carry(self, i: int, p: np.ndarray, log: bool) -> np.ndarray:
        return self._q(p) if log else p

    def finish(self, i: int, p: np.ndarray) -> np.ndarray:
        if self.cfg.no_derivative:
            return self._q(p)
        return self._q(p * deriv_float(self.cfg.act, self._S[i], self._A[i + 1]))


class FixedEngine(Engine):
    """The chip's bit-exact integer training step.

    Attributes
    ----------
    fm : Formats
        Every tensor's fixed-point format.
    W, C : list of ndarray (float32 holding integers)
        Forward weights and learning-channel matrices as stored codes (every
        format is at most 24 bits wide, so float32 holds them exactly and
        feeds float32 BLAS directly).
    b : list of ndarray (float32 holding integers) or None
        With ``bias``: the bias codes ``b^h`` (weight format), shape
        ``(N_h,)``; every accumulator of layer h starts at
        ``b_code * 2**src.frac``. None without biases.
    """

    def __init__(self, cfg: TrainConfig, n_in: int, n_out: int) -> None:
        super().__init__(cfg, n_in, n_out)
        self.fm = fm = self._formats(cfg)
        self.luts = Luts.build(cfg.act, cfg.output, fm)
        self._fd = np.ascontiguousarray(np.stack([self.luts.f, self.luts.df], axis=1))
        self.W = []
        for i, w in enumerate(init_weights(cfg.seed, self.sizes)):
            q, n = fm.weight.quantize(w)
            self.counts[f"sat:W^{i + 1}:init"] += n
            self.W.append(q.astype(np.float32))
        self.b = init_biases(cfg, self.sizes, np.float32)  # codes in the weight format
        qs = []
        for i, c in enumerate(build_feedback(cfg, self.rule, self.sizes)):
            q, n = fm.feedback.quantize(c)
            self.counts[f"sat:C^{i + 1}:init"] += n
            qs.append(q.astype(np.float32))
        # SRBP-type C^h all take R^L: stack them so one product feeds every
        # hidden layer; C[i] are row views into the stack
        self._C_all = np.vstack(qs) if qs and self.rule.source == "top" else None
        if self._C_all is not None:
            edges = np.cumsum([0] + [q.shape[0] for q in qs])
            self.C = [self._C_all[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]
        else:
            self.C = qs
        self._C_mag = [np.abs(c) for c in self.C]  # sign-concordant: magnitudes
        # float64 copies of W^h for layers whose forward products are float64
        # BLAS in practice (wide weights); the update unit writes both copies.
        # Elsewhere a product that needs float64 casts on the spot.
        self._W64 = []
        for i, w in enumerate(self.W):
            src = fm.inp if i == 0 else fm.act
            wide = w.shape[1] * src.max_abs * fm.weight.max_abs >= 16 * kernels.F32_EXACT
            self._W64.append(w.astype(np.float64) if wide else None)
        # the first layer is stored transposed (W^1 is a view of _WT0): an input
        # column that is zero in a whole batch (image borders) is then a
        # contiguous row of W^T that the product and the update unit skip
        self._WT0 = np.ascontiguousarray(self.W[0].T)
        self.W[0] = self._WT0.T
        self._W64T0 = None
        if self._W64[0] is not None:
            self._W64T0 = np.ascontiguousarray(self._W64[0].T)
            self._W64[0] = self._W64T0.T
        self._rows0 = np.arange(self.sizes[0], dtype=np.int64)
        self._cols = None
        self._ws = kernels.Workspace()
        self._proj: dict = {}
        self._acc_fmt = [fm.acc(i, cfg.acc_bits) for i in range(self.L)]
        self.lq = (
            LogQuantizer(cfg.error_bits, cfg.error_alpha_log2, fm.error.frac)
            if cfg.error_bits
            else None
        )
        self.block = bool(cfg.error_bits) and cfg.error_scale == "block"
        self.stochastic_errors = bool(cfg.error_bits) and cfg.error_rounding == "stochastic"
        self.e_keys = [streams.counter_key(cfg.seed, "error_rounding", i) for i in range(self.L)]
        if self.lq and self.block:
            # block scaling: a message's exponent may be anything from one LSB
            # to 2**(word_bits - 1), and its finest level one LSB
            self._log = (cfg.error_bits, 0, np.zeros(0), np.zeros(1))
            self._block_emax = 0 if cfg.error_bits == 1 else (1 << (cfg.error_bits - 1)) - 2
            self._r_max = float(1 << (fm.error.bits - 1))
            self._r_q = 1.0
        elif self.lq:
            self._log = (
                cfg.error_bits,
                self.lq.top,
                *kernels.log_table(cfg.error_bits, self.lq.top, self.lq.emax),
            )
            # log-coded errors are +-2**l, top - emax <= l <= top: every error
            # is a multiple of the finest level (the quantum of their products)
            self._r_max = float(1 << self.lq.top)
            self._r_q = float(1 << (self.lq.top - self.lq.emax))
        else:
            self._log = (0, 0, np.zeros(0), np.zeros(1))
            self._r_max = float(fm.error.max_abs)
            self._r_q = 1.0
        self._check_datapath()
        # per layer, what the forward pass needs every step: operand bounds,
        # the activation unit's shift and the names of its arrays and counts
        self._layers = [
            (
                (fm.inp if i == 0 else fm.act).max_abs, float(fm.weight.max_abs),
                self._acc_fmt[i].qmax, self._acc_fmt[i].frac - fm.lut.frac,
                f"acc{i}", f"O{i + 1}", f"D{i + 1}", f"sat:acc^{i + 1}", f"sat:S^{i + 1}",
            )
            for i in range(self.L)
        ]  # fmt: skip
        self.w_keys = [streams.counter_key(cfg.seed, "weight_update", i) for i in range(self.L)]
        self._upd_keys = [(f"sat:W^{i + 1}", f"changed:W^{i + 1}") for i in range(self.L)]
        self.c_keys = [streams.counter_key(cfg.seed, "feedback_update", i) for i in range(self.L)]
        self.b_keys = [streams.counter_key(cfg.seed, "bias_update", i) for i in range(self.L)]
        self.V: dict = {}  # momentum: int64 velocity codes by parameter ("W0", "b0", "C0")
        if cfg.momentum:
            self.mu_reg = int(round(cfg.momentum * (1 << cfg.lr_frac)))
            self.extra = cfg.velocity_bits - cfg.weight_bits
            self.v_fmt = {
                "W": FixedFormat(cfg.velocity_bits, fm.weight.frac + self.extra),
                "b": FixedFormat(cfg.velocity_bits, fm.weight.frac + self.extra),
                "C": FixedFormat(cfg.feedback_bits + self.extra, fm.feedback.frac + self.extra),
            }
            kinds = {"W": 0, "b": 1, "C": 2}
            for i in range(self.L):
                self.V[f"W{i}"] = np.zeros(self.W[i].shape, np.int64)
                if self.b is not None:
                    self.V[f"b{i}"] = np.zeros(self.b[i].shape, np.int64)
                if self.rule.adaptive and i < len(self.C):
                    self.V[f"C{i}"] = np.zeros(self.C[i].shape, np.int64)
            self.m_keys = {
                name: streams.counter_key(cfg.seed, "momentum", int(name[1:]), kinds[name[0]])
                for name in self.V
            }

    def _momentum(
        self, name: str, p: np.ndarray, g: np.ndarray, mult: int, shift: int,
        fmt: FixedFormat, key: int, ubits: int, mirror: np.ndarray | None = None,
    ) -> tuple[int, int, int]:  # fmt: skip
        """The update unit with momentum on parameter ``name`` (see
        :func:`kernels.momentum_kernel` and :data:`RNG_MOMENTUM`); counts the
        velocity's saturations as ``sat:vW^h`` (``sat:vb^h``, ``sat:vC^h``)
        and its decay and step random bits as ``rng_bits:velocity``.
        Returns the parameter's ``(sat, changed, bits)``."""
        v, n, step = self.V[name], p.size, self.step_index
        mkey = self.m_keys[name]
        bases = (
            kernels._base(key, step * n),
            kernels._base(mkey, 2 * step * n),
            kernels._base(mkey, (2 * step + 1) * n),
        )
        sat, changed, bits, sat_v, bits_v = kernels.apply_momentum(
            p, v, g, mult, shift, self.extra, self.mu_reg, self.cfg.lr_frac, fmt,
            self.v_fmt[name[0]], self.cfg.rounding == "stochastic", bases, ubits, mirror,
        )  # fmt: skip
        self.counts[self._velocity_sat(name)] += sat_v
        self.counts["rng_bits:velocity"] += bits_v
        return sat, changed, bits

    def _velocity_sat(self, name: str) -> str:
        """Counter of the velocity saturations of parameter ``name`` ("W0" -> ``sat:vW^1``)."""
        return f"sat:v{name[0]}^{int(name[1:]) + 1}"

    def _formats(self, cfg: TrainConfig) -> Formats:
        """Every tensor's format (a subclass may change the input's)."""
        return Formats.from_config(cfg)

    def _fan_ins(self) -> list[int]:
        """Bounds on the number of terms of the error unit's input sums."""
        return list(self.sizes)

    def _check_datapath(self) -> None:
        """Refuse formats whose products could overflow the int64 datapath."""
        fm, cfg = self.fm, self.cfg
        m = fm.weight if self.rule.matrix == "W" else fm.feedback
        worst = float(fm.error.max_abs) * m.max_abs * max(self._fan_ins()) * fm.deriv.qmax
        grad = float(fm.error.max_abs) * fm.act.max_abs * cfg.batch * (1 << cfg.lr_frac)
        self._f64_exact = worst < 2.0**53  # the error unit may multiply in float64
        if cfg.momentum:
            # the gradient lands on the velocity's LSB: a shift s - e <= 0 is
            # a left shift of the product by e - s bits
            extra = cfg.velocity_bits - cfg.weight_bits
            s_min = min(
                fm.error.frac + min(fm.inp.frac, fm.act.frac) + cfg.lr_frac - fm.weight.frac,
                fm.act.frac + fm.error.frac + cfg.lr_frac - fm.feedback.frac,
                fm.error.frac + cfg.lr_frac - fm.weight.frac,
            )
            grad *= 2.0 ** max(0, extra - s_min)
        if max(worst, grad) >= 2.0**62:
            raise ConfigError(
                "error_word_bits",
                cfg.error_word_bits,
                "narrower error, weight or feedback words (products would exceed 62 bits)",
            )

    # ------------------------------------------------------------------
    def lr_register(self, batch: int) -> int:
        """The update unit's multiplier ``round(lr / batch * 2**lr_frac)``."""
        return int(round(self.lr / batch * (1 << self.cfg.lr_frac)))

    def quantize_input(self, x: np.ndarray, ws: kernels.Workspace | None = None) -> np.ndarray:
        """Input codes ``O^0`` (float32 holding integers); in ``ws`` if given."""
        q = (ws or kernels.Workspace(False)).get("O0", x.shape)
        f = self.fm.inp
        n, self._rowsum0 = kernels.quantize_kernel(x, f.frac, f.qmin, f.qmax, q)
        self.counts["sat:O^0"] += n
        return q

    def forward(
        self,
        a0: np.ndarray,
        count: bool = True,
        ws: kernels.Workspace | None = None,
        cols: tuple | None = None,
    ) -> tuple[list, list]:
        """Integer forward pass.

        ``ws`` holds the step's arrays (the next step that uses it overwrites
        the results); fresh arrays when not given. ``cols`` is ``(idx, a0c)``
        when only the input columns ``idx[:k]`` hold non-zero entries and
        ``a0c = a0[:, idx[:k]]``: the first layer's product skips the others.

        Returns
        -------
        A : list of ndarray
            ``O^0 .. O^L`` codes.
        D : list of ndarray
            ``f'(S^h)`` codes of hidden layers (format ``deriv``).
        """
        fm, cfg, luts, lut = self.fm, self.cfg, self.luts, self.fm.lut
        ws = ws or kernels.Workspace(False)
        counts = self.counts
        A, D = [a0], []
        rowsum = self._rowsum0
        last = self.L - 1
        for i, w in enumerate(self.W):
            max_a, max_w, acc_max, sh, k_acc, k_o, k_d, c_acc, c_s = self._layers[i]
            a = A[-1]
            bound = kernels.partial_sum_bound(a, max_a, max_w, rowsum)
            init = None
            if self.b is not None:
                # the accumulator starts at the bias: b^h in the accumulator's
                # fraction (weight.frac + src.frac), i.e. b_code << src.frac
                init = self._bias_init(i)
                bound += float(np.abs(init).max()) if init.size else 0.0
            if bound <= acc_max:  # no partial sum can saturate: plain BLAS
                w64 = w if self._W64[i] is None else self._W64[i]
                if i == 0 and cols is not None:
                    # only the input columns with a non-zero entry, and the
                    # rows of W^T they multiply (dropped terms are exact zeros)
                    idx, a = cols
                    wt = (
                        self._WT0
                        if bound < kernels.F32_EXACT or self._W64T0 is None
                        else (self._W64T0)
                    )
                    rows = ws.get("WT0c", (a.shape[1], wt.shape[1]), wt.dtype)
                    kernels.gather_rows(wt, idx, rows)
                    acc = kernels.product_into(a, rows, rows, bound, ws, k_acc)
                else:
                    acc = kernels.product_into(a, w.T, w64.T, bound, ws, k_acc)
                if init is not None:  # exact: the bound covers the sum
                    acc += init.astype(acc.dtype)
                nsat = 0
            else:
                acc, nsat = kernels.exact_matmul(
                    a, w.T, max_a, fm.weight.max_abs, self._acc_fmt[i], rowsum, init
                )
            out = ws.get(k_o, acc.shape)
            if i < last:
                d = ws.get(k_d, acc.shape)
                n2, rowsum = kernels.act_deriv_kernel(acc, sh, lut.qmin, lut.qmax, self._fd, out, d)
                D.append(d)
            elif cfg.output == "sigmoid":
                n2, _ = kernels.act_kernel(acc, sh, lut.qmin, lut.qmax, luts.out, out)
            elif cfg.output == "softmax":
                n2 = kernels.softmax_kernel(acc, sh, lut.qmin, lut.qmax, luts.exp, fm.out.frac, out)
            else:
                sh = self._acc_fmt[i].frac - fm.out.frac
                n2 = kernels.requant_kernel(acc, sh, fm.out.qmin, fm.out.qmax, out)
            A.append(out)
            if count:
                counts[c_acc] += nsat
                counts[c_s] += n2
        return A, D

    def _bias_init(self, i: int) -> np.ndarray:
        """Accumulator start values of layer ``i``: ``b_code * 2**src.frac``
        (float64), the bias on the accumulator's LSB."""
        src = self.fm.inp if i == 0 else self.fm.act
        return self.b[i].astype(np.float64) * float(1 << src.frac)

    def _input_columns(self, a0: np.ndarray) -> tuple | None:
        """``(idx, a0[:, idx[:k]])`` for the input columns holding a non-zero
        entry in this batch, when enough are all zero to pay for the gathers."""
        n = a0.shape[1]
        if n < 64:
            return None
        idx = self._ws.get("cols0", (n,), np.int64)
        k = kernels.nonzero_columns(a0, idx)
        if k > 0.85 * n:
            return None
        a0c = self._ws.get("O0c", (a0.shape[0], k))
        kernels.gather_columns(a0, idx, a0c)
        return idx, a0c

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Output ``O^L`` as real values (no counts), shape ``(B, N_L)``."""
        A, _ = self.forward(self.quantize_input(x), count=False)
        return self.fm.out.to_real(A[-1])

    def _error(
        self,
        p: np.ndarray,
        d: np.ndarray | None,
        shift: int,
        name: str,
        log: bool = True,
        layer: int = 0,
        kind: int = 0,
    ) -> np.ndarray:
        """Fused error unit: times ``f'``, round half even, saturate, log-quantize.

        With block scaling each row (one message) is log-quantized with its
        own exponent (:func:`kernels.error_kernel_block`). With
        ``error_rounding = "stochastic"`` the log stage rounds with the random
        words of ``layer``'s key and message ``kind`` (see
        :data:`RNG_ERROR_ROUNDING`); their bits are counted as
        ``rng_bits:error``.
        """
        e = self.fm.error
        out = self._ws.get(name, p.shape)
        if log and self.stochastic_errors:
            return self._error_stochastic(p, d, shift, name, layer, kind, out)
        if log and self.block:
            tops = self._ws.get("top:" + name, (p.shape[0],), np.int64)
            self.counts[name] += kernels.error_kernel_block(
                p, p if d is None else d, d is not None, shift, e.qmin, e.qmax,
                self.cfg.error_bits, self._block_emax, e.bits - 1, self._f64_exact, out, tops,
            )  # fmt: skip
            return out
        bits, top, thr, levels = self._log if log else (0, 0, *self._log[2:])
        self.counts[name] += kernels.error_kernel(
            p, p if d is None else d, d is not None, shift, e.qmin, e.qmax, bits, top, thr,
            levels, self._f64_exact, out,
        )  # fmt: skip
        return out

    def _error_stochastic(self, p, d, shift, name, layer, kind, out) -> np.ndarray:
        e, cfg = self.fm.error, self.cfg
        if p.shape[0] > cfg.batch:
            raise ValueError(
                f"a minibatch of {p.shape[0]} samples exceeds batch = {cfg.batch}: "
                "the error-rounding counters would repeat"
            )
        key = self.e_keys[layer]
        c0 = error_counter(self.step_index, kind, cfg.batch, p.shape[1])
        dd = p if d is None else d
        if self.block:
            tops = self._ws.get("top:" + name, (p.shape[0],), np.int64)
            sat, drawn = kernels.error_kernel_block_stochastic(
                p, dd, d is not None, shift, e.qmin, e.qmax, cfg.error_bits, self._block_emax,
                e.bits - 1, self._f64_exact, key, c0, out, tops,
            )  # fmt: skip
        else:
            sat, drawn = kernels.error_kernel_stochastic(
                p, dd, d is not None, shift, e.qmin, e.qmax, cfg.error_bits, self.lq.top,
                self.lq.emax, self._f64_exact, key, c0, out,
            )  # fmt: skip
        self.counts[name] += sat
        self.counts["rng_bits:error"] += drawn
        return out

    def output_error(self, out: np.ndarray, t: np.ndarray) -> np.ndarray:
        """``R^L = T - O^L`` in the error word, log-quantized if configured."""
        fm = self.fm
        r = self._ws.get("T-O", out.shape)
        np.multiply(t, np.float32(1 << fm.out.frac), out=r)
        np.subtract(r, out, out=r)  # exact: codes far below 2**24
        return self._error(
            r, None, fm.out.frac - fm.error.frac, f"sat:R^{self.L}", layer=self.L - 1
        )

    def train_batch(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        """One minibatch step on the chip; returns ``O^L`` (real) before the update."""
        ws = self._ws
        a0 = self.quantize_input(x, ws)
        self._cols = self._input_columns(a0)
        A, D = self.forward(a0, ws=ws, cols=self._cols)
        self._D = D
        self._channel_step()
        R, msgs, srcs = hidden_errors(self.rule, self.L, self.output_error(A[-1], t), self)
        if self.accountant is not None:
            self.accountant.observe(R, msgs, srcs)
        self._apply_updates(A, R, x.shape[0])
        self.step_index += 1
        return self.fm.out.to_real(A[-1])

    def feedback_codes(self, draw: int) -> list[np.ndarray]:
        """C^h codes of a ``feedback_resample`` draw (see :func:`build_feedback`);
        saturations are counted as ``sat:C^h:resample``."""
        out = []
        for i, c in enumerate(build_feedback(self.cfg, self.rule, self.sizes, draw)):
            q, n = self.fm.feedback.quantize(c)
            self.counts[f"sat:C^{i + 1}:resample"] += n
            out.append(q.astype(np.float32))
        return out

    def _channel_step(self) -> None:
        """This minibatch's C^h codes (resampled and/or sign-concordant), in place."""
        cfg = self.cfg
        if cfg.feedback_resample:
            for c, q in zip(self.C, self.feedback_codes(self.step_index + 1), strict=True):
                np.copyto(c, q)
            self._C_mag = [np.abs(c) for c in self.C]
        if cfg.feedback_sign == "concordant":
            for i, m in enumerate(self._C_mag):
                np.multiply(m, np.sign(self.W[i + 1].T), out=self.C[i])

    def _apply_updates(self, A: list, R: list, batch: int) -> None:
        fm, cfg, ws = self.fm, self.cfg, self._ws
        mult = self.lr_register(batch)
        stoch = cfg.rounding == "stochastic"
        for i in self.trained_layers():
            src_fmt = fm.inp if i == 0 else fm.act
            shift = fm.error.frac + src_fmt.frac + cfg.lr_frac - fm.weight.frac
            mode = self.hidden_update_mode(i)
            if self.b is not None:
                self._update_bias(i, R[i], mult, mode)
            if mode != "full":
                self._update_mode(i, A, R, mult, shift, mode)
                continue
            if cfg.momentum:  # the general path (W^1 through its transposed view)
                self._update_mode(i, A, R, mult, shift, mode)
                continue
            if i == 0 and stoch and not cfg.update_bits and shift > 0:
                self._update_first(A[0], R[0], mult, shift)
                continue
            g = self._grad(R[i].T, A[i], self._r_max, src_fmt.max_abs, f"gW{i}")
            if i and stoch and not cfg.update_bits and shift > 0:  # the common case, direct
                m = self._W64[i]
                sat, changed, bits = kernels.apply_update_flat(
                    self.W[i].reshape(-1), g.reshape(-1), mult, shift, fm.weight.qmin,
                    fm.weight.qmax, self.w_keys[i], self.step_index * self.W[i].size,
                    kernels._NO_MIRROR if m is None else m.reshape(-1),
                )  # fmt: skip
                self.counts[self._upd_keys[i][0]] += sat
                self.counts[self._upd_keys[i][1]] += changed
                self.counts["rng_bits"] += bits
                continue
            buf = ws.get(f"bufW{i}", (self.W[i].size,), np.int64) if cfg.update_bits else None
            sat, changed, bits = kernels.apply_update(
                self.W[i], g, mult, shift, fm.weight, stoch, self.w_keys[i],
                self.step_index * self.W[i].size, cfg.update_bits,
                self._W64[i] if i else None, buf,
            )  # fmt: skip
            if i == 0 and self._W64T0 is not None:  # W^1 is a view: refresh its copy
                np.copyto(self._W64T0, self._WT0)
            self.counts[f"sat:W^{i + 1}"] += sat
            self.counts[f"changed:W^{i + 1}"] += changed  # the key exists even when 0
            self.counts["rng_bits"] += bits
        if self.rule.adaptive:
            for i in range(self.L - 1):
                src = R[self.L - 1] if self.rule.source == "top" else R[i + 1]
                g = self._grad(A[i + 1].T, src, fm.act.max_abs, self._r_max, f"gC{i}")
                shift = fm.act.frac + fm.error.frac + cfg.lr_frac - fm.feedback.frac
                self._update_unit(f"C^{i + 1}", f"C{i}", self.C[i], g, mult, shift,
                                  fm.feedback, self.c_keys[i])  # fmt: skip

    def _update_bias(self, i: int, r: np.ndarray, mult: int, mode: str) -> None:
        """Update ``b^{i+1}`` through the update unit, as a weight on a
        constant input 1.0: integer gradient ``sum_b R_b`` (codes), shift
        ``error.frac + lr_frac - weight.frac``, its own random stream
        (:data:`RNG_BIAS_UPDATE`); counts ``sat:b^h``, ``changed:b^h``."""
        fm, cfg = self.fm, self.cfg
        g = r.sum(axis=0, dtype=np.float64)  # exact: batch * max|R| < 2**53
        shift = fm.error.frac + cfg.lr_frac - fm.weight.frac
        self._update_unit(f"b^{i + 1}", f"b{i}", self.b[i], g, mult, shift, fm.weight,
                          self.b_keys[i], mode)  # fmt: skip

    def _update_mode(self, i: int, A: list, R: list, mult: int, shift: int, mode: str) -> None:
        """Sign-only (a 1-bit log-quantized update) or magnitude-only (``|g|``)
        update of hidden layer ``i`` through the general update unit (also
        every layer's update with momentum, ``mode`` then may be ``full``)."""
        fm = self.fm
        src_fmt = fm.inp if i == 0 else fm.act
        g = self._grad(R[i].T, A[i], self._r_max, src_fmt.max_abs, f"gW{i}")
        self._update_unit(f"W^{i + 1}", f"W{i}", self.W[i], g, mult, shift, fm.weight,
                          self.w_keys[i], mode, self._W64[i] if i else None)  # fmt: skip
        if i == 0 and self._W64T0 is not None:  # W^1 is a view: refresh its copy
            np.copyto(self._W64T0, self._WT0)

    def _update_unit(
        self, name: str, vname: str, p: np.ndarray, g: np.ndarray, mult: int, shift: int,
        fmt: FixedFormat, key: int, mode: str = "full", mirror: np.ndarray | None = None,
    ) -> None:  # fmt: skip
        """The general update unit on parameter ``p`` (tensor ``name``, e.g.
        ``W^2``; velocity ``vname``): ``mode`` magnitude takes ``|g|`` (in
        place), sign a 1-bit log-quantized update, else ``update_bits``; with
        momentum through :meth:`_momentum`. Counts ``sat:<name>``,
        ``changed:<name>`` and ``rng_bits``."""
        cfg = self.cfg
        if mode == "magnitude":
            np.abs(g, out=g)
        ubits = 1 if mode == "sign" else cfg.update_bits
        if cfg.momentum:
            sat, changed, bits = self._momentum(vname, p, g, mult, shift, fmt, key, ubits, mirror)
        else:
            sat, changed, bits = kernels.apply_update(
                p, g, mult, shift, fmt, cfg.rounding == "stochastic", key,
                self.step_index * p.size, ubits, mirror,
            )  # fmt: skip
        self.counts[f"sat:{name}"] += sat
        self.counts[f"changed:{name}"] += changed
        self.counts["rng_bits"] += bits

    def _update_first(self, a0: np.ndarray, r: np.ndarray, mult: int, shift: int) -> None:
        # W^1 stored transposed: the gradient W^T rows are a0^T @ R^1, only
        # for the input columns that are non-zero in this batch
        fm = self.fm
        if self._cols is not None:
            rows, a = self._cols
        else:
            rows, a = self._rows0, a0
        gt = self._grad(a.T, r, fm.inp.max_abs, self._r_max, "gWT0")
        sat, changed, bits = kernels.apply_update_rows_t(
            self._WT0, gt, rows, mult, shift, fm.weight, self.w_keys[0],
            self.step_index * self._WT0.size, self._W64T0,
        )  # fmt: skip
        self.counts["sat:W^1"] += sat
        self.counts["changed:W^1"] += changed
        self.counts["rng_bits"] += bits

    def _grad(self, a: np.ndarray, b: np.ndarray, max_a: float, max_b: float, name: str):
        # gradient sums over the batch; one factor is an error, so every
        # product is a multiple of the error quantum
        bound = kernels.partial_sum_bound(a, max_a, max_b, quantum=self._r_q)
        return kernels.product_into(a, b, b, bound, self._ws, name)

    # ops for hidden_errors -------------------------------------------------
    def _pfrac(self) -> int:
        m = self.fm.weight if self.rule.matrix == "W" else self.fm.feedback
        return self.fm.error.frac + m.frac

    def project(self, i: int, src: np.ndarray) -> np.ndarray:
        fm, ws, rmax, rq = self.fm, self._ws, self._r_max, self._r_q
        if self._C_all is not None and self.rule.matrix == "C":
            if i == self.L - 2:  # first hidden layer asked: one product for all of them
                bound = kernels.partial_sum_bound(src, rmax, fm.feedback.max_abs, quantum=rq)
                p = kernels.product_into(src, self._C_all.T, self._C_all.T, bound, ws, "proj")
                col = 0
                for h, c in enumerate(self.C):
                    self._proj[h] = np.ascontiguousarray(p[:, col : col + c.shape[0]])
                    col += c.shape[0]
            return self._proj.pop(i)
        if self.rule.matrix == "W":
            m, mmax = self.W[i + 1], fm.weight.max_abs
        else:
            m, mmax = self.C[i].T, fm.feedback.max_abs
        bound = kernels.partial_sum_bound(src, rmax, mmax, quantum=rq)
        return kernels.product_into(src, m, m, bound, ws, f"proj{i}")

    def carry(self, i: int, p: np.ndarray, log: bool) -> np.ndarray:
        shift = self._pfrac() - self.fm.error.frac
        return self._error(p, None, shift, f"sat:d^{i + 1}", log, layer=i, kind=1)

    def finish(self, i: int, p: np.ndarray) -> np.ndarray:
        fm = self.fm
        # C rules project locally (wide sums); W rules receive error words
        frac = self._pfrac() if self.rule.matrix == "C" else fm.error.frac
        if self.cfg.no_derivative:
            return self._error(p, None, frac - fm.error.frac, f"sat:R^{i + 1}", layer=i)
        shift = frac + fm.deriv.frac - fm.error.frac
        return self._error(p, self._D[i], shift, f"sat:R^{i + 1}", layer=i)
