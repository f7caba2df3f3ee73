"""Update unit: stochastic or nearest rounding of updates, optional log-quantized
updates, momentum (a velocity word) and the saturating write-back.

Every kernel works in place on the stored codes (and their float64 mirror,
when the engine keeps one) with an explicit counter-based RNG state: the
word of entry ``i`` is ``mix64(key + (counter0 + i) * GOLDEN)``.
"""

from __future__ import annotations

import math

import numpy as np

from neurosim.numerics.fixedpoint import GOLDEN, FixedFormat
from neurosim.numerics.kernels._lazy import jit
from neurosim.numerics.kernels.error import _stochastic_level
from neurosim.numerics.kernels.rounding import _clamp, _clip, _mix64, _round_shift_int

_NO_MIRROR = np.empty(0, dtype=np.float64)  # update kernels: no float64 copy


@jit(cache=True)
def _log_level(d, top, emax):
    # nearest power of two in the log domain, clipped to [top - emax, top];
    # zero stays zero. m = mant * 2**ex rounds up from 2**(ex-1) exactly when
    # mant > 1/sqrt(2); comparing with fl(1/sqrt 2), the first double above
    # 1/sqrt(2), is exact for every double mant.
    if d == 0:
        return d
    m = -d if d < 0 else d
    mant, ex = math.frexp(float(m))  # exact: |d| < 2**53
    lvl = np.int64(ex - 1)
    if mant >= 0.7071067811865476:
        lvl += 1
    if lvl < top - emax:
        return np.int64(0)
    if lvl > top:
        lvl = top
    v = np.int64(1) << lvl
    return -v if d < 0 else v


@jit(cache=True)
def _sign_level(d, top):
    # 1-bit code: the sign alone; zero is sent with sign bit 0
    return -(np.int64(1) << top) if d < 0 else (np.int64(1) << top)


@jit(cache=True)
def _code_updates(buf, n, ubits, mx, code_stoch, code_base):
    # the ubits-bit log code of buf[:n] in place, over the array: alpha =
    # 2**top the smallest power of two >= mx = max |d| > 0, levels no finer
    # than one LSB (lo = top - emax >= 0). Nearest (1 bit: the sign code) or
    # stochastic (ubits >= 2: the top bits of the word of entry i under
    # code_base, as ref_stochastic_log_quantize). Returns the bits drawn.
    top = np.int64(0)
    while (np.int64(1) << top) < mx:
        top += 1
    emax = (np.int64(1) << (ubits - 1)) - 2 if ubits > 1 else np.int64(0)
    if emax > top:
        emax = top
    gold = np.uint64(GOLDEN)
    drawn = 0
    for i in range(n):
        d = buf[i]
        if d == 0:
            continue
        if ubits == 1:
            buf[i] = _sign_level(d, top)
        elif code_stoch:
            w = _mix64(code_base + np.uint64(i) * gold)
            q, k = _stochastic_level(d, ubits, top, top - emax, w)
            buf[i] = q
            drawn += k
        else:
            buf[i] = _log_level(d, top, emax)
    return drawn


@jit(cache=True, inline="always")
def _write(fw, fm, i, d, qmin, qmax):
    # saturating write-back of one update (to the codes and their mirror, if
    # any); returns (saturated, changed)
    old = np.int64(fw[i])
    x, s = _clamp(old + d, qmin, qmax)
    if x != old:
        fw[i] = x
        if fm.size:
            fm[i] = x
        return s, 1
    return s, 0


