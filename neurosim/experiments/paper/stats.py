"""Statistics over seeds, and the rule that judges a claim on them.

Every full experiment runs each variant with several seeds (each seed changes
the data split, the initial weights, the learning-channel matrices, the
training order and every rounding bit). A claim compares variants on their
mean score over the seeds:

* the difference ``d = mean(a_s - b_s)`` is paired by seed (runs of one seed
  share the data split and the training order), and its standard error is
  ``SE = sd(a_s - b_s) / sqrt(n)`` (sample standard deviation, ``ddof = 1``);
* a difference **counts** when it exceeds twice its standard error,
  ``|d| > 2 SE``;
* "A beats B by m" holds when ``mean A >= mean B + m`` and the difference
  counts (:func:`beats`); a claim of no difference ("A is no better than B",
  "within m points") fails only when ``mean A > mean B + m`` and the
  difference counts (:func:`beyond`). (The means are compared in this form,
  not as ``d >= m``, so that one seed gives exactly the single-run verdicts.)

With one seed ``SE = 0`` and the rule is the margin alone. ``2 SE`` is not a
5 % test with three seeds (Student's t with 2 degrees of freedom needs 4.3
SE); it is a stated, fixed rule, never tuned to the outcome. This module
imports only the standard library.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (``ddof = 1``; 0 for one value).

    Parameters
    ----------
    values : sequence of float
        One figure per seed (at least one).

    Returns
    -------
    (float, float)
    """
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    m = math.fsum(values) / n
    if n == 1:
        return m, 0.0
    return m, math.sqrt(math.fsum((v - m) ** 2 for v in values) / (n - 1))


def standard_error(values: Sequence[float]) -> float:
    """Standard error of the mean: ``sd / sqrt(n)`` (0 for one value)."""
    return mean_std(values)[1] / math.sqrt(len(values))


def paired_diff(a: Sequence[float], b: Sequence[float] | float) -> tuple[float, float]:
    """Mean difference ``a - b`` over seeds and its standard error.

    Parameters
    ----------
    a : sequence of float
        Per-seed figures of run A.
    b : sequence of float or float
        Per-seed figures of run B, in the same seed order, or a constant
        (e.g. chance level).

    Returns
    -------
    (float, float)
        ``d = mean(a_s - b_s)`` and ``SE = sd(a_s - b_s) / sqrt(n)``.
    """
    bs = [float(b)] * len(a) if isinstance(b, int | float) else list(b)
    if len(bs) != len(a):
        raise ValueError(f"{len(a)} seeds against {len(bs)}")
    d = [x - y for x, y in zip(a, bs, strict=True)]
    return mean_std(d)[0], standard_error(d)


def counts(d: float, se: float) -> bool:
    """A difference counts when it exceeds twice its standard error."""
    return abs(d) > 2.0 * se


def _means(a: Sequence[float], b: Sequence[float] | float) -> tuple[float, float]:
    mb = float(b) if isinstance(b, int | float) else mean_std(b)[0]
    return mean_std(a)[0], mb


def beats(a: Sequence[float], b: Sequence[float] | float, margin: float) -> bool:
    """"A beats B by `margin`": ``mean A >= mean B + margin`` and the
    difference counts."""
    ma, mb = _means(a, b)
    d, se = paired_diff(a, b)
    return ma >= mb + margin and counts(d, se)


def beyond(a: Sequence[float], b: Sequence[float] | float, margin: float) -> bool:
    """A is above B by more than `margin` and the difference counts
    (``mean A > mean B + margin``, ``d > 2 SE``): what refutes "A is no
    better than B"."""
    ma, mb = _means(a, b)
    d, se = paired_diff(a, b)
    return ma > mb + margin and counts(d, se)
