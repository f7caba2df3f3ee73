r"""Error message formats of the chip, defined bit by bit.

An error message carries one error vector of ``n`` components from one tile
to another (or to all tiles): the output error on the SRBP skip bus, or a
layer's error on the BP/RBP backward chain. (DRTP's skip message is a class
label, :mod:`neurosim.channel.label`.) Every component is a
``value_bits``-wide *code*: a log code (sign + magnitude exponent, see
:class:`neurosim.numerics.fixedpoint.LogQuantizer`) or, when errors are not
log-quantized, the two's complement bit pattern of the linear error word.

Packet layout
-------------
Bits are listed in wire order, first bit on the left; every field is an
unsigned integer written most significant bit first.

::

    header (header_bits = 1 + src_bits + dst_bits + len_bits + exp_bits)
    +------+--------------+--------------+--------------+--------------+
    | kind |     src      |     dst      |    count     |     exp      |
    |  1   |   src_bits   |   dst_bits   |   len_bits   |   exp_bits   |
    +------+--------------+--------------+--------------+--------------+
      kind  : 0 = dense, 1 = event
      src   : address of the sending tile
      dst   : address of the receiving tile; all ones = broadcast
      count : dense -> n;  event -> number of events m (0 <= m <= n)
      exp   : block-scaled log codes only (exp_bits = 0 otherwise): the
              message's shared exponent, top + 1 with top = ceil(log2 max|r|)
              in LSB units of the error word (0 .. word_bits - 1); 0 marks an
              all-zero message. exp_bits = bit_length(word_bits), 5 for the
              default 16-bit word (see fixedpoint.block_exp_bits)

    dense payload (kind = 0): every component, component 0 first
    +-----------+-----------+-----+-------------+
    |  code[0]  |  code[1]  | ... |  code[n-1]  |      n * value_bits
    +-----------+-----------+-----+-------------+

    event payload (kind = 1): the non-zero components, by increasing address
    +--------+--------------+--------+--------------+-----+
    |  a_0   |  code[a_0]   |  a_1   |  code[a_1]   | ... |   m * (addr_bits + value_bits)
    +--------+--------------+--------+--------------+-----+
      addr_bits = max(1, ceil(log2 n));  a_0 < a_1 < ... < a_{m-1} < n
      every code[a_i] is non-zero; absent components are zero

    one code (value_bits = k)
      log, k >= 2 :  | s | magnitude (k - 1 bits) |
                     magnitude 0 = zero (either sign);
                     magnitude c >= 1 = (-1)^s * alpha * 2^-(c - 1)
      log, k = 1  :  | s |   = (-1)^s * alpha; there is no zero code,
                     so sign-only errors travel in dense packets only
                     (a block message with exp = 0 is all zero)
      block       :  alpha = 2^(exp - 1) LSBs of the error word, per message
      linear      :  | two's complement word (k bits) |   zero = all zeros

Example (``value_bits=4, n=10, src_bits=dst_bits=len_bits=4``): an event
packet from tile 2 to tile 1 with codes 3 at address 1 and 9 at address 4 is
``1 0010 0001 0010 | 0001 0011 | 0100 1001`` (29 bits); the dense packet of
the same vector is 13 + 10 * 4 = 53 bits.

The header carries the kind bit, so a receiver can parse either kind; a chip
may therefore pick the shorter encoding message by message.
:func:`best_kind_bits` counts the bits of such a chip.

Two implementations
-------------------
* :func:`encode` / :func:`decode` are the reference encoder and decoder, built
  on ``bitstring``; they define the format and produce the golden test
  vectors.
* :func:`header_bits`, :func:`dense_bits`, :func:`event_bits`,
  :func:`message_bits` and :func:`best_kind_bits` count bits arithmetically
  (vectorised over numbers of non-zero components); the training run's
  accounting uses these, and the tests check them against ``len(encode(...))``.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from neurosim.errors import ConfigError, NeuroSimError
from neurosim.numerics.fixedpoint import LogQuantizer

if TYPE_CHECKING:  # bitstring loads with the first encode or decode, not with a run
    from bitstring import Bits

KINDS = ("dense", "event")
ENCODINGS = ("log", "linear")
MAX_VALUE_BITS = 62  # codes are held in int64 arrays
MAX_ADDR_BITS = 32
MAX_LEN_BITS = 32
MAX_EXP_BITS = 8


class PacketDecodeError(NeuroSimError):
    """A bit string is not a well-formed packet of the given layout."""


class PacketEncodeError(NeuroSimError, ValueError):
    """Values, codes or fields that a packet of the given layout cannot carry."""


@dataclass(frozen=True)
class PacketLayout:
    """Bit layout of one kind of error message (see the module docstring).

    Parameters
    ----------
    value_bits : int
        Bits per error component: the log code width ``k``, or the linear
        error word width (1..62).
    n : int
        Components per message (the error vector's length), ``1 <= n < 2**len_bits``.
    src_bits, dst_bits : int
        Widths of the source and destination tile addresses (0..32). A
        destination of all ones is a broadcast.
    len_bits : int
        Width of the count field (1..32).
    kind : str
        ``"dense"`` or ``"event"``.
    encoding : str
        ``"log"`` (sign bit + magnitude code) or ``"linear"`` (two's
        complement words, ``value_bits >= 2``). Decides which codes are zero.
    zero_code_exists : bool or None
        Whether some code means zero: false only for sign-only log codes
        (``encoding="log"``, ``value_bits=1``). ``None`` derives it; a given
        value must agree. Event packets need a zero code.
    exp_bits : int
        Width of the header's shared-exponent field (0..8): 0 for messages
        quantized with one fixed alpha; ``block_exp_bits(error_word_bits)``
        for block-scaled log codes (``error_scale = "block"``, see
        :func:`neurosim.numerics.fixedpoint.block_exp_bits`). Only log codes carry it.
    """

    value_bits: int
    n: int
    src_bits: int
    dst_bits: int
    len_bits: int
    kind: str = "dense"
    encoding: str = "log"
    zero_code_exists: bool | None = None
    exp_bits: int = 0

    def __post_init__(self) -> None:
        def check_int(field: str, value: object, lo: int, hi: int, allowed: str) -> None:
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ConfigError(field, value, allowed)
            if not lo <= value <= hi:
                raise ConfigError(field, value, allowed)

        if self.encoding not in ENCODINGS:
            raise ConfigError("encoding", self.encoding, f"one of {ENCODINGS}")
        if self.kind not in KINDS:
            raise ConfigError("kind", self.kind, f"one of {KINDS}")
        lo_vb = 2 if self.encoding == "linear" else 1
        check_int(
            "value_bits",
            self.value_bits,
            lo_vb,
            MAX_VALUE_BITS,
            f"{lo_vb} to {MAX_VALUE_BITS} bits for {self.encoding} codes",
        )
        for name in ("src_bits", "dst_bits"):
            check_int(name, getattr(self, name), 0, MAX_ADDR_BITS, f"0 to {MAX_ADDR_BITS} bits")
        check_int("len_bits", self.len_bits, 1, MAX_LEN_BITS, f"1 to {MAX_LEN_BITS} bits")
        check_int("exp_bits", self.exp_bits, 0, MAX_EXP_BITS, f"0 to {MAX_EXP_BITS} bits")
        if self.exp_bits and self.encoding != "log":
            raise ConfigError("exp_bits", self.exp_bits, "0 for linear words (no shared exponent)")
        check_int(
            "n",
            self.n,
            1,
            (1 << self.len_bits) - 1,
            f"1 to {(1 << self.len_bits) - 1} (the count must fit in len_bits = {self.len_bits})",
        )
        derived = not (self.encoding == "log" and self.value_bits == 1)
        if self.zero_code_exists is not None and bool(self.zero_code_exists) != derived:
            raise ConfigError(
                "zero_code_exists",
                self.zero_code_exists,
                f"{derived} for {self.value_bits}-bit {self.encoding} codes",
            )
        object.__setattr__(self, "zero_code_exists", derived)
        if self.kind == "event" and not self.zero_code_exists:
            raise ConfigError(
                "kind", self.kind, "'dense' for sign-only codes (there is no zero code)"
            )

    @property
    def addr_bits(self) -> int:
        """Width of a component address in event packets, ``max(1, ceil(log2 n))``."""
        return max(1, (self.n - 1).bit_length())

    @property
    def broadcast(self) -> int:
        """The broadcast destination address (all ``dst_bits`` ones)."""
        return (1 << self.dst_bits) - 1

    @property
    def kind_bit(self) -> int:
        """Value of the header's kind bit for this layout (0 dense, 1 event)."""
        return KINDS.index(self.kind)


@dataclass(frozen=True)
class Packet:
    """A decoded message.

    Attributes
    ----------
    kind : str
        ``"dense"`` or ``"event"``.
    src, dst : int
        Tile addresses.
    codes : tuple of int
        All ``n`` component codes; components absent from an event packet are 0.
    exp : int
        The header's exponent field (0 when the layout has none).
    """

    kind: str
    src: int
    dst: int
    codes: tuple[int, ...]
    exp: int = 0


# ---------------------------------------------------------------------------
# codes
# ---------------------------------------------------------------------------


def nonzero_mask(layout: PacketLayout, codes: np.ndarray) -> np.ndarray:
    """Which codes are non-zero components (vectorised, any shape).

    Log codes are zero when their magnitude field is 0 (either sign); sign-only
    codes are never zero; linear words are zero when all bits are 0.
    """
    c = np.asarray(codes, dtype=np.int64)
    if layout.encoding == "linear":
        return c != 0
    if layout.value_bits == 1:
        return np.ones(c.shape, dtype=bool)
    return (c & ((1 << (layout.value_bits - 1)) - 1)) != 0


def log_codes(values_int: np.ndarray, quantizer: LogQuantizer) -> np.ndarray:
    """Codes of log-quantized values: ``sign << (k - 1) | magnitude_code``.

    Parameters
    ----------
    values_int : array_like
        Outputs of ``quantizer``: ``+-2**(top - e)`` with ``0 <= e <= emax``,
        or 0, in the error word's integer units (``top = quantizer.top``;
        reals when ``quantizer.frac`` is None). With ``k = 1`` the values are
        ``+-2**top`` (0 is accepted and sent with sign bit 0).
    quantizer : LogQuantizer
        The quantizer that produced them.

    Returns
    -------
    ndarray of int64
        Codes, same shape; equal to ``LogQuantizer.encode`` element by element.

    Raises
    ------
    PacketEncodeError
        If a value is not one of the quantizer's levels.
    """
    v = np.asarray(values_int, dtype=np.float64)
    k, top = quantizer.bits, quantizer.top
    neg = v < 0
    mant, ex = np.frexp(np.abs(v))
    lvl = ex.astype(np.int64) - 1  # |v| = 2**lvl when mant == 0.5
    zero = v == 0
    if k == 1:
        ok = zero | ((mant == 0.5) & (lvl == top))
        mag = np.zeros(v.shape, dtype=np.int64)
    else:
        ok = zero | ((mant == 0.5) & (lvl <= top) & (lvl >= top - quantizer.emax))
        mag = np.where(zero, 0, top - lvl + 1)
    if not np.all(ok):
        bad = v[~ok].ravel()[0]
        raise PacketEncodeError(f"{bad!r} is not a level of {quantizer}")
    return (neg.astype(np.int64) << (k - 1)) | mag.astype(np.int64)


def log_values(codes: np.ndarray, quantizer: LogQuantizer) -> np.ndarray:
    """Values of log codes (inverse of :func:`log_codes`; float64).

    Raises
    ------
    PacketDecodeError
        If a code is wider than ``quantizer.bits`` or its exponent exceeds ``emax``.
    """
    c = np.asarray(codes, dtype=np.int64)
    k, top = quantizer.bits, quantizer.top
    if np.any((c < 0) | (c >= (1 << k))):
        raise PacketDecodeError(f"log codes must lie in [0, {1 << k})")
    sign = np.where((c >> (k - 1)) & 1, -1.0, 1.0)
    if k == 1:
        return sign * np.ldexp(1.0, top)
    mag = c & ((1 << (k - 1)) - 1)
    if np.any(mag - 1 > quantizer.emax):
        raise PacketDecodeError(f"log code exponent above emax = {quantizer.emax}")
    out = sign * np.ldexp(1.0, top - np.maximum(mag - 1, 0))
    out[mag == 0] = 0.0
    return out


def block_exp_code(top: int) -> int:
    """The header's exponent field of a block-scaled message.

    Parameters
    ----------
    top : int
        The message's shared exponent in units of the error word's LSB
        (``0 .. word_bits - 1``: alpha = ``2**(top - frac)`` in real units),
        or -1 for an all-zero message.

    Returns
    -------
    int
        ``top + 1``: 0 marks an all-zero message, ``1 .. word_bits`` the
        exponents (fits in ``block_exp_bits(word_bits)`` bits).
    """
    if top < -1:
        raise PacketEncodeError(f"block exponent {top} below -1 (the all-zero message)")
    return top + 1


def block_quantizer(bits: int, exp: int, frac: int, word_bits: int) -> LogQuantizer | None:
    """The log quantizer of one block-scaled message, from its exponent field.

    Parameters
    ----------
    bits : int
        Code width ``k``.
    exp : int
        The header's exponent field (:func:`block_exp_code`).
    frac : int
        Fraction bits of the error word.
    word_bits : int
        Width of the error word (the largest field value).

    Returns
    -------
    LogQuantizer or None
        ``LogQuantizer(bits, exp - 1 - frac, frac)`` (alpha ``2**(exp - 1)``
        LSBs, no level below one LSB); None for field 0 (all-zero message).

    Raises
    ------
    PacketDecodeError
        If ``exp`` exceeds ``word_bits``.
    """
    if not 0 <= exp <= word_bits:
        raise PacketDecodeError(f"block exponent field {exp} outside [0, {word_bits}]")
    if exp == 0:
        return None
    return LogQuantizer(bits, exp - 1 - frac, frac)


def block_log_codes(
    values_int: np.ndarray, top: int, bits: int, frac: int, word_bits: int
) -> tuple[int, np.ndarray]:
    """Exponent field and codes of one block-scaled message.

    Parameters
    ----------
    values_int : array_like, shape (n,)
        The message as quantized by the chip (error-word integer units:
        ``+-2**l`` or 0, one row of :func:`neurosim.numerics.fixedpoint.block_log_quantize`).
    top : int
        Its shared exponent in LSB units (-1: all-zero message).
    bits, frac, word_bits : int
        Code width, error word fraction bits and width.

    Returns
    -------
    exp : int
        Header exponent field.
    codes : ndarray of int64
        Component codes relative to ``alpha = 2**top`` (all 0 for an
        all-zero message, sign-only codes included).
    """
    v = np.asarray(values_int, dtype=np.float64)
    exp = block_exp_code(top)
    q = block_quantizer(bits, exp, frac, word_bits)
    if q is None:
        if np.any(v != 0):
            raise PacketEncodeError("an all-zero message (exponent -1) with non-zero values")
        return 0, np.zeros(v.shape, dtype=np.int64)
    return exp, log_codes(v, q)


def block_log_values(
    codes: np.ndarray, exp: int, bits: int, frac: int, word_bits: int
) -> np.ndarray:
    """Values (LSB units, float64) of one block-scaled message's codes.

    Inverse of :func:`block_log_codes`; exponent field 0 decodes to zeros
    and then requires every code to be 0.
    """
    c = np.asarray(codes, dtype=np.int64)
    q = block_quantizer(bits, exp, frac, word_bits)
    if q is None:
        if np.any(c != 0):
            raise PacketDecodeError("non-zero codes in an all-zero message (exponent field 0)")
        return np.zeros(c.shape, dtype=np.float64)
    return log_values(c, q)


def linear_codes(values_int: np.ndarray, bits: int) -> np.ndarray:
    """Two's complement bit patterns (unsigned, ``bits`` wide) of integer values.

    Raises
    ------
    PacketEncodeError
        If a value is not an integer in ``[-2**(bits-1), 2**(bits-1) - 1]``.
    """
    if not 2 <= bits <= MAX_VALUE_BITS:
        raise PacketEncodeError(f"linear words are 2 to {MAX_VALUE_BITS} bits, not {bits}")
    v = np.asarray(values_int)
    if v.dtype.kind == "f":
        ok = np.isfinite(v) & (v == np.floor(v))
        ok &= (v >= -(2.0 ** (bits - 1))) & (v <= 2.0 ** (bits - 1) - 1)
    elif v.dtype.kind in "iub":
        ok = (v >= -(1 << (bits - 1))) & (v <= (1 << (bits - 1)) - 1)
    else:
        raise PacketEncodeError(f"linear values must be numbers, not {v.dtype}")
    if not np.all(ok):
        bad = v[~ok].ravel()[0]
        raise PacketEncodeError(f"{bad!r} is not a {bits}-bit two's complement integer")
    return v.astype(np.int64) & ((1 << bits) - 1)


def linear_values(codes: np.ndarray, bits: int) -> np.ndarray:
    """Values of two's complement bit patterns (inverse of :func:`linear_codes`; float64)."""
    c = np.asarray(codes, dtype=np.int64)
    if np.any((c < 0) | (c >= (1 << bits))):
        raise PacketDecodeError(f"{bits}-bit words must lie in [0, {1 << bits})")
    return np.where(c >= (1 << (bits - 1)), c - (1 << bits), c).astype(np.float64)


# ---------------------------------------------------------------------------
# reference encoder / decoder (bitstring)
# ---------------------------------------------------------------------------


def _field(value: int, width: int, name: str) -> Bits:
    from bitstring import Bits

    if not 0 <= value < (1 << width):
        raise PacketEncodeError(f"{name} = {value} does not fit in {width} bits")
    return Bits(u=value, length=width) if width else Bits()


def encode(layout: PacketLayout, src: int, dst: int, codes: Sequence[int], exp: int = 0) -> Bits:
    """Encode one message (reference encoder).

    Parameters
    ----------
    layout : PacketLayout
        The format; ``layout.kind`` chooses dense or event.
    src, dst : int
        Tile addresses (``dst = layout.broadcast`` to broadcast).
    codes : sequence of int
        All ``n`` component codes, each an unsigned ``value_bits``-wide
        integer (from :func:`log_codes` or :func:`linear_codes`). An event
        packet sends only the non-zero ones (see :func:`nonzero_mask`).
    exp : int
        The exponent field (``layout.exp_bits`` wide; must be 0 when the
        layout has none): :func:`block_exp_code` of the message's exponent.

    Returns
    -------
    bitstring.Bits
        The packet, first wire bit first.
    """
    codes = [operator.index(c) for c in codes]
    if len(codes) != layout.n:
        raise PacketEncodeError(f"{len(codes)} codes for a layout of n = {layout.n}")
    vb = layout.value_bits
    payload = [_field(c, vb, f"code[{i}]") for i, c in enumerate(codes)]
    if layout.kind == "dense":
        count = layout.n
    else:
        keep = np.flatnonzero(nonzero_mask(layout, np.array(codes, dtype=np.int64)))
        count = len(keep)
        ab = layout.addr_bits
        payload = [part for a in keep for part in (_field(int(a), ab, "address"), payload[a])]
    head = [
        _field(layout.kind_bit, 1, "kind"),
        _field(operator.index(src), layout.src_bits, "src"),
        _field(operator.index(dst), layout.dst_bits, "dst"),
        _field(count, layout.len_bits, "count"),
        _field(operator.index(exp), layout.exp_bits, "exp"),
    ]
    from bitstring import Bits

    return Bits.from_joined(head + payload)


def _as_bits(bits: Bits | str) -> Bits:
    from bitstring import Bits

    if isinstance(bits, Bits):
        return bits
    if isinstance(bits, str):
        if bits.strip("01"):
            raise PacketDecodeError("a bit string may hold only '0' and '1'")
        return Bits(bin=bits) if bits else Bits()
    raise TypeError(f"decode() takes bitstring.Bits or a '0'/'1' string, not {type(bits)}")


def decode(layout: PacketLayout, bits: Bits | str) -> Packet:
    """Decode one message of ``layout`` (reference decoder).

    Parameters
    ----------
    layout : PacketLayout
        The format expected on this link.
    bits : bitstring.Bits or str
        The packet (a ``'0'``/``'1'`` string is accepted too).

    Returns
    -------
    Packet
        With all ``n`` codes (zeros filled in for an event packet).

    Raises
    ------
    PacketDecodeError
        On any malformed input: kind bit not the layout's, too few or too many
        bits, a dense count other than ``n``, an event count above ``n``,
        addresses not strictly increasing or ``>= n``, a zero code in an
        event packet.
    """
    bits = _as_bits(bits)
    total = len(bits)
    hb = header_bits(layout)
    if total < hb:
        raise PacketDecodeError(f"truncated: {total} bits, the header alone is {hb}")
    from bitstring import Reader, ReadError

    r = Reader(bits)

    def read(width: int) -> int:
        return r.read_value(f"u{width}") if width else 0

    try:
        kind_bit = read(1)
        if kind_bit != layout.kind_bit:
            raise PacketDecodeError(
                f"kind bit {kind_bit}, a {layout.kind} layout expects {layout.kind_bit}"
            )
        src = read(layout.src_bits)
        dst = read(layout.dst_bits)
        count = read(layout.len_bits)
        exp = read(layout.exp_bits)
        n, vb = layout.n, layout.value_bits
        if layout.kind == "dense":
            if count != n:
                raise PacketDecodeError(f"dense packet with count {count}, expected n = {n}")
            expected = hb + n * vb
        else:
            if count > n:
                raise PacketDecodeError(f"event count {count} exceeds n = {n}")
            expected = hb + count * (layout.addr_bits + vb)
        if total < expected:
            raise PacketDecodeError(f"truncated: {total} bits, expected {expected}")
        if total > expected:
            raise PacketDecodeError(f"{total - expected} trailing bits after the packet")
        if layout.kind == "dense":
            codes = tuple(read(vb) for _ in range(n))
        else:
            out = [0] * n
            prev = -1
            for _ in range(count):
                a = read(layout.addr_bits)
                c = read(vb)
                if a >= n:
                    raise PacketDecodeError(f"event address {a} >= n = {n}")
                if a <= prev:
                    raise PacketDecodeError(f"event address {a} after {prev}: not increasing")
                if not nonzero_mask(layout, np.int64(c)):
                    raise PacketDecodeError(f"zero code {c} at address {a} in an event packet")
                out[a] = c
                prev = a
            codes = tuple(out)
    except ReadError as exc:  # lengths are checked above; kept as a safety net
        raise PacketDecodeError(f"truncated: {exc}") from exc
    return Packet(layout.kind, src, dst, codes, exp)


# ---------------------------------------------------------------------------
# bit counts (hot path: arithmetic only)
# ---------------------------------------------------------------------------


def _nnz(layout: PacketLayout, nnz: int | np.ndarray) -> tuple[np.ndarray, bool]:
    arr = np.asarray(nnz)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"nnz must be integers, not {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() > layout.n):
        raise PacketEncodeError(f"nnz must lie in [0, {layout.n}]")
    return arr.astype(np.int64), arr.ndim == 0


def header_bits(layout: PacketLayout) -> int:
    """Bits of the header: ``1 + src_bits + dst_bits + len_bits + exp_bits``."""
    return 1 + layout.src_bits + layout.dst_bits + layout.len_bits + layout.exp_bits


def dense_bits(layout: PacketLayout) -> int:
    """Bits of a dense packet: ``header_bits + n * value_bits``."""
    return header_bits(layout) + layout.n * layout.value_bits


def event_bits(layout: PacketLayout, nnz: int | np.ndarray) -> int | np.ndarray:
    """Bits of event packets with ``nnz`` non-zero components.

    ``header_bits + nnz * (addr_bits + value_bits)``; ``nnz`` an int (returns
    int) or an integer array (returns an int64 array of the same shape).
    """
    arr, scalar = _nnz(layout, nnz)
    out = header_bits(layout) + arr * (layout.addr_bits + layout.value_bits)
    return int(out) if scalar else out


def message_bits(layout: PacketLayout, nnz: int | np.ndarray) -> int | np.ndarray:
    """Bits of messages of ``layout.kind`` with ``nnz`` non-zero components each
    (a DRTP label, :class:`neurosim.channel.label.LabelLayout`: its fixed
    ``bits`` whatever ``nnz``)."""
    if layout.kind == "label":
        arr, scalar = _nnz(layout, nnz)
        return layout.bits if scalar else np.full(arr.shape, layout.bits, dtype=np.int64)
    if layout.kind == "event":
        return event_bits(layout, nnz)
    arr, scalar = _nnz(layout, nnz)
    d = dense_bits(layout)
    return d if scalar else np.full(arr.shape, d, dtype=np.int64)


def best_kind_bits(layout: PacketLayout, nnz: int | np.ndarray) -> int | np.ndarray:
    """Bits when each message uses the shorter of dense and event encoding.

    The header's kind bit tells the receiver which encoding follows, so such
    a chip needs no extra bits. Without a zero code (sign-only log codes)
    only dense packets exist.
    """
    arr, scalar = _nnz(layout, nnz)
    d = dense_bits(layout)
    if not layout.zero_code_exists:
        return d if scalar else np.full(arr.shape, d, dtype=np.int64)
    out = np.minimum(event_bits(layout, arr), d)
    return int(out) if scalar else out