@jit(cache=True)
def update_kernel(
    w, g, mult, shift, qmin, qmax, stochastic, key, counter0, ubits, buf, mirror, code_stoch,
    code_base,
):  # fmt: skip
    """Fused update unit: ``w += Q(round(g * mult / 2**shift))``, saturating.

    Parameters
    ----------
    w : ndarray (float32/float64 holding integers), modified in place
        Stored codes of W (or C).
    g : ndarray, same size
        Exact integer gradient sums.
    mult, shift : int
        Learning-rate register and the right shift that lands on W's LSB.
    qmin, qmax : int
        W's range.
    stochastic : bool
        Stochastic rounding with SplitMix64 bits for counters
        ``counter0 + flat index`` under ``key``; otherwise round half to even.
        A zero ``g * mult`` is no update: no bits are drawn for it.
    ubits : int
        Log-quantize each step's update to this many bits (0 = off), with
        ``alpha`` the smallest power of two >= max |update| and levels no
        finer than one LSB.
    buf : ndarray of int64, same size
        Scratch space.
    mirror : ndarray of float64, same size or empty, modified in place
        A second copy of the codes (float64 for BLAS) that receives every
        write; empty when there is none.
    code_stoch : bool
        ``ubits >= 2``: round each update's log code stochastically between
        its neighbouring levels (``update_code_rounding``), entry ``i`` with
        the word ``mix64(code_base + i * GOLDEN)``; else nearest.
    code_base : uint64
        The code words' base (``key + counter0 * GOLDEN`` of the
        ``"update_code"`` stream).

    Returns
    -------
    (saturations, changed, rng_bits, code_rng_bits)
    """
    fw = w.ravel()
    fm = mirror.ravel()
    fg = g.ravel()
    n = fw.size
    gold = np.uint64(GOLDEN)
    base = np.uint64(key) + np.uint64(counter0) * gold
    use_rng = stochastic and shift > 0
    if use_rng and ubits == 0:
        sat, changed, drawn = _update_stochastic(fw, fm, fg, mult, shift, qmin, qmax, base)
        return sat, changed, drawn, 0
    sat = 0
    changed = 0
    drawn = 0
    mx = np.int64(0)
    for i in range(n):
        v = np.int64(fg[i]) * mult
        if use_rng:
            # floor((0 + r) / 2**shift) = 0: a zero update stays zero, and the
            # unit skips it without drawing bits (counted as such)
            r = np.int64(_mix64(base + np.uint64(i) * gold) >> np.uint64(64 - shift))
            drawn += v != 0
            d = (v + r) >> shift
        else:
            d = _round_shift_int(v, shift)
        if ubits > 0:  # quantized updates need max |d| first: keep d for pass 2
            buf[i] = d
            a = -d if d < 0 else d
            if a > mx:
                mx = a
        elif d != 0:
            s, c = _write(fw, fm, i, d, qmin, qmax)
            sat += s
            changed += c
    code_bits = 0
    if ubits > 0 and mx > 0:
        code_bits = _code_updates(buf, n, ubits, mx, code_stoch, code_base)
        for i in range(n):
            d = buf[i]
            if d != 0:
                s, c = _write(fw, fm, i, d, qmin, qmax)
                sat += s
                changed += c
    return sat, changed, drawn * shift, code_bits


@jit(cache=True)
def _update_stochastic(fw, fm, fg, mult, shift, qmin, qmax, base):
    # update_kernel's common case (stochastic rounding, no update quantizer)
    # without branches, so the loop vectorises: a zero update draws no bits
    # and adds 0; the codes are always in range, so clamping an unchanged
    # code never counts a saturation; every code is written back
    gold = np.uint64(GOLDEN)
    rshift = np.uint64(64 - shift)
    mirrored = fm.size > 0
    sat = 0
    changed = 0
    drawn = 0
    z = base  # base + i * gold (mod 2**64) by addition
    for i in range(fw.size):
        v = np.int64(fg[i]) * mult
        r = np.int64(_mix64(z) >> rshift)
        z += gold
        drawn += v != 0
        old = np.int64(fw[i])
        t = old + ((v + r) >> shift)
        x = min(max(t, qmin), qmax)
        sat += x != t
        changed += x != old
        fw[i] = x
        if mirrored:
            fm[i] = x
    return sat, changed, drawn * shift


@jit(cache=True)
def _update_stochastic_rows_t(wt, mt, gt, rows, mult, shift, qmin, qmax, base):
    # _update_stochastic on a matrix stored transposed, wt = W.T of shape
    # (n_in, n_out), for the rows rows[:k] of wt (input columns of W) whose
    # gradients gt (k, n_out) may be non-zero; every other gradient is zero,
    # which changes nothing and draws no bits. Entry W[r, p] draws the word
    # of its flat index r * n_in + p, as the full kernel does.
    n_in = wt.shape[0]
    gold = np.uint64(GOLDEN)
    rshift = np.uint64(64 - shift)
    mirrored = mt.size > 0
    sat = 0
    changed = 0
    drawn = 0
    for q in range(gt.shape[0]):
        p = rows[q]
        wrow = wt[p]
        grow = gt[q]
        z = base + np.uint64(p) * gold  # the word of W[r, p]: by addition along the row
        zstep = np.uint64(n_in) * gold
        for r in range(grow.size):
            v = np.int64(grow[r]) * mult
            rnd = np.int64(_mix64(z) >> rshift)
            z += zstep
            drawn += v != 0
            old = np.int64(wrow[r])
            t = old + ((v + rnd) >> shift)
            x = min(max(t, qmin), qmax)
            sat += x != t
            changed += x != old
            wrow[r] = x
            if mirrored:
                mt[p, r] = x
    return sat, changed, drawn * shift


