"""The float32 engine: the paper's arithmetic, the reference the chip is
measured against.

It follows the same rule table (:func:`neurosim.nn.base.hidden_errors`) as
the fixed engine; its error quantizer rounds stochastically with uniform
reals from the stream ``"float_error_rounding"`` (one generator per step),
not with the fixed engine's random bits.
"""

from __future__ import annotations

import math

import numpy as np

from neurosim.nn.base import Engine, hidden_errors
from neurosim.nn.draws import build_feedback, build_synapse_feedback, init_biases, init_weights
from neurosim.nn.network import act_float, deriv_float, softmax_float
from neurosim.nn.rules import projects_at_sender
from neurosim.numerics import streams
from neurosim.numerics.fixedpoint import (
    LogQuantizer,
    block_log_quantize,
    stochastic_log_quantize,
)
from neurosim.numerics.logbits import log_quantize_f32
from neurosim.numerics.workspace import Workspace
from neurosim.plan import Plan


class FloatEngine(Engine):
    """float32 reference training (the paper's arithmetic).

    ``W`` are the weights, ``b`` the biases (``bias``; None otherwise) and
    ``C`` the learning-channel matrices, all float32.
    """

    def __init__(self, plan: Plan) -> None:
        super().__init__(plan)
        cfg = plan.cfg
        self.W = [w.astype(np.float32) for w in init_weights(cfg, self.sizes)]
        self.b = init_biases(cfg, self.sizes, np.float32)
        self.C = [c.astype(np.float32) for c in build_feedback(cfg, self.rule, self.sizes)]
        self._C_mag = [np.abs(c) for c in self.C]  # sign-concordant: magnitudes
        self.C3 = (
            [c.astype(np.float32) for c in build_synapse_feedback(cfg, self.sizes)]
            if cfg.feedback_per_synapse
            else []
        )
        # one quantizer per dense layer: a message takes its layer's code width
        self.lqs = [LogQuantizer(b, cfg.error_alpha_log2) if b else None
                    for b in cfg.per_layer("error_bits")]  # fmt: skip
        self.lq = self.lqs[-1]
        self.block = bool(cfg.error_bits) and cfg.error_scale == "block"
        self.stochastic_errors = bool(cfg.error_bits) and cfg.error_rounding == "stochastic"
        self._err_rng = None
        self._code_rng = None
        frac = cfg.error_word_bits - 1 - cfg.error_int_bits
        # block scaling: the shared exponent ranges over the alphas the error
        # word can hold, 2**-frac .. 2**error_int_bits (real units)
        self._top_range = (-frac, cfg.error_int_bits)
        self._ws = Workspace()
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

    def _q(self, r: np.ndarray, chain: bool = False, layer: int = -1) -> np.ndarray:
        """Log-quantize error messages (rows of ``r``) as configured
        (``chain``: words sent down the chain, rms-scaled at 1 bit with
        ``error_sign_scale = "rms"``) at the code width of dense layer
        ``layer`` (0-based; default the output layer's, ``R^L``)."""
        lq = self.lqs[layer]
        if lq is None:
            return r
        if self.stochastic_errors:
            return self._q_stochastic(r, lq)
        if self.block:
            rms = chain and self.cfg.error_sign_scale == "rms"
            q, _ = block_log_quantize(r, lq.bits, *self._top_range, lq.emax, None, rms)
            return q.astype(np.float32)
        return log_quantize_f32(r, lq.bits, lq.top, lq.emax)

    def _q_stochastic(self, r: np.ndarray, lq: LogQuantizer) -> np.ndarray:
        """Stochastic (unbiased) log quantization of messages, in float.

        The rule of the fixed engine (:func:`stochastic_log_quantize`) with
        uniform reals from this step's generator (stream
        ``"float_error_rounding"``), not the fixed engine's random bits.
        """
        k, emax = lq.bits, lq.emax
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
            q = stochastic_log_quantize(r, k, lq.top, lq.top - emax, u)
        return q.astype(np.float32)

    def train_batch(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        """One minibatch step; returns the output ``O^L`` before the update."""
        A, S, out = self.forward(x)
        if not np.isfinite(out).all():
            raise FloatingPointError("non-finite output")
        self._err_rng = None  # this step's error-rounding stream, drawn on first use
        self._code_rng = None  # this step's update-code stream, drawn on first use
        # the coded R^L message; with top_error = "full" the output layer
        # trains on its own uncoded error
        if self.rule.source == "target":
            # DRTP: the skip message is the label, -T (the paper's sign, see
            # neurosim.nn.rules), never coded; R^L stays the top's own error
            msg_top = -t.astype(np.float32)
            r_top = t - out if self.cfg.top_error == "full" else self._q(t - out)
        else:
            msg_top = self._q(t - out)
            r_top = t - out if self.cfg.top_error == "full" else msg_top
        self._A, self._S = A, S
        self._channel_step()
        R, msgs, srcs = hidden_errors(self.rule, self.L, r_top, self, msg_top)
        if self.accountant is not None:
            self.accountant.observe(R, msgs, srcs)
            self.accountant.observe_inputs(R, A[:-1])
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
            for i in range(self.L - 1):  # with the message that reached C^h's tile
                self._step(f"C{i}", self.C[i], self._update_q((A[i + 1].T @ srcs[i]) * scale))
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
        """The ``update_bits`` log code of one update array: ``alpha = 2**top``
        the smallest power of two >= max ``|d|``; nearest, or stochastic
        (``update_code_rounding``) with uniform reals from this step's
        generator of the stream ``"float_update_code"`` (drawn on first use,
        one real per entry in the order the arrays are updated)."""
        k = self.cfg.update_bits
        if not k:
            return d
        m = float(np.abs(d).max())
        if m == 0.0:
            return d
        top = math.ceil(math.log2(m))
        emax = (1 << (k - 1)) - 2 if k > 1 else 0
        if k >= 2 and self.cfg.update_code_rounding == "stochastic":
            if self._code_rng is None:
                self._code_rng = streams.generator(
                    self.cfg.seed, "float_update_code", self.step_index
                )
            u = self._code_rng.random(d.shape)
            return stochastic_log_quantize(d, k, top, top - emax, u).astype(np.float32)
        return log_quantize_f32(d, k, top, emax)

    # ops for hidden_errors
    def project(self, i: int, src: np.ndarray) -> np.ndarray:
        if self.rule.matrix == "W":
            return src @ self.W[i + 1]
        return src @ self.C[i].T

    def carry(self, i: int, p: np.ndarray, log: bool) -> np.ndarray:
        return self._q(p, chain=True, layer=i) if log else p

    def finish(self, i: int, p: np.ndarray) -> np.ndarray:
        if self.cfg.error_coding == "before_derivative":
            # R^h = f'(S^h) * Q(B^h): BP and RBP received B^h coded (carry)
            q = p if projects_at_sender(self.rule, self.cfg) else self._q(p, layer=i)
            if self.cfg.no_derivative:
                return q
            return q * deriv_float(self.cfg.act, self._S[i], self._A[i + 1])
        if self.cfg.no_derivative:
            return self._q(p, layer=i)
        return self._q(p * deriv_float(self.cfg.act, self._S[i], self._A[i + 1]), layer=i)

