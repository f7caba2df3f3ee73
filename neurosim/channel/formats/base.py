"""What every learning-channel format says, and the helpers the formats share.

A format (one module of this package) answers five questions about ``C^h``
(shape ``(N_h, N_src)``; its fan-in is ``N_src``, the error components each
hidden neuron receives):

1. how it is **drawn**: :meth:`FeedbackFormat.draw`, float64 values from a
   :class:`numpy.random.Generator` (the calls and their order fix the bits);
2. how many bits a tile **stores** for ``r`` of its rows:
   :meth:`FeedbackFormat.slice_bits`, through a :class:`FeedbackStorage`
   (the object :func:`hw_models.mapping.map_network` reads);
3. which **actions** a projection of the error through it performs, over a
   run (a :class:`Projection`): :meth:`FeedbackFormat.project`; each format
   prices its own datapath (a MAC per entry for dense, an add per entry for
   binary, an add per non-zero for sparse and ternary, two products for low
   rank). A *working* error component is one the projection does work for: a
   non-zero one when the chip skips zero errors (``update.zero_skip``, the
   default), any one otherwise (:attr:`Projection.nnz_src` counts them);
4. how many **operations** that projection puts on the tile's MAC array:
   :meth:`FeedbackFormat.projection_ops`;
5. how many operations a tile's projection takes **per sample**, as
   ``per_row * rows + per_tile``: :meth:`FeedbackFormat.projection_work`
   (the timing model's ``bproj`` ops take that over ``macs_per_cycle``).

DRTP projects the one-hot target: ``C^h (-T)`` is minus the label's column,
a **column select** rather than a product (:meth:`FeedbackFormat.select`,
its time :meth:`FeedbackFormat.select_work`). A working source component is
then the label's one (one per sample; none for the ``0`` target of a
single-output network). The tile keeps ``C^h`` so that a column is
contiguous (the same bits; DRTP never reads a row).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from neurosim.errors import ConfigError

FEEDBACK_DISTS = ("uniform", "normal")


def glorot_bound(fan_in: int, fan_out: int) -> float:
    """Glorot uniform bound ``sqrt(6 / (fan_in + fan_out))``."""
    return math.sqrt(6.0 / (fan_in + fan_out))


def binary_scale(shape: tuple[int, int]) -> float:
    """Power-of-two scale applied to {0,1}, {-1,+1} and {-1,0,+1} entries.

    The power of two closest (in log2) to the Glorot bound of ``shape``
    ``(N_h, N_src)``: on the chip the scale is a shift.
    """
    return 2.0 ** round(math.log2(glorot_bound(shape[1], shape[0])))


def dense_matrix(
    rng: np.random.Generator, shape: tuple[int, int], dist: str, mean: float
) -> np.ndarray:
    """A dense Glorot-scaled random matrix (float64, ``shape``)."""
    n_out, n_in = shape
    if dist == "uniform":
        a = glorot_bound(n_in, n_out)
        m = rng.uniform(-a, a, size=shape)
    elif dist == "normal":
        m = rng.normal(0.0, math.sqrt(2.0 / (n_in + n_out)), size=shape)
    else:
        raise ConfigError("feedback_dist", dist, f"one of {', '.join(FEEDBACK_DISTS)}")
    return m + mean


def check_n(n: int | None, fan_in: int) -> int:
    """``feedback_n``: the expected non-zeros per row, ``0 <= n <= fan_in``."""
    if n is None or not 0 <= n <= fan_in:
        raise ConfigError("feedback_n", n, f"an integer from 0 to the fan-in {fan_in}")
    return n


def check_n_fits(n: int, shapes: Sequence) -> None:
    """``feedback_n`` at most the fan-in of every ``C^h`` (None shapes skipped)."""
    for i, shape in enumerate(shapes):
        if shape is not None and n > shape[1]:
            raise ConfigError(
                "feedback_n", n, f"an integer from 0 to the fan-in {shape[1]} (C^{i + 1})"
            )


def check_int(path: str, v: object, lo: int) -> int:
    """``v`` if it is an integer ``>= lo``, else a :class:`ConfigError` on ``path``."""
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise ConfigError(path, v, f"an integer >= {lo}")
    return v


@dataclass(frozen=True)
class FeedbackStorage:
    """How a run's ``C^h`` sits in the tiles' feedback memory.

    Satisfies :class:`hw_models.mapping.FeedbackStorage`.

    Attributes
    ----------
    fmt : FeedbackFormat
        The stored format.
    feedback_bits : int
        Bits of a dense entry (and of a low-rank factor entry).
    n : int or None
        ``feedback_n`` (expected non-zeros per row) for sparse and ternary.
    rank : int or None
        Rank of low-rank factors.
    value_bits : int
        Bits stored with each index of a sparse list.
    """

    fmt: FeedbackFormat
    feedback_bits: int
    n: int | None = None
    rank: int | None = None
    value_bits: int = 0

    @property
    def name(self) -> str:
        """The format's name (a chip's ``feedback_storage`` value)."""
        return self.fmt.name

    @property
    def counts_nonzeros(self) -> bool:
        """True when a slice's bits follow its actual non-zero count."""
        return self.fmt.counts_nonzeros

    def check(self, shapes: Sequence[tuple[int, int]], counts_given: bool) -> None:
        """Raise :class:`ConfigError` if the parameters do not fit ``shapes``
        (``counts_given``: every layer's actual non-zero count is known)."""
        self.fmt.check_storage(self, shapes, counts_given)

    def slice_bits(self, rows: int, n_src: int, nnz: int | None, with_v: bool) -> int:
        """Bits of ``rows`` rows of a ``C^h`` with ``n_src`` columns.

        ``nnz``: their actual non-zeros (None: the expected count);
        ``with_v``: the slice also keeps the layer's shared factor (low rank).
        """
        return self.fmt.slice_bits(self, rows, n_src, nnz, with_v)


