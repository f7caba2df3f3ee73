r"""The label message of DRTP on the skip bus, defined bit by bit.

Under DRTP (:mod:`neurosim.nn.rules`) every hidden layer receives the same
message, ``-T``: the sample's one-hot target, known when the sample enters
the chip. Its only content is the class index, so the skip bus carries that
and nothing else::

    +--------------------+
    |       label        |      label_bits = max(1, ceil(log2 n))
    +--------------------+
      label : the index c of the target's one (0 .. n - 1), most significant
              bit first; with n = 1 (a single output unit) the target bit
              itself (0 or 1)

No header: on a chip that learns by DRTP the skip bus has one sender (the
input port, which has the label with the sample) and every hidden tile
listens, every message has the same length, and there is no exponent, count
or address to send. The receiving tile negates the label's column of its
``C^h`` slice (:meth:`neurosim.channel.formats.FeedbackFormat.select`).

Example: 10 classes, label 7 -> ``0111`` (4 bits); the dense SRBP message
of the same network carries 10 error codes and a header.

:func:`encode` / :func:`decode` are the reference (``bitstring``);
:func:`label_bits` counts arithmetically, and the accountant's per-sample bits
(:func:`neurosim.channel.packets.message_bits` of a :class:`LabelLayout`)
are tested equal to ``len(encode(...))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from neurosim.channel.packets import PacketDecodeError, PacketEncodeError
from neurosim.errors import ConfigError

if TYPE_CHECKING:  # bitstring loads with the first encode or decode, not with a run
    from bitstring import Bits


def label_bits(n: int) -> int:
    """Bits of a label among ``n`` classes: ``max(1, ceil(log2 n))``."""
    return max(1, (n - 1).bit_length())


@dataclass(frozen=True)
class LabelLayout:
    """The skip-bus message of DRTP: one class label.

    Parameters
    ----------
    n : int
        Output units ``N_L`` (components of the one-hot target the label
        stands for), 1 .. 2**32.

    Attributes
    ----------
    kind : str
        ``"label"`` (what a record's bus section shows as the message kind).
    """

    n: int
    kind: str = "label"

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int) or not 1 <= self.n <= 1 << 32:
            raise ConfigError("n", self.n, "an integer from 1 to 2**32 (output units)")
        if self.kind != "label":
            raise ConfigError("kind", self.kind, "label")

    @property
    def bits(self) -> int:
        """Bits of every message: :func:`label_bits` of ``n``."""
        return label_bits(self.n)


def label_of(layout: LabelLayout, target: np.ndarray) -> int:
    """The label a target vector sends: the index of its one (``n > 1``), or
    the target bit (``n = 1``)."""
    t = np.asarray(target).ravel()
    if t.size != layout.n:
        raise PacketEncodeError(f"{t.size} target components for a layout of n = {layout.n}")
    ones = np.flatnonzero(t)
    if layout.n == 1:
        return int(ones.size)
    if ones.size != 1:
        raise PacketEncodeError(f"a label needs a one-hot target, got {ones.size} ones")
    return int(ones[0])


def encode(layout: LabelLayout, target: np.ndarray) -> Bits:
    """Encode the label of one target vector (reference encoder)."""
    from bitstring import Bits

    return Bits(uint=label_of(layout, target), length=layout.bits)


def decode(layout: LabelLayout, bits: Bits | str) -> np.ndarray:
    """The one-hot target (float32, ``(n,)``) a label message stands for."""
    from bitstring import Bits

    bits = Bits(bin=bits) if isinstance(bits, str) else bits
    if len(bits) != layout.bits:
        raise PacketDecodeError(f"{len(bits)} bits, a label of n = {layout.n} has {layout.bits}")
    c = bits.uint
    t = np.zeros(layout.n, dtype=np.float32)
    if layout.n == 1:
        t[0] = c
    elif c >= layout.n:
        raise PacketDecodeError(f"label {c} >= n = {layout.n}")
    else:
        t[c] = 1.0
    return t
