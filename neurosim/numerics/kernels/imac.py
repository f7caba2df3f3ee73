"""8-bit MAC array products in integers: the compiled VNNI kernels (``imac.c``).

A layer whose operand codes are 8-bit (activations unsigned, or signed and
offset by 128; weights signed) multiplies in 32-bit integer dot products
(AVX-512 VNNI ``vpdpbusd``: 64 byte products per instruction, four times
float32 FMA's) instead of float32 BLAS (:func:`product_into`); 16-bit
weights as two byte planes instead of float32 or float64 BLAS
(:func:`product16_into`, every sum below 2**53); the update unit's
gradients of 8-bit activations and log-coded errors likewise. Both are
exact for the bounds the units check (:func:`applies`), so the sums are the
same bits; only the speed differs. The module also holds the hidden layers'
activation unit with vector gathers (``act`` on float32 sums, ``act64`` on
the byte planes' float64 sums, :func:`neurosim.numerics.kernels.act_deriv_kernel`'s
twins) and the input gather with a prefetch of the next minibatch's rows
(``gather``, :func:`neurosim.numerics.kernels.gather_codes_kernel`'s twin).

``neurosim kernels build`` compiles ``imac.c``, a CPython extension, with
the system C compiler into the kernel cache (:func:`build`); :func:`load`
imports it. Without the
library, with ``NEUROSIM_AOT=0`` or on a CPU without AVX512-VNNI the
forward unit uses float32 BLAS.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from neurosim.numerics.kernels import _compiled

SOURCE = Path(__file__).with_name("imac.c")
#: the CPU flags (``/proc/cpuinfo``) the compiled code needs
FLAGS = ("avx512f", "avx512bw", "avx512vl", "avx512_vnni")
#: ``K * 255 * 128`` must stay below 2**31 for the int32 accumulators
MAX_K = (2**31 - 1) // (255 * 128)

_state: dict[str, Any] = {"lib": None, "tried": False}


def cpu_supported() -> bool:
    """True when this CPU has every flag in :data:`FLAGS` (Linux ``/proc/cpuinfo``)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            have = set(line.split(":", 1)[1].split())
            return all(f in have for f in FLAGS)
    return False


def _stamp() -> str:
    # the source, this Python (its ABI) and the CPU flags
    h = hashlib.sha256(SOURCE.read_bytes())
    h.update(f"{sys.version}|{sysconfig.get_config_var('EXT_SUFFIX')}|{cpu_supported()}".encode())
    return h.hexdigest()[:20]


def module_name() -> str:
    """The extension module's name: ``_nsimac_`` and :func:`_stamp`'s hash."""
    return f"_nsimac_{_stamp()}"


