"""The ahead-of-time compiled kernels at run time: find, load, guard.

What :mod:`neurosim.numerics.kernels._lazy` asks on a kernel's first call:
is there a library ``neurosim kernels build`` compiled for these sources on
this machine, and does it hold the kernel? If so, the kernel's calls go
through a guard that checks the arguments the way numba types them and
calls the compiled function on an exact match, numba's dispatcher
otherwise (counted in :func:`misses`). Building and recording the
signatures is :mod:`neurosim.numerics.kernels.aot`'s; this module imports
neither numba nor the kernel modules.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import os
import platform
import sys
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.numerics.kernels._target import user_cpu_settings

#: Environment variable: ``0`` never uses the compiled module.
ENV_AOT = "NEUROSIM_AOT"
#: Bump when the manifest's format changes.
FORMAT = 1

_state: dict[str, Any] = {"table": None, "loaded": False, "path": None}
_misses: Counter = Counter()

# numba's typeof of a scalar argument, by the argument's Python type
_SCALARS: dict[str, tuple[type, ...]] = {
    "int64": (int, np.int64),
    "float64": (float, np.float64),
    "bool": (bool, np.bool_),
    "uint64": (np.uint64,),
    "int32": (np.int32,),
    "uint32": (np.uint32,),
    "float32": (np.float32,),
    "int16": (np.int16,),
    "int8": (np.int8,),
    "uint8": (np.uint8,),
}


def enabled() -> bool:
    """False when ``NEUROSIM_AOT`` is ``0`` (or ``false``/``no``/``off``)."""
    return os.environ.get(ENV_AOT, "1").strip().lower() not in ("0", "false", "no", "off")


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/neurosim/kernels`` (``~/.cache/neurosim/kernels``)."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "neurosim" / "kernels"


def _install_stamp(module: str) -> str:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return f"{module}:absent"
    st = os.stat(spec.origin)
    return f"{module}:{spec.origin}:{st.st_size}:{st.st_mtime_ns}"


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            lines = [ln for ln in f.read().splitlines() if ln.startswith(("model name", "flags"))]
        return "\n".join(sorted(set(lines)))
    except OSError:
        return platform.processor() or platform.machine()


#: What the compiled code is made of: the kernel modules, the decorator and
#: the CPU features they compile with, and the constants they take from
#: fixedpoint (GOLDEN). This module's guards are not compiled: a change of
#: the manifest or of what a spec means bumps :data:`FORMAT` instead.
SOURCES = (
    "kernels/error.py", "kernels/forward.py", "kernels/maps.py", "kernels/matmul.py",
    "kernels/rounding.py", "kernels/schedule.py", "kernels/sparsity.py", "kernels/update.py",
    "kernels/_lazy.py", "kernels/_target.py", "fixedpoint.py",
)  # fmt: skip


def fingerprint() -> str:
    """Hex digest of everything the compiled module depends on (see the module docstring)."""
    h = hashlib.sha256()
    numerics = Path(__file__).parent.parent
    for name in SOURCES:
        h.update(name.encode())
        h.update((numerics / name).read_bytes())
    parts = [
        str(FORMAT),
        sys.version,
        platform.platform(),
        _cpu(),
        *(_install_stamp(m) for m in ("numba", "llvmlite", "numpy")),
        user_cpu_settings(),
    ]
    h.update("\n".join(parts).encode())
    return h.hexdigest()


def module_name(fp: str | None = None) -> str:
    """The extension module's name for fingerprint ``fp`` (this machine's by default)."""
    return f"_nsk_{(fp or fingerprint())[:20]}"


def manifest_path(fp: str | None = None) -> Path:
    """Where the manifest of the module built for ``fp`` lives."""
    return cache_dir() / f"{module_name(fp)}.json"


# --------------------------------------------------------------------------- #
# loading and guards
# --------------------------------------------------------------------------- #


def _load() -> dict[str, list[tuple[Callable, list[str]]]] | None:
    """kernel key -> [(compiled function, argument specs)], or None without a module."""
    if _state["loaded"]:
        return _state["table"]
    _state["loaded"] = True
    if not enabled():
        return None
    man = manifest_path()
    try:
        manifest = json.loads(man.read_text())
    except (OSError, ValueError):
        return None
    lib = man.with_name(manifest.get("library", ""))
    if manifest.get("format") != FORMAT or not lib.is_file():
        return None
    try:
        spec = importlib.util.spec_from_file_location(manifest["module"], lib)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        table: dict[str, list[tuple[Callable, list[str]]]] = {}
        for e in manifest["entries"]:
            table.setdefault(e["kernel"], []).append((getattr(mod, e["symbol"]), e["args"]))
    except (ImportError, OSError, AttributeError, KeyError, TypeError) as exc:
        # a damaged or foreign library: numba computes the same, only its start is slower
        msg = f"{lib}: the compiled kernels do not load ({exc}); using numba"
        warnings.warn(msg + " (neurosim kernels build rebuilds them)", RuntimeWarning, stacklevel=2)
        return None
    _state["table"] = table
    _state["path"] = lib
    return table


def _condition(name: str, spec: str) -> str:
    """Python source testing that argument ``name`` has numba type ``spec``."""
    if spec == "none":
        return f"{name} is None"
    if spec in _SCALARS:
        return f"type({name}) in _S_{spec}"
    kind, dtype, ndim, layout, readonly, aligned = spec.split(",")
    assert kind == "A", spec
    fl = f"_f_{name}"
    if layout == "C":
        lay = f"{fl}.c_contiguous"
    elif layout == "F":
        lay = f"not {fl}.c_contiguous and {fl}.f_contiguous"
    else:
        lay = f"not {fl}.c_contiguous and not {fl}.f_contiguous"
    return (
        f"type({name}) is _nd and {name}.dtype is _D_{dtype} and {name}.ndim == {ndim}"
        f" and ({fl} := {name}.flags) is not None and {lay}"
        f" and {'not ' if readonly == '1' else ''}{fl}.writeable"
        f" and {'' if aligned == '1' else 'not '}{fl}.aligned"
    )


def make_guard(
    kernel: Any, variants: list[tuple[Callable, list[str]]], miss: Callable | None = None
) -> Callable:
    """A function with the kernel's parameters that calls the first compiled
    variant whose specs match the arguments exactly, else ``miss`` (default:
    numba's dispatcher, the call counted in :func:`misses`)."""
    params = inspect.signature(kernel.py_func).parameters
    names = list(params)
    head = ", ".join(
        n if p.default is p.empty else f"{n}={p.default!r}" for n, p in params.items()
    )
    call = ", ".join(names)
    ns: dict[str, Any] = {"_nd": np.ndarray, "_miss": miss or _miss_of(kernel)}
    for key, types in _SCALARS.items():
        ns[f"_S_{key}"] = types
    lines = [f"def guard({head}):"]
    for i, (fn, specs) in enumerate(variants):
        if len(specs) != len(names):
            continue
        for s in specs:
            if s.startswith("A,"):
                dtype = s.split(",")[1]
                ns[f"_D_{dtype}"] = np.dtype(dtype)
        ns[f"_c{i}"] = fn
        cond = " and ".join(f"({_condition(n, s)})" for n, s in zip(names, specs, strict=True))
        lines += [f"    if {cond or 'True'}:", f"        return _c{i}({call})"]
    lines.append(f"    return _miss({call})")
    exec("\n".join(lines), ns)  # noqa: S102 -- source built above from the manifest's specs
    guard = ns["guard"]
    guard.__name__ = guard.__qualname__ = kernel.__name__
    guard.__doc__ = kernel.__doc__
    guard.__neurosim_kernel__ = kernel
    return guard


def _miss_of(kernel: Any) -> Callable:
    def miss(*args: Any) -> Any:
        _misses[kernel.key] += 1
        return kernel.jit()(*args)

    return miss


def guard(kernel: Any) -> Callable | None:
    """The compiled guard of ``kernel``, or None when no compiled module holds it."""
    table = _load()
    if not table or kernel.key not in table:
        return None
    return make_guard(kernel, table[kernel.key])


def compiled_or(kernel: Any, fallback: Callable) -> Callable:
    """``kernel``'s compiled guard with ``fallback`` (a function of the same
    arguments and results, e.g. a NumPy twin) in numba's place for the calls
    no compiled variant takes; ``fallback`` itself when no compiled module
    holds the kernel. Never imports numba."""
    table = _load()
    if not table or kernel.key not in table:
        return fallback
    return make_guard(kernel, table[kernel.key], miss=fallback)


def misses() -> dict[str, int]:
    """Calls from Python that matched no compiled signature, per kernel, in this process."""
    return dict(_misses)


def loaded_path() -> Path | None:
    """The compiled library this process uses, or None."""
    _load()
    return _state["path"]
