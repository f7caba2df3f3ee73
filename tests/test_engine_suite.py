"""The shared bit-exactness suite: every fast engine against its integer
reference on every variant of :data:`tests.engine_cases.CASES`, and every
float engine run twice on the same data (:data:`tests.engine_cases.FLOAT_CASES`)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.engine_cases import CASES, FLOAT_CASES, Case, assert_bit_exact, run_pair


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_fast_engine_equals_its_reference_bit_for_bit(case: Case) -> None:
    fast, ref, x = run_pair(case)
    assert_bit_exact(fast, ref, x)
    if case.check is not None:
        case.check(fast, case.fields)


@pytest.mark.parametrize("case", FLOAT_CASES, ids=lambda c: c.id)
def test_float_engine_repeats_bit_for_bit(case: Case) -> None:
    a, _, _ = run_pair(case)
    b, _, _ = run_pair(case)
    params = [*a.W, *a.C, *(a.b or [])]
    for p, q in zip(params, [*b.W, *b.C, *(b.b or [])], strict=True):
        np.testing.assert_array_equal(p, q)
    if hasattr(a, "K"):
        for p, q in zip(a.conv_params(), b.conv_params(), strict=True):
            np.testing.assert_array_equal(p, q)
    assert dict(a.counts) == dict(b.counts)
