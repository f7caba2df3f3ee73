"""``lowrank``: a dense draw replaced by its rank-``r`` truncated SVD (``r = rank``).

Drawn as :func:`dense_matrix` then ``numpy.linalg.svd``. Stored as factors
``C^h = U V``, ``U`` ``(N_h, r)`` and ``V`` ``(r, N_src)``, ``feedback_bits``
per factor entry: a tile's slice holds its rows of ``U``, ``rows * r``
entries, and (``with_v``) the whole ``V``, ``r * N_src`` entries. A
projection computes ``V R`` (``r`` MACs per working error component, each
reading a ``V`` entry; shift-adds for log-coded errors) and then ``U (V R)``
(``rows * r`` MACs per sample, each reading a ``U`` entry; always MACs:
``V R`` is a linear word, priced at the error word's width). Each tile
holding a slice computes both (``V R`` is not shared between tiles): a
tile's projection takes ``r * N_src + rows * r`` operations per sample.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from neurosim.channel.formats.base import (
    FeedbackFormat,
    FeedbackStorage,
    Projection,
    check_int,
    dense_macs,
    dense_matrix,
)
from neurosim.errors import ConfigError


class LowRank(FeedbackFormat):
    """Rank-``r`` factors ``U V`` of a dense draw."""

    name = "lowrank"
    params = {"rank": "an integer rank r for lowrank feedback"}

    def check_params(self, n: int | None, rank: int | None, shapes: Sequence) -> None:
        """``rank`` at most the smaller side of each ``C^h``."""
        for i, shape in enumerate(shapes):
            if shape is not None and rank > min(shape):
                raise ConfigError(
                    "rank",
                    rank,
                    f"an integer from 0 to {min(shape)} for C of shape {tuple(shape)}"
                    f" (C^{i + 1})",
                )

    def draw(
        self,
        rng: np.random.Generator,
        shape: tuple[int, int],
        dist: str = "uniform",
        mean: float = 0.0,
        n: int | None = None,
        rank: int | None = None,
    ) -> np.ndarray:
        """The rank-``rank`` truncated SVD of one ``dense_matrix`` draw."""
        r_max = min(shape)
        if rank is None or not 0 <= rank <= r_max:
            raise ConfigError("rank", rank, f"an integer from 0 to {r_max} for C of shape {shape}")
        m = dense_matrix(rng, shape, dist, mean)
        u, s, vt = np.linalg.svd(m, full_matrices=False)
        return (u[:, :rank] * s[:rank]) @ vt[:rank]

    def check_storage(
        self, st: FeedbackStorage, shapes: Sequence[tuple[int, int]], counts_given: bool
    ) -> None:
        """``0 <= rank <= min(N_h, N_src)`` for every ``C^h``."""
        if not shapes:
            return
        if st.rank is None:
            raise ConfigError("rank", None, "an integer rank r for lowrank feedback")
        max_rank = min(min(s) for s in shapes)
        if check_int("rank", st.rank, 0) > max_rank:
            raise ConfigError("rank", st.rank, f"at most min(N_h, N_src) = {max_rank}")

    def slice_bits(
        self, st: FeedbackStorage, rows: int, n_src: int, nnz: int | None, with_v: bool
    ) -> int:
        """``(rows * r + (r * n_src if with_v)) * feedback_bits``."""
        r = st.rank or 0
        return (rows * r + (r * n_src if with_v else 0)) * st.feedback_bits

    def projection_ops(self, p: Projection) -> int:
        """``r * nnz_src`` MACs for ``V R`` plus ``rows * r`` per sample for
        ``U (V R)``, per copy."""
        r = p.rank or 0
        return (r * p.nnz_src + p.rows * r * p.samples) * p.copies

    def project(
        self, c: Counter, p: Projection, feedback_bits: int, error_bits: int, log: bool
    ) -> None:
        """``V R``: a MAC (a shift-add for log-coded errors) and a factor read
        per ``V`` entry used; ``U (V R)``: a MAC and a factor read per ``U``
        entry used (the factors are ``feedback_bits`` wide)."""
        r = p.rank or 0
        dense_macs(c, r * p.nnz_src * p.copies, feedback_bits, error_bits, log)
        dense_macs(c, p.rows * r * p.samples * p.copies, feedback_bits, error_bits, False)

    def projection_work(self, n_src: int, n: int | None, rank: int | None) -> tuple[int, int]:
        """``(r, r * n_src)``: ``U (V R)`` per row, ``V R`` once per tile."""
        r = rank or 0
        return r, r * n_src

    def select(self, c: Counter, p: Projection, feedback_bits: int) -> None:
        """DRTP's column select: the label's column of ``V`` (``r`` factor
        reads per working source component), then ``U`` times it: a MAC of
        two factor entries and a ``U`` read per entry (``rows * r`` per
        working source component). The column of ``C^h`` is not stored, so
        low rank still multiplies."""
        r = p.rank or 0
        c["feedback", "sram_read", ("feedback",)] += r * p.nnz_src * p.copies * feedback_bits
        dense_macs(c, p.rows * r * p.nnz_src * p.copies, feedback_bits, feedback_bits, False)

    def select_work(self, n_src: int, n: int | None, rank: int | None) -> tuple[int, int]:
        """``(r, r)``: ``U`` times the column per row, the column read once per tile."""
        r = rank or 0
        return r, r


FORMAT = LowRank()