def library_path() -> Path:
    """Where :func:`build` puts the extension: the kernel cache, named by the
    source's hash (an edited ``imac.c`` is a new library)."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    return _compiled.cache_dir() / f"{module_name()}{suffix}"


def build(path: Path | None = None) -> Path:
    """Compile ``imac.c`` (``$CC``, else ``cc``, with Python's headers) into
    ``path`` (default :func:`library_path`); returns it. Raises
    ``RuntimeError`` with the compiler's message when it fails; the old
    library stays in place."""
    path = library_path() if path is None else Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cc = os.environ.get("CC", "cc")
    name = path.name.split(".")[0]
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        out = Path(tmp) / path.name
        cmd = [cc, "-O3", "-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}",
               f"-DMODNAME={name}", "-o", str(out), str(SOURCE)]  # fmt: skip
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        except OSError as e:
            raise RuntimeError(f"no C compiler {cc!r} to build {SOURCE.name}: {e}") from None
        if res.returncode != 0:
            raise RuntimeError(f"{cc} failed on {SOURCE.name}:\n{res.stderr.strip()}")
        os.replace(out, path)
    return path


def load(path: Path | None = None) -> ModuleType | None:
    """The compiled module, or None (not built, ``NEUROSIM_AOT=0``, or a
    CPU without VNNI). ``path`` loads that file instead (tests); the
    default is looked up once per process."""
    if path is not None:
        return _import(Path(path))
    if not _state["tried"]:
        _state["tried"] = True
        lib = library_path()
        if _compiled.enabled() and cpu_supported() and lib.exists():
            _state["lib"] = _import(lib)
    return _state["lib"]


@contextlib.contextmanager
def off() -> Iterator[None]:
    """:func:`load` returns None inside: runs take the float BLAS and numba
    paths (:func:`neurosim.numerics.kernels.aot.record` sees both)."""
    saved = dict(_state)
    _state.update(lib=None, tried=True)
    try:
        yield
    finally:
        _state.clear()
        _state.update(saved)


def _import(path: Path) -> ModuleType:
    name = path.name.split(".")[0]
    loader = importlib.machinery.ExtensionFileLoader(name, str(path))
    spec = importlib.util.spec_from_file_location(name, str(path), loader=loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def applies16(a_qmin: int, a_qmax: int, w_qmin: int, w_qmax: int, k: int) -> int | None:
    """:func:`applies` for 16-bit weights (:func:`product16_into`): the
    activations' offset, or None (weights beyond int16, activations beyond
    8 bits, or too many terms for the int32 sums of each byte plane)."""
    if w_qmin < -32768 or w_qmax > 32767:
        return None
    return applies(a_qmin, a_qmax, -128, 127, k)


def applies(a_qmin: int, a_qmax: int, w_qmin: int, w_qmax: int, k: int) -> int | None:
    """The offset that brings activation codes ``[a_qmin, a_qmax]`` into
    ``[0, 255]`` (0 or 128), or None when the integer product does not
    apply: weights beyond int8, activations beyond 8 bits, or ``k`` terms
    that could overflow the int32 sums."""
    if w_qmin < -128 or w_qmax > 127 or k > MAX_K:
        return None
    for off in (0, 128):
        if a_qmin + off >= 0 and a_qmax + off <= 255:
            return off
    return None


class PackedWeights:
    """An operand packed as the MAC array's int8 weights for
    :func:`product_into` (blocks of 16 outputs by 4 inputs, and the column
    sums for the other operand's offset).

    Parameters
    ----------
    k, n : int
        Inputs and outputs: the operand is ``(k, n)`` (a layer's ``W^T``).
    """

    def __init__(self, k: int, n: int) -> None:
        self.k, self.n = k, n
        nb, nq = -(-n // 16), -(-k // 4)
        self.wp = np.empty(nb * nq * 64, np.int8)
        self.colsum = np.empty(nb * 16, np.int32)

    def pack(self, lib: ModuleType, wt: np.ndarray, scale: float = 1.0) -> None:
        """Pack ``scale * wt`` (``wt`` float32 codes, shape ``(k, n)``, any
        strides in whole elements; ``scale`` a power of two making them
        integers in ``[-128, 127]``)."""
        assert wt.shape == (self.k, self.n)
        lib.pack(wt, scale, self.wp, self.colsum)


def product_into(
    lib: ModuleType, a: np.ndarray, w: PackedWeights, offset: int, out: np.ndarray,
    ascale: float = 1.0, oscale: float = 1.0,
) -> np.ndarray:  # fmt: skip
    """``out = oscale * (ascale * a) @ W`` exactly, for float32 codes ``a``
    (``(M, k)``, rows or columns contiguous, ``ascale * a + offset``
    integers in ``[0, 255]``) and packed ``w``; ``out`` float32 ``(M, n)``,
    rows contiguous. The caller checks the bounds (:func:`applies`, the sums
    below 2**24 units; ``ascale``, ``oscale`` powers of two)."""
    lib.mm(a, ascale, offset, w.wp, w.colsum, out, oscale)
    return out


class PackedWeights16:
    """16-bit weight codes packed as two int8 planes for :func:`product16_into`:
    ``w = 256 * hi + lo + 128`` with ``hi = w >> 8`` and ``lo = (w & 255) - 128``.

    Parameters
    ----------
    k, n : int
        Inputs and outputs: the weights are ``(k, n)`` (a layer's ``W^T``).
    """

    def __init__(self, k: int, n: int) -> None:
        self.k, self.n = k, n
        nb, nq = -(-n // 16), -(-k // 4)
        self.hp = np.empty(nb * nq * 64, np.int8)
        self.lp = np.empty(nb * nq * 64, np.int8)
        self.hsum = np.empty(nb * 16, np.int32)
        self.lsum = np.empty(nb * 16, np.int32)

    def pack(self, lib: ModuleType, wt: np.ndarray) -> None:
        """Pack ``wt`` (float32 codes in ``[-32768, 32767]``, shape ``(k, n)``,
        any strides in whole elements)."""
        assert wt.shape == (self.k, self.n)
        lib.pack16(wt, self.hp, self.lp, self.hsum, self.lsum)


def product16_into(
    lib: ModuleType, a: np.ndarray, w: PackedWeights16, offset: int, out: np.ndarray,
    ascale: float = 1.0,
) -> np.ndarray:  # fmt: skip
    """``out = (ascale * a) @ W`` exactly in float64 for 8-bit codes
    ``ascale * a`` (``a`` float32 ``(M, k)``, rows or columns contiguous,
    ``ascale * a + offset`` integers in ``[0, 255]``; ``ascale`` a power of
    two) and 16-bit weights ``w``: ``256 * (a @ hi) + a @ lo + 128 * sum_k
    a`` from two int32 products (each below ``k * 255 * 128``), added in
    float64 (exact below 2**53: the caller checks the bound)."""
    lib.mm16(a, ascale, offset, w.hp, w.lp, w.hsum, w.lsum, out)
    return out


def grad_into(
    lib: ModuleType, a: np.ndarray, b: np.ndarray, act: Any, err: str, q: float,
    cache: dict, out: np.ndarray,
) -> np.ndarray | None:  # fmt: skip
    """The update unit's gradient ``a @ b`` (one operand activation codes of
    format ``act``, the other, ``err`` = ``"a"`` or ``"b"``, errors that are
    multiples of the quantum ``q`` with ``|R / q| <= 127``) in ``out``
    (float32 ``(M, N)``): the errors scaled by ``1/q`` into int8 (as the
    packed operand) or offset bytes, the sums scaled back by ``q`` (exact
    below 2**24 units of ``q``: the caller checks). None where the integer
    product does not apply (operand ranges, dtypes, layouts). ``cache``
    keeps the packed operands by shape."""
    if a.dtype != np.float32 or b.dtype != np.float32 or a.shape[1] > MAX_K:
        return None
    if err == "b":  # activations as the byte operand, errors as int8
        off = applies(act.qmin, act.qmax, -127, 127, a.shape[1])
        ascale, wscale = 1.0, 1.0 / q
    else:  # errors as the byte operand (offset 128), activations as int8
        off = 128 if applies(-128, 127, act.qmin, act.qmax, a.shape[1]) is not None else None
        ascale, wscale = 1.0 / q, 1.0
    if off is None or not (a.strides[1] == 4 or a.strides[0] == 4):
        return None
    pw = cache.get(b.shape)
    if pw is None:
        pw = cache[b.shape] = PackedWeights(*b.shape)
    pw.pack(lib, b, wscale)
    return product_into(lib, a, pw, off, out, ascale, q)
