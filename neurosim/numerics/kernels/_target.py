"""numba, imported with 512-bit vectors allowed on CPUs that have them.

LLVM tunes Intel's AVX-512 server cores (Skylake-SP and later) to prefer
256-bit vectors, to avoid the clock drop that wide instructions once cost.
The chip's kernels are integer work -- SplitMix64's 64-bit multiplies for
stochastic rounding, float/int conversions, saturation -- and on this
project's machine (a Xeon that LLVM calls ``emeraldrapids``) they run faster
with 512-bit vectors: for the 784-100x4-10 network at batch 64, the update
unit 195 -> 149 us and the input quantizer 50 -> 37 us per step, the whole
step 766-826 -> 706-712 us (4 alternating processes each). The results are
the same bits: vector width changes neither integer arithmetic nor the
elementwise float rounding the kernels do.

So, before numba's first import, ``NUMBA_CPU_FEATURES`` is set to the host's
features as llvmlite reports them (what numba uses by default) plus
``-prefer-256-bit`` when the CPU has AVX-512F. A ``NUMBA_CPU_NAME`` or
``NUMBA_CPU_FEATURES`` already set wins; ``NEUROSIM_WIDE_VECTORS=0`` keeps
numba's default; and nothing changes once numba is imported (it reads its
configuration then). The setting is an environment variable, so worker
processes started from here inherit it. numba's cache keys its entries by
the features, so the kernels compile once more after a change.

numba itself is imported by :func:`numba_module` (on a kernel's first
call, :mod:`neurosim.numerics.kernels._lazy`), after the features are set.
"""

from __future__ import annotations

import os
import sys

#: Environment variable: ``0`` keeps numba's default vector width.
ENV_WIDE = "NEUROSIM_WIDE_VECTORS"
#: Environment variable: the ``NUMBA_CPU_FEATURES`` value set here (not by the user).
ENV_SET = "NEUROSIM_CPU_FEATURES_SET"


def prefer_wide_vectors() -> str | None:
    """Set ``NUMBA_CPU_FEATURES`` as described above if it applies; returns
    the value set, or None when nothing was changed."""
    if "numba" in sys.modules:
        return None
    if "NUMBA_CPU_NAME" in os.environ or "NUMBA_CPU_FEATURES" in os.environ:
        return None
    if os.environ.get(ENV_WIDE, "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    import llvmlite.binding as ll

    features = ll.get_host_cpu_features()
    if not features.get("avx512f"):
        return None
    value = features.flatten() + ",-prefer-256-bit"
    os.environ["NUMBA_CPU_FEATURES"] = value
    os.environ[ENV_SET] = value  # so a stamp can tell this default from a user's choice
    return value


def user_cpu_settings() -> str:
    """numba's CPU settings the user chose (not the default set above), as text."""
    feats = os.environ.get("NUMBA_CPU_FEATURES", "")
    if feats and feats == os.environ.get(ENV_SET):
        feats = ""
    return f"name={os.environ.get('NUMBA_CPU_NAME', '')};features={feats};" + (
        f"wide={os.environ.get(ENV_WIDE, '')}"
    )


def numba_module():  # noqa: ANN201 -- the numba module (an annotation would import it)
    """numba, imported after :func:`prefer_wide_vectors`."""
    prefer_wide_vectors()
    import numba

    return numba


__all__ = ["numba_module", "prefer_wide_vectors", "ENV_WIDE"]
