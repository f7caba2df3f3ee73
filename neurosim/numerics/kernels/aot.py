"""The kernels compiled ahead of time: a fixed run without numba's start-up.

numba costs every fresh process about a second before a fixed run's first
step (its import, its compiler's set-up, loading each kernel from its
cache). ``neurosim kernels build`` compiles the kernels once, for this
machine, into a plain CPython extension module (numba's ``pycc``: the same
source, the same numba compiler and CPU features, the code written to a
shared library); a later process imports that library in milliseconds and
never imports numba, as long as every kernel call matches a compiled
signature.

What is compiled is a list of *signatures*: one kernel and the numba types
of its arguments (``signatures.txt`` next to this module lists those of the
rules, C^h formats and unit options the README shows, on two network sizes,
Fashion-MNIST and the conv nets; :func:`record` writes it from
:data:`RECORD_RUNS`). At run time (:mod:`._compiled`) a call from Python
goes through a guard that checks each argument the way numba types it
(array dtype, dimensions, layout C/F/A, writability; an unaligned array,
which numba types as an aligned one, goes to numba all the same; Python
``int`` as int64, ``float`` as float64, ``bool`` as boolean) and calls the
compiled function only on an exact match -- the compiled code trusts its
types. Anything else goes to numba's dispatcher, as without this module,
and is counted in :func:`misses`.

The library lives in ``$XDG_CACHE_HOME/neurosim/kernels``
(``~/.cache/neurosim``) under a name that stamps what it was built from: the
kernels' sources (``_compiled.SOURCES``: the kernel modules, their
decorator and CPU settings, fixedpoint's constants), the Python, numba,
llvmlite and NumPy installations, and
the CPU and numba's CPU settings. A change of any of them leaves it unused
(``neurosim kernels status`` says so) until it is built again. Set
``NEUROSIM_AOT=0`` to never use it.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from neurosim.numerics.kernels import imac
from neurosim.numerics.kernels._compiled import (  # noqa: F401 -- the run-time half, re-exported
    _SCALARS,
    ENV_AOT,
    FORMAT,
    _state,
    cache_dir,
    enabled,
    fingerprint,
    guard,
    loaded_path,
    make_guard,
    manifest_path,
    misses,
    module_name,
)
from neurosim.numerics.kernels._lazy import REGISTRY, Kernel, materialize

#: The signatures ``neurosim kernels build`` compiles by default.
SIGNATURES = Path(__file__).with_name("signatures.txt")
#: The kernel modules, relative to the package.
MODULES = ("error", "forward", "maps", "matmul", "rounding", "schedule", "sparsity", "update")

_PKG = "neurosim.numerics.kernels"


# --------------------------------------------------------------------------- #
# signatures
# --------------------------------------------------------------------------- #


def spec_of(t: Any) -> str | None:
    """The guard's spec of numba type ``t``, or None when the guard cannot check it."""
    from numba.core import types

    if isinstance(t, types.Array):
        return f"A,{t.dtype},{t.ndim},{t.layout},{int(not t.mutable)},{int(t.aligned)}"
    if isinstance(t, types.Boolean):
        return "bool"
    if isinstance(t, (types.Integer, types.Float)) and str(t) in _SCALARS:
        return str(t)
    if isinstance(t, types.NoneType):
        return "none"
    return None


def kernels_by_key() -> dict[str, Kernel]:
    """Every kernel, by ``module.name``, its module imported."""
    for m in MODULES:
        importlib.import_module(f"{_PKG}.{m}")
    return {k.key: k for k in REGISTRY}


def used_signatures() -> list[tuple[str, str]]:
    """(kernel key, argument types) of every signature numba compiled or
    loaded in this process that a guard can check, in a stable order (those
    of kernels only njit code calls come along: a few small extra entries)."""
    called = set()
    for k in kernels_by_key().values():
        if k.dispatcher is None:
            continue
        for args in k.dispatcher.signatures:
            if all(spec_of(t) is not None for t in args):
                called.add((k.key, ", ".join(repr(t) for t in args)))
    return sorted(called)


def read_signatures(path: Path = SIGNATURES) -> list[tuple[str, str]]:
    """(kernel key, argument types) pairs of a signature file (``#`` comments)."""
    out = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            key, _, args = line.partition(" ")
            out.append((key, args.strip()))
    return out


def write_signatures(pairs: Iterable[tuple[str, str]], path: Path = SIGNATURES) -> None:
    """Write (kernel key, argument types) pairs, one per line."""
    head = "# kernel signatures compiled by `neurosim kernels build` (written by aot.record)\n"
    path.write_text(head + "".join(f"{k} {a}\n" for k, a in sorted(set(pairs))))