@dataclass(frozen=True)
class Projection:
    """The projection of a run's errors through ``rows`` rows of one ``C^h``.

    Attributes
    ----------
    rows : int
        Rows of ``C^h`` one copy projects (its output components).
    n_src : int
        Columns of ``C^h`` (the fan-in).
    nnz_src : int
        Source error components that do work over the run (each row sees them
        all): the non-zero ones when the chip skips zero errors
        (``update.zero_skip``, the default), else every component of every
        sample, ``n_src * samples``.
    samples : int
        Samples of the run.
    copies : int
        Copies doing the same work: the tiles that replicate the rows (column
        blocks) times, with ``feedback_per_synapse``, the synapses per neuron.
    n : int or None
        ``feedback_n``: expected non-zeros per row (sparse, ternary).
    rank : int or None
        Rank of low-rank factors.
    nnz : int or None
        Actual non-zeros of the ``rows`` rows of one copy (None: the expected
        ``n * rows``).
    """

    rows: int
    n_src: int
    nnz_src: int
    samples: int
    copies: int = 1
    n: int | None = None
    rank: int | None = None
    nnz: int | None = None

    @property
    def entries(self) -> int:
        """Entries an event-driven dense walk uses: ``rows * nnz_src * copies``
        (each working source component meets every row)."""
        return self.rows * self.nnz_src * self.copies

    @property
    def row_samples(self) -> int:
        """Output components computed: ``rows * samples * copies``."""
        return self.rows * self.samples * self.copies

    @property
    def stored_nonzeros(self) -> int:
        """Non-zeros of one copy's rows: the actual count, else ``n * rows``."""
        if self.nnz is not None:
            return self.nnz
        if self.n is None:
            raise ConfigError("feedback_n", None, "an integer n (non-zeros per row)")
        return self.n * self.rows


def dense_macs(c: Counter, macs: int, feedback_bits: int, error_bits: int, log: bool) -> None:
    """Add ``macs`` products of a ``feedback_bits`` entry read from the
    ``feedback`` memory and an error word to ``c``: a ``mac`` of
    ``feedback_bits x error_bits`` (a ``shift_add`` of ``feedback_bits`` for a
    log-coded error ``+-2^-e``) and a ``feedback_bits`` read each."""
    if log:
        c["feedback", "shift_add", (feedback_bits,)] += macs
    else:
        c["feedback", "mac", (feedback_bits, error_bits)] += macs
    c["feedback", "sram_read", ("feedback",)] += macs * feedback_bits


def sign_adds(c: Counter, adds: int, read_bits: int, p: Projection, error_bits: int) -> None:
    """The projection of a format whose entries are ``+-1`` (or 1) times a
    power-of-two scale: ``adds`` adds (or subtracts) of the ``error_bits``
    error word, ``read_bits`` bits read from the ``feedback`` memory, and the
    scale: one ``shift_add`` of ``error_bits`` per output component
    (:attr:`Projection.row_samples`).

    A log-coded error word (``+-2^-e``) is added as the linear word it
    decodes to (a one-hot of ``error_bits``, its decoder not priced), so the
    add has the error word's width in both codings.
    """
    c["feedback", "add", (error_bits,)] += adds
    c["feedback", "sram_read", ("feedback",)] += read_bits
    c["feedback", "shift_add", (error_bits,)] += p.row_samples


def round_div(a: int, b: int) -> int:
    """``a / b`` rounded to the nearest integer (halves up), ``a >= 0``, ``b > 0``."""
    return (2 * a + b) // (2 * b)


