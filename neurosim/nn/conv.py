"""Convolutional blocks in front of the dense layers (float and fixed engines).

A network with ``conv`` set is ``blocks -> dense hidden layers -> output``.
Each block is ``conv F filters K x K -> f -> max-pool P x P stride S``:

* **convolution**: stride 1, 'same' zero padding of ``(K - 1) / 2`` on every
  side (K must be odd), so the map keeps its height and width; with ``bias``
  one bias per filter (below). Chosen so that the paper's CIFAR-10 net
  (three blocks of 5x5 convolutions and 3x3/2 pools) has the sizes
  32 -> 15 -> 7 -> 3 of the usual implementation;
* **activation**: the hidden activation ``act`` on every conv output (in fixed
  mode the same LUT as the dense layers);
* **max-pool**: 'valid' windows (no padding), ``H_out = (H - P) // S + 1``;
  a tie goes to the first position in row-major window order (deterministic,
  which matters for integer codes where ties are common).

Layout: maps are batch-major, channel-last ``(B, H, W, C)``; the data set's
rows are ``(C, H, W)`` flattened (``Dataset.image_shape``) and are
transposed on entry. A block's weights are the tile's matrix
``K^b`` of shape ``(F, K*K*C)``, columns in ``(row, col, channel)`` order,
and its products are im2col GEMMs ``cols (B*H*W, K*K*C) @ K^T``. The last
block's pooled map is flattened in ``(h, w, c)`` order and feeds the first
dense layer.

Learning rules through the blocks (``R_b`` is the error at block b's conv
output, ``(B*H*W, F)``; ``route`` sends an error at the pooled map to the
argmax position of each window, summing where windows overlap):

========  =====================================================================
rule      error at block b's pooled map, then ``R_b = f'(S_b) * route(...)``
========  =====================================================================
bp        the layer above's transposed weights: ``R^1 W^1`` (dense above) or
          the transposed convolution of ``R_{b+1}`` with ``K^{b+1}``
rbp       dense above: ``C_b R^1`` with a dense random ``C_b`` of shape
          ``(n_pool_b, N_1)``; conv above: the transposed convolution of
          ``R_{b+1}`` with a fixed random kernel ``C_b`` of ``K^{b+1}``'s shape
srbp      ``C_b R^L``, a dense random ``C_b`` of shape ``(n_pool_b, N_L)``
top-only  nothing: only the output layer learns
========  =====================================================================

Why a random *kernel* for RBP between two conv blocks: a dense ``C`` from
block b+1's conv output to block b's pooled map would have ``H W F x H' W' F'``
entries (2 x 10^8 for CIFAR-10's second block), more than the whole forward
network, while a kernel of ``K^{b+1}``'s shape costs as much memory as the
weights it replaces, keeps the error local (each unit hears only from the
units it feeds) and runs on the transposed-convolution datapath the tile
already needs for BP. ``no_derivative`` drops ``f'`` here too.

Fixed mode keeps the chip's integer semantics of :mod:`neurosim.nn.fixed`:
codes in float32/float64 arrays, exact products through
:func:`neurosim.numerics.kernels.product` (float32, float64 or int64 chosen from a
bound on the partial sums), accumulator saturation in the tile's order
(:func:`neurosim.numerics.kernels.exact_matmul`), the activation LUTs, the
error unit (:class:`~neurosim.nn.fixed.ErrorUnit`) and the update unit
(:class:`~neurosim.nn.fixed.UpdateUnit`, which owns the kernels' and filter
biases' updates as it owns the dense layers'). Max-pool on codes is exact.
The slow reference is :mod:`neurosim.golden.conv_reference`.

Random streams (registry :mod:`neurosim.numerics.streams`, counter layouts
in :mod:`neurosim.nn.draws`): block ``b`` lives on tile
``streams.CONV_TILE + b``, away from the dense layers' tiles ``0 .. L - 1``,
so its streams never meet theirs. Its kernel rounds with ``"weight_update"``,
its filter biases with ``"bias_update"`` (counter ``step * F + f``), its
velocities with ``"momentum"`` (kind 0 the kernel, 1 the biases) and its
error messages with ``"error_rounding"``; the initial kernels come from
``"conv_weights"`` and the blocks' ``C_b`` from ``"conv_feedback"``.

Error messages of a block (``error_scale``, ``error_rounding``): the error
unit of block b sees ``R_b`` as ``B`` messages, one per sample, each the
sample's whole error map ``H*W*F`` in ``(i, j, f)`` order (positions that
no pooling window chose are zeros). ``error_scale = "block"`` gives each
such message one shared exponent, exactly as a dense layer's message (one
sample's ``R^h``) gets one. ``error_rounding = "stochastic"`` draws the
words of component ``j`` of sample ``s`` in minibatch ``step`` at counter
``(2 * step * batch + s) * H*W*F + j`` (the "error_rounding" layout with
kind 0); the error unit knows the block as message source ``L + b``. The
float engine rounds the blocks' messages with its own per-step generator,
like the dense layers'. ``channel_dropout`` drops components of ``R_b``
after the error unit, one 8-bit word per component of the ``(B, H*W*F)``
map, from :func:`neurosim.nn.draws.channel_keep` with layer index ``L + b``
(the dense hidden layers use ``0 .. L - 2``); a dropped component neither
updates ``K^b`` nor travels to block b-1.

Biases (``bias``): one per filter, ``bK[b]`` of shape ``(F,)`` (weight
format in fixed mode), added to every conv output of the filter: in fixed
mode each accumulator starts at ``bK_code << src.frac`` (the dense layers'
rule), and the update unit adds ``eta / B * sum`` of ``R_b`` over the batch
and the positions.

Momentum (``momentum > 0``): every kernel weight of ``K^b`` and (``bias``)
every filter bias keeps a velocity, exactly as a dense layer's weights and
biases (the same ``velocity_bits`` word, order of operations and rounding,
:func:`neurosim.numerics.kernels.momentum_kernel`). Velocity saturations
count as ``sat:vK^b`` and ``sat:vbK^b``. The float engine keeps
``u <- mu u + d``.

Layers are numbered blocks first: ``freeze`` 1 .. n_blocks are the blocks
(kernel and bias), the dense layers follow (:func:`neurosim.nn.rules.split_freeze`).
``update_mode`` applies to every block (they are hidden layers).
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import partial

import numpy as np

from neurosim.channel.feedback import dense_matrix
from neurosim.config import TrainConfig
from neurosim.errors import ConfigError
from neurosim.nn.base import hidden_errors
from neurosim.nn.conv_maps import (  # noqa: F401  (re-exported: the conv names in one place)
    flip_kernel,
    im2col,
    im2col_numpy,
    maxpool,
    maxpool_numpy,
    patch_abs_sum,
    to_maps,
    unpool,
    unpool_numpy,
)
from neurosim.nn.conv_spec import (  # noqa: F401  (re-exported: the conv names in one place)
    CONV_RULES,
    NEUTRAL_WITH_CONV,
    ConvBlock,
    check_conv_config,
    conv_blocks,
    parse_conv,
)
from neurosim.nn.fixed import FixedEngine
from neurosim.nn.float_engine import FloatEngine
from neurosim.nn.network import Formats, act_float, deriv_float
from neurosim.nn.rules import split_freeze, trained_layers
from neurosim.numerics import kernels, streams
from neurosim.numerics.fixedpoint import FixedFormat
from neurosim.numerics.kernels import imac
from neurosim.plan import Plan

PREDICT_CHUNK = 100
"""Rows per forward pass when evaluating (bounds the im2col copies' memory)."""


def init_conv_biases(cfg: TrainConfig, blocks: list[ConvBlock], dtype) -> list | None:
    """Initial biases of the blocks, one per filter (zeros of ``dtype``,
    shape ``(F,)``), or None without ``bias``."""
    if not cfg.bias:
        return None
    return [np.zeros(b.filters, dtype) for b in blocks]


def init_conv_weights(seed: int, blocks: list[ConvBlock]) -> list[np.ndarray]:
    """Initial kernels ``K^b`` (float64, ``(F, K*K*C)``), Glorot uniform with
    fan-in ``K*K*C`` and fan-out ``K*K*F``."""
    rng = streams.generator(seed, "conv_weights")
    out = []
    for b in blocks:
        k2 = b.kernel * b.kernel
        a = math.sqrt(6.0 / (b.fan_in + k2 * b.filters))
        out.append(rng.uniform(-a, a, size=(b.filters, b.fan_in)))
    return out


def conv_feedback_shapes(rule_name: str, blocks: list[ConvBlock], sizes: list[int]) -> list:
    """Shape of each block's ``C_b`` (None where the rule has none).

    ``sizes`` are the dense part's ``[N_0 = n_pool_last, N_1, ..., N_L]``.
    """
    nb, L = len(blocks), len(sizes) - 1
    out: list = []
    for b, blk in enumerate(blocks):
        if rule_name == "srbp":
            out.append((blk.n_pool, sizes[L]))
        elif rule_name == "rbp":
            out.append(
                (blk.n_pool, sizes[1]) if b == nb - 1
                else (blocks[b + 1].filters, blocks[b + 1].fan_in)
            )  # fmt: skip
        else:
            out.append(None)
    return out


def build_conv_feedback(cfg: TrainConfig, blocks: list[ConvBlock], sizes: list[int]) -> list:
    """Float ``C_b`` per block (dense Glorot-scaled), None where unused."""
    rng = streams.generator(cfg.seed, "conv_feedback")
    return [
        None if s is None else dense_matrix(rng, s, cfg.feedback_dist, cfg.feedback_mean)
        for s in conv_feedback_shapes(cfg.rule, blocks, sizes)
    ]


# --------------------------------------------------------------------------- #
# float engine
# --------------------------------------------------------------------------- #


def _geometry(plan: Plan) -> tuple[list[ConvBlock], tuple[int, ...]]:
    """The plan's conv blocks and image shape, checked against its input width."""
    cfg = plan.cfg
    if not plan.blocks or plan.image_shape is None:
        raise ConfigError("conv", cfg.conv, "conv blocks and an image shape")
    if plan.n_in != math.prod(plan.image_shape):
        raise ConfigError("conv", cfg.conv, f"an image shape matching {plan.n_in} features")
    return list(plan.blocks), tuple(plan.image_shape)


class _ConvLayers:
    """Layer numbering shared by both conv engines: blocks first, then the
    dense layers (see :func:`neurosim.nn.rules.split_freeze`)."""

    def trained_layers(self) -> list[int]:
        """Dense layers (0-based, dense numbering) the run updates."""
        _, dense = split_freeze(self.cfg.freeze, len(self.blocks))
        return trained_layers(self.rule, self.L, dense)

    def trained_blocks(self) -> list[int]:
        """Blocks (0-based) the run updates: all unless frozen, none for top-only."""
        if not self.rule.trains_hidden:
            return []
        frozen, _ = split_freeze(self.cfg.freeze, len(self.blocks))
        return [b for b in range(len(self.blocks)) if b not in frozen]


class ConvFloatEngine(_ConvLayers, FloatEngine):
    """float32 training of conv blocks + dense layers.

    Attributes
    ----------
    blocks : list of ConvBlock
    K : list of ndarray (float32, (F, K*K*C))
        The blocks' kernels.
    KC : list of ndarray or None
        The blocks' learning-channel matrices (see the module table).
    sizes : list of int
        The dense part ``[n_pool_last, *hidden, N_L]``.
    """

    def __init__(self, plan: Plan) -> None:
        self.blocks, self.image_shape = _geometry(plan)
        super().__init__(plan)
        cfg = plan.cfg
        self.K = [w.astype(np.float32) for w in init_conv_weights(cfg.seed, self.blocks)]
        self.bK = init_conv_biases(cfg, self.blocks, np.float32)
        self.KC = [
            None if c is None else c.astype(np.float32)
            for c in build_conv_feedback(cfg, self.blocks, self.sizes)
        ]

    def conv_params(self) -> list[np.ndarray]:
        """Kernels, the blocks' feedback matrices, then (``bias``) the blocks'
        biases (for the weights hash)."""
        return [*self.K, *(c for c in self.KC if c is not None), *(self.bK or [])]

    def conv_forward(self, x: np.ndarray) -> np.ndarray:
        """Blocks' forward pass on rows ``(B, C*H*W)``; returns the flat pooled
        map ``(B, n_pool_last)`` and keeps each block's state."""
        X = to_maps(x, self.image_shape)  # float32 in training; any float dtype works
        self._st = []
        for b, (blk, w) in enumerate(zip(self.blocks, self.K, strict=True)):
            cols = im2col(X, blk.kernel)
            s = cols @ w.T
            if self.bK is not None:
                s += self.bK[b]
            o = act_float(self.cfg.act, s)
            X, idx = maxpool(o.reshape(-1, blk.height, blk.width, blk.filters), blk.pool,
                             blk.stride)  # fmt: skip
            self._st.append((cols, s, o, idx))
        return X.reshape(X.shape[0], -1)

    def forward(self, x: np.ndarray) -> tuple[list, list, np.ndarray]:
        """Dense activations ``O^0..O^L`` (``O^0`` the flat pooled map) and ``S``."""
        return super().forward(self.conv_forward(x))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Output ``O^L`` as real values, shape ``(B, N_L)``, in chunks of
        :data:`PREDICT_CHUNK` rows (im2col copies grow with the batch)."""
        return np.concatenate(
            [super(ConvFloatEngine, self).predict(x[s : s + PREDICT_CHUNK])
             for s in range(0, x.shape[0], PREDICT_CHUNK)]
        )  # fmt: skip

    def _mode_step(self, d: np.ndarray, mode: str) -> np.ndarray:
        """A weight update through ``update_mode`` and ``update_bits``."""
        if mode == "sign":
            return self._sign_only(d)
        if mode == "magnitude":
            return np.abs(d)
        return self._update_q(d) if self.cfg.update_bits else d

    def conv_errors(self, R: list) -> tuple[list, dict]:
        """Errors ``R_b`` ``(B*H*W, F)`` of the blocks and the messages sent
        to them per sample (``conv{b}``, 1-based, ``(B, n)``)."""
        nb, rule, B = len(self.blocks), self.rule, R[-1].shape[0]
        Rc: list = [None] * nb
        msgs: dict = {}
        if not rule.trains_hidden:
            return Rc, msgs
        for b in range(nb - 1, -1, -1):
            blk = self.blocks[b]
            if rule.source == "top":
                p = R[-1] @ self.KC[b].T
            elif b == nb - 1:
                src = R[0]
                p = src @ self.W[0] if rule.matrix == "W" else src @ self.KC[b].T
                msgs[f"conv{b + 1}"] = p if rule.matrix == "W" else src
            else:
                up = self.blocks[b + 1]
                m = self.K[b + 1] if rule.matrix == "W" else self.KC[b]
                dy = Rc[b + 1].reshape(B, up.height, up.width, up.filters)
                p = (im2col(dy, up.kernel) @ flip_kernel(m, up.kernel)).reshape(B, -1)
                msgs[f"conv{b + 1}"] = p if rule.matrix == "W" else Rc[b + 1].reshape(B, -1)
            ho, wo = blk.pooled
            e = unpool(p.reshape(B, ho, wo, blk.filters), self._st[b][3], blk.pool, blk.stride,
                       blk.height, blk.width, np.float32).reshape(-1, blk.filters)  # fmt: skip
            if not self.cfg.no_derivative:
                _cols, s, o, _idx = self._st[b]
                e = e * deriv_float(self.cfg.act, s, o)
            # one message per sample: the block's whole error map (block scaling)
            r = self._q(e.reshape(B, -1))
            if self.cfg.channel_dropout:
                r = self.drop(self.L + b, r)
            Rc[b] = r.reshape(-1, blk.filters)
        return Rc, msgs

    def train_batch(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        """One minibatch step; returns the output ``O^L`` before the update."""
        A, S, out = self.forward(x)
        if not np.isfinite(out).all():
            raise FloatingPointError("non-finite output")
        self._err_rng = None  # this step's error-rounding stream, drawn on first use
        r_top = self._q(t - out)
        self._A, self._S = A, S
        R, msgs, srcs = hidden_errors(self.rule, self.L, r_top, self)
        Rc, cmsgs = self.conv_errors(R)
        if self.accountant is not None:
            self.accountant.observe(R, msgs, srcs)
            self.accountant.observe_inputs(R, A[:-1])
            self.accountant.observe_conv(R, Rc, cmsgs)
        scale = np.float32(self.lr / x.shape[0])
        for i in self.trained_layers():
            mode = self.hidden_update_mode(i)
            if self.b is not None:
                self._step(f"b{i}", self.b[i], self._bias_step(R[i], scale, mode))
            self._step(f"W{i}", self.W[i], self._mode_step((R[i].T @ A[i]) * scale, mode))
        mode = self.cfg.update_mode  # the blocks are hidden layers
        for b in self.trained_blocks():
            r = Rc[b]
            self._step(f"K{b}", self.K[b], self._mode_step((r.T @ self._st[b][0]) * scale, mode))
            if self.bK is not None:  # sum over the batch and the positions
                self._step(f"bK{b}", self.bK[b], self._bias_step(r, scale, mode))
        self.step_index += 1
        return out


# --------------------------------------------------------------------------- #
# fixed engine
# --------------------------------------------------------------------------- #


class ConvFixedEngine(_ConvLayers, FixedEngine):
    """The chip's bit-exact integer training of conv blocks + dense layers.

    The dense part is :class:`~neurosim.nn.fixed.FixedEngine` with its input
    ``O^0`` the flat pooled map, in the activation format (``fm.inp`` is
    ``fm.act`` here); the image itself is read in the input format
    (``in_fmt``). Kernels ``K`` and channel matrices ``KC`` hold codes in
    the weight and feedback formats (float32 arrays).
    """

    def __init__(self, plan: Plan) -> None:
        self.blocks, self.image_shape = _geometry(plan)
        super().__init__(plan)
        cfg, fm = plan.cfg, self.fm
        self.in_fmt = plan.formats.inp
        self.K = []
        for b, w in enumerate(init_conv_weights(cfg.seed, self.blocks)):
            q, n = fm.weight.quantize(w)
            self.counts[f"sat:K^{b + 1}:init"] += n
            self.K.append(q.astype(np.float32))
        self.bK = init_conv_biases(cfg, self.blocks, np.float32)  # weight-format codes
        self.KC = []
        for b, c in enumerate(build_conv_feedback(cfg, self.blocks, self.sizes)):
            if c is None:
                self.KC.append(None)
                continue
            q, n = fm.feedback.quantize(c)
            self.counts[f"sat:KC^{b + 1}:init"] += n
            self.KC.append(q.astype(np.float32))
        # the update unit owns the blocks' kernels and biases (keys, velocities)
        self.upd.add_blocks(self.K, self.bK)
        # 8-bit patches and kernels multiply in integers where the compiled
        # VNNI kernels exist, as the dense layers do: the same exact sums
        self._imac = imac.load()
        self._kpacked: list = [None] * len(self.blocks)
        if self._imac is not None:
            for b, w in enumerate(self.K):
                src = self.src_fmt(b)
                off = imac.applies(src.qmin, src.qmax, fm.weight.qmin, fm.weight.qmax, w.shape[1])
                if off is not None:
                    self._kpacked[b] = (off, imac.PackedWeights(w.shape[1], w.shape[0]))
        # error rounding of block b: layer index L + b of the error unit, stream
        # "error_rounding" on tile CONV_TILE + b, away from the dense layers' tiles
        self.err.e_keys = self.err.e_keys + [
            streams.counter_key(cfg.seed, "error_rounding", streams.CONV_TILE + b)
            for b in range(len(self.blocks))
        ]
        self._check_blocks()

    def _formats(self, plan: Plan) -> Formats:
        return replace(plan.formats, inp=plan.formats.act)  # the dense part reads pooled maps

    def _check_blocks(self) -> None:
        """Refuse blocks whose gradients could pass 62 bits: they sum over the
        batch and the H*W positions; with momentum they land on the velocity's
        LSB (a left shift when the plain shift is below velocity_bits - weight_bits)."""
        cfg, fm = self.cfg, self.fm
        inp = self.in_fmt
        extra = cfg.velocity_bits - fm.weight.bits if cfg.momentum else 0
        for b, blk in enumerate(self.blocks):
            src = inp if b == 0 else fm.act
            terms = float(fm.error.max_abs) * cfg.batch * blk.height * blk.width
            s_k = fm.error.frac + src.frac + cfg.lr_frac - fm.weight.frac
            s_b = fm.error.frac + cfg.lr_frac - fm.weight.frac
            grad = max(
                terms * src.max_abs * 2.0 ** max(0, extra - s_k),
                terms * 2.0 ** max(0, extra - s_b) if cfg.bias else 0.0,
            ) * (1 << cfg.lr_frac)
            if grad >= 2.0**62:
                raise ConfigError(
                    "error_word_bits",
                    cfg.error_word_bits,
                    "narrower error, weight or feedback words, a smaller batch or lr_frac "
                    "(conv gradient products would exceed 62 bits)",
                )

    def _fan_ins(self) -> list[int]:
        # widest sum of the error unit's products: dense fan-ins and, per
        # block, the transposed convolution's K*K*F summed over overlapping windows
        out = list(super()._fan_ins())
        for blk in self.blocks:
            out.append(blk.kernel * blk.kernel * blk.filters * blk.overlap)
            out.append(self.sizes[-1] * blk.overlap)
            out.append(self.sizes[1] * blk.overlap)
        return out

    def conv_params(self) -> list[np.ndarray]:
        """Kernels, the blocks' feedback matrices, then (``bias``) the blocks'
        biases (for the weights hash)."""
        return [*self.K, *(c for c in self.KC if c is not None), *(self.bK or [])]

    def src_fmt(self, b: int) -> FixedFormat:
        """Format of block ``b``'s input map."""
        return self.in_fmt if b == 0 else self.fm.act

    def conv_forward(self, x: np.ndarray, count: bool = True) -> np.ndarray:
        """Quantize the images and run the blocks; returns the flat pooled
        codes ``(B, n_pool_last)`` (float32) and keeps each block's state."""
        fm, cfg, lut = self.fm, self.cfg, self.fm.lut
        f = self.in_fmt
        q = np.empty(x.shape, dtype=np.float32)
        n, _ = kernels.quantize_kernel(x, f.frac, f.qmin, f.qmax, q)
        if count:
            self.counts["sat:O^0"] += n
        X = to_maps(q, self.image_shape)
        self._st = []
        for b, (blk, w) in enumerate(zip(self.blocks, self.K, strict=True)):
            src = self.src_fmt(b)
            acc_fmt = FixedFormat(cfg.acc_bits, fm.weight.frac + src.frac)
            cols = im2col(X, blk.kernel)
            # the patches' row sums from the map where needed (exact, 1/(k*k*C) of the reads)
            bound = kernels.partial_sum_bound(cols, src.max_abs, fm.weight.max_abs,
                                              partial(patch_abs_sum, X, blk.kernel))
            init = None
            if self.bK is not None:
                # the accumulator starts at the filter's bias: b_code << src.frac
                init = self.bK[b].astype(np.float64) * float(1 << src.frac)
                bound += float(np.abs(init).max())
            packed = self._kpacked[b]
            if packed is not None and bound <= acc_fmt.qmax and bound < kernels.F32_EXACT:
                off, pw = packed  # exact in int32 and below 2**24 (float32's sums)
                pw.pack(self._imac, w.T)  # the codes as they are now
                out = np.empty((cols.shape[0], w.shape[0]), dtype=np.float32)
                acc, nsat = imac.product_into(self._imac, cols, pw, off, out), 0
                if init is not None:  # exact: the bound covers the sum
                    acc = acc + init.astype(acc.dtype)
            elif bound <= acc_fmt.qmax:
                acc, nsat = kernels.product(cols, w.T, bound), 0
                if init is not None:  # exact: the bound covers the sum
                    acc = acc + init.astype(acc.dtype)
            else:
                acc, nsat = kernels.exact_matmul(cols, w.T, src.max_abs, fm.weight.max_abs, acc_fmt,
                                                 None, init)  # fmt: skip
            acc = np.ascontiguousarray(acc)
            o = np.empty(acc.shape, dtype=np.float32)
            d = np.empty(acc.shape, dtype=np.float32)
            n2, _, nclip = kernels.act_deriv_kernel(
                acc, acc_fmt.frac - lut.frac, lut.qmin, lut.qmax, self.fwd.fd, o, d,
                *self.fwd.luts.unclipped,
            )
            if count:
                self.counts[f"sat:accK^{b + 1}"] += nsat
                self.counts[f"sat:SK^{b + 1}"] += n2
                self.counts[f"sat:OK^{b + 1}"] += nclip
            X, idx = maxpool(o.reshape(-1, blk.height, blk.width, blk.filters), blk.pool,
                             blk.stride)  # fmt: skip
            self._st.append((cols, acc, o, d, idx))
        z = np.ascontiguousarray(X.reshape(X.shape[0], -1))
        self.fwd.rowsum0 = float(np.abs(z).sum(axis=1, dtype=np.float64).max(initial=0.0))
        return z

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Output ``O^L`` as real values (no counts), shape ``(B, N_L)``, in
        chunks of :data:`PREDICT_CHUNK` rows."""
        out = []
        for s in range(0, x.shape[0], PREDICT_CHUNK):
            A, _ = self.forward(self.conv_forward(x[s : s + PREDICT_CHUNK], count=False),
                                count=False)  # fmt: skip
            out.append(self.fm.out.to_real(A[-1]))
        return np.concatenate(out)

    def conv_errors(self, R: list) -> tuple[list, dict]:
        """Integer errors ``R_b`` ``(B*H*W, F)`` (error-word codes) and the
        messages sent to the blocks (see :meth:`ConvFloatEngine.conv_errors`)."""
        fm, rule, nb, B = self.fm, self.rule, len(self.blocks), R[-1].shape[0]
        step = self.step_index
        Rc: list = [None] * nb
        msgs: dict = {}
        if not rule.trains_hidden:
            return Rc, msgs
        w_rule = rule.matrix == "W"
        m_fmt = fm.weight if w_rule else fm.feedback
        for b in range(nb - 1, -1, -1):
            blk = self.blocks[b]
            if rule.source == "top":
                p = self.err.product(R[-1], self.KC[b].T, fm.feedback.max_abs)
            elif b == nb - 1:
                src = R[0]
                m = self.W[0] if w_rule else self.KC[b].T
                p = self.err.product(src, m, m_fmt.max_abs)
            else:
                up = self.blocks[b + 1]
                m = self.K[b + 1] if w_rule else self.KC[b]
                dy = Rc[b + 1].reshape(B, up.height, up.width, up.filters)
                p = self.err.product(im2col(dy, up.kernel), flip_kernel(m, up.kernel),
                                     m_fmt.max_abs)  # fmt: skip
                p = p.reshape(B, -1)
            frac = fm.error.frac + m_fmt.frac
            if w_rule:
                # BP: the transposed read happens where the weights live; the
                # projection travels as a linear error word
                p = self.err.error(np.ascontiguousarray(p), None, frac - fm.error.frac,
                                   f"sat:dK^{b + 1}", self.step_index, log=False).copy()
                frac = fm.error.frac
            if rule.source != "top":
                msgs[f"conv{b + 1}"] = (
                    p if w_rule else (R[0] if b == nb - 1 else Rc[b + 1].reshape(B, -1))
                )
            ho, wo = blk.pooled
            _cols, _acc, _o, d, idx = self._st[b]
            e = unpool(p.reshape(B, ho, wo, blk.filters), idx, blk.pool, blk.stride,
                       blk.height, blk.width, np.float64).reshape(B, -1)  # fmt: skip
            # one message per sample: the block's error map, (i, j, f) order
            name, layer = f"sat:RK^{b + 1}", self.L + b
            if self.cfg.no_derivative:
                r = self.err.error(e, None, frac - fm.error.frac, name, step, layer=layer)
            else:
                r = self.err.error(e, d.reshape(B, -1), frac + fm.deriv.frac - fm.error.frac,
                                   name, step, layer=layer)  # fmt: skip
            r = r.copy()
            if self.cfg.channel_dropout:
                r = self.drop(self.L + b, r)
            Rc[b] = r.reshape(-1, blk.filters)
        return Rc, msgs

    def input_codes(self, x: np.ndarray) -> None:
        """None: the conv blocks quantize their images per minibatch."""
        return None

    def train_batch(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        """One minibatch step on the chip; returns ``O^L`` (real) before the update."""
        ws = self._ws
        z = self.conv_forward(x)
        self._cols = self.fwd.input_columns(z, ws)
        A, self._D = self.forward(z, ws=ws, cols=self._cols)
        R, msgs, srcs = hidden_errors(self.rule, self.L, self.output_error(A[-1], t), self)
        Rc, cmsgs = self.conv_errors(R)
        if self.accountant is not None:
            self.accountant.observe(R, msgs, srcs)
            self.accountant.observe_inputs(R, A[:-1])
            self.accountant.observe_conv(R, Rc, cmsgs)
        self._apply_updates(A, R, x.shape[0])
        self._conv_updates(Rc, x.shape[0])
        self.step_index += 1
        return self.fm.out.to_real(A[-1])

    def _conv_updates(self, Rc: list, batch: int) -> None:
        """The blocks' kernels and filter biases through the update unit (the
        blocks are hidden layers: ``update_mode`` applies)."""
        mult, mode = self.lr_register(batch), self.cfg.update_mode
        for b in self.trained_blocks():
            self.upd.conv_block(
                b, self.K[b], None if self.bK is None else self.bK[b], Rc[b], self._st[b][0],
                self.src_fmt(b), mult, self.step_index, mode,
            )
