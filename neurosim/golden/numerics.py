"""Integer references of the rounding rules the fast kernels are tested against.

Python ``int`` only, no numpy: the slow, obviously right form of an operation
that the engines never call themselves (they run the numba kernels).
"""

from __future__ import annotations


def ref_shift_stochastic(v: int, k: int, r: int) -> int:
    """``floor((v + r) / 2**k)`` for a random ``r`` on ``[0, 2**k)``.

    Stochastic rounding of ``v / 2**k`` (``E[result] = v / 2**k`` over
    uniform ``r``); ``k <= 0`` is an exact left shift and ignores ``r``.

    Parameters
    ----------
    v : int
        Value to shift (any sign, any width).
    k : int
        Right shift in bits.
    r : int
        Random integer on ``[0, 2**k)`` (the top ``k`` bits of a random word).

    Returns
    -------
    int
        The rounded quotient.
    """
    if k <= 0:
        return v << (-k)
    assert 0 <= r < (1 << k)
    return (v + r) >> k