class FeedbackFormat:
    """One learning-channel format (subclassed once per module of this package).

    The defaults are a dense, stored format: ``feedback_bits`` per entry, one
    MAC per entry used.
    """

    name: ClassVar[str] = ""
    drawn: ClassVar[bool] = True
    """A ``feedback`` config value (``prng`` is a way to keep C^h, not a draw)."""
    counts_nonzeros: ClassVar[bool] = False
    regenerated: ClassVar[bool] = False
    """Entries are regenerated by a PRNG at each use instead of read from SRAM."""
    params: ClassVar[dict[str, str]] = {}
    """The config fields the format needs (``feedback_n``, ``rank``), each with
    what is allowed when it is missing."""

    # -------------------------------------------------------------- config
    def check_params(self, n: int | None, rank: int | None, shapes: Sequence) -> None:
        """Check ``feedback_n`` / ``rank`` against the ``C^h`` ``shapes``
        (``(N_h, N_src)`` each, None where the rule has none); the config has
        already checked that the fields in :attr:`params` are set). A format
        with ``feedback_n`` non-zeros per row needs ``n`` at most each fan-in."""
        if "feedback_n" in self.params:
            check_n_fits(n, shapes)

    # ---------------------------------------------------------------- draw
    def draw(
        self,
        rng: np.random.Generator,
        shape: tuple[int, int],
        dist: str = "uniform",
        mean: float = 0.0,
        n: int | None = None,
        rank: int | None = None,
    ) -> np.ndarray:
        """Draw ``C^h`` of ``shape`` ``(N_h, N_src)``: float64 values."""
        raise NotImplementedError

    # ------------------------------------------------------------- storage
    def storage(
        self,
        feedback_bits: int,
        n: int | None = None,
        rank: int | None = None,
        value_bits: int | None = None,
    ) -> FeedbackStorage:
        """The storage of a run's ``C^h`` (``value_bits``: sparse lists only,
        default :meth:`default_value_bits`)."""
        fb = check_int("feedback_bits", feedback_bits, 1)
        vb = self.default_value_bits(fb) if value_bits is None else value_bits
        return FeedbackStorage(self, fb, n, rank, check_int("value_bits", vb, 0))

    def default_value_bits(self, feedback_bits: int) -> int:
        """Value bits stored next to each sparse index (unused by the others)."""
        return feedback_bits

    def check_storage(
        self, st: FeedbackStorage, shapes: Sequence[tuple[int, int]], counts_given: bool
    ) -> None:
        """Check the storage's parameters against the ``C^h`` shapes (none here)."""

    def entry_bits(self, feedback_bits: int) -> int:
        """Bits stored per entry of ``C^h``."""
        return feedback_bits

    def slice_bits(
        self, st: FeedbackStorage, rows: int, n_src: int, nnz: int | None, with_v: bool
    ) -> int:
        """Bits of ``rows`` stored rows (see :meth:`FeedbackStorage.slice_bits`)."""
        return rows * n_src * self.entry_bits(st.feedback_bits)

    # ---------------------------------------------------------- projection
    def read_bits(self, feedback_bits: int) -> int:
        """Bits per entry of a ``C^h`` drawn and written whole (a fresh draw per
        minibatch, ``feedback_resample``); the dense, binary and ternary
        projections also read this many bits per entry used."""
        return self.entry_bits(feedback_bits)

    def projection_ops(self, p: Projection) -> int:
        """Operations of the projection ``p`` on the tiles' MAC arrays (MACs,
        adds); default one MAC per entry used, :attr:`Projection.entries`."""
        return p.entries

    def project(
        self, c: Counter, p: Projection, feedback_bits: int, error_bits: int, log: bool
    ) -> None:
        """Add the actions of the projection ``p`` to ``c``.

        Default (dense): per entry used (:attr:`Projection.entries`) one
        multiply-accumulate of a ``feedback_bits`` entry and an
        ``error_bits`` error word (a shift-add of ``feedback_bits`` for
        log-coded errors) and a read of :meth:`read_bits` from the
        ``feedback`` memory; see :func:`dense_macs`. The other formats
        override it with their own datapath.
        """
        dense_macs(c, self.projection_ops(p), feedback_bits, error_bits, log)

    def projection_work(self, n_src: int, n: int | None, rank: int | None) -> tuple[int, int]:
        """Operations of one tile's projection of one sample, as
        ``(per_row, per_tile)``: ``per_row * rows + per_tile`` for a tile of
        ``rows`` rows of a ``C^h`` with ``n_src`` columns (every error
        component taken as non-zero, as the timing model does). Default:
        ``(n_src, 0)``, one MAC per entry."""
        return n_src, 0

    def select(self, c: Counter, p: Projection, feedback_bits: int) -> None:
        """Add the actions of DRTP's column select ``p`` to ``c``.

        Default (dense, binary, ternary): per row and working source
        component (:attr:`Projection.entries`) one entry read,
        :meth:`read_bits` from the ``feedback`` memory; no multiply, no add
        (the negation is folded into the ``f'`` multiply that follows, and a
        sign format's power-of-two scale into its rounding shift).
        """
        c["feedback", "sram_read", ("feedback",)] += p.entries * self.read_bits(feedback_bits)

    def select_work(self, n_src: int, n: int | None, rank: int | None) -> tuple[int, int]:
        """Operations of one tile's column select for one sample, as
        ``(per_row, per_tile)`` (:meth:`projection_work`'s form). Default:
        ``(1, 0)``, one entry per row (one lane of the MAC array's operand
        stream each)."""
        return 1, 0

    def regenerate(self, c: Counter) -> None:
        """Stored formats: nothing (see :mod:`neurosim.channel.formats.prng`)."""