# the README's rules, C^h formats and unit options, each on top of a network
_VARIANTS: tuple[dict[str, Any], ...] = (
    {},
    {"rule": "bp"},
    {"rule": "rbp"},
    {"rule": "sbp"},
    {"rule": "arbp"},
    {"rule": "asrbp"},
    {"weight_bits": 8, "act_bits": 8, "error_bits": 4},
    {"weight_bits": 16, "act_bits": 8, "error_bits": 4},
    {"rule": "bp", "weight_bits": 8, "error_bits": 4},
    {"error_bits": 4, "error_rounding": "stochastic", "packets": "event"},
    {"error_bits": 4, "error_coding": "before_derivative"},
    {"feedback": "binary"},
    {"feedback": "ternary", "feedback_n": 2},
    {"feedback": "sparse", "feedback_n": 2},
    {"feedback": "lowrank", "rank": 2},
    {"momentum": 0.5, "update_bits": 3, "act": "relu"},
    {"rule": "bp", "weight_bits": 16, "momentum": 0.5, "update_bits": 3},
    {"rounding": "nearest", "bias": True},
    {"update_mode": "sign"},
    {"act": "logistic", "output": "sigmoid"},
    {"output": "linear"},
)
#: The runs :func:`record` takes signatures from (config fields): the
#: README's options on a small and the default network (the sizes choose
#: float32 or float64 products, hence argument types), Fashion-MNIST as the
#: benchmarks run it, and the convolutional nets.
RECORD_RUNS: tuple[dict[str, Any], ...] = (
    *({**net, **v} for net in ({"data": "digits", "hidden": (16, 16)}, {}) for v in _VARIANTS),
    *({"data": "fashion-mnist", "rule": r, "weight_bits": w, "act_bits": 8, "error_bits": 4,
       "batch": 64} for r in ("bp", "rbp", "srbp") for w in (8, 16)),
    {"conv": "c8k3p3s2", "hidden": (32,), "data": "digits", "batch": 16},
    {"preset": "cifar-conv", "data": "fashion-mnist", "batch": 32, "lr": 0.1},
)  # fmt: skip


def record(
    runs: Iterable[dict[str, Any]] = RECORD_RUNS, path: Path | None = SIGNATURES
) -> list[tuple[str, str]]:
    """Run each of ``runs`` (config fields, as :func:`neurosim.api.run` takes
    them; fixed mode, one epoch of 256 samples) with numba alone and return
    (and write to ``path`` unless None) every kernel signature they called.
    Each runs without the compiled 8-bit MAC library (:mod:`.imac`) and, where
    it is built, again with it: its products hand some kernels other dtypes
    (the 16-bit weights' float64 sums)."""
    from neurosim import api
    from neurosim.numerics.kernels import imac

    _state.update(loaded=True, table=None, path=None)  # numba only: see every call
    for fields in runs:
        with imac.off():
            api.run(dict(fields), mode="fixed", epochs=1, limit=256)
        if imac.load() is not None:
            api.run(dict(fields), mode="fixed", epochs=1, limit=256)
    pairs = used_signatures()
    if path is not None:
        write_signatures(pairs, path)
    return pairs


def _parse_args(text: str) -> tuple:
    from numba.core import types

    ns = {n: getattr(types, n) for n in dir(types) if not n.startswith("_")}
    return tuple(eval(f"({text},)", {"__builtins__": {}}, ns))  # noqa: S307 -- numba type names


# --------------------------------------------------------------------------- #
# building
# --------------------------------------------------------------------------- #


