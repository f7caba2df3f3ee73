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
* :mod:`.rounding` -- the integer rounding and saturation they share.

Every name the engines, the accounting and the tests use is re-exported here,
so ``kernels.exact_matmul(...)`` and the like name the same functions.
"""

from neurosim.numerics.kernels.error import (
    _stochastic_level,
    error_kernel,
    error_kernel_block,
    error_kernel_block_stochastic,
    error_kernel_stochastic,
    log_table,
)
from neurosim.numerics.kernels.forward import (
    act_deriv_kernel,
    act_kernel,
    quantize_kernel,
    requant_kernel,
    softmax_kernel,
)
from neurosim.numerics.kernels.matmul import (
    F32_EXACT,
    Workspace,
    exact_matmul,
    partial_sum_bound,
    product,
    product_into,
)
from neurosim.numerics.kernels.sparsity import (
    gather_columns,
    gather_rows,
    message_tally,
    nonzero,
    nonzero_columns,
    nonzero_rows,
)
from neurosim.numerics.kernels.update import (
    _NO_MIRROR,
    _base,
    apply_momentum,
    apply_update,
    apply_update_flat,
    apply_update_rows_t,
    momentum_kernel,
    update_kernel,
)

__all__ = [
    "F32_EXACT",
    "Workspace",
    "_NO_MIRROR",
    "_base",
    "_stochastic_level",
    "act_deriv_kernel",
    "act_kernel",
    "apply_momentum",
    "apply_update",
    "apply_update_flat",
    "apply_update_rows_t",
    "error_kernel",
    "error_kernel_block",
    "error_kernel_block_stochastic",
    "error_kernel_stochastic",
    "exact_matmul",
    "gather_columns",
    "gather_rows",
    "log_table",
    "message_tally",
    "momentum_kernel",
    "nonzero",
    "nonzero_columns",
    "nonzero_rows",
    "partial_sum_bound",
    "product",
    "product_into",
    "quantize_kernel",
    "requant_kernel",
    "softmax_kernel",
    "update_kernel",
]
