"""``sparse``: Bernoulli {0, 1} entries (the paper's sparse SRBP), as index lists.

Entry 1 with probability ``p = n / fan_in`` (``n = feedback_n``), times
:func:`binary_scale`; drawn as ``rng.random(shape) < p``. A tile stores its
rows as lists of non-zeros, ``nnz * (ceil(log2(N_src)) + value_bits)`` bits
(``nnz`` the actual count when known, else the expected ``n * rows``;
``value_bits`` 0 for the drawn {0, 1} entries, where the index alone says
where the ones are; row delimiters are not counted).

A projection walks each row's list once per sample: per stored non-zero it
reads the index (``ceil(log2(N_src))`` bits) and adds the error component it
points to (an ``add`` of the error word's width), then scales the row's sum
by the power of two (one ``shift_add`` of the error word per output
component). With the chip's ``update.zero_skip`` (the default) an entry whose
source component is zero is skipped after its index is read: the adds are
the entries that meet a non-zero component, ``nnz * nnz_src / N_src`` over the
run (the expected fraction ``nnz_src / (N_src * samples)`` of the entries
walked, rounded to a whole add), while every index is still read (a row list
has to be read to know where its entries point). Without zero skipping
(:attr:`Projection.nnz_src` then counts every source component) every entry
adds. The non-zeros are the actual count of the drawn ``C^h`` when the
accountant has it, else the expected ``n`` per row; the adds are the
projection's operations on the MAC array.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from neurosim.channel.formats.base import (
    FeedbackFormat,
    FeedbackStorage,
    Projection,
    binary_scale,
    check_int,
    check_n,
    round_div,
    sign_adds,
)
from neurosim.errors import ConfigError


def index_bits(n_src: int) -> int:
    """``ceil(log2(n_src))``: bits of a column index into ``n_src`` columns (0 for 1)."""
    return (n_src - 1).bit_length()


class Sparse(FeedbackFormat):
    """Bernoulli {0, 1} entries stored as index (and value) lists."""

    name = "sparse"
    counts_nonzeros = True
    params = {"feedback_n": "an integer n (p = n/fan-in) for sparse"}

    def draw(
        self,
        rng: np.random.Generator,
        shape: tuple[int, int],
        dist: str = "uniform",
        mean: float = 0.0,
        n: int | None = None,
        rank: int | None = None,
    ) -> np.ndarray:
        """Ones where one ``rng.random(shape)`` is below ``n / fan_in``, scaled."""
        n = check_n(n, shape[1])
        ones = rng.random(shape) < n / shape[1]
        return ones * binary_scale(shape)

    def default_value_bits(self, feedback_bits: int) -> int:
        """0: the drawn entries are all ones."""
        return 0

    def check_storage(
        self, st: FeedbackStorage, shapes: Sequence[tuple[int, int]], counts_given: bool
    ) -> None:
        """Without every actual count the expected one needs ``n <= min N_src``."""
        if counts_given or not shapes:
            return
        if st.n is None:
            raise ConfigError("feedback_n", None, "an integer n (p = n / N_src) for sparse")
        max_src = min(s[1] for s in shapes)
        if check_int("feedback_n", st.n, 0) > max_src:
            raise ConfigError("feedback_n", st.n, f"at most N_src = {max_src}")

    def slice_bits(
        self, st: FeedbackStorage, rows: int, n_src: int, nnz: int | None, with_v: bool
    ) -> int:
        """``nnz * (index_bits(n_src) + value_bits)``."""
        count = nnz if nnz is not None else st.n * rows  # type: ignore[operator]
        return count * (index_bits(n_src) + st.value_bits)

    def read_bits(self, feedback_bits: int) -> int:
        """One bit per entry of a whole draw (is it a one); a projection reads
        the indices instead (:meth:`project`)."""
        return 1

    def projection_ops(self, p: Projection) -> int:
        """The adds: stored non-zeros that meet a working source component,
        ``stored_nonzeros * nnz_src / n_src`` (rounded) per copy (every
        stored non-zero and sample when ``nnz_src`` counts every component)."""
        return round_div(p.stored_nonzeros * p.nnz_src, p.n_src) * p.copies

    def project(
        self, c: Counter, p: Projection, feedback_bits: int, error_bits: int, log: bool
    ) -> None:
        """Per stored non-zero and sample one index read
        (``index_bits(n_src)``); one add per entry meeting a working source
        component (:meth:`projection_ops`); one scale shift per output
        component (:func:`sign_adds`)."""
        walked = p.stored_nonzeros * p.samples * p.copies
        sign_adds(c, self.projection_ops(p), walked * index_bits(p.n_src), p, error_bits)

    def projection_work(self, n_src: int, n: int | None, rank: int | None) -> tuple[int, int]:
        """``(n, 0)``: an add per expected non-zero of a row."""
        return check_n(n, n_src), 0

    def select(self, c: Counter, p: Projection, feedback_bits: int) -> None:
        """DRTP's column select: per working source component (the label)
        every row's list is walked, one index read (``index_bits(n_src)``)
        and one compare with the label (an ``add`` of the index's width) per
        stored non-zero; a match is the entry (the scale is a shift folded
        into the rounding), so no error-word add."""
        walked = p.stored_nonzeros * p.nnz_src * p.copies
        ib = index_bits(p.n_src)
        c["feedback", "sram_read", ("feedback",)] += walked * ib
        if ib:
            c["feedback", "add", (ib,)] += walked

    def select_work(self, n_src: int, n: int | None, rank: int | None) -> tuple[int, int]:
        """``(n, 0)``: a compare per expected non-zero of a row."""
        return check_n(n, n_src), 0


FORMAT = Sparse()
