"""Classification metrics: accuracy and the area under the ROC curve."""

from __future__ import annotations

import numpy as np

__all__ = ["roc_auc"]


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve of a binary classifier.

    Computed as the Mann-Whitney statistic: the probability that a random
    positive scores above a random negative, ties counting one half.  This
    equals the trapezoidal area under the ROC curve through every distinct
    threshold, so quantized outputs with many equal scores are handled
    exactly (a fixed-point sigmoid has only ``2**act_bits`` levels).

    Parameters
    ----------
    y : numpy.ndarray
        ``(N,)`` labels, 1 (positive) or 0 (negative).
    score : numpy.ndarray
        ``(N,)`` scores; larger means more likely positive.

    Returns
    -------
    float
        AUC in ``[0, 1]``; NaN when `y` holds only one class.
    """
    y = np.asarray(y).ravel()
    score = np.asarray(score, dtype=np.float64).ravel()
    if y.shape != score.shape:
        raise ValueError(f"y has {y.size} labels but score has {score.size} values")
    pos = y == 1
    n_pos = int(pos.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    # average ranks (1-based) of tied scores, from one sort
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ends = np.r_[starts[1:], s.size]
    avg = (starts + ends + 1) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(s.size)
    ranks[order] = np.repeat(avg, ends - starts)
    u = ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))
