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
runs the README shows; :func:`record` writes it). A call from Python goes
through a guard that checks each argument the way numba types it (array
dtype, dimensions, layout C/F/A, writability; an unaligned array, which
numba types as an aligned one, goes to numba all the same; Python ``int`` as
int64, ``float`` as float64, ``bool`` as boolean) and calls the compiled
function only on an exact match -- the compiled code trusts its types.
Anything else goes to numba's dispatcher, as without this module, and is
counted in :func:`misses`.

The library lives in ``$XDG_CACHE_HOME/neurosim/kernels``
(``~/.cache/neurosim``) under a name that stamps what it was built from: the
kernels' sources, the Python, numba, llvmlite and NumPy installations, and
the CPU and numba's CPU settings. A change of any of them leaves it unused
(``neurosim kernels status`` says so) until it is built again. Set
``NEUROSIM_AOT=0`` to never use it.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.numerics.kernels._lazy import REGISTRY, Kernel, materialize
from neurosim.numerics.kernels._target import user_cpu_settings

#: Environment variable: ``0`` never uses the compiled module.
ENV_AOT = "NEUROSIM_AOT"
#: The signatures ``neurosim kernels build`` compiles by default.
SIGNATURES = Path(__file__).with_name("signatures.txt")
#: The kernel modules, relative to the package.
MODULES = ("error", "forward", "matmul", "rounding", "sparsity", "update")
#: Bump when the manifest's format changes.
FORMAT = 1

_PKG = "neurosim.numerics.kernels"
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


def fingerprint() -> str:
    """Hex digest of everything the compiled module depends on (see the module docstring)."""
    h = hashlib.sha256()
    here = Path(__file__).parent
    for name in sorted(p.name for p in here.glob("*.py")):
        h.update(name.encode())
        h.update((here / name).read_bytes())
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


def make_guard(kernel: Kernel, variants: list[tuple[Callable, list[str]]]) -> Callable:
    """A function with the kernel's parameters that calls the first compiled
    variant whose specs match the arguments exactly, else numba's dispatcher."""
    params = inspect.signature(kernel.py_func).parameters
    names = list(params)
    head = ", ".join(
        n if p.default is p.empty else f"{n}={p.default!r}" for n, p in params.items()
    )
    call = ", ".join(names)
    ns: dict[str, Any] = {"_nd": np.ndarray, "_miss": _miss_of(kernel)}
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


def _miss_of(kernel: Kernel) -> Callable:
    def miss(*args: Any) -> Any:
        _misses[kernel.key] += 1
        return kernel.jit()(*args)

    return miss


def guard(kernel: Kernel) -> Callable | None:
    """The compiled guard of ``kernel``, or None when no compiled module holds it."""
    table = _load()
    if not table or kernel.key not in table:
        return None
    return make_guard(kernel, table[kernel.key])


def misses() -> dict[str, int]:
    """Calls from Python that matched no compiled signature, per kernel, in this process."""
    return dict(_misses)


def loaded_path() -> Path | None:
    """The compiled library this process uses, or None."""
    _load()
    return _state["path"]


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


#: The runs :func:`record` takes signatures from: the README's commands and
#: the benchmarks' (few samples each: the argument types do not depend on it).
_VARIANTS: tuple[tuple[str, ...], ...] = (
    (),
    ("--rule", "bp"),
    ("--rule", "rbp"),
    ("--rule", "sbp"),
    ("--rule", "arbp"),
    ("--rule", "asrbp"),
    ("--weight-bits", "8", "--act-bits", "8", "--error-bits", "4"),
    ("--weight-bits", "16", "--act-bits", "8", "--error-bits", "4"),
    ("--rule", "bp", "--weight-bits", "8", "--error-bits", "4"),
    ("--error-bits", "4", "--error-rounding", "stochastic", "--packets", "event"),
    ("--error-bits", "4", "--error-coding", "before_derivative"),
    ("--feedback", "binary"),
    ("--feedback", "ternary", "--feedback-n", "2"),
    ("--feedback", "sparse", "--feedback-n", "2"),
    ("--feedback", "lowrank", "--rank", "2"),
    ("--momentum", "0.5", "--update-bits", "3", "--act", "relu"),
    ("--rule", "bp", "--weight-bits", "16", "--momentum", "0.5", "--update-bits", "3"),
    ("--rounding", "nearest", "--bias"),
    ("--update-mode", "sign"),
    ("--act", "logistic", "--output", "sigmoid"),
    ("--output", "linear"),
)
#: The runs :func:`record` takes signatures from: the README's options on a
#: small and the default network (the sizes choose float32 or float64
#: products, hence argument types), Fashion-MNIST as the benchmarks run it,
#: and the convolutional preset.
RECORD_RUNS: tuple[tuple[str, ...], ...] = (
    *((*net, *v) for net in (("--data", "digits", "--hidden", "16,16"), ()) for v in _VARIANTS),
    *(("--data", "fashion-mnist", "--rule", r, "--weight-bits", w, "--act-bits", "8",
       "--error-bits", "4", "--batch", "64") for r in ("bp", "rbp", "srbp") for w in ("8", "16")),
    ("--conv", "c8k3p3s2", "--hidden", "32", "--data", "digits", "--batch", "16"),
    ("--preset", "cifar-conv", "--data", "fashion-mnist", "--batch", "32", "--lr", "0.1"),
)  # fmt: skip


def record(runs: Iterable[Iterable[str]] = RECORD_RUNS, path: Path | None = SIGNATURES) -> list:
    """Run each of ``runs`` (``neurosim train`` arguments; fixed mode, one
    epoch of 256 samples) with numba alone and return (and write to ``path``
    unless None) every kernel signature they called from Python."""
    import contextlib
    import io

    from neurosim.cli import main

    _state.update(loaded=True, table=None, path=None)  # numba only: see every call
    for args in runs:
        argv = ["train", "--mode", "fixed", "--epochs", "1", "--limit", "256",
                "--no-progress", *args]  # fmt: skip
        with contextlib.redirect_stdout(io.StringIO()):
            rc = main(argv)
        if rc != 0:
            raise RuntimeError(f"neurosim {' '.join(argv)} exited {rc}")
    pairs = used_signatures()
    if path is not None:
        write_signatures(pairs, path)
    return pairs


def _parse_args(text: str) -> tuple:
    from numba.core import types

    ns = {n: getattr(types, n) for n in dir(types) if not n.startswith("_")}
    ns["Array"] = types.Array
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
    t0 = time.perf_counter()
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
    return man


def _trampoline(disp: Any, n: int) -> Callable:
    """A function of ``n`` arguments returning ``disp(...)``: numba compiles the
    kernel itself with its own options (fastmath, inlining) inside it."""
    names = ", ".join(f"a{i}" for i in range(n))
    ns = {"k": disp}
    exec(f"def trampoline({names}):\n    return k({names})\n", ns)  # noqa: S102
    return ns["trampoline"]


def status() -> dict[str, Any]:
    """What this process would use: enabled, the fingerprint, the manifest
    (present or not) and its signature count, and other builds in the cache."""
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
    return info


def clear() -> int:
    """Remove every compiled module from the cache; returns how many files went."""
    d = cache_dir()
    n = 0
    for p in list(d.glob("_nsk_*")):
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()
        n += 1
    return n
