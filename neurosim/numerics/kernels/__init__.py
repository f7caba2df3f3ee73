"""Numba kernels, one module per chip unit they serve.

* :mod:`.matmul` -- the MAC array: exact integer products (float32, float64
  or int64 arithmetic, whichever is provably exact), the partial-sum bounds
  that choose it, the saturating accumulator, and :class:`Workspace`;
* :mod:`.forward` -- the forward unit: input quantizer, activation LUT,
  requantisation, softmax;
* :mod:`.error` -- the error unit: projection rounding, the log coder, block
  exponents, stochastic log rounding of messages;
* :mod:`.update` -- the update unit: rounding of updates, momentum,
  saturating write-back;
* :mod:`.sparsity` -- non-zero counts and gathers (message tallies,
  zero-column skipping);
* :mod:`.maps` -- the conv blocks' feature maps: patches (im2col), max-pool,
  the routing of errors through it;
* :mod:`.rounding` -- the integer rounding and saturation they share;
* :mod:`.schedule` -- the timing model's arbitrated scheduler over arrays
  (:mod:`hw_models.timing.arbiter` calls it).

Every name the engines, the accounting and the tests use is re-exported here,
so ``kernels.exact_matmul(...)`` and the like name the same functions. The
names load on first use: importing this package imports neither numba nor a
kernel module, and a run imports only the units it calls -- a float run none
of them. A kernel module imports no numba either: each kernel loads on its
first call (:mod:`._lazy`), from the ahead-of-time compiled library when
``neurosim kernels build`` made one for this machine (:mod:`.aot`), else
from numba's cache.
"""

from __future__ import annotations

import importlib
from typing import Any

_PKG = "neurosim.numerics.kernels"
# name -> the module that defines it
_WHERE = {
    **dict.fromkeys(
        (
            "_stochastic_level",
            "error_kernel",
            "error_kernel_block",
            "error_kernel_block_stochastic",
            "error_kernel_stochastic",
            "log_table",
        ),
        f"{_PKG}.error",
    ),
    **dict.fromkeys(
        (
            "act_deriv_kernel",
            "act_kernel",
            "gather_codes_kernel",
            "quantize_kernel",
            "quantize_rows_kernel",
            "requant_kernel",
            "softmax_kernel",
        ),
        f"{_PKG}.forward",
    ),
    **dict.fromkeys(
        (
            "F32_EXACT",
            "F64_EXACT",
            "exact_matmul",
            "max_abs",
            "partial_sum_bound",
            "product",
            "product_into",
        ),
        f"{_PKG}.matmul",
    ),
    "Workspace": "neurosim.numerics.workspace",
    **dict.fromkeys(
        (
            "gather_columns",
            "gather_rows",
            "input_tally",
            "message_tally",
            "nonzero",
            "nonzero_columns",
            "nonzero_rows",
        ),
        f"{_PKG}.sparsity",
    ),
    **dict.fromkeys(
        (
            "_NO_MIRROR",
            "_base",
            "apply_momentum",
            "apply_update",
            "apply_update_coded",
            "apply_update_flat",
            "apply_update_rows_t",
            "momentum_kernel",
            "update_kernel",
        ),
        f"{_PKG}.update",
    ),
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
