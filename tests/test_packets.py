"""Tests of neurosim.channel.packets: the error message formats, bit by bit.

The first two golden vectors, derived by hand from the layout
(``value_bits=4, n=10, src_bits=4, dst_bits=4, len_bits=4``, so
``addr_bits = ceil(log2 10) = 4`` and the header is 1 + 4 + 4 + 4 = 13 bits):

Dense, src 3, dst 5, codes [1, 0, 9, 2, 0, 15, 7, 0, 10, 3]::

    kind   0            dense
    src    0011         3
    dst    0101         5
    count  1010         n = 10
    code   0001 0000 1001 0010 0000 1111 0111 0000 1010 0011
           (1 = +alpha, 9 = sign 1 | magnitude 1 = -alpha, 15 = -alpha 2^-6, ...)
    total  13 + 10 * 4 = 53 bits

Event, src 2, dst 1, codes [0, 3, 0, 0, 9, 0, 0, 0, 0, 6]::

    kind   1            event
    src    0010         2
    dst    0001         1
    count  0011         3 events
    event  0001 0011    address 1, code 3
    event  0100 1001    address 4, code 9
    event  1001 0110    address 9, code 6
    total  13 + 3 * (4 + 4) = 37 bits
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from bitstring import Bits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim.channel.packets import (
    Packet,
    PacketDecodeError,
    PacketEncodeError,
    PacketLayout,
    best_kind_bits,
    decode,
    dense_bits,
    encode,
    event_bits,
    header_bits,
    linear_codes,
    linear_values,
    log_codes,
    log_values,
    message_bits,
    nonzero_mask,
)
from neurosim.errors import ConfigError, NeuroSimError
from neurosim.numerics.fixedpoint import LogQuantizer

GOLDEN = json.loads((Path(__file__).parent / "golden" / "packets.json").read_text())["cases"]
BY_NAME = {c["name"]: c for c in GOLDEN}


# Written out by hand field by field (see the module docstring), not by encode().
def _b(fields: str) -> str:
    """A bit string written with spaces between fields, spaces removed."""
    return fields.replace(" ", "")


HAND_DENSE = _b(
    "0"  # kind: dense
    " 0011"  # src 3
    " 0101"  # dst 5
    " 1010"  # count = n = 10
    " 0001 0000 1001 0010 0000"  # codes 1, 0, 9, 2, 0
    " 1111 0111 0000 1010 0011"  # codes 15, 7, 0, 10, 3
)
HAND_EVENT = _b(
    "1"  # kind: event
    " 0010"  # src 2
    " 0001"  # dst 1
    " 0011"  # count: 3 events
    " 0001 0011"  # address 1, code 3
    " 0100 1001"  # address 4, code 9
    " 1001 0110"  # address 9, code 6
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def layout_of(case: dict) -> PacketLayout:
    return PacketLayout(**case["layout"])


# ------------------------------------------------------------------ golden vectors


def test_hand_written_vectors_match_golden_file():
    assert len(HAND_DENSE) == 13 + 10 * 4
    assert len(HAND_EVENT) == 13 + 3 * (4 + 4)
    assert BY_NAME["dense_log4_n10"]["bits"] == HAND_DENSE
    assert BY_NAME["event_log4_3events"]["bits"] == HAND_EVENT
    d = BY_NAME["dense_log4_n10"]
    assert encode(layout_of(d), d["src"], d["dst"], d["codes"]).bin == HAND_DENSE
    e = BY_NAME["event_log4_3events"]
    assert encode(layout_of(e), e["src"], e["dst"], e["codes"]).bin == HAND_EVENT


def test_golden_file_covers_the_required_cases():
    names = set(BY_NAME)
    assert {"dense_log4_n10", "event_log4_3events", "event_log4_empty"} <= names
    layouts = [layout_of(c) for c in GOLDEN]
    assert any(c["dst"] == lay.broadcast for c, lay in zip(GOLDEN, layouts, strict=True))
    assert any(lay.value_bits == 1 and lay.kind == "dense" for lay in layouts)
    assert any(lay.encoding == "linear" and lay.value_bits == 16 for lay in layouts)


@pytest.mark.parametrize("case", GOLDEN, ids=lambda c: c["name"])
def test_golden_encode(case):
    assert case["fields"].replace(" ", "") == case["bits"]
    lay = layout_of(case)
    bits = encode(lay, case["src"], case["dst"], case["codes"])
    assert isinstance(bits, Bits)
    assert bits.bin == case["bits"]


@pytest.mark.parametrize("case", GOLDEN, ids=lambda c: c["name"])
def test_golden_decode(case):
    lay = layout_of(case)
    want = Packet(lay.kind, case["src"], case["dst"], tuple(case["codes"]))
    assert decode(lay, case["bits"]) == want
    assert decode(lay, Bits(bin=case["bits"])) == want


@pytest.mark.parametrize("case", GOLDEN, ids=lambda c: c["name"])
def test_golden_bit_counts(case):
    lay = layout_of(case)
    nnz = int(nonzero_mask(lay, np.array(case["codes"])).sum())
    assert message_bits(lay, nnz) == len(case["bits"])
    if lay.kind == "dense":
        assert dense_bits(lay) == len(case["bits"])
    else:
        assert event_bits(lay, nnz) == len(case["bits"])


@pytest.mark.parametrize("case", GOLDEN, ids=lambda c: c["name"])
def test_golden_values_to_codes(case):
    lay = layout_of(case)
    if lay.encoding == "log":
        lq = LogQuantizer(**case["quantizer"])
        assert lq.bits == lay.value_bits
        assert log_codes(np.array(case["values"], dtype=np.float64), lq).tolist() == case["codes"]
        assert log_values(np.array(case["codes"]), lq).tolist() == case["values"]
    else:
        assert linear_codes(np.array(case["values"]), lay.value_bits).tolist() == case["codes"]
        assert linear_values(np.array(case["codes"]), lay.value_bits).tolist() == case["values"]


# ------------------------------------------------------------------ layout


def test_layout_derived_fields():
    lay = PacketLayout(4, 10, 4, 4, 4, "event")
    assert lay.addr_bits == 4
    assert lay.broadcast == 15
    assert lay.kind_bit == 1
    assert lay.zero_code_exists is True
    assert PacketLayout(1, 10, 4, 4, 4).zero_code_exists is False
    assert PacketLayout(1, 10, 4, 4, 4, zero_code_exists=False).zero_code_exists is False
    assert PacketLayout(2, 10, 0, 0, 4, encoding="linear").broadcast == 0


@pytest.mark.parametrize(
    ("n", "addr"), [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (10, 4), (16, 4), (17, 5), (1000, 10)]
)
def test_addr_bits(n, addr):
    assert PacketLayout(4, n, 2, 2, 16).addr_bits == addr


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n": 16, "len_bits": 4}, "n"),  # 16 does not fit in 4 bits
        ({"n": 0}, "n"),
        ({"value_bits": 0}, "value_bits"),
        ({"value_bits": 63}, "value_bits"),
        ({"value_bits": 1, "encoding": "linear"}, "value_bits"),
        ({"src_bits": -1}, "src_bits"),
        ({"dst_bits": 33}, "dst_bits"),
        ({"len_bits": 0}, "len_bits"),
        ({"kind": "sparse"}, "kind"),
        ({"encoding": "float"}, "encoding"),
        ({"value_bits": 1, "kind": "event"}, "kind"),  # sign-only codes have no zero
        ({"value_bits": 1, "zero_code_exists": True}, "zero_code_exists"),
        ({"value_bits": 4, "zero_code_exists": False}, "zero_code_exists"),
        ({"n": 2.0}, "n"),
        ({"value_bits": True}, "value_bits"),
    ],
)
def test_layout_validation(kwargs, field):
    base = {"value_bits": 4, "n": 10, "src_bits": 3, "dst_bits": 3, "len_bits": 4}
    with pytest.raises(ConfigError) as info:
        PacketLayout(**{**base, **kwargs})
    assert info.value.field == field
    assert info.value.allowed


# ------------------------------------------------------------------ strategies


@st.composite
def layouts(draw):
    encoding = draw(st.sampled_from(["log", "linear"]))
    vb = draw(st.integers(2 if encoding == "linear" else 1, 18))
    n = draw(st.integers(1, 40))
    len_bits = draw(st.integers(n.bit_length(), n.bit_length() + 3))
    zero = not (encoding == "log" and vb == 1)
    kind = draw(st.sampled_from(["dense", "event"] if zero else ["dense"]))
    return PacketLayout(
        value_bits=vb,
        n=n,
        src_bits=draw(st.integers(0, 5)),
        dst_bits=draw(st.integers(0, 5)),
        len_bits=len_bits,
        kind=kind,
        encoding=encoding,
    )


@st.composite
def messages(draw):
    lay = draw(layouts())
    vb = lay.value_bits
    p_zero = draw(st.sampled_from([0.0, 0.5, 0.9, 1.0]))
    codes = []
    for _ in range(lay.n):
        if draw(st.floats(0, 1)) < p_zero:
            # a zero component; log codes may carry either sign bit
            neg = lay.encoding == "log" and vb > 1 and draw(st.booleans())
            codes.append((1 << (vb - 1)) if neg else 0)
        else:
            codes.append(draw(st.integers(0, (1 << vb) - 1)))
    src = draw(st.integers(0, (1 << lay.src_bits) - 1))
    dst = draw(st.integers(0, (1 << lay.dst_bits) - 1))
    return lay, src, dst, codes


# ------------------------------------------------------------------ round trip and bit counts


@FAST
@given(messages())
def test_round_trip(msg):
    lay, src, dst, codes = msg
    bits = encode(lay, src, dst, codes)
    pkt = decode(lay, bits)
    assert (pkt.kind, pkt.src, pkt.dst) == (lay.kind, src, dst)
    if lay.kind == "dense":
        assert pkt.codes == tuple(codes)
    else:
        nz = nonzero_mask(lay, np.array(codes))
        assert pkt.codes == tuple(c if z else 0 for c, z in zip(codes, nz, strict=True))
    # the decoded packet encodes to the same bits
    assert encode(lay, pkt.src, pkt.dst, pkt.codes) == bits
    assert decode(lay, bits.bin) == pkt


@FAST
@given(messages())
def test_bit_counts_equal_encoder(msg):
    lay, src, dst, codes = msg
    nnz = int(nonzero_mask(lay, np.array(codes)).sum())
    n_bits = len(encode(lay, src, dst, codes))
    assert message_bits(lay, nnz) == n_bits
    assert header_bits(lay) == 1 + lay.src_bits + lay.dst_bits + lay.len_bits
    dense_lay = replace(lay, kind="dense")
    assert dense_bits(lay) == len(encode(dense_lay, src, dst, codes))
    if lay.zero_code_exists:
        event_lay = replace(lay, kind="event")
        e_bits = len(encode(event_lay, src, dst, codes))
        assert event_bits(lay, nnz) == e_bits
        assert best_kind_bits(lay, nnz) == min(e_bits, dense_bits(lay))
    else:
        assert best_kind_bits(lay, nnz) == dense_bits(lay)


@FAST
@given(layouts(), st.data())
def test_bit_counts_vectorised(lay, data):
    nnz = np.array(data.draw(st.lists(st.integers(0, lay.n), max_size=12)), dtype=np.int64)
    nnz2 = nnz.reshape(-1, 1) if data.draw(st.booleans()) else nnz
    for f in (message_bits, best_kind_bits) + ((event_bits,) if lay.zero_code_exists else ()):
        out = f(lay, nnz2)
        assert isinstance(out, np.ndarray) and out.shape == nnz2.shape
        assert out.ravel().tolist() == [f(lay, int(k)) for k in nnz]
        assert isinstance(f(lay, 0), int)
    assert int(message_bits(lay, nnz).sum()) == sum(message_bits(lay, int(k)) for k in nnz)


def test_bit_counts_examples():
    lay = PacketLayout(4, 10, 4, 4, 4, "event")
    assert header_bits(lay) == 13
    assert dense_bits(lay) == 53
    assert event_bits(lay, 3) == 37
    assert event_bits(lay, 0) == 13
    # events cost 8 bits, dense 40: event wins up to 5 non-zero components
    assert best_kind_bits(lay, np.arange(11)).tolist() == [13, 21, 29, 37, 45, 53] + [53] * 5
    dense = PacketLayout(4, 10, 4, 4, 4, "dense")
    assert message_bits(dense, np.array([0, 10])).tolist() == [53, 53]
    with pytest.raises(PacketEncodeError):
        event_bits(lay, 11)
    with pytest.raises(PacketEncodeError):
        message_bits(lay, np.array([-1]))
    with pytest.raises(TypeError):
        event_bits(lay, np.array([1.5]))


# ------------------------------------------------------------------ decoder robustness


def _decodes_or_rejects(lay: PacketLayout, bits: str) -> Packet | None:
    try:
        pkt = decode(lay, bits)
    except PacketDecodeError:
        return None
    # anything accepted is a well-formed packet that re-encodes to itself
    assert encode(lay, pkt.src, pkt.dst, pkt.codes).bin == bits
    return pkt


@FAST
@given(layouts(), st.text(alphabet="01", max_size=300))
def test_decode_random_bits(lay, bits):
    _decodes_or_rejects(lay, bits)


@FAST
@given(layouts(), st.data())
def test_decode_random_bits_of_plausible_length(lay, data):
    # a right kind bit, a random header and exactly as many payload bits as
    # the count asks for: reaches the address and code checks
    count = data.draw(st.integers(0, (1 << lay.len_bits) - 1))
    head = data.draw(
        st.text(
            alphabet="01",
            min_size=lay.src_bits + lay.dst_bits,
            max_size=lay.src_bits + lay.dst_bits,
        )
    )
    per = lay.value_bits if lay.kind == "dense" else lay.addr_bits + lay.value_bits
    size = min(count, lay.n + 1) * per
    payload = data.draw(st.text(alphabet="01", min_size=size, max_size=size))
    bits = str(lay.kind_bit) + head + format(count, f"0{lay.len_bits}b") + payload
    _decodes_or_rejects(lay, bits)


@FAST
@given(messages(), st.data())
def test_decode_mutated_packets(msg, data):
    lay, src, dst, codes = msg
    bits = encode(lay, src, dst, codes).bin
    op = data.draw(st.sampled_from(["flip", "cut", "append"]))
    if op == "flip":
        i = data.draw(st.integers(0, len(bits) - 1))
        bits = bits[:i] + ("1" if bits[i] == "0" else "0") + bits[i + 1 :]
    elif op == "cut":
        bits = bits[: data.draw(st.integers(0, len(bits) - 1))]
        assert _decodes_or_rejects(lay, bits) is None  # a prefix is never a packet
    else:
        bits += data.draw(st.text(alphabet="01", min_size=1, max_size=20))
    _decodes_or_rejects(lay, bits)


EV = PacketLayout(4, 10, 4, 4, 4, "event")
DN = PacketLayout(4, 10, 4, 4, 4, "dense")


@pytest.mark.parametrize(
    ("layout", "bits", "reason"),
    [
        (EV, HAND_DENSE, "kind bit"),
        (DN, HAND_EVENT, "kind bit"),
        (EV, HAND_EVENT[:-1], "truncated"),
        (EV, HAND_EVENT[:12], "truncated"),
        (EV, "", "truncated"),
        (DN, HAND_DENSE[:-4], "truncated"),
        (EV, HAND_EVENT + "0", "trailing"),
        (DN, HAND_DENSE + "0000", "trailing"),
        (DN, _b("0 0011 0101 1001") + "0001" * 9, "count"),  # dense count 9 != n
        (EV, _b("1 0010 0001 1011") + "00010011" * 11, "exceeds"),  # 11 events > n
        (EV, _b("1 0010 0001 0010 0100 0011 0001 1001"), "not increasing"),
        (EV, _b("1 0010 0001 0010 0100 0011 0100 1001"), "not increasing"),
        (EV, _b("1 0010 0001 0001 1010 0011"), ">= n"),  # address 10
        (EV, _b("1 0010 0001 0001 1111 0011"), ">= n"),  # address 15
        (EV, _b("1 0010 0001 0001 0011 0000"), "zero code"),
        (EV, _b("1 0010 0001 0001 0011 1000"), "zero code"),  # sign 1, magnitude 0
        (EV, "1001000010011x", "only '0' and '1'"),
    ],
)
def test_decode_rejects_malformed(layout, bits, reason):
    with pytest.raises(PacketDecodeError, match=reason):
        decode(layout, bits)


def test_decode_errors_are_project_errors():
    assert issubclass(PacketDecodeError, NeuroSimError)
    assert issubclass(PacketEncodeError, NeuroSimError)
    with pytest.raises(TypeError):
        decode(EV, 12)


def test_linear_event_keeps_the_sign_bit_pattern():
    # 1000 is -8 as a linear word: a non-zero component, unlike the log code 1000
    lin = PacketLayout(4, 10, 4, 4, 4, "event", encoding="linear")
    bits = _b("1 0010 0001 0001 0011 1000")
    assert decode(lin, bits).codes == (0, 0, 0, 8, 0, 0, 0, 0, 0, 0)
    codes = [8, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert len(encode(lin, 0, 0, codes)) == event_bits(lin, 1)
    assert len(encode(EV, 0, 0, codes)) == event_bits(EV, 0)  # log: a zero, not sent


# ------------------------------------------------------------------ encoder arguments


@pytest.mark.parametrize(
    ("src", "dst", "codes", "match"),
    [
        (16, 0, [0] * 10, "src"),
        (-1, 0, [0] * 10, "src"),
        (0, 16, [0] * 10, "dst"),
        (0, 0, [0] * 9, "10"),
        (0, 0, [0] * 9 + [16], "code"),
        (0, 0, [0] * 9 + [-1], "code"),
    ],
)
def test_encode_rejects_bad_arguments(src, dst, codes, match):
    for lay in (EV, DN):
        with pytest.raises(PacketEncodeError, match=match):
            encode(lay, src, dst, codes)


def test_encode_accepts_numpy_codes():
    case = BY_NAME["dense_log4_n10"]
    codes = np.array(case["codes"], dtype=np.int64)
    assert encode(DN, np.int64(3), 5, codes).bin == case["bits"]
    with pytest.raises(TypeError):
        encode(DN, 3, 5, [1.0] * 10)


def test_nonzero_mask():
    codes = np.array([[0, 1, 8, 9], [7, 15, 0, 8]])
    log4 = PacketLayout(4, 4, 1, 1, 3)
    lin4 = PacketLayout(4, 4, 1, 1, 3, encoding="linear")
    sign = PacketLayout(1, 4, 1, 1, 3)
    assert nonzero_mask(log4, codes).tolist() == [
        [False, True, False, True],
        [True, True, False, False],
    ]
    assert nonzero_mask(lin4, codes).tolist() == [
        [False, True, True, True],
        [True, True, False, True],
    ]
    assert nonzero_mask(sign, np.array([0, 1])).tolist() == [True, True]


# ------------------------------------------------------------------ value -> code helpers

QUANTIZERS = [
    LogQuantizer(1, 0, 3),
    LogQuantizer(2, 1, 4),
    LogQuantizer(3, 0, 6),
    LogQuantizer(3, -2, 2),
    LogQuantizer(4, 0, 13),
    LogQuantizer(8, 2, 5),
    LogQuantizer(1, -1, None),
    LogQuantizer(4, -2, None),
    LogQuantizer(8, 1, None),
]


@pytest.mark.parametrize("lq", QUANTIZERS, ids=str)
def test_log_codes_match_quantizer_encode(lq):
    rng = np.random.default_rng(lq.bits * 100 + lq.alpha_log2)
    scale = 2.0 ** (lq.top + 1)
    x = rng.normal(0, 1, 400) * scale * 2.0 ** rng.integers(-lq.emax - 3, 2, 400)
    if lq.frac is not None:
        x = np.rint(x)
    x[:5] = [0.0, -0.0, scale * 10, -scale * 10, 1.0]
    q = lq(x)
    codes = log_codes(q, lq)
    assert codes.dtype == np.int64
    k = lq.bits
    want = [(s << (k - 1)) | m for s, m in (lq.encode(v) for v in q.tolist())]
    assert codes.tolist() == want
    assert np.all((codes >= 0) & (codes < (1 << k)))
    # and back: each code decodes to the value it came from
    assert np.array_equal(log_values(codes, lq), q)
    assert [lq.decode(c >> (k - 1), c & ((1 << (k - 1)) - 1)) for c in codes.tolist()] == q.tolist()
    # shape is kept
    assert log_codes(q.reshape(20, 20), lq).shape == (20, 20)


@pytest.mark.parametrize("lq", QUANTIZERS, ids=str)
def test_log_codes_reject_non_levels(lq):
    alpha = 2.0**lq.top
    bad = [3 * alpha / 4 if lq.bits > 1 else alpha / 2, 2 * alpha, np.nan, np.inf]
    if lq.bits > 1:
        bad.append(alpha * 2.0 ** -(lq.emax + 1))
    for v in bad:
        with pytest.raises(PacketEncodeError):
            log_codes(np.array([alpha, v]), lq)


def test_log_values_reject_bad_codes():
    lq = LogQuantizer(4, 0, 3)  # emax = 3: magnitude codes 5..7 unused
    with pytest.raises(PacketDecodeError):
        log_values(np.array([5]), lq)
    with pytest.raises(PacketDecodeError):
        log_values(np.array([16]), lq)
    assert log_values(np.array([8]), lq).tolist() == [0.0]  # sign 1, magnitude 0


@FAST
@given(st.integers(2, 40), st.data())
def test_linear_codes_are_twos_complement(bits, data):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    vals = data.draw(st.lists(st.integers(lo, hi), min_size=1, max_size=20))
    codes = linear_codes(np.array(vals, dtype=np.int64), bits)
    assert codes.tolist() == [Bits(i=v, length=bits).u for v in vals]
    assert linear_codes(np.array(vals, dtype=np.float64), bits).tolist() == codes.tolist()
    assert linear_values(codes, bits).tolist() == vals


@pytest.mark.parametrize(
    ("vals", "bits"),
    [([128], 8), ([-129], 8), ([0.5], 8), ([np.nan], 8), ([1], 1), ([1], 63)],
)
def test_linear_codes_reject(vals, bits):
    with pytest.raises(PacketEncodeError):
        linear_codes(np.array(vals), bits)


# --- block-scaled messages: the exponent field in the header ----------------
#
# Hand-derived vector: value_bits=3, n=4, src_bits=dst_bits=2, len_bits=3,
# exp_bits=5 (block_exp_bits(16): a 16-bit error word has exponents 0..15
# plus field 0 for an all-zero message), so the header is
# 1 + 2 + 2 + 3 + 5 = 13 bits. The message [8, 0, -2, 4] (LSB units) has
# max 8, top = ceil(log2 8) = 3, field 3 + 1 = 4; 3-bit codes relative to
# alpha = 2**3: 8 -> 0|01, 0 -> 000, -2 -> 1|11, 4 -> 0|10.
#
#   kind 0 | src 01 | dst 10 | count 100 | exp 00100 | 001 000 111 010
#   = 13 + 4 * 3 = 25 bits

BLOCK_LAYOUT = dict(value_bits=3, n=4, src_bits=2, dst_bits=2, len_bits=3, exp_bits=5)


def test_block_exp_bits_hand_computed():
    from neurosim.numerics.fixedpoint import block_exp_bits

    # word_bits exponents + the zero-message code: ceil(log2(w + 1)) bits
    assert [block_exp_bits(w) for w in (2, 3, 7, 8, 15, 16, 24)] == [2, 2, 3, 4, 4, 5, 5]


def test_block_dense_vector_by_hand():
    from neurosim.channel.packets import block_log_codes, block_log_values

    lay = PacketLayout(**BLOCK_LAYOUT)
    assert header_bits(lay) == 13 and dense_bits(lay) == 25
    exp, codes = block_log_codes([8, 0, -2, 4], 3, bits=3, frac=12, word_bits=16)
    assert exp == 4 and codes.tolist() == [0b001, 0b000, 0b111, 0b010]
    bits = encode(lay, 1, 2, codes, exp=exp)
    assert bits.bin == "0011010000100001000111010"
    pkt = decode(lay, bits)
    assert pkt.exp == 4 and pkt.codes == (1, 0, 7, 2)
    assert block_log_values(pkt.codes, pkt.exp, 3, 12, 16).tolist() == [8.0, 0.0, -2.0, 4.0]


def test_block_event_zero_message_is_header_only():
    from neurosim.channel.packets import block_log_codes, block_log_values

    lay = PacketLayout(**(BLOCK_LAYOUT | {"kind": "event"}))
    exp, codes = block_log_codes([0, 0, 0, 0], -1, bits=3, frac=12, word_bits=16)
    assert exp == 0 and codes.tolist() == [0, 0, 0, 0]
    bits = encode(lay, 1, 2, codes, exp=exp)
    assert bits.bin == "1011000000000" and event_bits(lay, 0) == 13
    pkt = decode(lay, bits)
    assert block_log_values(pkt.codes, pkt.exp, 3, 12, 16).tolist() == [0.0] * 4


@pytest.mark.parametrize("kind", ["dense", "event"])
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_block_round_trip_engine_messages(k: int, kind: str):
    from neurosim.channel.packets import block_log_codes, block_log_values
    from neurosim.numerics import kernels
    from neurosim.numerics.fixedpoint import block_exp_bits

    if kind == "event" and k == 1:
        pytest.skip("sign-only codes travel in dense packets only")
    rng = np.random.default_rng(k)
    p = rng.integers(-3000, 3000, size=(40, 9)).astype(np.float64)
    p[::5] = 0  # all-zero messages
    p[3] = -32768  # the largest magnitude the 16-bit word holds
    p[4] = [1] + [0] * 8  # top = 0: one LSB
    out, tops = np.empty_like(p), np.empty(40, dtype=np.int64)
    emax = 0 if k == 1 else (1 << (k - 1)) - 2
    kernels.error_kernel_block(p, p, False, 0, -32768, 32767, k, emax, 15, True, out, tops)
    lay = PacketLayout(k, 9, 3, 3, 4, kind=kind, exp_bits=block_exp_bits(16))
    for row, top in zip(out, tops, strict=True):
        exp, codes = block_log_codes(row, int(top), k, 12, 16)
        bits = encode(lay, 5, lay.broadcast, codes, exp=exp)
        nnz = int(nonzero_mask(lay, codes).sum()) if exp else 0
        assert len(bits) == message_bits(lay, nnz if kind == "event" else 0)
        pkt = decode(lay, bits)
        assert pkt.exp == exp == top + 1
        np.testing.assert_array_equal(block_log_values(pkt.codes, pkt.exp, k, 12, 16), row)
    assert (tops == -1).any() and tops.max() == 15 and 0 in tops


def test_block_fields_rejected():
    from neurosim.channel.packets import block_log_codes, block_log_values

    lay = PacketLayout(**BLOCK_LAYOUT)
    with pytest.raises(PacketEncodeError, match="exp"):
        encode(lay, 0, 0, [0, 0, 0, 0], exp=32)  # 5 bits hold 0..31
    with pytest.raises(PacketEncodeError, match="exp"):
        encode(PacketLayout(3, 4, 2, 2, 3), 0, 0, [0, 0, 0, 0], exp=1)  # no field
    with pytest.raises(PacketDecodeError, match="outside"):
        block_log_values([1, 0, 0, 0], 17, 3, 12, 16)  # 16-bit word: fields 0..16
    with pytest.raises(PacketDecodeError, match="all-zero"):
        block_log_values([1, 0, 0, 0], 0, 3, 12, 16)
    with pytest.raises(PacketEncodeError, match="all-zero"):
        block_log_codes([1, 0, 0, 0], -1, 3, 12, 16)
    with pytest.raises(PacketEncodeError):
        block_log_codes([3, 0, 0, 0], 2, 3, 12, 16)  # 3 is not a level
    with pytest.raises(ConfigError, match="exp_bits"):
        PacketLayout(8, 4, 2, 2, 3, encoding="linear", exp_bits=5)
    with pytest.raises(ConfigError, match="exp_bits"):
        PacketLayout(3, 4, 2, 2, 3, exp_bits=9)