@jit(cache=True, inline="always")
def _row_update_f64(w, m, g, fmult, scale, rshift, lo, hi, base, step):
    # the stochastic update of one row of codes w (mirror m, or empty) in
    # float64 arithmetic, entry i drawing the word mix64(base + i * step):
    # for |g| * mult + 2**shift <= 2**53 (the caller checks) every value is
    # an integer (or an integer times 2**-shift) that float64 holds exactly,
    # so the floor is the arithmetic shift: _update_stochastic's bits. Without
    # AVX-512 there are no vector int64 multiplies nor float<->int64
    # conversions; only the word's two multiplies stay in int64.
    mirrored = m.size > 0
    sat = 0
    changed = 0
    drawn = 0
    z = base  # base + i * step (mod 2**64) by addition: the loop vectorises better
    for i in range(w.size):
        v = np.float64(g[i]) * fmult
        r = np.float64(_mix64(z) >> rshift)
        z += step
        drawn += v != 0
        old = np.float64(w[i])
        t = old + np.floor((v + r) * scale)
        # never -0.0: the floor is +0.0 or <= -1, and -0.0 + +0.0 is +0.0
        x = _clip(t, lo, hi)
        sat += x != t
        changed += x != old
        w[i] = x
        if mirrored:
            m[i] = x
    return sat, changed, drawn


@jit(cache=True)
def _update_stochastic_f64(fw, fm, fg, mult, shift, qmin, qmax, base):
    # _update_stochastic in float64 arithmetic (_row_update_f64 on the flat codes)
    sat, changed, drawn = _row_update_f64(
        fw, fm, fg, np.float64(mult), 2.0 ** (-shift), np.uint64(64 - shift),
        np.float64(qmin), np.float64(qmax), base, np.uint64(GOLDEN),
    )  # fmt: skip
    return sat, changed, drawn * shift


@jit(cache=True)
def _update_stochastic_rows_t_f64(wt, mt, gt, rows, mult, shift, qmin, qmax, base):
    # _update_stochastic_rows_t in float64 arithmetic: row p of wt holds the
    # entries W[r, p], flat index r * n_in + p, so its words step by n_in
    gold = np.uint64(GOLDEN)
    step = np.uint64(wt.shape[0]) * gold
    fmult, scale, rshift = np.float64(mult), 2.0 ** (-shift), np.uint64(64 - shift)
    lo, hi = np.float64(qmin), np.float64(qmax)
    no_mirror = np.empty(0)
    sat = 0
    changed = 0
    drawn = 0
    for q in range(gt.shape[0]):
        p = rows[q]
        m = mt[p] if mt.size > 0 else no_mirror
        s, c, d = _row_update_f64(wt[p], m, gt[q], fmult, scale, rshift, lo, hi,
                                  base + np.uint64(p) * gold, step)  # fmt: skip
        sat += s
        changed += c
        drawn += d
    return sat, changed, drawn * shift


def _f64_exact(gmax: float | None, mult: int, shift: int) -> bool:
    # float64 holds |g| * mult + a word's 2**shift exactly (shift <= 52)
    return gmax is not None and shift <= 52 and gmax * abs(mult) + 2.0**shift <= 2.0**53


def apply_update_flat(
    w: np.ndarray,
    g: np.ndarray,
    mult: int,
    shift: int,
    qmin: int,
    qmax: int,
    key: int,
    counter0: int,
    mirror: np.ndarray = _NO_MIRROR,
    gmax: float | None = None,
) -> tuple[int, int, int]:
    """:func:`apply_update`'s common case (stochastic rounding, no update
    quantizer, ``shift > 0``) on 1-D views: ``w`` and ``g`` are the flat
    (C-order) codes and gradients, ``mirror`` the flat float64 copy or empty.
    ``gmax``, a bound on ``|g|`` when the caller knows one, lets the unit
    compute in float64 (the same bits, faster without AVX-512) where
    ``gmax * mult + 2**shift <= 2**53``. No checks: the engine's hot path.

    Returns ``(saturations, changed, rng_bits)``.
    """
    base = np.uint64((key + counter0 * GOLDEN) & ((1 << 64) - 1))
    if _f64_exact(gmax, mult, shift):
        return _update_stochastic_f64(w, mirror, g, mult, shift, qmin, qmax, base)
    return _update_stochastic(w, mirror, g, mult, shift, qmin, qmax, base)


