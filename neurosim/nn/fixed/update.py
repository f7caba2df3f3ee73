"""The update unit: the one owner of every parameter update of the chip.

``W^h``, ``b^h``, the adaptive ``C^h`` and the conv blocks' kernels ``K^b``
and filter biases go through it. An update is
``p += round(g * mult / 2**shift)`` with ``g`` the batch-summed integer
gradient, ``mult = round(lr / B * 2**lr_frac)`` (:meth:`UpdateUnit.register`)
and ``shift`` the fraction bits that take the product onto the parameter's
LSB; rounding is stochastic (the words of the parameter's stream, counted as
``rng_bits``) or half to even, and the parameter saturates (``sat:<name>``;
``changed:<name>`` counts the entries that moved). ``update_mode`` sign
takes a 1-bit log-quantized update, magnitude ``|g|``; ``update_bits``
log-quantizes the update over the array. With momentum the gradient lands on
a velocity word ``velocity_bits`` wide (:func:`kernels.momentum_kernel`),
whose saturations count as ``sat:v<name>`` and its random bits as
``rng_bits:velocity``. With ``update_code_rounding = "stochastic"`` the log
code rounds stochastically between its neighbouring levels, with the words of
the stream ``"update_code"``, counted as ``rng_bits:update_code``. The golden
reference is :mod:`neurosim.golden.update`.

Streams (registry :mod:`neurosim.numerics.streams`, counter layouts in
:mod:`neurosim.nn.draws`): ``"weight_update"``, ``"bias_update"``,
``"feedback_update"`` and ``"momentum"`` (kind 0 weights or kernel, 1
biases, 2 ``C^h``) on tile ``i`` for dense layer ``i`` and on tile
``streams.CONV_TILE + b`` for conv block ``b``; ``"update_code"`` (kind 0
``W^{i+1}``, 1 ``b^{i+1}``, 2 ``C^{i+1}`` on tile ``i``, counter
``step * P.size + j`` for entry ``j``).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from neurosim.config import TrainConfig
from neurosim.errors import ConfigError
from neurosim.nn.fixed.memory import DenseMemory
from neurosim.nn.network import Formats
from neurosim.numerics import kernels, streams
from neurosim.numerics.fixedpoint import FixedFormat
from neurosim.numerics.kernels import imac
from neurosim.plan import Plan, check_lr_shift


def update_code_key(cfg: TrainConfig, vname: str, ubits: int) -> int | None:
    """The ``"update_code"`` key of dense parameter ``vname`` (``"W0"``,
    ``"b0"``, ``"C0"``: kind 0, 1, 2 on tile 0) when its ``ubits``-bit log code
    rounds stochastically (``update_code_rounding``); None when it rounds to
    the nearest level."""
    if cfg.update_code_rounding != "stochastic" or ubits < 2:
        return None
    kind = {"W": 0, "b": 1, "C": 2}[vname[0]]
    return streams.counter_key(cfg.seed, "update_code", int(vname[1:]), kind)


class GradientMac:
    """The update path's MAC array: exact batch-summed gradients.

    Parameters
    ----------
    ws : kernels.Workspace
        The engine's step arrays (the gradients land there).
    r_max, r_q : float
        The error unit's largest error and error quantum (gradient bounds).
        Gradients of 8-bit activations and log-coded errors (``|R / r_q| <=
        127``) multiply in integers where the compiled VNNI kernels exist
        (:func:`neurosim.numerics.kernels.imac.grad_into`).
    """

    def __init__(self, ws: kernels.Workspace, r_max: float, r_q: float) -> None:
        self.ws, self.r_q = ws, r_q
        self._imac = imac.load() if r_max / r_q <= 127 else None
        self._packed: dict = {}  # packed operands by shape

    def product(
        self, a: np.ndarray, b: np.ndarray, max_a: float, max_b: float, name: str,
        act: FixedFormat | None = None, err: str = "",
    ) -> tuple[np.ndarray, float]:  # fmt: skip
        """Exact ``a @ b`` in the workspace array ``name``, and the bound on
        its entries' magnitude that chose its arithmetic. ``act`` (the
        activation operand's format) and ``err`` (``"a"`` or ``"b"``: which
        operand is the error) let 8-bit operands multiply in integers."""
        # one factor is an error, so every product is a multiple of the error quantum
        bound = kernels.partial_sum_bound(a, max_a, max_b, quantum=self.r_q)
        if self._imac is not None and err and bound < kernels.F32_EXACT:
            g = imac.grad_into(self._imac, a, b, act, err, self.r_q, self._packed,
                               self.ws.get(name, (a.shape[0], b.shape[1]), np.float32))
            if g is not None:
                return g, bound * self.r_q
        return kernels.product_into(a, b, b, bound, self.ws, name), bound * self.r_q


class UpdateUnit:
    """Read-modify-write of every parameter array.

    Parameters
    ----------
    plan : Plan
    fm : Formats
        The dense part's formats.
    counts : Counter
        Receives ``sat:<p>``, ``changed:<p>``, ``rng_bits``, ``sat:v<p>``,
        ``rng_bits:velocity`` and (stochastic update codes)
        ``rng_bits:update_code``.
    ws : kernels.Workspace
        The engine's step arrays (gradients).
    r_max, r_q : float
        The error unit's largest error and error quantum (gradient bounds).

    Attributes
    ----------
    mac : GradientMac
        The gradient products.
    w_keys, b_keys, c_keys : list of int
        Rounding keys of the dense layers' weights, biases and ``C^h``.
    k_keys, bk_keys : list of int
        Rounding keys of the conv blocks' kernels and biases (:meth:`add_blocks`).
    V : dict
        Momentum: int64 velocity codes by parameter (``"W0"``, ``"b0"``,
        ``"C0"``, ``"K0"``, ``"B0"``).
    """

    def __init__(
        self, plan: Plan, fm: Formats, counts: Counter, ws: kernels.Workspace, r_max: float,
        r_q: float,
    ) -> None:  # fmt: skip
        cfg = plan.cfg
        self.cfg, self.fm, self.counts, self.ws = cfg, fm, counts, ws
        self.r_max, self.r_q = r_max, r_q
        self.mac = GradientMac(ws, r_max, r_q)
        self.stochastic = cfg.rounding == "stochastic"
        self.code_stochastic = cfg.update_code_rounding == "stochastic"
        chip = plan.chip
        self.lr_shift = bool(chip is not None and chip.update.lr_shift)
        self.chip_name = chip.name if chip is not None else ""
        L = plan.L
        self.w_keys = [streams.counter_key(cfg.seed, "weight_update", i) for i in range(L)]
        self.c_keys = [streams.counter_key(cfg.seed, "feedback_update", i) for i in range(L)]
        self.b_keys = [streams.counter_key(cfg.seed, "bias_update", i) for i in range(L)]
        self.k_keys: list[int] = []
        self.bk_keys: list[int] = []
        self.V: dict = {}
        self.m_keys: dict = {}
        self.v_fmt: dict = {}
        self._vsat: dict = {}
        self._check(fm)
        if cfg.momentum:
            self.mu_reg = int(round(cfg.momentum * (1 << cfg.lr_frac)))
            self.extra = cfg.velocity_bits - cfg.per_layer("weight_bits")[0]
            # one weight format with momentum (the config refuses per-layer ones)
            vw = FixedFormat(cfg.velocity_bits, fm.weight.frac + self.extra)
            self.v_fmt = {"W": vw, "b": vw, "K": vw, "B": vw}
            for i, f in enumerate(fm.feedbacks):  # C^{i+1}'s velocity: its own format, wider
                self.v_fmt[f"C{i}"] = FixedFormat(f.bits + self.extra, f.frac + self.extra)

    def _check(self, fm: Formats) -> None:
        """Refuse formats whose gradient products could overflow the int64 datapath."""
        cfg = self.cfg
        a_max = max(a.max_abs for a in fm.acts)
        grad = float(fm.error.max_abs) * a_max * cfg.batch * (1 << cfg.lr_frac)
        if cfg.momentum:
            # the gradient lands on the velocity's LSB: a shift s - e <= 0 is
            # a left shift of the product by e - s bits
            extra = cfg.velocity_bits - cfg.per_layer("weight_bits")[0]
            a_frac = min(a.frac for a in fm.acts)
            s_min = min(
                fm.error.frac + min(fm.inp.frac, a_frac) + cfg.lr_frac - fm.weight.frac,
                a_frac + fm.error.frac + cfg.lr_frac - max(f.frac for f in fm.feedbacks),
                fm.error.frac + cfg.lr_frac - fm.weight.frac,
            )
            grad *= 2.0 ** max(0, extra - s_min)
        if grad >= 2.0**62:
            raise ConfigError(
                "error_word_bits",
                cfg.error_word_bits,
                "narrower error, weight or feedback words (products would exceed 62 bits)",
            )

    # --- parameters and their velocities ---------------------------------
    def add_velocity(self, name: str, shape: tuple, tile: int, kind: int, sat: str) -> None:
        """Momentum state of parameter ``name`` (zero velocity codes) on the
        ``"momentum"`` stream of ``tile`` and ``kind``; saturations count as ``sat``."""
        self.V[name] = np.zeros(shape, np.int64)
        self.m_keys[name] = streams.counter_key(self.cfg.seed, "momentum", tile, kind)
        self._vsat[name] = sat

    def add_dense(self, mem: DenseMemory, adaptive: bool) -> None:
        """Velocities of the dense layers' ``W``, ``b`` and (adaptive) ``C``."""
        if not self.cfg.momentum:
            return
        for i, w in enumerate(mem.W):
            self.add_velocity(f"W{i}", w.shape, i, 0, f"sat:vW^{i + 1}")
            if mem.b is not None:
                self.add_velocity(f"b{i}", mem.b[i].shape, i, 1, f"sat:vb^{i + 1}")
            if adaptive and i < len(mem.C):
                self.add_velocity(f"C{i}", mem.C[i].shape, i, 2, f"sat:vC^{i + 1}")

    def add_blocks(self, kernels_: list[np.ndarray], biases: list | None) -> None:
        """Keys (tile ``CONV_TILE + b``) and velocities of the conv blocks'
        kernels ``K^b`` (momentum kind 0) and filter biases (kind 1)."""
        seed = self.cfg.seed
        tiles = [streams.CONV_TILE + b for b in range(len(kernels_))]
        self.k_keys = [streams.counter_key(seed, "weight_update", t) for t in tiles]
        self.bk_keys = [streams.counter_key(seed, "bias_update", t) for t in tiles]
        if not self.cfg.momentum:
            return
        for b, k in enumerate(kernels_):
            self.add_velocity(f"K{b}", k.shape, tiles[b], 0, f"sat:vK^{b + 1}")
            if biases is not None:
                self.add_velocity(f"B{b}", biases[b].shape, tiles[b], 1, f"sat:vbK^{b + 1}")

    # --- the unit ---------------------------------------------------------
    def register(self, lr: float, batch: int) -> int:
        """The multiplier ``round(lr / batch * 2**lr_frac)``; on a chip with a
        shift-only update unit (``update.lr_shift``) a power of two, or the
        run is refused (:func:`neurosim.plan.check_update`; checked here too
        for a last, smaller minibatch)."""
        if self.lr_shift:
            check_lr_shift(lr, batch, self.cfg.lr_frac, self.chip_name)
        return int(round(lr / batch * (1 << self.cfg.lr_frac)))

    def _tally(self, name: str, sat: int, changed: int, bits: int) -> None:
        self.counts[f"sat:{name}"] += sat
        self.counts[f"changed:{name}"] += changed  # the key exists even when 0
        self.counts["rng_bits"] += bits

    def apply(
        self, name: str, vname: str, p: np.ndarray, g: np.ndarray, mult: int, shift: int,
        fmt: FixedFormat, key: int, step: int, mode: str = "full",
        mirror: np.ndarray | None = None,
    ) -> None:  # fmt: skip
        """The general update of parameter ``p`` (tensor ``name``, e.g.
        ``W^2``; velocity ``vname``) in minibatch ``step``: ``mode``
        magnitude takes ``|g|`` (in place), sign a 1-bit log-quantized
        update, else ``update_bits``; with momentum through the velocity."""
        cfg = self.cfg
        if mode == "magnitude":
            np.abs(g, out=g)
        ubits = 1 if mode == "sign" else cfg.update_bits
        ckey = update_code_key(cfg, vname, ubits)
        if cfg.momentum:
            sat, changed, bits = self._momentum(vname, p, g, mult, shift, fmt, key, ubits,
                                                step, mirror, ckey)  # fmt: skip
        else:
            sat, changed, bits, code_bits = kernels.apply_update_coded(
                p, g, mult, shift, fmt, self.stochastic, key, step * p.size, ubits, mirror,
                None, ckey,
            )  # fmt: skip
            self._code_tally(code_bits)
        self._tally(name, sat, changed, bits)

    def _code_tally(self, bits: int) -> None:
        if self.code_stochastic:  # the key exists only for runs that draw code bits
            self.counts["rng_bits:update_code"] += bits

    def _momentum(
        self, name: str, p: np.ndarray, g: np.ndarray, mult: int, shift: int,
        fmt: FixedFormat, key: int, ubits: int, step: int, mirror: np.ndarray | None,
        code_key: int | None = None,
    ) -> tuple[int, int, int]:  # fmt: skip
        """The update with momentum (:func:`kernels.momentum_kernel`); returns
        the parameter's ``(sat, changed, bits)``."""
        v, n = self.V[name], p.size
        mkey = self.m_keys[name]
        bases = (
            kernels._base(key, step * n),
            kernels._base(mkey, 2 * step * n),
            kernels._base(mkey, (2 * step + 1) * n),
        )
        code_base = None if code_key is None else kernels._base(code_key, step * n)
        sat, changed, bits, sat_v, bits_v, code_bits = kernels.apply_momentum(
            p, v, g, mult, shift, self.extra, self.mu_reg, self.cfg.lr_frac, fmt,
            self.v_fmt.get(name, self.v_fmt.get(name[0])), self.stochastic, bases, ubits, mirror,
            code_base,
        )  # fmt: skip
        self._code_tally(code_bits)
        self.counts[self._vsat[name]] += sat_v
        self.counts["rng_bits:velocity"] += bits_v
        return sat, changed, bits

    # --- what the engines update ------------------------------------------
    def dense_layer(
        self, mem: DenseMemory, i: int, a: np.ndarray, r: np.ndarray, mult: int, mode: str,
        step: int, cols: tuple | None = None, rows0: np.ndarray | None = None,
    ) -> None:  # fmt: skip
        """Update ``b^{i+1}`` (with ``bias``) and ``W^{i+1}`` from the layer's
        input codes ``a`` ``(B, N_i)`` and errors ``r`` ``(B, N_{i+1})``.
        ``cols``: the forward unit's non-zero input columns (``W^1`` only)."""
        fm, cfg = self.fm, self.cfg
        src_fmt, w_fmt = fm.src(i), fm.weights[i]
        shift = fm.error.frac + src_fmt.frac + cfg.lr_frac - w_fmt.frac
        if mem.b is not None:
            self.bias(f"b^{i + 1}", f"b{i}", mem.b[i], r, mult, self.b_keys[i], step, mode,
                      w_fmt)  # fmt: skip
        direct = self.stochastic and not cfg.update_bits and shift > 0
        if mode != "full" or cfg.momentum or not direct:
            g = self.mac.product(r.T, a, self.r_max, src_fmt.max_abs, f"gW{i}", src_fmt, "a")[0]
            buf = None
            if mode == "full" and not cfg.momentum and cfg.update_bits:
                buf = self.ws.get(f"bufW{i}", (mem.W[i].size,), np.int64)
            self._general(mem, i, g, mult, shift, step, mode, buf)
        elif i == 0:
            self._first(mem, a, r, mult, shift, step, cols, rows0)
        else:  # the common case: stochastic rounding straight onto the codes
            g, gmax = self.mac.product(r.T, a, self.r_max, src_fmt.max_abs, f"gW{i}", src_fmt,
                                       "a")  # fmt: skip
            m = mem.W64[i]
            sat, changed, bits = kernels.apply_update_flat(
                mem.W[i].reshape(-1), g.reshape(-1), mult, shift, w_fmt.qmin,
                w_fmt.qmax, self.w_keys[i], step * mem.W[i].size,
                kernels._NO_MIRROR if m is None else m.reshape(-1), gmax,
            )  # fmt: skip
            self._tally(f"W^{i + 1}", sat, changed, bits)

    def _general(self, mem, i, g, mult, shift, step, mode, buf) -> None:
        """``W^{i+1}`` through :meth:`apply` (``W^1`` through its transposed view)."""
        mirror = mem.W64[i] if i else None
        w_fmt = self.fm.weights[i]
        if buf is None:
            self.apply(f"W^{i + 1}", f"W{i}", mem.W[i], g, mult, shift, w_fmt,
                       self.w_keys[i], step, mode, mirror)  # fmt: skip
        else:  # quantized updates in a kept scratch buffer
            sat, changed, bits, code_bits = kernels.apply_update_coded(
                mem.W[i], g, mult, shift, w_fmt, self.stochastic, self.w_keys[i],
                step * mem.W[i].size, self.cfg.update_bits, mirror, buf,
                update_code_key(self.cfg, f"W{i}", self.cfg.update_bits),
            )  # fmt: skip
            self._code_tally(code_bits)
            self._tally(f"W^{i + 1}", sat, changed, bits)
        if i == 0 and mem.W64T0 is not None:  # W^1 is a view: refresh its copy
            np.copyto(mem.W64T0, mem.WT0)

    def _first(self, mem, a0, r, mult, shift, step, cols, rows0) -> None:
        # W^1 stored transposed: the gradient W^T rows are a0^T @ R^1, only
        # for the input columns that are non-zero in this batch
        fm = self.fm
        rows, a = cols if cols is not None else (rows0, a0)
        gt, gmax = self.mac.product(a.T, r, fm.inp.max_abs, self.r_max, "gWT0", fm.inp, "b")
        sat, changed, bits = kernels.apply_update_rows_t(
            mem.WT0, gt, rows, mult, shift, fm.weights[0], self.w_keys[0],
            step * mem.WT0.size, mem.W64T0, gmax,
        )  # fmt: skip
        self._tally("W^1", sat, changed, bits)

    def bias(
        self, name: str, vname: str, p: np.ndarray, r: np.ndarray, mult: int, key: int,
        step: int, mode: str, fmt: FixedFormat | None = None,
    ) -> None:  # fmt: skip
        """Update a bias vector as a weight on a constant input 1: integer
        gradient ``sum`` of the error rows ``r`` (codes; with conv blocks over
        the batch and the positions), shift ``error.frac + lr_frac - weight.frac``;
        ``fmt``: its layer's weight format (default: the one weight format)."""
        fm, cfg = self.fm, self.cfg
        fmt = fmt or fm.weight
        g = r.sum(axis=0, dtype=np.float64)  # exact: rows * max|R| < 2**53
        shift = fm.error.frac + cfg.lr_frac - fmt.frac
        self.apply(name, vname, p, g, mult, shift, fmt, key, step, mode)

    def feedback(
        self, i: int, c: np.ndarray, a: np.ndarray, src: np.ndarray, mult: int, step: int
    ) -> None:
        """Adaptive channel: ``dC^{i+1} = eta O^{i+1} R`` (``a`` the layer's
        activation codes, ``src`` the error the channel carries)."""
        fm, cfg = self.fm, self.cfg
        a_fmt = fm.acts[i]  # O^{i+1}'s own format
        g = self.mac.product(a.T, src, a_fmt.max_abs, self.r_max, f"gC{i}", a_fmt, "b")[0]
        f = fm.feedbacks[i]  # C^{i+1}'s own format
        shift = a_fmt.frac + fm.error.frac + cfg.lr_frac - f.frac
        self.apply(f"C^{i + 1}", f"C{i}", c, g, mult, shift, f, self.c_keys[i], step)

    def conv_block(
        self, b: int, k: np.ndarray, bias: np.ndarray | None, r: np.ndarray, cols: np.ndarray,
        src: FixedFormat, mult: int, step: int, mode: str,
    ) -> None:  # fmt: skip
        """Update block ``b``'s kernel ``K^{b+1}`` from its errors ``r``
        ``(B*H*W, F)`` and im2col patches ``cols``, then its filter biases."""
        fm, cfg = self.fm, self.cfg
        # 8-bit patches and log-coded errors multiply in integers where that applies
        g = self.mac.product(r.T, cols, self.r_max, src.max_abs, f"gK{b}", act=src, err="a")[0]
        shift = fm.error.frac + src.frac + cfg.lr_frac - fm.weight.frac
        self.apply(f"K^{b + 1}", f"K{b}", k, g, mult, shift, fm.weight, self.k_keys[b], step,
                   mode)  # fmt: skip
        if bias is not None:
            self.bias(f"bK^{b + 1}", f"B{b}", bias, r, mult, self.bk_keys[b], step, mode)
