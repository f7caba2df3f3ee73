"""Pareto fronts and the 2-D hypervolume of a search's trials.

Plain Python over lists of objective vectors (no numpy, no Optuna): a
*direction* per objective says whether larger (``"max"``) or smaller
(``"min"``) is better.

:func:`hypervolume_2d` measures a front of (accuracy, energy) pairs, accuracy
up and energy down: the area of the region of the (accuracy, energy) plane
that some point of the front dominates and that dominates the reference point
``(accuracy_ref, energy_ref)``. With accuracy as a fraction (0 to 1) and
energy in nJ per training sample, the hypervolume is in nJ (accuracy is
dimensionless). Two fronts compare only under the same reference point.
"""

from __future__ import annotations

from collections.abc import Sequence

Direction = str  # "max" or "min"


def dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[Direction]) -> bool:
    """Whether `a` Pareto-dominates `b`: no worse in every objective, better in one.

    Parameters
    ----------
    a, b : sequence of float
        Objective vectors of equal length.
    directions : sequence of str
        ``"max"`` or ``"min"`` per objective.
    """
    better = False
    for x, y, d in zip(a, b, directions, strict=True):
        if d == "max":
            x, y = -x, -y  # compare as minimisation
        if x > y:
            return False
        if x < y:
            better = True
    return better


def front_indices(values: Sequence[Sequence[float]], directions: Sequence[Direction]) -> list[int]:
    """Indices of the non-dominated vectors of `values`, in input order.

    Equal vectors do not dominate each other: all copies of a front point are
    on the front. O(n^2) comparisons (a search has tens to hundreds of trials).
    """
    return [
        i for i, v in enumerate(values)
        if not any(dominates(w, v, directions) for j, w in enumerate(values) if j != i)
    ]  # fmt: skip


def hypervolume_2d(
    points: Sequence[tuple[float, float]], accuracy_ref: float, energy_ref: float
) -> float:
    """The area dominated by ``(accuracy, energy)`` points, accuracy up, energy down.

    Parameters
    ----------
    points : sequence of (float, float)
        ``(accuracy, energy)`` pairs (any of them, dominated or not: only the
        front contributes).
    accuracy_ref : float
        Reference accuracy (e.g. 0, or chance level): only accuracy above it counts.
    energy_ref : float
        Reference energy (e.g. the largest energy seen): only energy below it counts.

    Returns
    -------
    float
        The area of ``{(a, e): accuracy_ref <= a <= a_i and e_i <= e <= energy_ref
        for some point i}``, in accuracy units times energy units; 0 when no
        point is better than the reference in both objectives.
    """
    inside = sorted(
        (e, a) for a, e in points if a > accuracy_ref and e < energy_ref
    )  # by energy, cheapest first
    area = 0.0
    best = accuracy_ref  # the best accuracy reached at or below the current energy
    for i, (e, a) in enumerate(inside):
        best = max(best, a)
        e_next = inside[i + 1][0] if i + 1 < len(inside) else energy_ref
        area += (e_next - e) * (best - accuracy_ref)
    return area