def apply_update_rows_t(
    wt: np.ndarray,
    gt: np.ndarray,
    rows: np.ndarray,
    mult: int,
    shift: int,
    fmt: FixedFormat,
    key: int,
    counter0: int,
    mirror_t: np.ndarray | None = None,
    gmax: float | None = None,
) -> tuple[int, int, int]:
    """:func:`apply_update` of ``W`` (stochastic rounding, no update
    quantizer, ``shift > 0``) stored transposed as ``wt = W.T`` (C-contiguous,
    ``(n_in, n_out)``), when only the rows ``rows[:k]`` of ``wt`` can have
    non-zero gradients, given as ``gt`` (``(k, n_out)``): the same bits and
    counts as the full update of ``W``. ``mirror_t`` (float64, like ``wt``)
    receives the same writes; ``gmax`` as in :func:`apply_update_flat`.

    Returns ``(saturations, changed, rng_bits)``.
    """
    if shift <= 0 or not wt.flags.c_contiguous:
        raise ValueError("apply_update_rows_t needs shift > 0 and a C-contiguous wt")
    base = np.uint64((key + counter0 * GOLDEN) & ((1 << 64) - 1))
    m = np.empty((0, 0)) if mirror_t is None else mirror_t
    kernel = _update_stochastic_rows_t_f64 if _f64_exact(gmax, mult, shift) else (
        _update_stochastic_rows_t
    )
    sat, changed, bits = kernel(
        wt, m, gt, rows, int(mult), int(shift), int(fmt.qmin), int(fmt.qmax), base
    )
    return int(sat), int(changed), int(bits)


_EMPTY_BUF = np.empty(0, dtype=np.int64)


def apply_update(
    w: np.ndarray,
    g: np.ndarray,
    mult: int,
    shift: int,
    fmt: FixedFormat,
    stochastic: bool,
    key: int,
    counter0: int,
    update_bits: int = 0,
    mirror: np.ndarray | None = None,
    buf: np.ndarray | None = None,
) -> tuple[int, int, int]:
    """Run :func:`update_kernel` on ``w`` in place; see it for the semantics.

    ``mirror`` (float64, C-contiguous, ``w``'s shape) receives the same writes;
    ``buf`` is int64 scratch of ``w.size`` for quantized updates (allocated
    when not given). Log codes round to the nearest level. Returns
    ``(saturations, changed, rng_bits)``.
    """
    out = apply_update_coded(
        w, g, mult, shift, fmt, stochastic, key, counter0, update_bits, mirror, buf
    )
    return out[:3]


def apply_update_coded(
    w: np.ndarray,
    g: np.ndarray,
    mult: int,
    shift: int,
    fmt: FixedFormat,
    stochastic: bool,
    key: int,
    counter0: int,
    update_bits: int = 0,
    mirror: np.ndarray | None = None,
    buf: np.ndarray | None = None,
    code_key: int | None = None,
) -> tuple[int, int, int, int]:
    """:func:`apply_update` with the log code's rounding: ``code_key`` None
    (nearest) or the ``"update_code"`` stream key whose words, counters
    ``counter0 + flat index``, round each code stochastically
    (``update_bits >= 2``). Returns ``(saturations, changed, rng_bits,
    code_rng_bits)``.
    """
    if not update_bits:
        buf = _EMPTY_BUF
    elif buf is None:
        buf = np.empty(w.size, dtype=np.int64)
    # the kernel writes through ravel(), a copy for non-contiguous arrays
    target = w if w.flags.c_contiguous else np.ascontiguousarray(w)
    code_base = _base(0 if code_key is None else code_key, counter0)
    # Python ints below 2**63 reach numba as int64, like np.int64
    out = update_kernel(
        target, g if g.flags.c_contiguous else np.ascontiguousarray(g), int(mult), int(shift),
        int(fmt.qmin), int(fmt.qmax), bool(stochastic), int(key), int(counter0),
        int(update_bits), buf, _NO_MIRROR if mirror is None else mirror,
        code_key is not None, code_base,
    )  # fmt: skip
    if target is not w:
        w[...] = target
    return tuple(int(x) for x in out)


# --- momentum: the update unit with a velocity word --------------------------


@jit(cache=True)
def _rnd_shift(v, shift, stochastic, base, i):
    # v / 2**shift rounded (stochastic: the top `shift` bits of the word of
    # counter i under base; nearest: half to even); returns (value, bits drawn).
    # A zero stays zero and draws nothing; shift <= 0 is an exact left shift.
    if shift <= 0:
        return v << (-shift), 0
    if v == 0:
        return v, 0
    if stochastic:
        r = np.int64(_mix64(base + np.uint64(i) * np.uint64(GOLDEN)) >> np.uint64(64 - shift))
        return (v + r) >> shift, shift
    return _round_shift_int(v, shift), 0