def build(pairs: Iterable[tuple[str, str]] | None = None, *, log: Callable | None = None) -> Path:
    """Compile ``pairs`` (default: ``signatures.txt``) for this machine.

    Returns the manifest's path. Raises ``ValueError`` on an unknown kernel
    or a signature the guard cannot check, and whatever numba or the C
    compiler raise; a failed build leaves the cache as it was.
    """
    t0 = time.perf_counter()
    pairs = read_signatures() if pairs is None else list(pairs)
    materialize()
    from numba.core.codegen import AOTCPUCodegen, JITCPUCodegen
    from numba.pycc import CC

    kernels = kernels_by_key()
    fp = fingerprint()
    name = module_name(fp)
    out = cache_dir()
    out.mkdir(parents=True, exist_ok=True)
    cc = CC(name)
    cc.target_cpu = "host"
    entries = []
    for i, (key, text) in enumerate(sorted(set(pairs))):
        if key not in kernels:
            raise ValueError(f"signature {i}: unknown kernel {key!r}")
        disp = kernels[key].jit()
        args = _parse_args(text)
        specs = [spec_of(t) for t in args]
        if None in specs:
            raise ValueError(f"signature {i}: {key} ({text}): an argument type no guard checks")
        disp.compile(args)
        sig = disp.overloads[args].signature
        symbol = f"k{i}"
        cc.export(symbol, sig)(_trampoline(disp, len(args)))
        entries.append({"kernel": key, "symbol": symbol, "args": specs})
    original = AOTCPUCodegen._customize_tm_features
    # the JIT's CPU features (the host's, or NUMBA_CPU_FEATURES): the same code
    AOTCPUCodegen._customize_tm_features = JITCPUCodegen._customize_tm_features
    try:
        with tempfile.TemporaryDirectory(dir=out) as tmp:
            cc.output_dir = tmp
            cc.compile()
            built = next(Path(tmp).glob(f"{name}*"))
            lib = out / built.name
            os.replace(built, lib)
    finally:
        AOTCPUCodegen._customize_tm_features = original
    manifest = {
        "format": FORMAT,
        "module": name,
        "library": lib.name,
        "fingerprint": fp,
        "entries": entries,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    man = manifest_path(fp)
    tmp_man = man.with_suffix(".json.tmp")
    tmp_man.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp_man, man)
    if log is not None:
        log(f"compiled {len(entries)} kernel signatures in {manifest['seconds']} s: {lib}")
    if imac.cpu_supported():
        try:
            path = imac.build()
        except RuntimeError as e:  # optional: runs keep the float BLAS products
            warnings.warn(f"the 8-bit MAC kernels did not compile; 8-bit products stay in "
                          f"float BLAS: {e}", RuntimeWarning, stacklevel=2)  # fmt: skip
        else:
            if log is not None:
                log(f"compiled the 8-bit MAC kernels (AVX512-VNNI): {path}")
    elif log is not None:
        log("no AVX512-VNNI on this CPU: 8-bit products stay in float32 BLAS")
    return man


def _trampoline(disp: Any, n: int) -> Callable:
    """A function of ``n`` arguments returning ``disp(...)``: numba compiles the
    kernel itself with its own options (fastmath, inlining) inside it."""
    names = ", ".join(f"a{i}" for i in range(n))
    ns = {"k": disp}
    exec(f"def trampoline({names}):\n    return k({names})\n", ns)  # noqa: S102
    return ns["trampoline"]


def status() -> dict[str, Any]:
    """What this process would use: enabled, the cache, this machine's
    manifest (present or not) and its signature count, and the other builds."""
    man = manifest_path()
    info: dict[str, Any] = {
        "enabled": enabled(),
        "cache": str(cache_dir()),
        "manifest": str(man),
        "current": man.is_file(),
        "signatures": 0,
    }
    if man.is_file():
        info["signatures"] = len(json.loads(man.read_text())["entries"])
    others = sorted(p.name for p in cache_dir().glob("_nsk_*.json") if p != man)
    info["stale"] = others
    info["imac"] = (
        str(imac.library_path()) if imac.library_path().exists()
        else "not built" if imac.cpu_supported() else "no AVX512-VNNI on this CPU"
    )  # fmt: skip
    return info


def rebuild_hint() -> str | None:
    """A one-line note when this process ran without a compiled build while
    the cache holds builds made for other sources or installations (neurosim
    or numba updated since ``neurosim kernels build``); None otherwise (no
    build was ever made, ``NEUROSIM_AOT=0``, or the builds are in use)."""
    if not enabled():
        return None
    d = cache_dir()
    missing = []
    if loaded_path() is None and any(d.glob("_nsk_*.json")):
        missing.append("kernels")
    if imac.cpu_supported() and imac.load() is None and any(d.glob("_nsimac_*")):
        missing.append("8-bit MAC library")
    if not missing:
        return None
    return (
        f"note: the compiled {' and '.join(missing)} in {d} are for another version: "
        "this run did without them (the same results, slower); "
        "`neurosim kernels build` compiles them again"
    )


def clear() -> int:
    """Remove every compiled module (numba's kernels, the 8-bit MAC
    extension) from the cache; returns how many files went."""
    d = cache_dir()
    n = 0
    for p in [*d.glob("_nsk_*"), *d.glob("_nsimac_*")]:
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()
        n += 1
    return n