@jit(cache=True)
def momentum_kernel(
    w, v, g, mult, shift_v, extra, mu, mu_frac, qmin, qmax, vmin, vmax, stochastic,
    base_g, base_decay, base_step, ubits, buf, mirror, code_stoch, code_base,
):  # fmt: skip
    """Update unit with momentum, fused over one parameter array.

    Per entry ``i`` (flat C order): ``d = round(g * mult / 2**shift_v)`` (the
    learning-rate-scaled gradient on the velocity's LSB; words of
    ``base_g``), optionally log-quantized to ``ubits`` bits over the array
    (as :func:`update_kernel`, levels no finer than one velocity LSB);
    ``u = sat_V(round(mu * v / 2**mu_frac) + d)`` (words of ``base_decay``);
    ``v = u``; ``w = sat_W(w + round(u / 2**extra))`` (words of
    ``base_step``). Rounding is stochastic or half-to-even for all three;
    the log code rounds as ``code_stoch`` and ``code_base`` say
    (:func:`update_kernel`).

    Returns
    -------
    (sat_w, changed, rng_bits_gradient, sat_v, rng_bits_velocity, code_rng_bits)
    """
    fw = w.ravel()
    fv = v.ravel()
    fm = mirror.ravel()
    fg = g.ravel()
    n = fw.size
    drawn_g = 0
    drawn_m = 0
    mx = np.int64(0)
    for i in range(n):
        d, k = _rnd_shift(np.int64(fg[i]) * mult, shift_v, stochastic, base_g, i)
        drawn_g += k
        buf[i] = d
        a = -d if d < 0 else d
        if a > mx:
            mx = a
    code_bits = 0
    if ubits > 0 and mx > 0:
        code_bits = _code_updates(buf, n, ubits, mx, code_stoch, code_base)
    sat_w = 0
    sat_v = 0
    changed = 0
    for i in range(n):
        dec, k = _rnd_shift(np.int64(fv[i]) * mu, mu_frac, stochastic, base_decay, i)
        drawn_m += k
        u, s = _clamp(dec + buf[i], vmin, vmax)
        sat_v += s
        fv[i] = u
        step, k = _rnd_shift(u, extra, stochastic, base_step, i)
        drawn_m += k
        if step != 0:
            s, c = _write(fw, fm, i, step, qmin, qmax)
            sat_w += s
            changed += c
    return sat_w, changed, drawn_g, sat_v, drawn_m, code_bits


def _base(key: int, counter0: int) -> np.uint64:
    return np.uint64((key + counter0 * GOLDEN) & ((1 << 64) - 1))


def apply_momentum(
    w: np.ndarray,
    v: np.ndarray,
    g: np.ndarray,
    mult: int,
    shift: int,
    extra: int,
    mu: int,
    mu_frac: int,
    fmt: FixedFormat,
    vfmt: FixedFormat,
    stochastic: bool,
    keys: tuple[int, int, int],
    update_bits: int = 0,
    mirror: np.ndarray | None = None,
    code_base: int | None = None,
) -> tuple[int, int, int, int, int, int]:
    """Run :func:`momentum_kernel` on ``w`` (codes) and ``v`` (int64 velocity
    codes, C-contiguous, ``w``'s shape) in place.

    ``shift`` is the plain update's shift onto ``w``'s LSB; the gradient
    lands on the velocity's LSB, ``extra`` bits finer (``shift - extra``).
    ``keys`` are the three generator bases ``_base(key, counter0)`` of the
    gradient's rounding words (the parameter's usual update stream) and of
    the momentum stream's decay and step words. ``mirror`` (float64)
    receives the same writes as ``w``. ``code_base``: None (the log code
    rounds to the nearest level) or the generator base ``_base(code_key,
    counter0)`` of the ``"update_code"`` words that round it stochastically
    (:func:`apply_update_coded`).

    Returns ``(sat_w, changed, rng_bits, sat_v, rng_bits_velocity,
    code_rng_bits)``.
    """
    base_g, base_decay, base_step = (np.uint64(k) for k in keys)
    target = w if w.flags.c_contiguous else np.ascontiguousarray(w)
    buf = np.empty(w.size, dtype=np.int64)
    out = momentum_kernel(
        target, v, g if g.flags.c_contiguous else np.ascontiguousarray(g), int(mult),
        int(shift - extra), int(extra), int(mu), int(mu_frac), int(fmt.qmin), int(fmt.qmax),
        int(vfmt.qmin), int(vfmt.qmax), bool(stochastic), base_g, base_decay, base_step,
        int(update_bits), buf, _NO_MIRROR if mirror is None else mirror,
        code_base is not None, np.uint64(code_base or 0),
    )  # fmt: skip
    if target is not w:
        w[...] = target
    return tuple(int(x) for x in out)
